"""Prometheus remote write 1.0 messages (package ``prometheus``, ``prompb``), dependency-free.

Field numbers follow ``prompb/types.proto`` and ``prompb/remote.proto`` of Prometheus v2.42
(proto3).

Two layers:

* plain-value messages (:class:`WriteRequest`, :class:`TimeSeries`, ...) with a generic
  :func:`encode_write_request` and the matching :func:`decode_write_request` (used by tests and
  by anyone who wants to build a request by hand);
* building blocks for the hot path of :mod:`prometheus_client.remote_write`, which encodes
  straight from collector samples: :func:`label_record`, :func:`sample_record`,
  :func:`series_record`, :func:`metadata_record`, :func:`histogram_record` and
  :func:`exemplar_record`.
"""

from __future__ import annotations

import struct
from typing import Any, Callable, Dict, Iterable, List, NamedTuple, Optional, Sequence, Tuple

from ..samples import NativeHistogram
from .protobuf_model import (
    _b,
    _d,
    _decode_label,
    _i,
    _NativeReader,
    _s,
    _spans,
)
from .protobuf_wire import (
    _SMALL,
    FieldValue,
    _ld,
    _pack_double,
    decode_packed_varints,
    encode_packed_doubles,
    encode_packed_sint,
    encode_varint,
    iter_fields,
    to_int64,
    write_varint,
    zigzag_encode,
)
from .protobuf_wire import DecodeError as DecodeError

__all__ = [
    "UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY", "INFO", "STATESET",
    "METRIC_TYPE_BY_NAME",
    "RESET_HINT_UNKNOWN", "RESET_HINT_YES", "RESET_HINT_NO", "RESET_HINT_GAUGE",
    "STALE_NAN_BITS", "STALE_NAN",
    "Label", "Sample", "Exemplar", "Histogram", "TimeSeries", "MetricMetadata", "WriteRequest",
    "label_record", "sample_record", "exemplar_record",
    "histogram_record", "series_record", "metadata_record",
    "absolute_counts", "histogram_from_native", "label_plan",
    "encode_timeseries", "encode_write_request", "decode_write_request",
    "V2Sample", "V2Exemplar", "V2Series", "V2Request", "decode_v2_request",
]

# MetricMetadata.MetricType (order differs from io.prometheus.client.MetricType)
UNKNOWN = 0
COUNTER = 1
GAUGE = 2
HISTOGRAM = 3
GAUGEHISTOGRAM = 4
SUMMARY = 5
INFO = 6
STATESET = 7

#: Data-model type names (``Metric.type``) to MetricMetadata.MetricType.
METRIC_TYPE_BY_NAME: Dict[str, int] = {
    "unknown": UNKNOWN, "untyped": UNKNOWN, "counter": COUNTER, "gauge": GAUGE,
    "histogram": HISTOGRAM, "gaugehistogram": GAUGEHISTOGRAM, "summary": SUMMARY,
    "info": INFO, "stateset": STATESET,
}

# Histogram.ResetHint
RESET_HINT_UNKNOWN = 0
RESET_HINT_YES = 1
RESET_HINT_NO = 2
RESET_HINT_GAUGE = 3

#: Prometheus staleness marker: a NaN with this exact bit pattern.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]


# ---------------------------------------------------------------------------
# Plain-value messages
# ---------------------------------------------------------------------------

class Label(NamedTuple):
    name: str
    value: str


class Sample(NamedTuple):
    value: float
    timestamp: int  # ms since the epoch


class Exemplar(NamedTuple):
    labels: Sequence[Tuple[str, str]]
    value: float
    timestamp: int  # ms


class Histogram(NamedTuple):
    """A native histogram sample.  Integer histograms give deltas, float ones absolute counts.

    ``count_value``/``zero_count`` travel in the ``*_float`` oneof members when ``is_float`` is set.
    """

    count_value: float
    sum_value: float
    schema: int
    zero_threshold: float
    zero_count: float
    timestamp: int  # ms
    negative_spans: Sequence[Tuple[int, int]] = ()
    negative_deltas: Sequence[int] = ()
    negative_counts: Sequence[float] = ()
    positive_spans: Sequence[Tuple[int, int]] = ()
    positive_deltas: Sequence[int] = ()
    positive_counts: Sequence[float] = ()
    reset_hint: int = RESET_HINT_UNKNOWN
    is_float: bool = False


class TimeSeries(NamedTuple):
    labels: Sequence[Tuple[str, str]]  # sorted by name, ``__name__`` included
    samples: Sequence[Sample] = ()
    exemplars: Sequence[Exemplar] = ()
    histograms: Sequence[Histogram] = ()


class MetricMetadata(NamedTuple):
    type: int
    metric_family_name: str
    help: str = ""
    unit: str = ""


class WriteRequest(NamedTuple):
    timeseries: Sequence[TimeSeries] = ()
    metadata: Sequence[MetricMetadata] = ()


# ---------------------------------------------------------------------------
# Encoding building blocks
# ---------------------------------------------------------------------------

def label_record(name: str, value: str, tag: bytes = b"\x0a") -> bytes:
    """One ``Label`` sub-message record (``tag ‖ len ‖ 0a name 12 value``)."""
    nb = name.encode("utf-8")
    vb = value.encode("utf-8")
    ln = len(nb)
    lv = len(vb)
    if ln < 0x80 and lv < 0x80 and ln + lv < 0x7C:
        return tag + _SMALL[ln + lv + 4] + b"\x0a" + _SMALL[ln] + nb + b"\x12" + _SMALL[lv] + vb
    return _ld(tag, _ld(b"\x0a", nb) + _ld(b"\x12", vb))


def sample_record(value: float, timestamp_ms: int) -> bytes:
    """One ``Sample`` record (tag ``12``)."""
    body = b"\x09" + _pack_double(value) + b"\x10" + encode_varint(timestamp_ms)
    return b"\x12" + _SMALL[len(body)] + body  # at most 1 + 8 + 1 + 10 bytes


def exemplar_record(labels: Iterable[Tuple[str, str]], value: float, timestamp_ms: int) -> bytes:
    """One ``Exemplar`` record (tag ``1a``); labels are written in the order given."""
    body = b"".join(label_record(n, v) for n, v in labels) + b"\x11" + _pack_double(value)
    if timestamp_ms:
        body += b"\x18" + encode_varint(timestamp_ms)
    return _ld(b"\x1a", body)


def _packed_sint(out: bytearray, tag: int, values: Sequence[int]) -> None:
    if values:
        out += _ld(bytes((tag,)), encode_packed_sint(values))


def _packed_doubles(out: bytearray, tag: int, values: Sequence[float]) -> None:
    if values:
        out += _ld(bytes((tag,)), encode_packed_doubles(values))


def histogram_record(h: Histogram, tag: bytes = b"\x22", start_ms: int = 0) -> bytes:
    """One native ``Histogram`` record: tag ``22`` (``TimeSeries.histograms`` of 1.0) by
    default; remote write 2.0 passes ``1a`` and may add the rc.4 ``start_timestamp`` (17).

    Fields 1-16 have the same numbers in both versions."""
    out = bytearray()
    if h.is_float:
        out += b"\x11" + _pack_double(h.count_value)
    else:
        out.append(0x08)
        write_varint(out, int(h.count_value))
    out += b"\x19" + _pack_double(h.sum_value)
    if h.schema:
        out.append(0x20)
        write_varint(out, zigzag_encode(h.schema))
    if h.zero_threshold:
        out += b"\x29" + _pack_double(h.zero_threshold)
    if h.is_float:
        out += b"\x39" + _pack_double(h.zero_count)
    else:
        out.append(0x30)
        write_varint(out, int(h.zero_count))
    _spans(out, 0x42, h.negative_spans)
    _packed_sint(out, 0x4A, h.negative_deltas)
    _packed_doubles(out, 0x52, h.negative_counts)
    _spans(out, 0x5A, h.positive_spans)
    _packed_sint(out, 0x62, h.positive_deltas)
    _packed_doubles(out, 0x6A, h.positive_counts)
    if h.reset_hint:
        out.append(0x70)
        out.append(h.reset_hint)
    if h.timestamp:
        out.append(0x78)
        write_varint(out, h.timestamp)
    if start_ms:
        out += b"\x88\x01"
        write_varint(out, start_ms)
    return _ld(tag, bytes(out))


def absolute_counts(deltas: Optional[Sequence[int]]) -> List[float]:
    """Native-histogram bucket deltas as absolute (float) counts."""
    out: List[float] = []
    acc = 0
    for d in deltas or ():
        acc += d
        out.append(float(acc))
    return out


def histogram_from_native(nh: NativeHistogram, ts_ms: int, gauge: bool = False) -> Histogram:
    """The remote-write ``Histogram`` of a ``samples.NativeHistogram`` (integer histogram with
    deltas when every count is whole, else a float histogram with absolute counts)."""
    count = nh.count_value
    zc = nh.zero_count
    is_float = not (float(count).is_integer() and float(zc).is_integer())
    return Histogram(
        count, nh.sum_value, nh.schema, nh.zero_threshold, zc, ts_ms,
        negative_spans=[(sp.offset, sp.length) for sp in nh.neg_spans or ()],
        negative_deltas=list(nh.neg_deltas or ()) if not is_float else (),
        positive_spans=[(sp.offset, sp.length) for sp in nh.pos_spans or ()],
        positive_deltas=list(nh.pos_deltas or ()) if not is_float else (),
        negative_counts=absolute_counts(nh.neg_deltas) if is_float else (),
        positive_counts=absolute_counts(nh.pos_deltas) if is_float else (),
        reset_hint=RESET_HINT_GAUGE if gauge else RESET_HINT_UNKNOWN,
        is_float=is_float,
    )


def label_plan(shape: Sequence[str], target: Dict[str, str], honor_labels: bool,
               escape: Callable[[str], str]) -> List[Tuple[str, str, Any]]:
    """Sorted ``(output name, kind, arg)`` of a series' labels, ``__name__`` included, for
    samples whose label names are ``shape`` and the target labels ``target``.

    kind ``sample``: arg = index of the sample label in ``shape``; ``const``: arg = the
    target label's value; ``name``: the ``__name__`` slot.  A sample label clashing with a
    target label wins with ``honor_labels``, else it is renamed ``exported_<name>``.
    """
    slots: Dict[str, Tuple[str, Any]] = {}
    for i, k in enumerate(shape):
        slots[escape(k)] = ("sample", i)
    for k, v in target.items():
        if k in slots:
            if honor_labels:
                continue
            exported = "exported_" + k
            while exported in slots:
                exported = "exported_" + exported
            slots[exported] = slots.pop(k)
        slots[k] = ("const", v)
    slots["__name__"] = ("name", None)
    return [(k, *slots[k]) for k in sorted(slots)]


def series_record(body: bytes) -> bytes:
    """Wrap an encoded ``TimeSeries`` body as a ``WriteRequest.timeseries`` record (tag ``0a``)."""
    n = len(body)
    return (b"\x0a" + _SMALL[n] if n < 0x80 else b"\x0a" + encode_varint(n)) + body


def metadata_record(typ: int, family_name: str, help_: str = "", unit: str = "") -> bytes:
    """One ``WriteRequest.metadata`` record (tag ``1a``)."""
    body = b""
    if typ:
        body = b"\x08" + _SMALL[typ]
    body += _ld(b"\x12", family_name.encode("utf-8"))
    if help_:
        body += _ld(b"\x22", help_.encode("utf-8"))
    if unit:
        body += _ld(b"\x2a", unit.encode("utf-8"))
    return _ld(b"\x1a", body)


def encode_timeseries(ts: TimeSeries) -> bytes:
    """Encode one ``TimeSeries`` message body (labels are written in the order given)."""
    parts = [label_record(n, v) for n, v in ts.labels]
    parts.extend(sample_record(s.value, s.timestamp) for s in ts.samples)
    parts.extend(exemplar_record(e.labels, e.value, e.timestamp) for e in ts.exemplars)
    parts.extend(histogram_record(h) for h in ts.histograms)
    return b"".join(parts)


def encode_write_request(req: WriteRequest) -> bytes:
    """Encode a ``WriteRequest`` (not compressed)."""
    parts = [series_record(encode_timeseries(ts)) for ts in req.timeseries]
    parts.extend(metadata_record(m.type, m.metric_family_name, m.help, m.unit) for m in req.metadata)
    return b"".join(parts)


# ---------------------------------------------------------------------------
# Decoder (tests, debugging, receivers)
# ---------------------------------------------------------------------------

def _decode_sample(data: bytes) -> Sample:
    value = 0.0
    ts = 0
    for f, _, x in iter_fields(data):
        if f == 1:
            value = _d(x)
        elif f == 2:
            ts = to_int64(_i(x))
    return Sample(value, ts)


def _decode_exemplar(data: bytes) -> Exemplar:
    labels: List[Tuple[str, str]] = []
    value = 0.0
    ts = 0
    for f, _, x in iter_fields(data):
        if f == 1:
            labels.append(_decode_label(_b(x)))
        elif f == 2:
            value = _d(x)
        elif f == 3:
            ts = to_int64(_i(x))
    return Exemplar(tuple(labels), value, ts)


def _decode_histogram(data: bytes) -> Histogram:
    count: float = 0
    total = 0.0
    is_float = False
    nr = _NativeReader()
    hint = 0
    ts = 0
    for f, wt, x in iter_fields(data):
        if f == 1:
            count = _i(x)
        elif f == 2:
            count = _d(x)
            is_float = True
        elif f == 3:
            total = _d(x)
        elif 4 <= f <= 13:
            nr.read(f - 4, wt, x)
        elif f == 14:
            hint = _i(x)
        elif f == 15:
            ts = to_int64(_i(x))
    return Histogram(count, total, nr.schema, nr.zt, nr.zc, ts, tuple(nr.nspans), tuple(nr.ndel),
                     tuple(nr.ncnt), tuple(nr.pspans), tuple(nr.pdel), tuple(nr.pcnt), hint,
                     is_float or nr.zc_is_float)


def _decode_timeseries(data: bytes) -> TimeSeries:
    labels: List[Tuple[str, str]] = []
    samples: List[Sample] = []
    exemplars: List[Exemplar] = []
    histograms: List[Histogram] = []
    for f, _, x in iter_fields(data):
        if f == 1:
            labels.append(_decode_label(_b(x)))
        elif f == 2:
            samples.append(_decode_sample(_b(x)))
        elif f == 3:
            exemplars.append(_decode_exemplar(_b(x)))
        elif f == 4:
            histograms.append(_decode_histogram(_b(x)))
    return TimeSeries(tuple(labels), tuple(samples), tuple(exemplars), tuple(histograms))


def _decode_metadata(data: bytes) -> MetricMetadata:
    typ = 0
    name = help_ = unit = ""
    for f, _, x in iter_fields(data):
        if f == 1:
            typ = _i(x)
        elif f == 2:
            name = _s(x)
        elif f == 4:
            help_ = _s(x)
        elif f == 5:
            unit = _s(x)
    return MetricMetadata(typ, name, help_, unit)


def decode_write_request(data: bytes) -> WriteRequest:
    """Decode an (uncompressed) ``WriteRequest``."""
    series: List[TimeSeries] = []
    metadata: List[MetricMetadata] = []
    for f, _, x in iter_fields(bytes(data)):
        if f == 1:
            series.append(_decode_timeseries(_b(x)))
        elif f == 3:
            metadata.append(_decode_metadata(_b(x)))
    return WriteRequest(tuple(series), tuple(metadata))


# ---------------------------------------------------------------------------
# Remote write 2.0 decoder (io.prometheus.write.v2.Request; tests, debugging, receivers)
# ---------------------------------------------------------------------------

class V2Sample(NamedTuple):
    value: float
    timestamp: int  # ms
    start_timestamp: int = 0  # ms, rc.4


class V2Exemplar(NamedTuple):
    labels: Tuple[Tuple[str, str], ...]
    value: float
    timestamp: int


class V2Series(NamedTuple):
    """A decoded ``TimeSeries`` with its refs resolved."""

    labels: Tuple[Tuple[str, str], ...]
    samples: Tuple[V2Sample, ...]
    histograms: Tuple[Histogram, ...]
    histogram_start_timestamps: Tuple[int, ...]
    exemplars: Tuple[V2Exemplar, ...]
    type: int
    help: str
    unit: str
    created_timestamp: int  # ms, rc.3 field 6


class V2Request(NamedTuple):
    symbols: Tuple[str, ...]
    timeseries: Tuple[V2Series, ...]


def _pairs(refs: List[int], symbols: Sequence[str]) -> Tuple[Tuple[str, str], ...]:
    if len(refs) % 2:
        raise ValueError(f"odd number of label refs ({len(refs)})")
    return tuple((symbols[refs[i]], symbols[refs[i + 1]]) for i in range(0, len(refs), 2))


def _packed_uint(wt: int, x: FieldValue, out: List[int]) -> None:
    if wt == 0:
        out.append(_i(x))
    else:
        out.extend(decode_packed_varints(_b(x)))


def _decode_v2_series(data: bytes, symbols: Sequence[str]) -> V2Series:
    refs: List[int] = []
    samples: List[V2Sample] = []
    hists: List[Histogram] = []
    hist_st: List[int] = []
    exemplars: List[V2Exemplar] = []
    typ = help_ref = unit_ref = 0
    ct = 0
    for f, wt, x in iter_fields(data):
        if f == 1:
            _packed_uint(wt, x, refs)
        elif f == 2:
            value = 0.0
            ts = st = 0
            for g, _, y in iter_fields(_b(x)):
                if g == 1:
                    value = _d(y)
                elif g == 2:
                    ts = to_int64(_i(y))
                elif g == 3:
                    st = to_int64(_i(y))
            samples.append(V2Sample(value, ts, st))
        elif f == 3:
            body = _b(x)
            hists.append(_decode_histogram(body))
            st = 0
            for g, _, y in iter_fields(body):
                if g == 17:
                    st = to_int64(_i(y))
            hist_st.append(st)
        elif f == 4:
            erefs: List[int] = []
            value = 0.0
            ts = 0
            for g, gwt, y in iter_fields(_b(x)):
                if g == 1:
                    _packed_uint(gwt, y, erefs)
                elif g == 2:
                    value = _d(y)
                elif g == 3:
                    ts = to_int64(_i(y))
            exemplars.append(V2Exemplar(_pairs(erefs, symbols), value, ts))
        elif f == 5:
            for g, _, y in iter_fields(_b(x)):
                if g == 1:
                    typ = _i(y)
                elif g == 3:
                    help_ref = _i(y)
                elif g == 4:
                    unit_ref = _i(y)
        elif f == 6:
            ct = to_int64(_i(x))
    return V2Series(_pairs(refs, symbols), tuple(samples), tuple(hists), tuple(hist_st), tuple(exemplars),
                  typ, symbols[help_ref], symbols[unit_ref], ct)


def decode_v2_request(data: bytes) -> V2Request:
    """Decode an (uncompressed) ``io.prometheus.write.v2.Request``, refs resolved."""
    symbols: List[str] = []
    raw: List[bytes] = []
    for f, _, x in iter_fields(bytes(data)):
        if f == 4:
            symbols.append(_s(x))
        elif f == 5:
            raw.append(_b(x))
    if raw and (not symbols or symbols[0] != ""):
        raise ValueError("symbols[0] must be the empty string")
    return V2Request(tuple(symbols), tuple(_decode_v2_series(r, symbols) for r in raw))
