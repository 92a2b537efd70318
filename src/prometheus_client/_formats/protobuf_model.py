"""The io.prometheus.client message model (plain NamedTuples) and its codec: encode and decode
``MetricFamily`` messages, delimited or not. Wire primitives are in ``_protobuf``.

The encoder takes plain Python values (:class:`PBFamily`, :class:`PBMetric`, ...) so it does
not depend on the metric objects; :func:`decode_delimited` turns bytes back into the same
tuples. Field numbers follow ``metrics.proto`` (proto2) of ``prometheus/client_model``.
"""


from __future__ import annotations

from typing import Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Union, cast

from .protobuf_wire import (
    _SMALL,
    _TAG_DOUBLE,
    COUNTER,
    GAUGE,
    GAUGE_HISTOGRAM,
    HISTOGRAM,
    SUMMARY,
    UNTYPED,
    DecodeError,
    FieldValue,
    TimestampLike,
    _decode_timestamp,
    _ld,
    _pack_double,
    _unpack_double_from,
    _varint,
    decode_packed_doubles,
    decode_packed_varints,
    decode_varint,
    encode_packed_doubles,
    encode_packed_sint,
    encode_timestamp,
    iter_fields,
    to_int32,
    to_int64,
    write_varint,
    zigzag_decode,
    zigzag_encode,
)

__all__ = [
    "PBExemplar", "PBBucket", "PBNative", "PBMetric", "PBFamily", "uint_count",
    "encode_family", "encode_delimited", "decode_family", "decode_delimited",
]


Labels = Union[Mapping[str, str], Sequence[Tuple[str, str]]]


class PBExemplar(NamedTuple):
    labels: Labels
    value: float
    timestamp: Optional[TimestampLike] = None  # seconds (float) or Timestamp-like


class PBBucket(NamedTuple):
    upper_bound: float
    cumulative_count: float  # integral values use the uint64 field, others the double field
    exemplar: Optional[PBExemplar] = None


class PBNative(NamedTuple):
    """Native histogram part of a Histogram message.

    Integer histograms give ``*_deltas``; float histograms give absolute ``*_counts``
    (and then count/zero_count travel in the ``*_float`` fields).  Spans are
    ``(offset, length)`` pairs.
    """

    schema: int
    zero_threshold: float
    zero_count: float
    positive_spans: Sequence[Tuple[int, int]] = ()
    positive_deltas: Sequence[int] = ()
    negative_spans: Sequence[Tuple[int, int]] = ()
    negative_deltas: Sequence[int] = ()
    positive_counts: Sequence[float] = ()
    negative_counts: Sequence[float] = ()
    exemplars: Sequence[PBExemplar] = ()


class PBMetric(NamedTuple):
    """One label set of a family.

    * counter / gauge / untyped: ``value`` (counter also ``exemplar``, ``created``)
    * summary: ``sample_count``, ``sample_sum``, ``quantiles`` [(q, v)], ``created``
    * histogram / gauge histogram: ``sample_count``, ``sample_sum``, ``buckets``, ``native``, ``created``
    """

    labels: Labels = ()
    value: float = 0.0
    sample_count: float = 0.0
    sample_sum: float = 0.0
    quantiles: Sequence[Tuple[float, float]] = ()
    buckets: Sequence[PBBucket] = ()
    native: Optional[PBNative] = None
    exemplar: Optional[PBExemplar] = None
    created: Optional[TimestampLike] = None
    timestamp_ms: Optional[int] = None


class PBFamily(NamedTuple):
    name: str
    help: str
    type: int  # COUNTER .. GAUGE_HISTOGRAM
    metrics: Sequence[PBMetric]
    unit: str = ""


# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------

_INT_LIMIT = float(1 << 64)


def _is_count_int(v: float) -> bool:
    return 0 <= v < _INT_LIMIT and (v.__class__ is int or float(v).is_integer())


def uint_count(v: float) -> int:
    """A count for a uint64-only field (Summary.sample_count): NaN and negatives become 0,
    fractions are dropped, values beyond the range saturate."""
    if not v > 0:
        return 0
    if v >= _INT_LIMIT:
        return (1 << 64) - 1
    return int(v)


def _label_pairs(tag: bytes, labels: Labels) -> bytes:
    items: Iterable[Tuple[str, str]]
    cls = labels.__class__
    if cls is tuple or cls is list:
        items = cast("Sequence[Tuple[str, str]]", labels)
    elif cls is dict or isinstance(labels, Mapping):
        items = cast("Mapping[str, str]", labels).items()
    else:
        items = labels  # a Sequence, after the Mapping test
    parts = []
    small = _SMALL
    for n, v in items:
        nb = n.encode("utf-8")
        vb = v.encode("utf-8")
        ln = len(nb)
        lv = len(vb)
        if ln < 0x80 and lv < 0x80 and ln + lv < 0x7C:
            parts.append(tag + small[ln + lv + 4] + b"\x0a" + small[ln] + nb + b"\x12" + small[lv] + vb)
        else:
            parts.append(_ld(tag, _ld(b"\x0a", nb) + _ld(b"\x12", vb)))
    return b"".join(parts)


def _exemplar(e: PBExemplar) -> bytes:
    body = _label_pairs(b"\x0a", e.labels) + _TAG_DOUBLE(0x11, e.value)
    if e.timestamp is not None:
        body += _ld(b"\x1a", encode_timestamp(e.timestamp))
    return body


def _count_field(out: bytearray, int_tag: int, float_tag: int, v: float, force_float: bool) -> None:
    if not force_float and _is_count_int(v):
        out.append(int_tag)
        write_varint(out, int(v))
    else:
        out += _TAG_DOUBLE(float_tag, v)


def _spans(out: bytearray, tag: int, spans: Sequence[Tuple[int, int]]) -> None:
    for off, length in spans:
        body = bytearray(b"\x08")
        write_varint(body, zigzag_encode(off))
        body.append(0x10)
        write_varint(body, length)
        out.append(tag)
        out.append(len(body))  # at most 1 + 5 + 1 + 5 bytes < 128
        out += body


def _histogram(m: PBMetric) -> bytes:
    nh = m.native
    is_float = False
    if nh is not None:
        is_float = bool(nh.positive_counts or nh.negative_counts) or not _is_count_int(nh.zero_count)
    out = bytearray()
    _count_field(out, 0x08, 0x21, m.sample_count, is_float)
    out += _TAG_DOUBLE(0x11, m.sample_sum)
    for b in m.buckets:
        bb = bytearray()
        _count_field(bb, 0x08, 0x21, b.cumulative_count, False)
        bb += _TAG_DOUBLE(0x11, b.upper_bound)
        if b.exemplar is not None:
            bb += _ld(b"\x1a", _exemplar(b.exemplar))
        out += _ld(b"\x1a", bytes(bb))
    if nh is not None:
        out.append(0x28)
        write_varint(out, zigzag_encode(nh.schema))
        out += _TAG_DOUBLE(0x31, nh.zero_threshold)
        _count_field(out, 0x38, 0x41, nh.zero_count, is_float)
        pos_spans = nh.positive_spans
        if (not pos_spans and not nh.negative_spans and nh.zero_threshold == 0
                and nh.zero_count == 0):
            pos_spans = ((0, 0),)  # no-op span marks an empty native histogram
        _spans(out, 0x4A, nh.negative_spans)
        if nh.negative_deltas:
            out += _ld(b"\x52", encode_packed_sint(nh.negative_deltas))
        if nh.negative_counts:
            out += _ld(b"\x5a", encode_packed_doubles(nh.negative_counts))
        _spans(out, 0x62, pos_spans)
        if nh.positive_deltas:
            out += _ld(b"\x6a", encode_packed_sint(nh.positive_deltas))
        if nh.positive_counts:
            out += _ld(b"\x72", encode_packed_doubles(nh.positive_counts))
    if m.created is not None:
        out += _ld(b"\x7a", encode_timestamp(m.created))
    if nh is not None:
        for e in nh.exemplars:
            out += _ld(b"\x82\x01", _exemplar(e))
    return bytes(out)


def _summary(m: PBMetric) -> bytes:
    out = bytearray(b"\x08")
    write_varint(out, uint_count(m.sample_count))
    out += _TAG_DOUBLE(0x11, m.sample_sum)
    for q, v in m.quantiles:
        out += b"\x1a\x12" + _TAG_DOUBLE(0x09, q) + _TAG_DOUBLE(0x11, v)
    if m.created is not None:
        out += _ld(b"\x22", encode_timestamp(m.created))
    return bytes(out)


def _metrics_simple(tag: bytes, metrics: Sequence[PBMetric]) -> List[bytes]:
    """Fast path for gauge/untyped (and counters without exemplar/created)."""
    parts = []
    small = _SMALL
    head = tag + b"\x09\x09"  # value submessage: 09 <double>, always 9 bytes
    for m in metrics:
        lb = _label_pairs(b"\x0a", m.labels) if m.labels else b""
        body = lb + head + _pack_double(m.value)
        if m.timestamp_ms is not None:
            body += b"\x30" + _varint(m.timestamp_ms)
        n = len(body)
        parts.append(b"\x22" + (small[n] if n < 0x80 else _varint(n)) + body)
    return parts


def _metric(typ: int, m: PBMetric) -> bytes:
    body = _label_pairs(b"\x0a", m.labels) if m.labels else b""
    if typ == COUNTER:
        inner = _TAG_DOUBLE(0x09, m.value)
        if m.exemplar is not None:
            inner += _ld(b"\x12", _exemplar(m.exemplar))
        if m.created is not None:
            inner += _ld(b"\x1a", encode_timestamp(m.created))
        body += _ld(b"\x1a", inner)
    elif typ == GAUGE:
        body += b"\x12\x09\x09" + _pack_double(m.value)
    elif typ == UNTYPED:
        body += b"\x2a\x09\x09" + _pack_double(m.value)
    elif typ == SUMMARY:
        body += _ld(b"\x22", _summary(m))
    elif typ == HISTOGRAM or typ == GAUGE_HISTOGRAM:
        body += _ld(b"\x3a", _histogram(m))
    else:
        raise ValueError(f"unknown metric type {typ!r}")
    if m.timestamp_ms is not None:
        body += b"\x30" + _varint(m.timestamp_ms)
    return _ld(b"\x22", body)


def encode_family(family: PBFamily) -> bytes:
    """Encode one ``MetricFamily`` message (without length prefix)."""
    name, help_, typ, metrics, unit = family
    head = _ld(b"\x0a", name.encode("utf-8")) + _ld(b"\x12", help_.encode("utf-8"))
    head += b"\x18" + _SMALL[typ]
    if typ == GAUGE:
        parts = _metrics_simple(b"\x12", metrics)
    elif typ == UNTYPED:
        parts = _metrics_simple(b"\x2a", metrics)
    else:
        parts = [_metric(typ, m) for m in metrics]
    if unit:
        parts.append(_ld(b"\x2a", unit.encode("utf-8")))
    return head + b"".join(parts)


def encode_delimited(families: Iterable[PBFamily]) -> bytes:
    """Encode the ``encoding=delimited`` stream: ``varint(len) ‖ MetricFamily`` per family."""
    out = []
    for f in families:
        msg = encode_family(f)
        out.append(_varint(len(msg)))
        out.append(msg)
    return b"".join(out)


# ---------------------------------------------------------------------------
# Decoder
# ---------------------------------------------------------------------------

def _d(v: FieldValue) -> float:
    if not isinstance(v, bytes) or len(v) != 8:
        raise DecodeError("expected a double")
    return float(_unpack_double_from(v, 0)[0])


def _s(v: FieldValue) -> str:
    if not isinstance(v, bytes):
        raise DecodeError("expected a string")
    try:
        return v.decode("utf-8")
    except UnicodeDecodeError as e:
        raise DecodeError(f"invalid UTF-8: {e}") from None


def _b(v: FieldValue) -> bytes:
    if not isinstance(v, bytes):
        raise DecodeError("expected a length-delimited field")
    return v


def _i(v: FieldValue) -> int:
    if not isinstance(v, int):
        raise DecodeError("expected a varint")
    return v


def _decode_label(data: bytes) -> Tuple[str, str]:
    n = v = ""
    for f, _, x in iter_fields(data):
        if f == 1:
            n = _s(x)
        elif f == 2:
            v = _s(x)
    return n, v


def _decode_exemplar(data: bytes) -> PBExemplar:
    labels: List[Tuple[str, str]] = []
    value = 0.0
    ts: Optional[float] = None
    for f, _, x in iter_fields(data):
        if f == 1:
            labels.append(_decode_label(_b(x)))
        elif f == 2:
            value = _d(x)
        elif f == 3:
            ts = _decode_timestamp(_b(x))
    return PBExemplar(tuple(labels), value, ts)


def _repeated_sint(wt: int, x: FieldValue, out: List[int]) -> None:
    if wt == 2:
        out.extend(zigzag_decode(v) for v in decode_packed_varints(_b(x)))
    else:
        out.append(zigzag_decode(_i(x)))


def _repeated_double(wt: int, x: FieldValue, out: List[float]) -> None:
    if wt == 2:
        out.extend(decode_packed_doubles(_b(x)))
    else:
        out.append(_d(x))


def _decode_span(data: bytes) -> Tuple[int, int]:
    off = length = 0
    for f, _, x in iter_fields(data):
        if f == 1:
            off = zigzag_decode(_i(x))
        elif f == 2:
            length = _i(x) & 0xFFFFFFFF
    return off, length


def _decode_bucket(data: bytes) -> PBBucket:
    cnt: float = 0
    cnt_f = 0.0
    ub = 0.0
    ex: Optional[PBExemplar] = None
    for f, _, x in iter_fields(data):
        if f == 1:
            cnt = _i(x)
        elif f == 4:
            cnt_f = _d(x)
        elif f == 2:
            ub = _d(x)
        elif f == 3:
            ex = _decode_exemplar(_b(x))
    return PBBucket(ub, cnt_f if cnt_f > 0 else cnt, ex)


class _NativeReader:
    """The native-histogram fields of a Histogram message: schema, zero threshold, zero count
    (integer, then float), then negative spans, deltas, counts and positive spans, deltas,
    counts. ``io.prometheus.client.Histogram`` numbers them 5-14, the remote-write ``Histogram``
    4-13; :meth:`read` takes the position ``k`` (0-9) in that order."""

    __slots__ = ("schema", "zt", "zc", "zc_int", "zc_float", "zc_is_float",
                 "nspans", "ndel", "ncnt", "pspans", "pdel", "pcnt")

    def __init__(self) -> None:
        self.schema = 0  # zigzag-decoded, not range-checked
        self.zt = 0.0
        self.zc: float = 0  # the zero count last read, integer or float
        self.zc_int = 0
        self.zc_float = 0.0
        self.zc_is_float = False
        self.nspans: List[Tuple[int, int]] = []
        self.ndel: List[int] = []
        self.ncnt: List[float] = []
        self.pspans: List[Tuple[int, int]] = []
        self.pdel: List[int] = []
        self.pcnt: List[float] = []

    def read(self, k: int, wt: int, x: FieldValue) -> None:
        if k == 0:
            self.schema = zigzag_decode(_i(x))
        elif k == 1:
            self.zt = _d(x)
        elif k == 2:
            self.zc = self.zc_int = _i(x)
        elif k == 3:
            self.zc = self.zc_float = _d(x)
            self.zc_is_float = True
        elif k == 4:
            self.nspans.append(_decode_span(_b(x)))
        elif k == 5:
            _repeated_sint(wt, x, self.ndel)
        elif k == 6:
            _repeated_double(wt, x, self.ncnt)
        elif k == 7:
            self.pspans.append(_decode_span(_b(x)))
        elif k == 8:
            _repeated_sint(wt, x, self.pdel)
        elif k == 9:
            _repeated_double(wt, x, self.pcnt)


_HistParts = Tuple[float, float, List[PBBucket], Optional[PBNative], Optional[float]]


def _decode_histogram(data: bytes) -> _HistParts:
    count: float = 0
    count_f = 0.0
    total = 0.0
    buckets: List[PBBucket] = []
    created: Optional[float] = None
    nr: Optional[_NativeReader] = None
    exemplars: List[PBExemplar] = []
    for f, wt, x in iter_fields(data):
        if f == 1:
            count = _i(x)
        elif f == 2:
            total = _d(x)
        elif f == 3:
            buckets.append(_decode_bucket(_b(x)))
        elif f == 4:
            count_f = _d(x)
        elif f == 15:
            created = _decode_timestamp(_b(x))
        elif 5 <= f <= 16:
            if nr is None:
                nr = _NativeReader()
            if f == 16:
                exemplars.append(_decode_exemplar(_b(x)))
            else:
                nr.read(f - 5, wt, x)
    nh: Optional[PBNative] = None
    if nr is not None:
        nh = PBNative(
            to_int32(nr.schema), nr.zt, nr.zc_float if nr.zc_float > 0 else nr.zc_int,
            tuple(nr.pspans), tuple(nr.pdel), tuple(nr.nspans), tuple(nr.ndel),
            tuple(nr.pcnt), tuple(nr.ncnt), tuple(exemplars),
        )
    return (count_f if count_f > 0 else count), total, buckets, nh, created


def _decode_metric(data: bytes) -> PBMetric:
    labels: List[Tuple[str, str]] = []
    value = 0.0
    count: float = 0
    total = 0.0
    quantiles: List[Tuple[float, float]] = []
    buckets: List[PBBucket] = []
    native: Optional[PBNative] = None
    exemplar: Optional[PBExemplar] = None
    created: Optional[float] = None
    ts: Optional[int] = None
    for f, _, x in iter_fields(data):
        if f == 1:
            labels.append(_decode_label(_b(x)))
        elif f == 2 or f == 5:  # gauge, untyped
            for g, _, y in iter_fields(_b(x)):
                if g == 1:
                    value = _d(y)
        elif f == 3:  # counter
            for g, _, y in iter_fields(_b(x)):
                if g == 1:
                    value = _d(y)
                elif g == 2:
                    exemplar = _decode_exemplar(_b(y))
                elif g == 3:
                    created = _decode_timestamp(_b(y))
        elif f == 4:  # summary
            for g, _, y in iter_fields(_b(x)):
                if g == 1:
                    count = _i(y)
                elif g == 2:
                    total = _d(y)
                elif g == 3:
                    q = v = 0.0
                    for h, _, z in iter_fields(_b(y)):
                        if h == 1:
                            q = _d(z)
                        elif h == 2:
                            v = _d(z)
                    quantiles.append((q, v))
                elif g == 4:
                    created = _decode_timestamp(_b(y))
        elif f == 7:
            count, total, buckets, native, created = _decode_histogram(_b(x))
        elif f == 6:
            ts = to_int64(_i(x))
    return PBMetric(tuple(labels), value, count, total, tuple(quantiles), tuple(buckets), native,
                    exemplar, created, ts)


def decode_family(data: bytes) -> PBFamily:
    """Decode one ``MetricFamily`` message body."""
    name = help_ = unit = ""
    typ = COUNTER
    metrics: List[PBMetric] = []
    for f, _, x in iter_fields(data):
        if f == 1:
            name = _s(x)
        elif f == 2:
            help_ = _s(x)
        elif f == 3:
            typ = to_int32(_i(x))
        elif f == 4:
            metrics.append(_decode_metric(_b(x)))
        elif f == 5:
            unit = _s(x)
    return PBFamily(name, help_, typ, metrics, unit)


def decode_delimited(data: bytes) -> List[PBFamily]:
    """Decode a length-delimited stream of ``MetricFamily`` messages."""
    data = bytes(data)
    out: List[PBFamily] = []
    pos = 0
    end = len(data)
    while pos < end:
        n, pos = decode_varint(data, pos)
        if pos + n > end:
            raise DecodeError("truncated MetricFamily message")
        out.append(decode_family(data[pos:pos + n]))
        pos += n
    return out
