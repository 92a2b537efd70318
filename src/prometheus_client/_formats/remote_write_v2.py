"""Remote write 2.0 (``io.prometheus.write.v2.Request``): encoder and decoder, dependency-free.

What 2.0 changes for a sender (Remote-Write 2.0 specification):

* one string table per request (``symbols``, ``symbols[0] == ""``); label names and values,
  help texts, units and exemplar labels are uint32 references into it;
* every ``TimeSeries`` carries its own ``Metadata`` (type, help, unit);
* created times travel as ``TimeSeries.created_timestamp`` (field 6, the rc.3 layout that
  Prometheus 2.54 - 3.7 reads) and, in the rc.4 layout, as ``start_timestamp`` of every sample
  and histogram: both are sent (each reader skips the other's field), so there is no
  ``_created`` series;
* metric and label names are UTF-8: nothing is escaped.

Series layout (what a receiver stores), as in 1.0 and as Prometheus' own 2.0 sender does:
counters ``x_total``, gauges ``x``, classic histograms ``x_bucket{le}``, ``x_count``, ``x_sum``,
summaries ``x{quantile}``, ``x_count``, ``x_sum``, gauge histograms ``x_bucket``, ``x_gcount``,
``x_gsum``, info ``x_info``, stateset ``x{x=state}``, native histograms as one histogram series
under the bare name.  Every component series gets the family's metadata; counter-like series
(``_total``, and the ``_bucket``/``_count``/``_sum`` series and the native series of a
histogram, ``_count``/``_sum`` of a summary) get the created time.

The decoder (``decode_request``) lives in ``_remote_write_pb`` with the 1.0 one.

The encoder is a set of per-metric-type functions over what the remote-write walk
(``_render.walk``) yields: ``Family`` answers of metric objects (``_family``: raw numbers of
each series) and any other ``Metric`` (its samples).
"""

from __future__ import annotations

import struct
from math import isfinite as _isfinite
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from .._metrics.family import Family, SeriesCache
from ..metrics_core import Metric
from ..samples import Exemplar
from .adapt import adapt
from .protobuf_wire import encode_varint
from .remote_write import timestamp_ms
from .remote_write_pb import (
    METRIC_TYPE_BY_NAME,
    STALE_NAN,
    Histogram,
    histogram_from_native,
    histogram_record,
    label_plan,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn, GaugeFn, HistogramFn, SummaryFn

__all__ = ["PROTOBUF_MESSAGE", "CONTENT_TYPE", "REMOTE_WRITE_VERSION", "Counts", "V2Encoder"]

PROTOBUF_MESSAGE = "io.prometheus.write.v2.Request"
#: No space before ``proto=``: Prometheus 3.5 splits the header on ``;`` and misses a spaced
#: parameter (it would then read the body as an empty 1.0 request).
CONTENT_TYPE = "application/x-protobuf;proto=" + PROTOBUF_MESSAGE
REMOTE_WRITE_VERSION = "2.0.0"

_pack_double = struct.Struct("<d").pack
_SMALL: List[bytes] = [bytes((i,)) for i in range(128)]
_SYMBOLS_MIN_RESET = 4096  # a persistent table is rebuilt when it has grown past 2x + this


def _ld(tag: bytes, payload: bytes) -> bytes:
    n = len(payload)
    return tag + (_SMALL[n] if n < 0x80 else encode_varint(n)) + payload


def _refs(encoded: bytes) -> bytes:
    """``labels_refs`` (field 1, packed uint32) from the concatenated ref varints."""
    n = len(encoded)
    return b"\x0a" + (_SMALL[n] if n < 0x80 else encode_varint(n)) + encoded


_ms = timestamp_ms


def _created_ms(created: Optional[float]) -> int:
    """A created time (seconds) as ms; 0 (= unset) when absent; the epoch itself is sent as 1."""
    if created is None or not _isfinite(created):
        return 0
    return int(round(created * 1000.0)) or 1


class Counts(NamedTuple):
    """How many samples, histograms and exemplars a request carries (compared with the
    receiver's ``X-Prometheus-Remote-Write-*-Written`` headers)."""

    samples: int
    histograms: int
    exemplars: int


class _Symbols(Dict[str, bytes]):
    """The request's string table: ``symbols[s]`` is the varint of the index of ``s`` (added
    when new), ready to be concatenated into a packed ref list."""

    __slots__ = ("table",)

    def __init__(self) -> None:
        super().__init__({"": b"\x00"})
        self.table: List[str] = [""]

    def __missing__(self, s: str) -> bytes:
        n = len(self.table)
        b = self[s] = _SMALL[n] if n < 0x80 else encode_varint(n)
        self.table.append(s)
        return b

    def encode(self) -> bytes:
        return b"".join([_ld(b"\x22", s.encode("utf-8")) for s in self.table])


class _PairRefs(Dict[str, bytes]):
    """``value -> encoded (name ref, value ref)`` of one label name; ``""`` -> ``b""`` (remote
    write forbids empty values: the label is left out)."""

    __slots__ = ("name_ref", "symbols")

    def __init__(self, name_ref: bytes, symbols: _Symbols) -> None:
        super().__init__({"": b""})
        self.name_ref = name_ref
        self.symbols = symbols

    def __missing__(self, value: str) -> bytes:
        b = self[value] = self.name_ref + self.symbols[value]
        return b


_LabelFn = Callable[[Sequence[str], str], bytes]
_REFS_HEAD: List[bytes] = [b"\x0a" + bytes((i,)) for i in range(128)]


class _Out:
    """What one request collects: series records and the counts."""

    __slots__ = ("parts", "samples", "histograms", "exemplars", "now_ms", "ts_tail", "stale", "pack_value")

    def __init__(self, now_ms: int, stale: bool) -> None:
        self.parts: List[bytes] = []
        self.samples = 0
        self.histograms = 0
        self.exemplars = 0
        self.now_ms = now_ms
        self.ts_tail = b"\x10" + encode_varint(now_ms)
        self.stale = stale
        self.pack_value = struct.Struct(f"<d{len(self.ts_tail)}s").pack  # (value, ts_tail)


def _sample(value: float, tail: bytes, start_ms: int) -> bytes:
    """One ``Sample`` record (field 2); ``tail`` = ``10 <timestamp>``."""
    if start_ms:
        tail = tail + b"\x18" + encode_varint(start_ms)
    return b"\x12" + _SMALL[9 + len(tail)] + b"\x09" + _pack_double(value) + tail


class V2Encoder:
    """Turns a registry into an (uncompressed) ``io.prometheus.write.v2.Request``.

    The string table persists across requests of one encoder (a pusher), so the encoded
    ``labels_refs`` and metadata of every series are built once and reused while the series
    lives; refs stay valid because each request carries the whole table.  The table is
    rebuilt when it has grown to more than twice its size after the last rebuild (plus 4096),
    which bounds the strings of vanished series that a request carries along.
    """

    def __init__(self, target: Sequence[Tuple[str, str]], honor_labels: bool = False) -> None:
        self.target = dict(target)
        self.honor_labels = honor_labels
        self._reset()

    def _reset(self) -> None:
        self.symbols = _Symbols()
        self.plans: Dict[Tuple[str, ...], _LabelFn] = {}
        self.pair_refs: Dict[str, _PairRefs] = {}
        # per family of a metric object (see _family): series -> its encoded heads
        self.series: SeriesCache[Any] = SeriesCache(slack=64)
        self.metadata: Dict[Tuple[str, str, str], bytes] = {}
        self.generic: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], bytes] = {}
        self._base = 0
        self._tail_len = 0

    # -- building blocks ----------------------------------------------------------
    def _pairs(self, name: str) -> _PairRefs:
        pairs = self.pair_refs.get(name)
        if pairs is None:
            pairs = self.pair_refs[name] = _PairRefs(self.symbols[name], self.symbols)
        return pairs

    def labeller(self, shape: Tuple[str, ...]) -> _LabelFn:
        """``fn(values, name)``: the encoded ``labels_refs`` record (field 1) of the series
        ``name`` whose label names are ``shape`` and values ``values`` (empty values left
        out).  Generated once per shape: the labels in sorted order, target labels as
        constants, every value looked up in a per-label-name cache of encoded ref pairs."""
        fn = self.plans.get(shape)
        if fn is None:
            # per output slot: (-2, constant bytes) | (-1, refs by name) | (i, refs of values[i])
            spec: List[Tuple[int, Any]] = []
            for out, kind, arg in label_plan(shape, self.target, self.honor_labels, str):
                if kind == "const":
                    spec.append((-2, self.symbols[out] + self.symbols[arg]))
                elif kind == "name":
                    spec.append((-1, self._pairs(out)))
                else:
                    spec.append((arg, self._pairs(out)))
            plan = tuple(spec)
            head = _REFS_HEAD
            varint = encode_varint

            def labels_record(values: Sequence[str], name: str) -> bytes:
                b = b"".join([rec if i == -2 else rec[name] if i < 0 else rec[values[i]] for i, rec in plan])
                n = len(b)
                return (head[n] if n < 128 else b"\x0a" + varint(n)) + b

            fn = self.plans[shape] = labels_record
        return fn

    def labels(self, shape: Tuple[str, ...], values: Sequence[str], name: str) -> bytes:
        """The encoded ``labels_refs`` record of one series (see :meth:`labeller`)."""
        return self.labeller(shape)(values, name)

    def meta(self, typ: str, help_: str, unit: str) -> bytes:
        """The ``Metadata`` record (field 5) of a family."""
        key = (typ, help_, unit)
        rec = self.metadata.get(key)
        if rec is None:
            body = bytearray()
            t = METRIC_TYPE_BY_NAME.get(typ, 0)
            if t:
                body += b"\x08" + _SMALL[t]
            if help_:
                body += b"\x18" + self.symbols[help_]
            if unit:
                body += b"\x20" + self.symbols[unit]
            rec = self.metadata[key] = _ld(b"\x2a", bytes(body))
        return rec

    def exemplar(self, e: Exemplar, now_ms: int) -> bytes:
        """One ``Exemplar`` record (field 4); the timestamp is required: ``now_ms`` if unset."""
        sym = self.symbols
        refs = b"".join([sym[k] + sym[v] for k, v in sorted(e.labels.items())])
        body = (_refs(refs) if refs else b"") + b"\x11" + _pack_double(e.value) + b"\x18" + encode_varint(
            now_ms if e.timestamp is None else _ms(e.timestamp))
        return _ld(b"\x22", body)

    # -- requests -----------------------------------------------------------------
    def encode(self, items: Iterable[Union[Metric, Family]], now_ms: int,
               stale: bool = False) -> Tuple[bytes, Counts]:
        """The ``Request`` of every series of ``items`` (samples without a timestamp get
        ``now_ms``) and what it carries; ``stale`` sends staleness markers instead of values."""
        if len(self.symbols.table) > 2 * self._base + _SYMBOLS_MIN_RESET:
            self._reset()
        out = _Out(now_ms, stale)
        self._tail_len = len(out.ts_tail)  # the cached records assume its length (their setting)
        for item in items:
            if type(item) is Family:
                if not stale:
                    _FAST[item.info.type](self, item, out)
                    continue
                for m in item.collect():  # staleness markers come from the samples
                    _generic(self, m, out)
            else:
                metric = cast(Metric, item)
                family = None if stale else adapt(metric, quantiles=False, exemplars=False)
                if family is None:
                    _generic(self, metric, out)
                else:
                    _FAST[family.info.type](self, family, out)
        if len(self.generic) > 4 * len(out.parts) + 1024:
            self.generic.clear()
        if not self._base:
            self._base = len(self.symbols.table)
        body = self.symbols.encode() + b"".join(out.parts)
        return body, Counts(out.samples, out.histograms, out.exemplars)


def _series(out: _Out, labels: bytes, payload: bytes, meta: bytes, ct_ms: int) -> None:
    """Append one ``Request.timeseries`` record (field 5)."""
    body = labels + payload + meta
    if ct_ms:
        body += b"\x30" + encode_varint(ct_ms)
    n = len(body)
    out.parts.append(b"\x2a" + (_SMALL[n] if n < 0x80 else encode_varint(n)) + body)


# ---------------------------------------------------------------------------
# Metric objects of metrics.py (raw numbers per child)
# ---------------------------------------------------------------------------

_TS_HEAD: List[bytes] = [b"\x2a" + bytes((i,)) for i in range(128)]  # Request.timeseries record heads


_START_CACHE: Dict[int, Tuple[bytes, bytes]] = {}


def _start_fields(created: Optional[float]) -> Tuple[bytes, bytes]:
    """(``Sample.start_timestamp`` field, ``TimeSeries.created_timestamp`` field) of a created
    time; memoised by millisecond (children made together share their created time's bytes)."""
    if created is None:
        return b"", b""
    ms = _created_ms(created)
    got = _START_CACHE.get(ms)
    if got is None:
        vb = encode_varint(ms)
        got = (b"\x18" + vb, b"\x30" + vb) if ms else (b"", b"")
        if len(_START_CACHE) > 4096:
            _START_CACHE.clear()
        _START_CACHE[ms] = got
    return got


def _pre(labels: bytes, sample_len: int, rest: int) -> bytes:
    """Head of a series record up to its value: record head, ``labels_refs``, Sample head.
    ``sample_len``: the Sample's length; ``rest``: bytes after the Sample."""
    n = len(labels) + 2 + sample_len + rest
    return (_TS_HEAD[n] if n < 0x80 else b"\x2a" + encode_varint(n)) + labels + b"\x12" + _SMALL[sample_len] + b"\x09"


def _with_exemplar(record: bytes, exemplar: bytes) -> bytes:
    """A series record with an ``Exemplar`` record appended (new length in its head)."""
    i = 1
    while record[i] & 0x80:
        i += 1
    body = record[i + 1:] + exemplar
    n = len(body)
    return (_TS_HEAD[n] if n < 0x80 else b"\x2a" + encode_varint(n)) + body


# The fast paths cache per series (in ``V2Encoder.series``) everything of its records but
# the value and the timestamp: ``pre`` (record head, labels_refs, Sample head) and ``post``
# (start time, metadata, created time), rebuilt when the created time changes (a reset).

def _fast_counter(enc: V2Encoder, fam: Family, out: _Out) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    labelvalues = info.labelvalues
    meta = enc.meta("counter", info.help, info.unit)
    name = info.name + "_total"
    fn = enc.labeller(info.labelnames)
    cache = enc.series.get(info, enc._tail_len, len(series))
    append = out.parts.append
    extend = out.parts.extend  # the parts are joined once: no per-series concatenation
    pack, tail, tail_len, now_ms = out.pack_value, out.ts_tail, len(out.ts_tail), out.now_ms
    for child in series:
        value, exemplar, created = numbers(child)
        c = cache.get(child)
        if c is None or c[0] != created:
            st, ct = _start_fields(created)
            c = cache[child] = (created, _pre(fn(labelvalues(child), name), 9 + tail_len + len(st),
                                              len(meta) + len(ct)), st + meta + ct)
        if exemplar is None:
            extend((c[1], pack(value, tail), c[2]))
        else:
            append(_with_exemplar(c[1] + pack(value, tail) + c[2], enc.exemplar(exemplar, now_ms)))
            out.exemplars += 1
    out.samples += len(series)


def _fast_gauge(enc: V2Encoder, fam: Family, out: _Out) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("GaugeFn", info.numbers)
    labelvalues = info.labelvalues
    meta = enc.meta("gauge", info.help, info.unit)
    name = info.name
    fn = enc.labeller(info.labelnames)
    cache = enc.series.get(info, enc._tail_len, len(series))
    extend = out.parts.extend
    pack, tail = out.pack_value, out.ts_tail
    sample_len = 9 + len(tail)
    rest = len(meta)
    for child in series:
        pre = cache.get(child)
        if pre is None:
            pre = cache[child] = _pre(fn(labelvalues(child), name), sample_len, rest)
        extend((pre, pack(numbers(child), tail), meta))
    out.samples += len(series)


def _fast_summary(enc: V2Encoder, fam: Family, out: _Out) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("SummaryFn", info.numbers)
    labelvalues = info.labelvalues
    meta = enc.meta("summary", info.help, info.unit)
    names = (info.name + "_count", info.name + "_sum")
    fn = enc.labeller(info.labelnames)
    cache = enc.series.get(info, enc._tail_len, len(series))
    extend = out.parts.extend
    pack, tail, tail_len = out.pack_value, out.ts_tail, len(out.ts_tail)
    for child in series:
        count, total, created = numbers(child)
        c = cache.get(child)
        if c is None or c[0] != created:
            st, ct = _start_fields(created)
            lv = labelvalues(child)
            c = cache[child] = (created, [_pre(fn(lv, n), 9 + tail_len + len(st), len(meta) + len(ct))
                                          for n in names], st + meta + ct)
        _, (p_count, p_sum), post = c
        extend((p_count, pack(count, tail), post, p_sum, pack(total, tail), post))
    out.samples += 2 * len(series)


def _fast_histogram(enc: V2Encoder, fam: Family, out: _Out) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("HistogramFn", info.numbers)
    labelvalues = info.labelvalues
    meta = enc.meta("histogram", info.help, info.unit)
    name = info.name
    names = (name + "_bucket", name + "_count", name + "_sum")
    fn = enc.labeller(info.labelnames + ("le",))
    cache = enc.series.get(info, enc._tail_len, len(series))
    append = out.parts.append
    extend = out.parts.extend
    pack, tail, tail_len, now_ms = out.pack_value, out.ts_tail, len(out.ts_tail), out.now_ms
    for child in series:
        les, counts, total, exemplars, created, with_sum = numbers(child)
        c = cache.get(child)
        if c is None or c[0] != created:
            st, ct = _start_fields(created)
            sample_len, rest = 9 + tail_len + len(st), len(meta) + len(ct)
            lv = labelvalues(child)
            pres = [_pre(fn(lv + (le,), names[0]), sample_len, rest) for le in les]
            pres += [_pre(fn(lv + ("",), n), sample_len, rest) for n in names[1:]]
            c = cache[child] = (created, pres, st + meta + ct)
        _, pres, post = c
        acc = 0.0
        for i, count in enumerate(counts):
            acc += count
            ex = exemplars[i] if exemplars is not None else None
            if ex is None:
                extend((pres[i], pack(acc, tail), post))
            else:
                append(_with_exemplar(pres[i] + pack(acc, tail) + post, enc.exemplar(ex, now_ms)))
                out.exemplars += 1
        extend((pres[-2], pack(acc, tail), post))
        out.samples += len(counts) + 1
        if with_sum:
            extend((pres[-1], pack(total, tail), post))
            out.samples += 1


_FAST: Dict[str, Callable[[V2Encoder, Family, _Out], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


# ---------------------------------------------------------------------------
# Any other Metric (custom collectors, multiprocess, native histograms): sample by sample
# ---------------------------------------------------------------------------

#: Per type: the sample-name suffixes whose series are counter-like (get the created time).
_COUNTER_LIKE: Dict[str, Tuple[str, ...]] = {
    "counter": ("_total",),
    "histogram": ("_bucket", "_count", "_sum", ""),
    "summary": ("_count", "_sum"),
}
_NOT_SERIES_LABELS = ("le", "quantile")


def _created_by_labels(m: Metric) -> Dict[Tuple[Tuple[str, str], ...], int]:
    """``_created`` samples of a counter-like family, by the labels of their child."""
    name = m.name + "_created"
    return {tuple(sorted(s.labels.items())): _created_ms(s.value) for s in m.samples if s.name == name}


def _generic(enc: V2Encoder, m: Metric, out: _Out) -> None:
    suffixes = _COUNTER_LIKE.get(m.type)
    created = _created_by_labels(m) if suffixes is not None else {}
    created_name = m.name + "_created"
    gauge_hist = m.type == "gaugehistogram"
    meta = enc.meta(m.type, m.documentation, m.unit)
    cache = enc.generic
    now_ms, stale = out.now_ms, out.stale
    for s in m.samples:
        name, labels, value, ts, exemplar, native = s
        if suffixes is not None and name == created_name:
            continue
        items = tuple(labels.items())
        key = (name, items)
        lb = cache.get(key)
        if lb is None:
            lb = cache[key] = enc.labels(tuple(labels), tuple(labels.values()), name)
        ct = 0
        if created and name[len(m.name):] in suffixes:  # type: ignore[operator]
            ct = created.get(tuple(sorted(kv for kv in items if kv[0] not in _NOT_SERIES_LABELS)), 0)
        ts_ms = now_ms if ts is None or stale else _ms(ts)
        tail = b"\x10" + encode_varint(ts_ms)
        exemplars = []
        if native is not None:
            if stale:
                h = Histogram(0, STALE_NAN, native.schema, native.zero_threshold, 0, ts_ms)
            else:
                h = histogram_from_native(native, ts_ms, gauge_hist)
                exemplars = list(native.nh_exemplars or ())
            payload = histogram_record(h, b"\x1a", ct)
            out.histograms += 1
        else:
            payload = _sample(STALE_NAN if stale else value, tail, ct)
            out.samples += 1
        if exemplar is not None and not stale:
            exemplars.insert(0, exemplar)
        for e in exemplars:
            payload += enc.exemplar(e, ts_ms)
        out.exemplars += len(exemplars)
        _series(out, lb, payload, meta, ct)
