from __future__ import annotations

import math
from fractions import Fraction
from typing import Dict, List

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from prometheus_client._sketch import native_histogram as nh
from prometheus_client._sketch.native_histogram import NativeHistogramState
from strategies import native_values, near_bucket_boundaries, schemas, sparse_buckets


def exact_index(v: float, schema: int) -> int:
    """Smallest i with |v| <= base**i, by exact rational arithmetic (the data model)."""
    a = Fraction(abs(v))
    # start from the float estimate, then correct exactly
    i = math.ceil(math.log2(abs(v)) * 2.0 ** schema)

    def le_upper(k: int) -> bool:  # a <= base**k
        if schema >= 0:
            return a ** (1 << schema) <= Fraction(2) ** k
        return a <= Fraction(2) ** (k << -schema)

    while not le_upper(i):
        i += 1
    while le_upper(i - 1):
        i -= 1
    return i


@settings(max_examples=500, deadline=None)
@given(schemas, native_values)
def test_bucket_index_matches_data_model(schema: int, v: float) -> None:
    assert nh.bucket_index(v, schema) == exact_index(v, schema)
    assert nh.bucket_index(-v, schema) == exact_index(v, schema)


@settings(max_examples=500, deadline=None)
@given(near_bucket_boundaries())
def test_bucket_index_at_boundaries(sv: tuple[int, float]) -> None:
    schema, v = sv
    assert nh.bucket_index(v, schema) == exact_index(v, schema)


@pytest.mark.parametrize("schema", range(-4, 9))
def test_powers_of_base_are_upper_inclusive(schema: int) -> None:
    # 2**k is a boundary in every schema: for schema >= 0 it is base**(k * 2**schema)
    for k in (-1074, -1022, -100, -1, 0, 1, 7, 100, 1023):
        v = math.ldexp(1.0, k)
        i = nh.bucket_index(v, schema)
        assert i == exact_index(v, schema)
        if schema >= 0:
            assert i == k << schema
        lo, hi = nh.bucket_bounds(i, schema)
        assert lo < v <= hi or (k < -1000 and lo <= v <= hi)  # bounds underflow near 5e-324


def test_spec_vectors() -> None:
    assert [nh.bucket_index(v, -1) for v in (0.0625, 0.25, 1, 3.5, 7, 33.33)] == [-2, -1, 0, 1, 2, 3]
    assert nh.bucket_index(math.inf, 2) == 4097
    assert nh.bucket_index(1.7976931348623157e308, 0) == 1024
    assert nh.bucket_index(1.7976931348623157e308, 8) == 262144
    assert nh.bucket_index(1.7976931348623157e308, -4) == 64
    assert nh.bucket_index(math.inf, -4) == 65
    h = NativeHistogramState(schema=2)
    for v in (1, 1.2, 1.4, 1.8, 2):
        h.observe(v)
    snap = h.snapshot()
    assert snap.pos_spans == [(0, 5)] and snap.pos_deltas == [1, -1, 2, -2, 2]
    h = NativeHistogramState(factor=1.1)
    for v in (0, 1, 2, 3):
        h.observe(v)
    snap = h.snapshot()
    assert snap.schema == 3 and snap.zero_count == 1
    assert snap.pos_spans == [(0, 1), (7, 1), (4, 1)] and snap.pos_deltas == [1, 0, 0]
    assert (snap.count_value, snap.sum_value) == (4, 6.0)


def test_pick_schema() -> None:
    factors = [65536, 256, 16, 4, 2, 1.5, 1.2, 1.1, 1.05, 1.03, 1.02, 1.01, 1.005, 1.0001, 1e9, math.inf]
    assert [nh.pick_schema(f) for f in factors] == [-4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 8, -4, -4]
    for bad in (1.0, 0.5, -2.0, math.nan):
        with pytest.raises(ValueError):
            nh.pick_schema(bad)


@settings(deadline=None)
@given(st.floats(min_value=1.0001, max_value=1e6))
def test_pick_schema_is_largest_not_exceeding(f: float) -> None:
    s = nh.pick_schema(f)
    if -4 < s < 8:
        assert 2 ** (2.0 ** -s) <= f * (1 + 1e-12)
        assert 2 ** (2.0 ** -(s + 1)) < f


@settings(max_examples=300, deadline=None)
@given(schemas, st.integers(1, 6), st.lists(native_values, max_size=60))
def test_reduction_equals_rebucketing(schema: int, steps: int, values: List[float]) -> None:
    assume(schema - steps >= nh.MIN_SCHEMA)
    hi: Dict[int, int] = {}
    lo: Dict[int, int] = {}
    for v in values:
        i = nh.bucket_index(v, schema)
        hi[i] = hi.get(i, 0) + 1
        j = nh.bucket_index(v, schema - steps)
        lo[j] = lo.get(j, 0) + 1
    assert nh.reduce_buckets(hi, steps) == lo
    one_by_one = hi
    for _ in range(steps):
        one_by_one = nh.reduce_buckets(one_by_one)
    assert one_by_one == lo


@settings(max_examples=300, deadline=None)
@given(sparse_buckets, st.integers(0, 4))
def test_spans_deltas_roundtrip(buckets: Dict[int, int], gap_fill: int) -> None:
    spans, deltas = nh.to_spans_deltas(buckets, gap_fill)
    assert sum(ln for _, ln in spans) == len(deltas)
    assert all(off >= 0 for off, _ in spans[1:])
    back = nh.from_spans_deltas(spans, deltas)
    assert {k: v for k, v in back.items() if v} == {k: v for k, v in buckets.items() if v}
    filled = set(back) - set(buckets)
    assert all(back[k] == 0 for k in filled)
    if gap_fill == 0:
        assert set(back) == set(buckets)


def test_from_spans_deltas_errors() -> None:
    with pytest.raises(ValueError):
        nh.from_spans_deltas([(0, 2)], [1])
    with pytest.raises(ValueError):
        nh.from_spans_deltas([(0, 1)], [1, 2])
    assert nh.to_spans_deltas({}) == ([], [])


@settings(max_examples=200, deadline=None)
@given(schemas, st.lists(native_values | st.sampled_from([0.0, -0.0, math.inf, -math.inf, 1e-40]),
                         max_size=80), st.integers(1, 20))
def test_state_bucket_limit_reduces_schema(schema: int, values: List[float], limit: int) -> None:
    h = NativeHistogramState(schema=schema, max_buckets=limit)
    for v in values:
        h.observe(v)
    pos, neg = h.buckets()
    assert len(pos) + len(neg) <= limit or h.schema == nh.MIN_SCHEMA
    # equals bucketing from scratch at the final schema
    zt = nh.DEFAULT_ZERO_THRESHOLD
    ep: Dict[int, int] = {}
    en: Dict[int, int] = {}
    zero = 0
    for v in values:
        if v > zt:
            i = nh.bucket_index(v, h.schema)
            ep[i] = ep.get(i, 0) + 1
        elif v < -zt:
            i = nh.bucket_index(v, h.schema)
            en[i] = en.get(i, 0) + 1
        else:
            zero += 1
    assert (pos, neg) == (ep, en)
    snap = h.snapshot()
    assert snap.count_value == len(values) and snap.zero_count == zero
    assert {k: v for k, v in nh.from_spans_deltas(snap.pos_spans, snap.pos_deltas).items() if v} == ep
    assert {k: v for k, v in nh.from_spans_deltas(snap.neg_spans, snap.neg_deltas).items() if v} == en


def test_nan_and_infinities() -> None:
    h = NativeHistogramState(schema=0)
    h.observe(math.nan)
    h.observe(math.inf)
    h.observe(-math.inf)
    h.observe(0.0)
    snap = h.snapshot()
    assert snap.count_value == 4 and math.isnan(snap.sum_value)
    assert snap.zero_count == 1
    assert snap.pos_spans == [(1025, 1)] and snap.neg_spans == [(1025, 1)]


def test_zero_threshold_is_closed() -> None:
    h = NativeHistogramState(schema=0, zero_threshold=0.5)
    for v in (0.5, -0.5, 0.25, 0.5000000001, -0.75):
        h.observe(v)
    snap = h.snapshot()
    assert snap.zero_count == 3 and snap.zero_threshold == 0.5
    assert snap.pos_spans == [(0, 1)] and snap.neg_spans == [(0, 1)]


def test_reset_policy_with_fake_clock() -> None:
    now = [100.0]
    h = NativeHistogramState(schema=3, max_buckets=4, min_reset_duration=60, clock=lambda: now[0])
    for v in (1, 2, 4, 8):
        h.observe(v)
    assert len(h.buckets()[0]) == 4
    h.observe(16)  # 5th bucket, too early to reset: schema is reduced instead
    assert h.schema < 3 and h.count == 5 and h.resets == 0
    now[0] = 200.0
    h.observe(2.0 ** 50)
    assert h.resets == 0 and h.count == 6
    h.observe(1000)  # new bucket over the limit, 100 s after the last reset: reset
    assert h.resets == 1 and h.last_reset == 200.0
    assert h.schema == 3 and h.count == 1 and h.sum == 1000  # the latest observation is kept
    now[0] = 210.0
    for v in (10 ** 6, 10 ** 9, 10 ** 12, 10 ** 15):
        h.observe(v)
    assert h.resets == 1 and h.count == 5 and h.schema < 3


def test_widen_zero_bucket() -> None:
    h = NativeHistogramState(schema=0, max_buckets=3, max_zero_threshold=1.0)
    for v in (0.1, 0.3, 2.0, 5.0):
        h.observe(v)
    # 0.1 is in bucket -3 (0.0625, 0.125]; widening moves it into the zero bucket
    snap = h.snapshot()
    assert snap.schema == 0
    assert snap.zero_threshold == 0.125 and snap.zero_count == 1
    assert sum(snap.pos_deltas[:1]) == 1


def test_constructor_errors() -> None:
    with pytest.raises(ValueError):
        NativeHistogramState(factor=1.0)
    with pytest.raises(ValueError):
        NativeHistogramState(schema=9)
    with pytest.raises(ValueError):
        NativeHistogramState(zero_threshold=-1)
    with pytest.raises(ValueError):
        NativeHistogramState(max_buckets=-1)
    with pytest.raises(ValueError):
        nh.bounds_table(0)


def test_bounds_tables_are_nested_and_rounded_down() -> None:
    big = nh.bounds_table(8)
    for s in range(1, 9):
        t = nh.bounds_table(s)
        assert t == big[:: 1 << (8 - s)]
        for j, b in enumerate(t):
            # b <= 2**(j/2**s - 1) < nextafter(b, inf), checked exactly
            assert Fraction(b) ** (1 << s) * 2 ** (1 << s) <= Fraction(2) ** j
            assert Fraction(math.nextafter(b, math.inf)) ** (1 << s) * 2 ** (1 << s) > Fraction(2) ** j


@settings(max_examples=200, deadline=None)
@given(schemas, st.lists(native_values | st.sampled_from([0.0, math.nan, math.inf, -math.inf, -3.0, 1e-40]),
                         max_size=120), st.integers(0, 12), st.booleans())
def test_observe_many_equals_observe(schema: int, values: List[float], limit: int, resets: bool) -> None:
    def make() -> NativeHistogramState:
        ticks = iter(range(10_000))
        return NativeHistogramState(schema=schema, max_buckets=limit, max_zero_threshold=1.0 if resets else 0.0,
                                    min_reset_duration=5 if resets else 0, clock=lambda: float(next(ticks)))

    hs = [make(), make()]
    for v in values:
        hs[0].observe(v)
    hs[1].observe_many(values)
    a, b = hs[0].snapshot(), hs[1].snapshot()
    assert a[0] == b[0] and a[2:] == b[2:]
    assert a.sum_value == b.sum_value or (math.isnan(a.sum_value) and math.isnan(b.sum_value))
    assert hs[0].resets == hs[1].resets


def test_bucket_bounds_overflow_and_widening_near_max_float() -> None:
    assert nh.bucket_bounds(nh.bucket_index(math.inf, 1), 1)[1] == math.inf
    assert nh.bucket_bounds(nh.bucket_index(1.7976931348623157e308, 1), 1)[1] == 1.7976931348623157e308
    h = NativeHistogramState(schema=1, max_buckets=1, max_zero_threshold=1.0)
    h.observe(1.2711610061536464e308)
    h.observe(math.inf)  # over the limit: widening is impossible (bounds beyond 1.0), schema drops
    assert h.count == 2 and h.schema == nh.MIN_SCHEMA  # max float and +Inf stay apart even at -4
    assert h.buckets()[0] == {64: 1, 65: 1}
