"""Run in a child interpreter by tests/test_signals_fork.py (so a deadlock is a timeout there).

    python _signal_fork_child.py signal|fork default|locked

``multiprocess`` uses file-backed values in their checked (locked) variant.
``locked`` forces the locked value class (the path of 3.9, free-threaded builds and
unverified versions) on any interpreter. Prints one JSON line with the observed totals.
"""

import faulthandler
import itertools
import json
import os
import signal
import sys
import tempfile
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest, values

if sys.argv[2] == "locked":
    values.ValueClass = values._LockedValue
elif sys.argv[2] == "multiprocess":  # file-backed values, checked (locked) variant
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp()
    values.ValueClass = values.MultiProcessValue(lambda: os.getpid())


def signal_case() -> None:
    registry = CollectorRegistry()
    c = Counter("sig", "h", registry=registry)
    g = Gauge("sigg", "h", registry=registry)
    h = Histogram("sigh", "h", registry=registry)
    s = Summary("sigs", "h", registry=registry)

    @h.time()
    def timed() -> None:
        pass

    @s.time()
    def timed_summary() -> None:
        pass

    # A handler can be interrupted by the next signal (handlers nest): count the calls with
    # an atomic C-level counter, not with ``+= 1``.
    calls = itertools.count()
    fired = [0]

    def handler(signum: int, frame: object) -> None:
        fired[0] = next(calls) + 1  # only steers the loop below
        c.inc()
        g.inc()
        g.dec(2)
        timed()
        timed_summary()

    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.0005, 0.0005)
    loops = 0
    try:
        while fired[0] < 2000:
            for _ in range(500):
                c.inc()
                g.inc()
                timed()
                timed_summary()
            loops += 500
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        time.sleep(0.05)  # a signal already delivered runs its handler now
    n = next(calls)  # handler calls so far (no handler runs after the timer is off)
    print(json.dumps({
        "loops": loops, "fired": n,
        "counter": registry.get_sample_value("sig_total"),
        "gauge": registry.get_sample_value("sigg"),
        "hist_count": registry.get_sample_value("sigh_count"),
        "hist_inf": registry.get_sample_value("sigh_bucket", {"le": "+Inf"}),
        "summary_count": registry.get_sample_value("sigs_count"),
        "value_class": values.ValueClass.__name__ if hasattr(values.ValueClass, "__name__") else "",
    }))
    generate_latest(registry)


def fork_case() -> None:
    registry = CollectorRegistry()
    c = Counter("fk", "h", ["k"], registry=registry)
    h = Histogram("fkh", "h", registry=registry)
    children = [c.labels(str(i)) for i in range(4)]
    stop = threading.Event()

    def work(i: int) -> None:
        child = children[i % len(children)]
        while not stop.is_set():
            for _ in range(200):
                child.inc()
                h.observe(0.2)
            generate_latest(registry)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    results = []
    try:
        for _ in range(20):
            time.sleep(0.005)
            pid = os.fork()
            if pid == 0:  # child: only this thread exists; every update must go through
                faulthandler.dump_traceback_later(10, exit=True)  # a hang: traceback, exit 1
                before = [ch._value.get() for ch in children]
                for ch in children:
                    ch.inc()
                h.observe(0.2)
                generate_latest(registry)
                ok = all(ch._value.get() == b + 1 for ch, b in zip(children, before))
                os._exit(0 if ok else 3)
            deadline = time.monotonic() + 15
            status = None
            while time.monotonic() < deadline:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    status = os.waitstatus_to_exitcode(st) if hasattr(os, "waitstatus_to_exitcode") else st >> 8
                    break
                time.sleep(0.005)
            if status is None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                status = "hung"
            results.append(status)
    finally:
        stop.set()
        for t in threads:
            t.join()
    print(json.dumps({"children": results}))


if __name__ == "__main__":
    {"signal": signal_case, "fork": fork_case}[sys.argv[1]]()
