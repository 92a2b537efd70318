from __future__ import annotations

import bisect
import math
import random
from typing import Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prometheus_client._sketch.quantiles import QuantileStream, QuantileWindow
from strategies import quantile_data, quantile_objectives

OBJ = {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}


def rank_error(srt: List[float], v: float, q: float) -> float:
    """Distance from q*n to the (1-based) rank range that value v occupies in sorted data."""
    lo = bisect.bisect_left(srt, v) + 1
    hi = bisect.bisect_right(srt, v)
    assert hi >= lo, f"{v} is not an observed value"
    t = q * len(srt)
    return 0.0 if lo <= t <= hi else min(abs(lo - t), abs(hi - t))


def assert_within(srt: List[float], est: Dict[float, float], objectives: Dict[float, float]) -> None:
    n = len(srt)
    for q, eps in objectives.items():
        err = rank_error(srt, est[q], q)
        assert err <= eps * n + 1, f"q={q} eps={eps} n={n}: rank error {err} > {eps * n + 1}"


@settings(max_examples=300, deadline=None)
@given(quantile_data(), quantile_objectives, st.integers(1, 700))
def test_stream_rank_error_within_eps(data: List[float], objectives: Dict[float, float], buf: int) -> None:
    s = QuantileStream(objectives, buffer_size=buf)
    for x in data:
        s.insert(x)
    if not data:
        assert all(math.isnan(s.query(q)) for q in objectives)
        return
    srt = sorted(data)
    assert_within(srt, {q: s.query(q) for q in objectives}, objectives)
    assert s.count == len(data)


@settings(max_examples=100, deadline=None)
@given(quantile_data(), st.integers(1, 4), st.integers(1, 600))
def test_window_within_eps_without_expiry(data: List[float], buckets: int, buf: int) -> None:
    w = QuantileWindow(OBJ, max_age=60, age_buckets=buckets, clock=lambda: 0.0, buffer_size=buf)
    for x in data:
        w.observe(x)
    res = w.queries()
    assert [q for q, _ in res] == sorted(OBJ)
    if not data:
        assert all(math.isnan(v) for _, v in res)
        return
    assert_within(sorted(data), dict(res), OBJ)
    assert w.count == len(data)


@pytest.mark.parametrize("kind", ["uniform", "exp", "asc", "desc", "dups", "zigzag"])
def test_memory_bounded_1e5(kind: str) -> None:
    rnd = random.Random(7)
    n = 100_000
    gen = {
        "uniform": lambda i: rnd.random(),
        "exp": lambda i: rnd.expovariate(1.0),
        "asc": lambda i: float(i),
        "desc": lambda i: float(n - i),
        "dups": lambda i: float(rnd.randrange(3)),
        "zigzag": lambda i: float(i if i % 2 else n - i),
    }[kind]
    data = [gen(i) for i in range(n)]
    s = QuantileStream(OBJ)
    for x in data:
        s.insert(x)
    s.flush()
    assert len(s) < 600
    assert_within(sorted(data), {q: s.query(q) for q in OBJ}, OBJ)


def test_memory_bounded_1e6() -> None:
    rnd = random.Random(3)
    s = QuantileStream(OBJ)
    sizes = []
    for i in range(1_000_000):
        s.insert(rnd.random() if i % 3 else float(i))
        if i % 100_000 == 0:
            s.flush()
            sizes.append(len(s))
    s.flush()
    sizes.append(len(s))
    assert max(sizes) < 800, sizes


def test_window_forgets_on_schedule() -> None:
    now = [1000.0]
    w = QuantileWindow({0.5: 0.01}, max_age=10, age_buckets=5, clock=lambda: now[0])
    for _ in range(1000):
        w.observe(1.0)
    assert w.query(0.5) == 1.0
    # observations keep flowing with a new value; the old ones leave within max_age
    for step in range(1, 11):
        now[0] = 1000.0 + step * 1.0
        for _ in range(100):
            w.observe(5.0)
        if step < 8:
            # at most 2s per bucket have elapsed, the oldest stream still holds the 1.0s
            assert w.query(0.5) == 1.0
    now[0] = 1010.0
    assert w.query(0.5) == 5.0
    now[0] = 1100.0  # long silence: everything expired
    assert math.isnan(w.query(0.5))
    assert w.count == 0
    w.observe(3.0)
    assert w.query(0.5) == 3.0


def test_window_rotation_period_is_max_age_over_buckets() -> None:
    now = [0.0]
    w = QuantileWindow({0.5: 0.05}, max_age=10, age_buckets=2, clock=lambda: now[0])
    w.observe(1.0)
    now[0] = 4.9
    assert w.query(0.5) == 1.0
    now[0] = 5.0  # first rotation: the oldest stream (which saw 1.0) is reset ...
    # ... but the second stream was created at 0 too and also saw it
    assert w.query(0.5) == 1.0
    now[0] = 10.0  # second rotation: both streams that saw 1.0 are gone
    assert math.isnan(w.query(0.5))


def test_buffered_observations_flushed_on_query() -> None:
    w = QuantileWindow(OBJ, clock=lambda: 0.0, buffer_size=10_000)
    for x in range(100):
        w.observe(float(x))
    assert w.tuples() == 0  # still buffered
    assert abs(w.query(0.5) - 50.0) <= 0.05 * 100 + 1
    assert w.tuples() > 0


def test_nan_ignored_inf_kept() -> None:
    s = QuantileStream({0.5: 0.01, 1.0: 0.0, 0.0: 0.0})
    for x in (math.nan, 1.0, 2.0, math.inf, -math.inf, math.nan):
        s.insert(x)
    assert s.query(1.0) == math.inf
    assert s.query(0.0) == -math.inf
    assert s.query(0.5) in (1.0, 2.0)


def test_non_objective_query_is_best_effort() -> None:
    s = QuantileStream({0.5: 0.01})
    for x in range(10_000):
        s.insert(float(x))
    v = s.query(0.3)
    assert 0 <= v < 10_000
    assert abs(v - 3000) < 3000  # loose: no guarantee away from objectives


def test_exact_for_small_inputs() -> None:
    s = QuantileStream({0.5: 0.001, 0.9: 0.001})
    for x in (5.0, 1.0, 3.0, 2.0, 4.0):
        s.insert(x)
    assert s.query(0.5) == 3.0 or s.query(0.5) == 2.0
    assert s.query(0.9) in (4.0, 5.0)


def test_no_constraining_objective_keeps_min_and_max() -> None:
    s = QuantileStream({0.0: 0.01, 1.0: 0.01})
    for x in range(10_000):
        s.insert(float(x))
    s.flush()
    assert len(s) <= 3
    assert s.query(0.0) <= 100
    assert s.query(1.0) == 9999.0


@pytest.mark.parametrize("objectives", [{1.5: 0.01}, {-0.1: 0.01}, {0.5: 1.0}, {0.5: -0.1}])
def test_invalid_objectives(objectives: Dict[float, float]) -> None:
    with pytest.raises(ValueError):
        QuantileStream(objectives)
    with pytest.raises(ValueError):
        QuantileWindow(objectives)


def test_invalid_window_arguments() -> None:
    with pytest.raises(ValueError):
        QuantileWindow(OBJ, max_age=0)
    with pytest.raises(ValueError):
        QuantileWindow(OBJ, age_buckets=0)


def test_reset() -> None:
    s = QuantileStream(OBJ)
    for x in range(100):
        s.insert(float(x))
    s.reset()
    assert s.count == 0 and math.isnan(s.query(0.5))


@settings(max_examples=50, deadline=None)
@given(quantile_data(), st.integers(1, 600))
def test_window_observe_many_equals_observe(data: List[float], buf: int) -> None:
    a = QuantileWindow(OBJ, clock=lambda: 0.0, buffer_size=buf)
    for i in range(0, len(data), 37):
        a.observe_many(data[i:i + 37])
    assert a.count == len(data)
    if data:
        assert_within(sorted(data), dict(a.queries()), OBJ)


def test_buffered_across_rotations_is_kept_not_lost() -> None:
    now = [1000.0]
    w = QuantileWindow({0.5: 0.01}, max_age=60, age_buckets=3, clock=lambda: now[0])
    for _ in range(100):
        w.observe(1.0)
    assert w.query(0.5) == 1.0
    now[0] += 30  # one rotation (period 20 s) passes while 5.0s sit in the buffer
    for _ in range(100):
        w.observe(5.0)
    assert w.query(0.5) in (1.0, 5.0)
    now[0] += 45  # two more rotations: the 1.0s are older than max_age, the 5.0s are not
    assert w.query(0.5) == 5.0
    now[0] += 120
    assert math.isnan(w.query(0.5))
