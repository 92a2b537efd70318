"""Shared hypothesis strategies."""

from __future__ import annotations

from typing import Any, List, Tuple

from hypothesis import assume
from hypothesis import strategies as st

# ---------------------------------------------------------------------------
# Wire formats (_protobuf, _remote_write_pb, _snappy, _native_histogram)
# ---------------------------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True)
label_values = st.text(max_size=20)
any_floats = st.floats(allow_nan=True, allow_infinity=True)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=(1 << 64) - 1)
label_pairs = st.lists(st.tuples(label_names, label_values), max_size=4).map(tuple)
# (sec, nsec) with nanos in 0..1e9-1
timestamp_parts = st.tuples(st.integers(min_value=-(1 << 40), max_value=1 << 40),
                            st.integers(min_value=0, max_value=999_999_999))


class TS:
    """Minimal Timestamp-like value (sec, nsec attributes) for protobuf encoders."""

    def __init__(self, sec: int, nsec: int) -> None:
        self.sec = sec
        self.nsec = nsec

    def __repr__(self) -> str:
        return f"TS({self.sec}, {self.nsec})"


timestamps = timestamp_parts.map(lambda p: TS(*p))


@st.composite
def pb_exemplars(draw: Any, require_ts: bool = False) -> Any:
    from prometheus_client._protobuf import PBExemplar
    ts = draw(timestamps if require_ts else st.none() | timestamps)
    return PBExemplar(draw(label_pairs), draw(any_floats), ts)


@st.composite
def spans_and_deltas(draw: Any) -> Tuple[Tuple[Tuple[int, int], ...], Tuple[int, ...]]:
    spans = draw(st.lists(st.tuples(st.integers(-1000, 1000), st.integers(0, 6)), max_size=4))
    spans = [spans[0]] + [(abs(o), ln) for o, ln in spans[1:]] if spans else []
    n = sum(ln for _, ln in spans)
    deltas = draw(st.lists(st.integers(-(1 << 40), 1 << 40), min_size=n, max_size=n))
    return tuple(spans), tuple(deltas)


@st.composite
def pb_natives(draw: Any) -> Any:
    from prometheus_client._protobuf import PBNative
    is_float = draw(st.booleans())
    ps, pd = draw(spans_and_deltas())
    ns, nd = draw(spans_and_deltas())
    ex = tuple(draw(st.lists(pb_exemplars(require_ts=True), max_size=2)))
    if is_float:
        pc = tuple(draw(st.lists(st.floats(0.5, 1e12), min_size=len(pd), max_size=len(pd))))
        nc = tuple(draw(st.lists(st.floats(0.5, 1e12), min_size=len(nd), max_size=len(nd))))
        zc: float = draw(st.floats(0.5, 1e9).filter(lambda x: not x.is_integer()))
        return PBNative(draw(st.integers(-4, 8)), draw(st.floats(0, 1)), zc, ps, (), ns, (), pc, nc, ex)
    return PBNative(draw(st.integers(-4, 8)), draw(st.floats(0, 1)), draw(counts), ps, pd, ns, nd,
                    (), (), ex)


@st.composite
def pb_families(draw: Any) -> Any:
    from prometheus_client._protobuf import (
        COUNTER,
        GAUGE,
        GAUGE_HISTOGRAM,
        HISTOGRAM,
        SUMMARY,
        UNTYPED,
        PBBucket,
        PBFamily,
        PBMetric,
    )
    typ = draw(st.sampled_from([COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM]))
    metrics: List[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        labels = draw(label_pairs)
        ts = draw(st.none() | st.integers(-(1 << 62), 1 << 62))
        created = draw(st.none() | timestamps)
        if typ in (GAUGE, UNTYPED):
            metrics.append(PBMetric(labels, value=draw(any_floats), timestamp_ms=ts))
        elif typ == COUNTER:
            metrics.append(PBMetric(labels, value=draw(any_floats), timestamp_ms=ts,
                                    exemplar=draw(st.none() | pb_exemplars()), created=created))
        elif typ == SUMMARY:
            qs = tuple(draw(st.lists(st.tuples(st.floats(0, 1), any_floats), max_size=4)))
            metrics.append(PBMetric(labels, sample_count=draw(counts), sample_sum=draw(any_floats),
                                    quantiles=qs,
                                    created=created, timestamp_ms=ts))
        else:
            buckets = tuple(
                PBBucket(ub, c, draw(st.none() | pb_exemplars()))
                for ub, c in draw(st.lists(st.tuples(any_floats, counts | st.floats(0.5, 1e15)),
                                           max_size=4))
            )
            native = draw(st.none() | pb_natives())
            if native is not None and (native.positive_counts or native.negative_counts
                                       or not float(native.zero_count).is_integer()):
                count: float = draw(st.floats(0.5, 1e15))
            else:
                count = draw(counts | st.floats(0.5, 1e15))
            metrics.append(PBMetric(labels, sample_count=count, sample_sum=draw(any_floats), buckets=buckets,
                                    native=native, created=created, timestamp_ms=ts))
    unit = draw(st.sampled_from(["", "seconds", "bytes"]))
    return PBFamily(draw(st.text(min_size=1, max_size=20)), draw(st.text(max_size=30)), typ, metrics, unit)


# Byte strings with plenty of repetition (and anchor bytes), for compressors.
_fragments = st.lists(st.binary(min_size=1, max_size=40) | st.sampled_from(
    [b"\n", b"\x0a\x08__name__", b"\x12\x04node", b" ", b'"', b"aaaaaaaaaaaaaaaa"]), min_size=1, max_size=8)
compressible_bytes = st.one_of(
    st.binary(max_size=2000),
    st.tuples(_fragments, st.lists(st.integers(0, 7), max_size=200)).map(
        lambda t: b"".join(t[0][i % len(t[0])] for i in t[1])),
)


# Native histograms
schemas = st.integers(min_value=-4, max_value=8)
native_values = st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_nan=False,
                          allow_infinity=False) | st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def near_bucket_boundaries(draw: Any) -> Tuple[int, float]:
    """(schema, value) with the value at or within a few ulps of a bucket boundary."""
    import math
    schema = draw(schemas)
    k = draw(st.integers(-200, 200))
    if schema > 0:
        from prometheus_client._native_histogram import bounds_table
        q, r = divmod(k, 1 << schema)
        b = math.ldexp(bounds_table(schema)[r] * 2.0, q)
    else:
        w = 1 << -schema
        k = draw(st.integers(-1074 // w + 1, 1023 // w))
        b = math.ldexp(1.0, k * w)
    for _ in range(draw(st.integers(0, 3))):
        b = math.nextafter(b, math.inf if draw(st.booleans()) else 0.0)
    assume(0 < b < math.inf)
    return schema, b


sparse_buckets = st.dictionaries(st.integers(-300, 300), st.integers(0, 1 << 40), max_size=30)


# Quantile sketches
quantile_objectives = st.dictionaries(
    st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]) | st.floats(0, 1),
    st.sampled_from([0.001, 0.005, 0.01, 0.02, 0.05, 0.1]) | st.floats(0.0005, 0.2),
    min_size=1, max_size=5)


@st.composite
def quantile_data(draw: Any) -> List[float]:
    """Observation sequences: random, sorted either way, heavy duplicates, zig-zag, mixtures."""
    import random as _random
    n = draw(st.integers(0, 4000))
    rnd = _random.Random(draw(st.integers(0, 2 ** 32)))
    kind = draw(st.sampled_from(["uniform", "exp", "asc", "desc", "dups", "zigzag", "blocks", "drawn"]))
    if kind == "drawn":
        return draw(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, 1.0, -1.0]), max_size=300))
    if kind == "uniform":
        return [rnd.random() for _ in range(n)]
    if kind == "exp":
        return [rnd.expovariate(1.0) for _ in range(n)]
    if kind == "asc":
        return [float(i) for i in range(n)]
    if kind == "desc":
        return [float(n - i) for i in range(n)]
    if kind == "dups":
        k = draw(st.integers(1, 5))
        return [float(rnd.randrange(k)) for _ in range(n)]
    if kind == "zigzag":
        return [float(i if i % 2 else n - i) for i in range(n)]
    # ascending blocks in descending order
    size = draw(st.integers(1, 200))
    return [float(-(i // size) * size + i % size) for i in range(n)]
