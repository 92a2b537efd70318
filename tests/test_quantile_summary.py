"""Summary with objectives: quantile samples, accuracy, sliding window, threads, multiprocess refusal."""

import math
import random
import threading

import pytest

from prometheus_client import CollectorRegistry, Summary, generate_latest, metrics
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

OBJECTIVES = {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}


def _quantiles(registry, name, labels=None):
    out = {}
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == name and "quantile" in s.labels:
                rest = {k: v for k, v in s.labels.items() if k != "quantile"}
                if rest == (labels or {}):
                    out[float(s.labels["quantile"])] = s.value
    return out


def _rank_ok(data, q, value, eps):
    ordered = sorted(data)
    n = len(ordered)
    lo = sum(1 for x in ordered if x < value)
    hi = sum(1 for x in ordered if x <= value)
    target = q * n
    # Some rank of `value` in [lo, hi] is within eps*n of the target rank.
    return lo - eps * n - 1 <= target <= hi + eps * n + 1


def test_default_summary_has_no_quantiles():
    r = CollectorRegistry()
    s = Summary("plain", "h", registry=r)
    s.observe(1)
    assert _quantiles(r, "plain") == {}
    assert "quantile" not in generate_latest(r).decode()


@pytest.mark.parametrize("dist", ["uniform", "exponential", "sorted", "reversed", "duplicates"])
def test_quantiles_within_rank_error(dist):
    rng = random.Random(7)
    n = 20000
    if dist == "uniform":
        data = [rng.random() for _ in range(n)]
    elif dist == "exponential":
        data = [rng.expovariate(1.0) for _ in range(n)]
    elif dist == "sorted":
        data = [float(i) for i in range(n)]
    elif dist == "reversed":
        data = [float(n - i) for i in range(n)]
    else:
        data = [float(rng.randint(0, 5)) for _ in range(n)]
    r = CollectorRegistry()
    s = Summary("lat", "h", ["route"], objectives=OBJECTIVES, registry=r)
    child = s.labels("/")
    for v in data:
        child.observe(v)
    got = _quantiles(r, "lat", {"route": "/"})
    assert set(got) == set(OBJECTIVES)
    for q, eps in OBJECTIVES.items():
        assert _rank_ok(data, q, got[q], eps), (dist, q, got[q])
    assert r.get_sample_value("lat_count", {"route": "/"}) == n
    assert r.get_sample_value("lat_sum", {"route": "/"}) == pytest.approx(sum(data))


def test_quantile_samples_in_every_text_format():
    r = CollectorRegistry()
    s = Summary("q", "h", objectives={0.5: 0.05}, registry=r)
    s.observe(2.0)
    assert 'q{quantile="0.5"} 2.0\n' in generate_latest(r).decode()
    assert 'q{quantile="0.5"} 2.0\n' in om_generate_latest(r).decode()
    empty = CollectorRegistry()
    Summary("e", "h", objectives={0.5: 0.05}, registry=empty)
    assert math.isnan(_quantiles(empty, "e")[0.5])


def test_window_forgets_old_observations(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(metrics._SummaryQuantiles, "clock", staticmethod(lambda: now[0]))
    r = CollectorRegistry()
    s = Summary("w", "h", objectives={0.5: 0.01}, max_age=60, age_buckets=3, registry=r)
    for _ in range(100):
        s.observe(1.0)
    assert _quantiles(r, "w")[0.5] == 1.0
    now[0] += 30
    for _ in range(100):
        s.observe(5.0)
    assert _quantiles(r, "w")[0.5] in (1.0, 5.0)
    now[0] += 45  # the 1.0s are now older than max_age
    assert _quantiles(r, "w")[0.5] == 5.0
    now[0] += 120  # everything is older than max_age
    assert math.isnan(_quantiles(r, "w")[0.5])
    assert r.get_sample_value("w_count") == 200  # count and sum never forget


def test_threads_lose_nothing():
    r = CollectorRegistry()
    s = Summary("t", "h", objectives={0.5: 0.05, 0.99: 0.001}, registry=r)
    per_thread = 20000

    def work(seed):
        rng = random.Random(seed)
        for _ in range(per_thread):
            s.observe(rng.random())

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert r.get_sample_value("t_count") == 4 * per_thread
    window = s._quantiles._window
    assert s._quantiles._buf == [] or len(s._quantiles._buf) < 256
    got = _quantiles(r, "t")
    assert window.count == 4 * per_thread
    assert abs(got[0.5] - 0.5) < 0.06


def test_bounded_memory():
    r = CollectorRegistry()
    s = Summary("m", "h", objectives=OBJECTIVES, registry=r)
    for i in range(200000):
        s.observe((i * 7919) % 10007)
    _quantiles(r, "m")
    assert s._quantiles._window.tuples() < 5 * 2000


def test_bad_objectives_and_multiprocess(monkeypatch):
    r = CollectorRegistry()
    with pytest.raises(ValueError, match=r"Summary 'b': quantile 1.5 is outside \[0, 1\]"):
        Summary("b", "h", objectives={1.5: 0.1}, registry=r)
    with pytest.raises(ValueError, match=r"Summary 'b': rank error 0 for quantile 0.5"):
        Summary("b", "h", objectives={0.5: 0}, registry=r)
    with pytest.raises(ValueError, match="max_age must be > 0"):
        Summary("b", "h", objectives={0.5: 0.1}, max_age=0, registry=r)
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/tmp")
    with pytest.raises(ValueError, match="not supported in multiprocess mode"):
        Summary("b", "h", objectives={0.5: 0.1}, registry=r)
    assert r._names_to_collectors == {}


class _GenericOnly(CollectorRegistry):
    """A registry whose collect() is overridden: the encoders take the generic path."""

    def collect(self):
        return super().collect()


def test_fast_path_renders_quantiles_like_the_generic_path():
    fast, generic = CollectorRegistry(), _GenericOnly()
    for r in (fast, generic):
        s = Summary("q", "h", ["z", "a"], objectives={0.5: 0.05, 0.99: 0.001}, registry=r)
        for i in range(500):
            s.labels("1", str(i % 3)).observe(i)
        Summary("p", "h", objectives={0.25: 0.05}, registry=r).observe(2)
        Summary("plain", "h", ["quantilez"], registry=r).labels("x").observe(1)
    for escaping in ("underscores", "allow-utf-8"):
        a = generate_latest(fast, escaping).decode()
        b = generate_latest(generic, escaping).decode()
        assert _strip_created(a) == _strip_created(b)
    assert _strip_created(om_generate_latest(fast).decode()) == _strip_created(om_generate_latest(generic).decode())
    assert 'q{a="0",quantile="0.5",z="1"}' in generate_latest(fast).decode()


def _strip_created(text):
    return "\n".join(line for line in text.splitlines() if "_created" not in line)
