from __future__ import annotations

import math
import struct
from typing import Any, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_descriptors import client_model_classes, read_delimited
from prometheus_client._formats import protobuf_model as pbm
from prometheus_client._formats import protobuf_wire as pb
from prometheus_client._formats.protobuf_model import PBBucket, PBExemplar, PBFamily, PBMetric, PBNative
from prometheus_client._formats.protobuf_wire import (
    COUNTER,
    GAUGE,
    GAUGE_HISTOGRAM,
    HISTOGRAM,
    SUMMARY,
    UNTYPED,
)
from strategies import TS, pb_families

C = client_model_classes()


# ---------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("n,enc", [
    (0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16384, "808001"),
    ((1 << 64) - 1, "ffffffffffffffffff01"), (-1, "ffffffffffffffffff01"), (-2, "feffffffffffffffff01"),
])
def test_varint_vectors(n: int, enc: str) -> None:
    assert pb.encode_varint(n).hex() == enc
    buf = bytearray(b"x")
    pb.write_varint(buf, n)
    assert buf[1:].hex() == enc
    assert pb.decode_varint(bytes.fromhex(enc)) == (n & ((1 << 64) - 1), len(enc) // 2)


@settings(deadline=None)
@given(st.integers(min_value=0, max_value=(1 << 64) - 1))
def test_varint_roundtrip(n: int) -> None:
    enc = pb.encode_varint(n)
    assert pb.decode_varint(enc + b"\xff", 0) == (n, len(enc))
    assert len(enc) == max(1, (n.bit_length() + 6) // 7)


@settings(deadline=None)
@given(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1))
def test_zigzag(n: int) -> None:
    z = pb.zigzag_encode(n)
    assert z == ((n << 1) ^ (n >> 63)) & ((1 << 64) - 1)
    assert pb.zigzag_decode(z) == n
    assert pb.to_int64(n & ((1 << 64) - 1)) == n


def test_zigzag_vectors() -> None:
    assert [pb.zigzag_encode(n) for n in (0, -1, 1, -2, 2)] == [0, 1, 2, 3, 4]


@settings(deadline=None)
@given(st.lists(st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)))
def test_packed_sint_roundtrip(vals: List[int]) -> None:
    enc = pb.encode_packed_sint(vals)
    assert [pb.zigzag_decode(v) for v in pb.decode_packed_varints(enc)] == vals


@settings(deadline=None)
@given(st.lists(st.floats(allow_nan=False)))
def test_packed_doubles_roundtrip(vals: List[float]) -> None:
    assert pb.decode_packed_doubles(pb.encode_packed_doubles(vals)) == vals


def test_tags() -> None:
    assert pb.encode_tag(16, pb.WIRE_LEN) == b"\x82\x01"
    assert pb.encode_tag(1, pb.WIRE_I64) == b"\x09"
    assert pb.encode_len_delimited(b"\x0a", b"ab") == b"\x0a\x02ab"
    assert pb.encode_len_delimited(b"\x0a", b"a" * 200)[:3] == b"\x0a\xc8\x01"
    assert pb.encode_double(b"\x09", 1.0) == b"\x09" + struct.pack("<d", 1.0)
    assert pb.decode_double(struct.pack("<d", 2.5)) == 2.5


def test_iter_fields_all_wire_types() -> None:
    data = b"\x08\x96\x01" + b"\x11" + struct.pack("<d", 1.5) + b"\x1a\x03abc" + b"\x25\x01\x02\x03\x04"
    assert list(pb.iter_fields(data)) == [
        (1, 0, 150), (2, 1, struct.pack("<d", 1.5)), (3, 2, b"abc"), (4, 5, b"\x01\x02\x03\x04")]


@pytest.mark.parametrize("bad", [
    b"\x08", b"\x08\x80", b"\x0a\x05ab", b"\x09\x00", b"\x0d\x00", b"\x0b", b"\x00\x00",
    b"\x08" + b"\xff" * 11,
])
def test_iter_fields_errors(bad: bytes) -> None:
    with pytest.raises(pb.DecodeError):
        list(pb.iter_fields(bad))


def test_decode_delimited_truncated() -> None:
    data = pbm.encode_delimited([PBFamily("a", "", GAUGE, [PBMetric(value=1.0)])])
    with pytest.raises(pb.DecodeError):
        pbm.decode_delimited(data[:-1])
    assert pbm.decode_delimited(b"") == []


def test_timestamp_parts() -> None:
    assert pb.timestamp_parts(1.5) == (1, 500_000_000)
    assert pb.timestamp_parts(-1.5) == (-2, 500_000_000)
    assert pb.timestamp_parts(TS(3, 7)) == (3, 7)
    assert pb.timestamp_parts(TS(-1, -500_000_000)) == (-2, 500_000_000)
    assert pb.timestamp_parts(0.9999999999) == (1, 0)
    with pytest.raises(ValueError):
        pb.timestamp_parts(math.inf)


# ---------------------------------------------------------------------------
# Known byte vectors
# ---------------------------------------------------------------------------

def test_spec_counter_vector() -> None:
    data = pbm.encode_delimited([PBFamily("a_total", "h", COUNTER, [PBMetric(value=1.0)])])
    assert data.hex(" ") == ("1b 0a 07 61 5f 74 6f 74 61 6c 12 01 68 18 00 22 0b 1a 09 09 "
                             "00 00 00 00 00 00 f0 3f")


def test_gauge_and_untyped_bytes() -> None:
    g = pbm.encode_family(PBFamily("g", "", GAUGE, [PBMetric((("a", "b"),), value=2.0, timestamp_ms=5)]))
    assert g == (b"\x0a\x01g\x12\x00\x18\x01\x22\x15" + b"\x0a\x06\x0a\x01a\x12\x01b"
                 + b"\x12\x09\x09" + struct.pack("<d", 2.0) + b"\x30\x05")
    u = pbm.encode_family(PBFamily("u", "", UNTYPED, [PBMetric(value=2.0)]))
    assert u.endswith(b"\x22\x0b\x2a\x09\x09" + struct.pack("<d", 2.0))


def test_long_labels_and_dict_labels() -> None:
    long = "x" * 300
    fam = PBFamily("n", "h" * 200, GAUGE, [PBMetric({"a": long, long: "b"}, value=1.0)])
    out = pbm.decode_delimited(pbm.encode_delimited([fam]))
    assert out[0].metrics[0].labels == (("a", long), (long, "b"))
    assert out[0].help == "h" * 200


def test_native_noop_span() -> None:
    fam = PBFamily("h", "", HISTOGRAM, [PBMetric(sample_count=0, native=PBNative(0, 0.0, 0))])
    msg = C["MetricFamily"].FromString(pbm.encode_family(fam))
    h = msg.metric[0].histogram
    assert [(s.offset, s.length) for s in h.positive_span] == [(0, 0)]
    assert h.HasField("zero_threshold") and h.HasField("schema")


def test_native_spec_example() -> None:
    # schema 3, observations {0,1,2,3}: zero_count 1, spans [(0,1),(7,1),(4,1)], deltas [1,0,0]
    nh = PBNative(3, 2.0 ** -128, 1, ((0, 1), (7, 1), (4, 1)), (1, 0, 0))
    fam = PBFamily("h", "", HISTOGRAM, [PBMetric(sample_count=4, sample_sum=6.0, native=nh)])
    h = C["MetricFamily"].FromString(pbm.encode_family(fam)).metric[0].histogram
    assert h.schema == 3 and h.zero_count == 1 and h.sample_count == 4
    assert [(s.offset, s.length) for s in h.positive_span] == [(0, 1), (7, 1), (4, 1)]
    assert list(h.positive_delta) == [1, 0, 0]


def test_unknown_type_rejected() -> None:
    with pytest.raises(ValueError):
        pbm.encode_family(PBFamily("x", "", 9, [PBMetric()]))


# ---------------------------------------------------------------------------
# Cross-check with google.protobuf
# ---------------------------------------------------------------------------

def _f(x: float) -> Any:
    return "nan" if x != x else x


def _ts(t: Any) -> Any:
    if t is None:
        return None
    if isinstance(t, TS):
        s, n = pb.timestamp_parts(t)
        return s + n / 1e9
    return float(t)


def _ex(e: Any) -> Any:
    if e is None:
        return None
    labels = tuple(e.labels.items()) if isinstance(e.labels, dict) else tuple(e.labels)
    return (labels, _f(e.value), _ts(e.timestamp))


def norm(f: PBFamily) -> Any:
    """Canonical comparable form of a family, with the encoder's documented normalisations."""
    ms = []
    for m in f.metrics:
        labels = tuple(m.labels.items()) if isinstance(m.labels, dict) else tuple(m.labels)
        ts = m.timestamp_ms
        if f.type in (GAUGE, UNTYPED):
            ms.append((labels, _f(m.value), ts))
        elif f.type == COUNTER:
            ms.append((labels, _f(m.value), _ex(m.exemplar), _ts(m.created), ts))
        elif f.type == SUMMARY:
            ms.append((labels, int(m.sample_count), _f(m.sample_sum),
                       tuple((_f(q), _f(v)) for q, v in m.quantiles),
                       _ts(m.created), ts))
        else:
            nh = m.native
            native: Any = None
            if nh is not None:
                pspans = tuple(nh.positive_spans)
                if not pspans and not nh.negative_spans and nh.zero_threshold == 0 and nh.zero_count == 0:
                    pspans = ((0, 0),)
                native = (nh.schema, _f(nh.zero_threshold), float(nh.zero_count), pspans,
                          tuple(nh.positive_deltas), tuple(nh.negative_spans), tuple(nh.negative_deltas),
                          tuple(nh.positive_counts), tuple(nh.negative_counts),
                          tuple(_ex(e) for e in nh.exemplars))
            buckets = tuple((_f(b.upper_bound), float(b.cumulative_count), _ex(b.exemplar))
                            for b in m.buckets)
            ms.append((labels, float(m.sample_count), _f(m.sample_sum), buckets, native, _ts(m.created), ts))
    return (f.name, f.help, f.type, tuple(ms), f.unit)


def _off_ts(t: Any) -> Any:
    return t.seconds + t.nanos / 1e9


def _off_ex(e: Any) -> Any:
    return (tuple((lp.name, lp.value) for lp in e.label), _f(e.value),
            _off_ts(e.timestamp) if e.HasField("timestamp") else None)


def from_official(mf: Any) -> Any:
    """Independent conversion of an official MetricFamily message to the ``norm`` form."""
    ms = []
    for m in mf.metric:
        labels = tuple((lp.name, lp.value) for lp in m.label)
        ts = m.timestamp_ms if m.HasField("timestamp_ms") else None
        if mf.type == GAUGE:
            assert m.HasField("gauge")
            ms.append((labels, _f(m.gauge.value), ts))
        elif mf.type == UNTYPED:
            assert m.HasField("untyped")
            ms.append((labels, _f(m.untyped.value), ts))
        elif mf.type == COUNTER:
            c = m.counter
            assert c.HasField("value")
            ms.append((labels, _f(c.value), _off_ex(c.exemplar) if c.HasField("exemplar") else None,
                       _off_ts(c.created_timestamp) if c.HasField("created_timestamp") else None, ts))
        elif mf.type == SUMMARY:
            s = m.summary
            assert s.HasField("sample_count") and s.HasField("sample_sum")
            ms.append((labels, s.sample_count, _f(s.sample_sum),
                       tuple((_f(q.quantile), _f(q.value)) for q in s.quantile),
                       _off_ts(s.created_timestamp) if s.HasField("created_timestamp") else None, ts))
        else:
            h = m.histogram
            count = h.sample_count_float if h.sample_count_float > 0 else float(h.sample_count)
            buckets = tuple(
                (_f(b.upper_bound),
                 b.cumulative_count_float if b.cumulative_count_float > 0 else float(b.cumulative_count),
                 _off_ex(b.exemplar) if b.HasField("exemplar") else None)
                for b in h.bucket)
            native: Any = None
            if h.HasField("schema"):
                native = (h.schema, _f(h.zero_threshold),
                          h.zero_count_float if h.zero_count_float > 0 else float(h.zero_count),
                          tuple((s.offset, s.length) for s in h.positive_span), tuple(h.positive_delta),
                          tuple((s.offset, s.length) for s in h.negative_span), tuple(h.negative_delta),
                          tuple(h.positive_count), tuple(h.negative_count),
                          tuple(_off_ex(e) for e in h.exemplars))
            ms.append((labels, count, _f(h.sample_sum), buckets, native,
                       _off_ts(h.created_timestamp) if h.HasField("created_timestamp") else None, ts))
    return (mf.name, mf.help, mf.type, tuple(ms), mf.unit)


def to_official(f: PBFamily) -> Any:
    """Build the official message for a family (proto2: repeated sint64 are written unpacked)."""
    mf = C["MetricFamily"](name=f.name, help=f.help, type=f.type)
    if f.unit:
        mf.unit = f.unit

    def set_ts(dst: Any, t: Any) -> None:
        s, n = pb.timestamp_parts(t)
        dst.seconds = s
        dst.nanos = n

    def set_ex(dst: Any, e: PBExemplar) -> None:
        for k, v in e.labels:
            dst.label.add(name=k, value=v)
        dst.value = e.value
        if e.timestamp is not None:
            set_ts(dst.timestamp, e.timestamp)

    for m in f.metrics:
        om = mf.metric.add()
        for k, v in m.labels:
            om.label.add(name=k, value=v)
        if m.timestamp_ms is not None:
            om.timestamp_ms = m.timestamp_ms
        if f.type == GAUGE:
            om.gauge.value = m.value
        elif f.type == UNTYPED:
            om.untyped.value = m.value
        elif f.type == COUNTER:
            om.counter.value = m.value
            if m.exemplar is not None:
                set_ex(om.counter.exemplar, m.exemplar)
            if m.created is not None:
                set_ts(om.counter.created_timestamp, m.created)
        elif f.type == SUMMARY:
            om.summary.sample_count = int(m.sample_count)
            om.summary.sample_sum = m.sample_sum
            for q, v in m.quantiles:
                om.summary.quantile.add(quantile=q, value=v)
            if m.created is not None:
                set_ts(om.summary.created_timestamp, m.created)
        else:
            h = om.histogram
            nh = m.native
            is_float = nh is not None and (bool(nh.positive_counts or nh.negative_counts)
                                           or not float(nh.zero_count).is_integer())
            if is_float or not float(m.sample_count).is_integer():
                h.sample_count_float = m.sample_count
            else:
                h.sample_count = int(m.sample_count)
            h.sample_sum = m.sample_sum
            for b in m.buckets:
                ob = h.bucket.add(upper_bound=b.upper_bound)
                if float(b.cumulative_count).is_integer():
                    ob.cumulative_count = int(b.cumulative_count)
                else:
                    ob.cumulative_count_float = b.cumulative_count
                if b.exemplar is not None:
                    set_ex(ob.exemplar, b.exemplar)
            if m.created is not None:
                set_ts(h.created_timestamp, m.created)
            if nh is not None:
                h.schema = nh.schema
                h.zero_threshold = nh.zero_threshold
                if is_float:
                    h.zero_count_float = nh.zero_count
                else:
                    h.zero_count = int(nh.zero_count)
                pspans = nh.positive_spans
                if not pspans and not nh.negative_spans and nh.zero_threshold == 0 and nh.zero_count == 0:
                    pspans = ((0, 0),)
                for o, ln in pspans:
                    h.positive_span.add(offset=o, length=ln)
                for o, ln in nh.negative_spans:
                    h.negative_span.add(offset=o, length=ln)
                h.positive_delta.extend(nh.positive_deltas)
                h.negative_delta.extend(nh.negative_deltas)
                h.positive_count.extend(nh.positive_counts)
                h.negative_count.extend(nh.negative_counts)
                for e in nh.exemplars:
                    set_ex(h.exemplars.add(), e)
    return mf


@settings(max_examples=300, deadline=None)
@given(st.lists(pb_families(), max_size=3))
def test_official_decodes_our_bytes(fams: List[PBFamily]) -> None:
    data = pbm.encode_delimited(fams)
    msgs = read_delimited(data)
    assert len(msgs) == len(fams)
    for f, raw in zip(fams, msgs):
        mf = C["MetricFamily"].FromString(raw)
        assert from_official(mf) == norm(f)
        assert raw == pbm.encode_family(f)


@settings(max_examples=300, deadline=None)
@given(pb_families())
def test_we_decode_official_bytes(f: PBFamily) -> None:
    raw = to_official(f).SerializeToString()
    (got,) = pbm.decode_delimited(pb.encode_varint(len(raw)) + raw)
    assert norm(got) == norm(f)


@settings(max_examples=300, deadline=None)
@given(st.lists(pb_families(), max_size=3))
def test_roundtrip(fams: List[PBFamily]) -> None:
    got = pbm.decode_delimited(pbm.encode_delimited(fams))
    assert [norm(g) for g in got] == [norm(f) for f in fams]
    # decoded values re-encode to the same bytes (timestamps aside, which are floats once decoded)


def test_decoder_last_scalar_wins_and_merges_unknown() -> None:
    # name twice (last wins), an unknown varint field 9 and an unknown fixed32 field 10 skipped
    raw = b"\x0a\x01a\x0a\x01b\x48\x01\x55\x00\x00\x00\x00\x18\x01"
    (f,) = pbm.decode_delimited(pb.encode_varint(len(raw)) + raw)
    assert (f.name, f.type, list(f.metrics)) == ("b", GAUGE, [])


def test_decode_packed_and_unpacked_deltas() -> None:
    unpacked = b"\x28\x06" + b"\x68\x02\x68\x02" + b"\x62\x04\x08\x00\x10\x02"
    packed = b"\x28\x06" + b"\x6a\x02\x02\x02" + b"\x62\x04\x08\x00\x10\x02"
    for body in (unpacked, packed):
        raw = b"\x18\x04\x22" + bytes([len(body) + 2]) + b"\x3a" + bytes([len(body)]) + body
        (f,) = pbm.decode_delimited(pb.encode_varint(len(raw)) + raw)
        nh = f.metrics[0].native
        assert nh is not None and nh.schema == 3
        assert nh.positive_deltas == (1, 1) and nh.positive_spans == ((0, 2),)


def test_histogram_classic_with_exemplars_and_created() -> None:
    ex = PBExemplar({"trace_id": "abc"}, 0.3, 1700000000.25)
    fam = PBFamily("h", "help", HISTOGRAM, [PBMetric(
        {"l": "v"}, sample_count=3, sample_sum=1.5,
        buckets=(PBBucket(0.5, 2, ex), PBBucket(math.inf, 3)), created=1700000000.5)])
    mf = C["MetricFamily"].FromString(read_delimited(pbm.encode_delimited([fam]))[0])
    h = mf.metric[0].histogram
    assert h.sample_count == 3 and h.sample_sum == 1.5
    assert [(b.upper_bound, b.cumulative_count) for b in h.bucket] == [(0.5, 2), (math.inf, 3)]
    assert h.bucket[0].exemplar.label[0].name == "trace_id"
    assert (h.bucket[0].exemplar.timestamp.seconds, h.bucket[0].exemplar.timestamp.nanos) == (
        1700000000, 250_000_000)
    assert (h.created_timestamp.seconds, h.created_timestamp.nanos) == (1700000000, 500_000_000)
    assert not h.HasField("schema")


def test_gauge_histogram_and_float_native() -> None:
    nh = PBNative(1, 0.001, 2.5, ((-3, 2),), (), ((1, 1),), (), (1.5, 2.5), (0.5,))
    fam = PBFamily("gh", "", GAUGE_HISTOGRAM, [PBMetric(sample_count=7.0, sample_sum=2.0, native=nh)])
    mf = C["MetricFamily"].FromString(pbm.encode_family(fam))
    h = mf.metric[0].histogram
    assert mf.type == GAUGE_HISTOGRAM
    assert h.sample_count_float == 7.0 and not h.HasField("sample_count")
    assert h.zero_count_float == 2.5 and not h.HasField("zero_count")
    assert list(h.positive_count) == [1.5, 2.5] and list(h.negative_count) == [0.5]



@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=300) | pb_families().map(lambda f: pbm.encode_delimited([f])).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, max(0, len(b) - 1)), st.integers(0, 255)).map(
        lambda t: t[0][:t[1]] + bytes([t[2]]) + t[0][t[1] + 1:])))
def test_decoder_fuzz_only_decode_errors(data: bytes) -> None:
    try:
        pbm.decode_delimited(data)
    except pb.DecodeError:
        pass
