"""The context managers behind ``time()``, ``track_inprogress()`` and ``count_exceptions()``
behave as the official client's: one script runs against both clients and prints what it
sees (values, durations with a scripted clock, return values of ``__enter__``, errors), and
the transcripts must be equal. Plus checks that need no official client: threads, nesting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.official_client import run_official
from tests.threads import hammer

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.context_managers import ExceptionCounter, InprogressTracker, Timer

SRC = str(Path(__file__).resolve().parent.parent / "src")

# Runs in either client; the clock is scripted so durations are exact.
SCRIPT = r'''
import itertools
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client import context_managers
from prometheus_client.context_managers import ExceptionCounter, InprogressTracker, Timer

steps = itertools.cycle([2.0, 4.0, -1.0, 3.0, 0.5, 6.0])  # the clock sometimes goes backwards
now = [100.0]
def clock():
    now[0] += next(steps)
    return now[0]
context_managers.default_timer = clock
r = CollectorRegistry()
h = Histogram("h", "h", registry=r)
hl = Histogram("hl", "h", ["m"], registry=r)
s = Summary("s", "s", registry=r)
g = Gauge("g", "g", registry=r)
ip = Gauge("ip", "g", registry=r)
c = Counter("c", "c", registry=r)

def show(*a):
    print(*[repr(x) for x in a])

def err(f):
    try:
        f()
    except Exception as e:
        return type(e).__name__
    return "ok"

# Timer: fresh per time(), durations, nesting, reuse, labels, negative clock.
t = h.time()
show(type(t).__name__, t.duration, hasattr(t, "_start"), t._callback_name, t._metric is h)
with t as got:
    show(got is t)
show(t.duration, r.get_sample_value("h_sum"), r.get_sample_value("h_count"))
with h.time() as outer:
    with h.time() as inner:
        pass
show(outer.duration, inner.duration, r.get_sample_value("h_sum"))
with t:
    pass
show(t.duration)
with s.time() as st:
    pass
show(st.duration, r.get_sample_value("s_sum"), r.get_sample_value("s_count"))
with g.time() as gt:
    pass
show(gt.duration, r.get_sample_value("g"), type(gt.duration).__name__)
context_managers.default_timer = iter([5.0, 3.0, 7.0, 7.0, 9.0, -0.0]).__next__
for _ in range(3):  # backwards, standing still, to -0.0
    with g.time() as neg:
        pass
    show(neg.duration, r.get_sample_value("g"), type(neg.duration).__name__)
context_managers.default_timer = clock
with hl.time() as lt:
    lt.labels("GET")
show(lt.duration, r.get_sample_value("hl_sum", {"m": "GET"}), lt._metric is hl.labels("GET"))
show(err(lambda: hl.time().__exit__(None, None, None)))
try:
    with hl.time() as missing:
        pass
except Exception as e:
    show(type(e).__name__)
class Weird:
    def __init__(self):
        self.seen = []
    def mark(self, d):
        self.seen.append(d)
w = Weird()
with Timer(w, "mark") as wt:
    pass
show(w.seen, wt.duration)
try:
    with h.time():
        raise KeyError("x")
except KeyError:
    show("raised", r.get_sample_value("h_count"))
show(err(lambda: Timer(w, "nope").__exit__(None, None, None)))

# InprogressTracker.
tr = ip.track_inprogress()
show(type(tr).__name__, tr._gauge is ip)
with tr as got:
    show(got, r.get_sample_value("ip"))
    with tr:
        show(r.get_sample_value("ip"))
show(r.get_sample_value("ip"))
try:
    with ip.track_inprogress():
        raise ValueError
except ValueError:
    show("raised", r.get_sample_value("ip"))

# ExceptionCounter: specs, clean exits, suppression, reuse, direct calls.
ec = c.count_exceptions()
show(type(ec).__name__, ec._counter is c, ec._exception)
with ec as got:
    pass
show(got, r.get_sample_value("c_total"), ec.__enter__(), ec.__exit__(None, None, None))
for spec, exc in [(Exception, ValueError), (ValueError, KeyError), ((KeyError, ValueError), ValueError),
                  (BaseException, KeyboardInterrupt), (((OSError,), LookupError), KeyError)]:
    try:
        with c.count_exceptions(spec):
            raise exc
    except BaseException as e:
        show(type(e).__name__, r.get_sample_value("c_total"))
for spec in [object, type(None), (type(None), ValueError), "not a type", [ValueError]]:
    show(repr(spec), err(lambda: c.count_exceptions(spec).__exit__(None, None, None)),
         r.get_sample_value("c_total"))
    def clean():
        with c.count_exceptions(spec):
            pass
    show(err(clean), r.get_sample_value("c_total"))
    @c.count_exceptions(spec)
    def deco():
        return 5
    show(err(deco), r.get_sample_value("c_total"))
show(ec.__exit__(ValueError, ValueError("v"), None), r.get_sample_value("c_total"))

# Errors on a parent with labels, at creation.
cl = Counter("cl", "c", ["a"], registry=r)
gl = Gauge("gl", "g", ["a"], registry=r)
show(err(lambda: cl.count_exceptions()), err(lambda: gl.track_inprogress()), err(lambda: gl.time()))
show(err(lambda: cl.labels("x").count_exceptions()), err(lambda: gl.labels("x").track_inprogress()))

# Decorators on sync functions see the same counts.
@h.time()
def timed(x, y=2):
    return x + y
@ip.track_inprogress()
def tracked():
    return r.get_sample_value("ip")
@c.count_exceptions(KeyError)
def failing(k):
    raise k("x")
show(timed(1), timed(1, y=5), r.get_sample_value("h_count"), tracked(), r.get_sample_value("ip"))
for k in (KeyError, ValueError):
    show(err(lambda: failing(k)), r.get_sample_value("c_total"))
'''


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def _ours(code: str) -> bytes:
    env = dict(os.environ, PYTHONPATH=SRC)
    for key in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        env.pop(key, None)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, check=True).stdout


def test_context_managers_match_official() -> None:
    ours = _ours(SCRIPT)
    assert ours.count(b"\n") > 40  # the script ran to the end
    assert ours == run_official(SCRIPT)


def test_nested_and_reused_timer_forms_observe_every_block(registry: CollectorRegistry) -> None:
    h = Histogram("nr", "h", registry=registry)
    t = h.time()
    with t:
        with h.time() as inner:
            with t:  # the same Timer entered twice: both exits observe
                pass
    assert registry.get_sample_value("nr_count") == 3
    assert inner.duration is not None and inner.duration >= 0


def test_context_managers_count_exactly_from_threads(registry: CollectorRegistry) -> None:
    h = Histogram("th", "h", registry=registry)
    s = Summary("ts", "s", registry=registry)
    ip = Gauge("tip", "g", registry=registry)
    c = Counter("tc", "c", registry=registry)
    shared_tracker = ip.track_inprogress()
    shared_counter = c.count_exceptions(KeyError)
    threads, per_thread = 4, 3000

    def work() -> None:
        for i in range(per_thread):
            with h.time(), s.time(), shared_tracker:
                try:
                    with shared_counter:
                        if i % 3 == 0:
                            raise KeyError(i)
                except KeyError:
                    pass

    hammer(threads, work)
    total = threads * per_thread
    assert registry.get_sample_value("th_count") == total
    assert registry.get_sample_value("ts_count") == total
    assert registry.get_sample_value("tip") == 0
    assert registry.get_sample_value("tc_total") == threads * len(range(0, per_thread, 3))


def test_public_names_and_constructors() -> None:
    r = CollectorRegistry()
    c = Counter("pn", "c", registry=r)
    g = Gauge("pg", "g", registry=r)
    ec = ExceptionCounter(c, (KeyError,))
    with pytest.raises(KeyError):
        with ec:
            raise KeyError
    assert c._value.get() == 1
    with InprogressTracker(g) as none:
        assert none is None and g._value.get() == 1
    t = Timer(g, "set")
    assert t.duration is None
    with t as same:
        assert same is t
    assert t.duration == g._value.get()
