"""Protobuf exposition: a registry as delimited ``io.prometheus.client.MetricFamily`` messages.

Content type ``application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily;
encoding=delimited``.  Data model, as Prometheus reads it:

* counters are named ``<name>_total``; ``_created`` samples become created timestamps;
* summaries and histograms carry count, sum, quantiles/buckets and created time in one
  message; a histogram's native part (schema, spans, deltas) shares the message with its
  classic buckets;
* info families become gauges ``<name>_info``, state sets gauges, unknown is UNTYPED;
* names are escaped like the text format (``underscores`` by default), verbatim under
  ``allow-utf-8`` (protobuf needs no quoting).

Metric objects of ``metrics.py`` are encoded from raw numbers (``Family`` answers of ``_render.walk``,
the same walk as the text encoders), with each series' encoded labels cached per metric, and
so are custom collectors' families in the canonical shape of their type (``adapt``); everything
else goes through :func:`metric_to_families`.
"""

from __future__ import annotations

import math
import struct
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Mapping, Optional, Tuple, Union, cast

from .._metrics.family import Family, FamilyInfo, SeriesCache
from ..metrics_core import Metric
from ..registry import Collector
from ..samples import Exemplar, NativeHistogram, Sample, Timestamp
from .adapt import adapt
from .content_types import CONTENT_TYPE_PROTOBUF
from .escaping import ALLOWUTF8, escape_label_name, escape_metric_name
from .protobuf_model import PBBucket, PBExemplar, PBFamily, PBMetric, PBNative, encode_family, uint_count
from .protobuf_wire import (
    COUNTER,
    GAUGE,
    GAUGE_HISTOGRAM,
    HISTOGRAM,
    SUMMARY,
    UNTYPED,
    encode_timestamp,
    encode_varint,
)
from .render import walk
from .skipped import encodable_metric

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn, GaugeFn, HistogramFn, SummaryFn

__all__ = ["CONTENT_TYPE", "metric_to_families", "encode_registry"]

CONTENT_TYPE = CONTENT_TYPE_PROTOBUF

_TYPE_BY_NAME = {
    "counter": COUNTER, "gauge": GAUGE, "summary": SUMMARY, "unknown": UNTYPED, "untyped": UNTYPED,
    "histogram": HISTOGRAM, "gaugehistogram": GAUGE_HISTOGRAM, "info": GAUGE, "stateset": GAUGE,
}

_varint = encode_varint
_SMALL = [bytes((i,)) for i in range(128)]
_pack_d = struct.Struct("<d").pack
_TAG_DOUBLE = struct.Struct("<Bd").pack

LabelKey = Tuple[Tuple[str, str], ...]
SampleTime = Optional[Union[float, Timestamp]]


_I64 = 1 << 63


def _ts_ms(ts: SampleTime) -> Optional[int]:
    """Milliseconds for ``timestamp_ms`` (int64); NaN fails like in the text format, a time
    beyond the int64 range is left out."""
    if ts is None:
        return None
    ms = int(float(ts) * 1000)
    return ms if -_I64 <= ms < _I64 else None


def _finite_ts(ts: SampleTime) -> SampleTime:
    """A timestamp a protobuf Timestamp can hold (int64 seconds), else None."""
    if ts is None:
        return None
    if isinstance(ts, Timestamp):
        return ts if -_I64 < ts.sec < _I64 - 1 else None
    return ts if math.isfinite(ts) and -_I64 < ts < _I64 - 1 else None


def _float_or_none(s: Optional[str]) -> Optional[float]:
    if s is None:
        return None
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def _pb_exemplar(e: Optional[Exemplar]) -> Optional[PBExemplar]:
    if e is None:
        return None
    return PBExemplar(tuple(e.labels.items()), e.value, _finite_ts(e.timestamp))


def _int_list(xs: Iterable[float]) -> Tuple[int, ...]:
    return tuple(int(x) for x in xs or ())


def _pb_native(nh: NativeHistogram) -> PBNative:
    """A NativeHistogram sample as a PBNative; non-integral counts make a float histogram
    (absolute ``*_counts`` instead of deltas)."""
    pos_spans = tuple((int(o), int(n)) for o, n in nh.pos_spans or ())
    neg_spans = tuple((int(o), int(n)) for o, n in nh.neg_spans or ())
    pd = tuple(nh.pos_deltas or ())
    nd = tuple(nh.neg_deltas or ())
    exemplars = tuple(e for e in map(_pb_exemplar, nh.nh_exemplars or ()) if e is not None and e.timestamp is not None)
    zc = nh.zero_count
    integral = all(float(x).is_integer() for x in pd + nd) and (
        zc.__class__ is int or (math.isfinite(zc) and float(zc).is_integer()))
    if integral:
        return PBNative(int(nh.schema), nh.zero_threshold, int(zc), pos_spans, _int_list(pd), neg_spans,
                        _int_list(nd), exemplars=exemplars)

    def absolute(deltas: Tuple[float, ...]) -> Tuple[float, ...]:
        acc = 0.0
        out = []
        for d in deltas:
            acc += d
            out.append(acc)
        return tuple(out)

    return PBNative(int(nh.schema), nh.zero_threshold, float(zc), pos_spans, (), neg_spans, (),
                    absolute(pd), absolute(nd), exemplars)


class _Names:
    """Metric/label name escaping for one scrape (memoised; verbatim under allow-utf-8)."""

    __slots__ = ("escaping", "_labels")

    def __init__(self, escaping: str) -> None:
        self.escaping: Optional[str] = None if escaping == ALLOWUTF8 else escaping
        self._labels: Dict[str, str] = {}

    def metric(self, name: str) -> str:
        return name if self.escaping is None else escape_metric_name(name, self.escaping)

    def label(self, name: str) -> str:
        if self.escaping is None:
            return name
        e = self._labels.get(name)
        if e is None:
            e = self._labels[name] = escape_label_name(name, self.escaping)
        return e

    def labels(self, labels: Mapping[str, str], drop: str = "") -> LabelKey:
        """Sorted by the original names, then escaped (as the text encoders do)."""
        label = self.label
        return tuple([(label(k), v) for k, v in sorted(labels.items()) if k != drop])


def _group(samples: Iterable[Sample], names: _Names, drop: str) -> Dict[LabelKey, List[Sample]]:
    groups: Dict[LabelKey, List[Sample]] = {}
    for s in samples:
        key = names.labels(s.labels, drop)
        g = groups.get(key)
        if g is None:
            groups[key] = [s]
        else:
            g.append(s)
    return groups


def metric_to_families(metric: Metric, escaping: str = "underscores") -> List[PBFamily]:
    """``MetricFamily`` values for a ``prometheus_client.metrics_core.Metric``."""
    return _metric_to_families(metric, _Names(escaping))


def _metric_to_families(metric: Metric, names: _Names) -> List[PBFamily]:
    mtype = metric.type
    typ = _TYPE_BY_NAME.get(mtype)
    if typ is None:
        raise ValueError(f"unknown metric type {mtype!r}")
    name = metric.name
    doc = metric.documentation
    unit = metric.unit or ""
    samples = metric.samples
    if typ == GAUGE or typ == UNTYPED:
        # one message per sample; samples named unlike the family get their own family
        by_name: Dict[str, List[PBMetric]] = {}
        for s in samples:
            ms = by_name.get(s.name)
            if ms is None:
                ms = by_name[s.name] = []
            ms.append(PBMetric(names.labels(s.labels), s.value, timestamp_ms=_ts_ms(s.timestamp)))
        if not by_name:
            fam = name + "_info" if mtype == "info" else name
            return [PBFamily(names.metric(fam), doc, typ, [], unit)]
        return [PBFamily(names.metric(n), doc, typ, ms, unit) for n, ms in by_name.items()]
    if typ == COUNTER:
        created_name = name + "_created"
        metrics = []
        for key, group in _group(samples, names, "").items():
            value = 0.0
            created = None
            exemplar = None
            ts = None
            for s in group:
                if s.name == created_name:
                    created = _finite_ts(s.value)
                else:
                    value = s.value
                    exemplar = _pb_exemplar(s.exemplar)
                    ts = _ts_ms(s.timestamp)
            metrics.append(PBMetric(key, value, exemplar=exemplar, created=created, timestamp_ms=ts))
        return [PBFamily(names.metric(name + "_total"), doc, COUNTER, metrics, unit)]
    if typ == SUMMARY:
        metrics = []
        for key, group in _group(samples, names, "quantile").items():
            count: float = 0
            total = 0.0
            created = None
            quantiles = []
            ts = None
            for s in group:
                suffix = s.name[len(name):]
                if ts is None:
                    ts = _ts_ms(s.timestamp)
                if suffix == "_count":
                    count = s.value
                elif suffix == "_sum":
                    total = s.value
                elif suffix == "_created":
                    created = _finite_ts(s.value)
                elif "quantile" in s.labels:
                    q = _float_or_none(s.labels["quantile"])
                    if q is not None:  # a quantile label that is no number cannot be encoded
                        quantiles.append((q, s.value))
            metrics.append(PBMetric(key, sample_count=count, sample_sum=total, quantiles=quantiles,
                                    created=created, timestamp_ms=ts))
        return [PBFamily(names.metric(name), doc, SUMMARY, metrics, unit)]
    # histogram / gauge histogram
    count_sfx, sum_sfx = ("_gcount", "_gsum") if typ == GAUGE_HISTOGRAM else ("_count", "_sum")
    metrics = []
    for key, group in _group(samples, names, "le").items():
        count = -1.0
        total = 0.0
        created = None
        buckets = []
        native: Optional[PBNative] = None
        ts = None
        for s in group:
            if ts is None:
                ts = _ts_ms(s.timestamp)
            nh = s.native_histogram
            if nh is not None:
                native = _pb_native(nh)
                if count < 0:
                    count = nh.count_value
                    total = nh.sum_value
                continue
            suffix = s.name[len(name):]
            if suffix == "_bucket":
                le = _float_or_none(s.labels.get("le"))
                if le is not None:  # an le that is no number cannot be encoded
                    buckets.append(PBBucket(le, s.value, _pb_exemplar(s.exemplar)))
            elif suffix == count_sfx:
                count = s.value
            elif suffix == sum_sfx:
                total = s.value
            elif suffix == "_created":
                created = _finite_ts(s.value)
        if count < 0:
            count = buckets[-1].cumulative_count if buckets else 0
        metrics.append(PBMetric(key, sample_count=count, sample_sum=total, buckets=buckets, native=native,
                                created=created, timestamp_ms=ts))
    return [PBFamily(names.metric(name), doc, typ, metrics, unit)]


# -- fast path: metric objects of metrics.py, from raw numbers --------------------------

_created_cache: Dict[float, bytes] = {}


def _created_field(tag: bytes, created: float) -> bytes:
    """``tag ‖ len ‖ Timestamp`` for a created time (``len ‖ Timestamp`` memoised: created
    times never change); empty for a non-finite time, which a Timestamp cannot hold."""
    b = _created_cache.get(created)
    if b is None:
        if _finite_ts(created) is None:
            return b""
        ts = encode_timestamp(created)
        b = _SMALL[len(ts)] + ts
        if len(_created_cache) >= 50000:
            _created_cache.clear()
        _created_cache[created] = b
    return tag + b


def _ld(tag: bytes, payload: bytes) -> bytes:
    n = len(payload)
    return tag + (_SMALL[n] if n < 0x80 else _varint(n)) + payload


def _label_pair(name: str, value: str) -> bytes:
    nb = name.encode("utf-8")
    vb = value.encode("utf-8")
    return _ld(b"\x0a", _ld(b"\x0a", nb) + _ld(b"\x12", vb))


_PB_LABELS: SeriesCache[bytes] = SeriesCache()
_PB_FRAMES: SeriesCache[Tuple[Optional[float], bytes, bytes]] = SeriesCache()


def _series_labels(info: FamilyInfo[object], names: _Names, nseries: int) -> Callable[[object], bytes]:
    """A function series -> its encoded LabelPair records (cached per family)."""
    labelnames = info.labelnames
    if not labelnames:
        return lambda child: b""
    labelvalues = info.labelvalues
    cache = _PB_LABELS.get(info, names.escaping, nseries)
    escaped = [names.label(n) for n in labelnames]
    order = sorted(range(len(labelnames)), key=lambda i: labelnames[i])  # as _Names.labels

    def get(child: object) -> bytes:
        b = cache.get(child)
        if b is None:
            values = labelvalues(child)
            b = cache[child] = b"".join([_label_pair(escaped[i], values[i]) for i in order])
        return b

    return get


def _header(name: str, doc: str, typ: int, names: _Names, unit: str = "") -> bytes:
    h = _ld(b"\x0a", names.metric(name).encode("utf-8")) + _ld(b"\x12", doc.encode("utf-8")) + b"\x18" + _SMALL[typ]
    if unit:
        h += _ld(b"\x2a", unit.encode("utf-8"))
    return h


def _exemplar_field(tag: bytes, e: Exemplar) -> bytes:
    body = b"".join([_label_pair(k, v) for k, v in e.labels.items()]) + _TAG_DOUBLE(0x11, e.value)
    if e.timestamp is not None:
        body += _ld(b"\x1a", encode_timestamp(e.timestamp))
    return _ld(tag, body)


def _counter_frame(label_bytes: bytes, created: Optional[float]) -> Tuple[Optional[float], bytes, bytes]:
    tail = b"" if created is None else _created_field(b"\x1a", created)
    n_inner = 9 + len(tail)  # tag 0x09 + double, then the created timestamp
    head = label_bytes + b"\x1a" + _varint(n_inner) + b"\x09"
    body_len = len(head) + 8 + len(tail)
    return created, b"\x22" + _varint(body_len) + head, tail


def _fast_counter(fam: Family, names: _Names, out: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    labels = _series_labels(info, names, len(series))
    # A Metric message of a counter without exemplar differs between scrapes only in its
    # value: its bytes before and after the value are kept per series.
    frames = _PB_FRAMES.get(info, names.escaping, len(series))
    parts = [_header(info.name + "_total", info.help, COUNTER, names, info.unit)]
    append = parts.append
    for child in series:
        value, exemplar, created = numbers(child)
        if exemplar is None:
            frame = frames.get(child)
            if frame is None or frame[0] != created:
                frame = frames[child] = _counter_frame(labels(child), created)
            append(frame[1])
            append(_pack_d(value))
            append(frame[2])
            continue
        inner = _TAG_DOUBLE(0x09, value) + _exemplar_field(b"\x12", exemplar)
        if created is not None:
            inner += _created_field(b"\x1a", created)
        body = labels(child) + b"\x1a" + _SMALL[len(inner)] + inner if len(inner) < 0x80 else (
            labels(child) + _ld(b"\x1a", inner))
        n = len(body)
        append(b"\x22" + (_SMALL[n] if n < 0x80 else _varint(n)) + body)
    _emit(parts, out)


def _fast_gauge(fam: Family, names: _Names, out: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("GaugeFn", info.numbers)
    labels = _series_labels(info, names, len(series))
    parts = [_header(info.name, info.help, GAUGE, names, info.unit)]
    append = parts.append
    for child in series:
        body = labels(child) + b"\x12\x09\x09" + _pack_d(numbers(child))
        n = len(body)
        append(b"\x22" + (_SMALL[n] if n < 0x80 else _varint(n)) + body)
    _emit(parts, out)


def _fast_summary(fam: Family, names: _Names, out: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("SummaryFn", info.numbers)
    labels = _series_labels(info, names, len(series))
    parts = [_header(info.name, info.help, SUMMARY, names, info.unit)]
    append = parts.append
    for child in series:
        count, total, created = numbers(child)
        inner = b"\x08" + _varint(uint_count(count)) + _TAG_DOUBLE(0x11, total)
        if created is not None:
            inner += _created_field(b"\x22", created)
        body = labels(child) + _ld(b"\x22", inner)
        append(_ld(b"\x22", body))
    _emit(parts, out)


def _fast_histogram(fam: Family, names: _Names, out: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("HistogramFn", info.numbers)
    labels = _series_labels(info, names, len(series))
    parts = [_header(info.name, info.help, HISTOGRAM, names, info.unit)]
    append = parts.append
    # per bucket: "cumulative_count" varint follows, then this upper-bound field
    ub_tags = [_TAG_DOUBLE(0x11, ub) for ub in info.upper_bounds]
    for child in series:
        _, counts, total, exemplars, created, with_sum = numbers(child)
        buckets = []
        acc = 0.0
        for i, c in enumerate(counts):
            acc += c
            ia = int(acc)
            b = (b"\x08" + _varint(ia) if ia == acc else _TAG_DOUBLE(0x21, acc)) + ub_tags[i]
            if exemplars is not None:
                exemplar = exemplars[i]
                if exemplar is not None:
                    b += _exemplar_field(b"\x1a", exemplar)
            buckets.append(b"\x1a" + _SMALL[len(b)] + b if len(b) < 0x80 else _ld(b"\x1a", b))
        ia = int(acc)
        head = b"\x08" + _varint(ia) if ia == acc else _TAG_DOUBLE(0x21, acc)
        inner = head + _TAG_DOUBLE(0x11, total if with_sum else 0.0) + b"".join(buckets)
        if created is not None:
            inner += _created_field(b"\x7a", created)
        body = labels(child) + _ld(b"\x3a", inner)
        append(_ld(b"\x22", body))
    _emit(parts, out)


def _emit(parts: List[bytes], out: List[bytes]) -> None:
    msg = b"".join(parts)
    out.append(_varint(len(msg)))
    out.append(msg)


_FAST: Dict[str, Callable[[Family, _Names, List[bytes]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


def encode_registry(registry: Collector, escaping: str = "underscores") -> bytes:
    """The delimited protobuf exposition of ``registry`` (anything with ``collect()``).

    An exception raised while converting a Metric keeps its type and gets the Metric
    appended to its ``args``.
    """
    names = _Names(escaping)
    out: List[bytes] = []
    for item in walk(registry):
        if type(item) is Family:
            try:
                _FAST[item.info.type](item, names, out)
            except UnicodeEncodeError:  # see _skipped; the fast encoders append nothing then
                for metric in item.collect():
                    _encode_skipping(metric, names, out)
            continue
        metric = cast(Metric, item)
        try:
            # (the sample path writes the unit after the Metric messages, the per-type renderers before)
            family = None if metric.unit else adapt(metric, quantiles=False)
            if family is None:
                _encode_metric(metric, names, out)
            else:
                _FAST[family.info.type](family, names, out)
        except UnicodeEncodeError:
            _encode_skipping(metric, names, out)
        except Exception as e:
            e.args = (*e.args, item)
            raise
    return b"".join(out)


def _encode_metric(metric: Metric, names: _Names, out: List[bytes]) -> None:
    msgs = []
    for fam in _metric_to_families(metric, names):
        msg = encode_family(fam)
        msgs.append(_varint(len(msg)))
        msgs.append(msg)
    out.extend(msgs)


def _encode_skipping(metric: Metric, names: _Names, out: List[bytes]) -> None:
    usable = encodable_metric(metric, "protobuf")
    if usable is not None:
        _encode_metric(usable, names, out)
