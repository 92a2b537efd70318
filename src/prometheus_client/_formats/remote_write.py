"""The remote write 1.0 encoder: a registry walk (Family answers and Metrics) to a WriteRequest,
with encoded label records cached per series and a snappy pass that knows the record layout."""

from __future__ import annotations

import re
import socket
import struct
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
    cast,
)

from .._metrics.family import Family, SeriesCache
from ..metrics_core import Metric
from ..samples import Exemplar, Sample, Timestamp
from . import snappy as _snappy
from .adapt import adapt
from .protobuf_wire import encode_varint
from .remote_write_pb import (
    METRIC_TYPE_BY_NAME,
    STALE_NAN,
    exemplar_record,
    histogram_from_native,
    histogram_record,
    label_plan,
    label_record,
    metadata_record,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn, GaugeFn, HistogramFn, SummaryFn

_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_INVALID_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")

_DOUBLE = struct.Struct("<d")
_pack_double = _DOUBLE.pack
_SMALL: List[bytes] = [bytes((i,)) for i in range(128)]


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

def _escape_label_name(name: str) -> str:
    if _LEGACY_LABEL.fullmatch(name):
        return name
    out = _INVALID_LABEL_CHARS.sub("_", name)
    return "_" + out[1:] if out[:1].isdigit() else out


def _escape_metric_name(name: str) -> str:
    if _LEGACY_METRIC.fullmatch(name):
        return name
    out = _INVALID_METRIC_CHARS.sub("_", name)
    return "_" + out[1:] if out[:1].isdigit() else out


class _ValueRecords(Dict[str, bytes]):
    """``value -> encoded Label record`` for one label name (empty values encode to ``b""``)."""

    __slots__ = ("name", "metric_name")

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # already escaped
        self.metric_name = name == "__name__"

    def __missing__(self, value: str) -> bytes:
        if not value:
            rec = b""
        elif self.metric_name:
            rec = label_record("__name__", _escape_metric_name(value))
        else:
            rec = label_record(self.name, value)
        self[value] = rec
        return rec


# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------

def timestamp_ms(ts: Union[float, Timestamp]) -> int:
    """Milliseconds since the epoch of a float (seconds) or ``Timestamp``."""
    if isinstance(ts, Timestamp):
        return int(ts.sec) * 1000 + int(round(int(ts.nsec) / 1e6))
    return int(round(float(ts) * 1000.0))


def target_labels(job: str, instance: Optional[str],
                   extra_labels: Optional[Mapping[str, str]]) -> List[Tuple[str, str]]:
    if not isinstance(job, str) or not job:
        raise ValueError(f"remote write: job must be a non-empty string, got {job!r}")
    if instance is None:
        instance = socket.gethostname()
    if not isinstance(instance, str):
        raise TypeError(f"remote write: instance must be a string, got {instance!r}")
    target: Dict[str, str] = {"job": job}
    if instance:
        target["instance"] = instance
    for name, value in (extra_labels or {}).items():
        if not isinstance(name, str) or not _LEGACY_LABEL.fullmatch(name) or name.startswith("__"):
            raise ValueError(f"remote write: invalid extra label name {name!r} "
                             "(must match [a-zA-Z_][a-zA-Z0-9_]* and not start with '__')")
        if name in ("job", "instance"):
            raise ValueError(f"remote write: extra label {name!r} clashes with the {name}= argument")
        if not isinstance(value, str):
            raise TypeError(f"remote write: extra label {name!r} must have a string value, got {value!r}")
        if not value:
            raise ValueError(f"remote write: extra label {name!r} has an empty value "
                             "(remote write forbids empty label values)")
        target[name] = value
    return sorted(target.items())


_LabelFn = Callable[[Mapping[str, str], str], bytes]
_SplitFn = Callable[[Sequence[str]], Tuple[bytes, bytes, bytes]]
_HDR: List[bytes] = [b"\x0a" + bytes((i,)) for i in range(128)]  # WriteRequest.timeseries record heads


def _hdr(n: int) -> bytes:
    return _HDR[n] if n < 0x80 else b"\x0a" + encode_varint(n)


class WriteRequestEncoder:
    """Turns a registry into an (uncompressed) ``WriteRequest``.

    Two paths, producing the same bytes:

    * metric objects of ``metrics.py`` (``Family`` answers of the exposition walk, see ``_family``) are
      encoded from their raw numbers.  The label records of each child are built once (three
      segments around the places where ``__name__`` and ``le`` go) and kept while the child
      is alive, so a pusher re-encodes nothing but values and timestamps;
    * any other ``Metric`` is encoded sample by sample.  Its label set is encoded by a small
      function generated once per *shape* (the label names in dict order) that knows where
      ``__name__`` and the target labels go, so nothing is sorted per sample.

    Both look values up in per-name caches of encoded ``Label`` records.
    """

    _MAX_CACHE = 500_000

    def __init__(self, target: List[Tuple[str, str]], honor_labels: bool, send_metadata: bool) -> None:
        self.target = dict(target)
        self.honor_labels = honor_labels
        self.send_metadata = send_metadata
        self.values: Dict[str, _ValueRecords] = {}
        self.shapes: Dict[Tuple[str, ...], _LabelFn] = {}
        self.splits: Dict[Tuple[str, ...], _SplitFn] = {}
        # per family, label values -> record prefixes of the series (see _fast_*)
        self.series: SeriesCache[Any] = SeriesCache(slack=64)
        # series prefix -> (its neighbours, compressed prefix); see _snappy_series
        self.snappy_cache: _SnappyCache = {}

    def _records(self, name: str) -> _ValueRecords:
        rec = self.values.get(name)
        if rec is None:
            rec = self.values[name] = _ValueRecords(name)
        return rec

    def _slots(self, shape: Sequence[str]) -> List[Tuple[str, str, Any]]:
        """Sorted ``(output name, kind, arg)`` of a series' labels (see ``label_plan``); the
        arg of a ``const`` slot is the encoded target label."""
        return [(k, kind, label_record(k, arg) if kind == "const" else arg)
                for k, kind, arg in label_plan(shape, self.target, self.honor_labels, _escape_label_name)]

    def _shape(self, shape: Tuple[str, ...]) -> _LabelFn:
        """Build the label encoder for samples whose label names are ``shape`` (in dict
        order): per output slot, the encoded record of ``__name__``, of a target label, or of
        the sample label at that position."""
        spec: List[Tuple[int, Any]] = []  # (position in the label values, or -1: name, -2: const)
        for out_name, kind, arg in self._slots(shape):
            if kind == "name":
                spec.append((-1, self._records("__name__")))
            elif kind == "const":
                spec.append((-2, arg))
            else:
                spec.append((arg, self._records(out_name)))
        plan = tuple(spec)

        def fn(labels: Mapping[str, str], name: str) -> bytes:
            values = tuple(labels.values())
            return b"".join([rec if i == -2 else rec[name] if i < 0 else rec[values[i]] for i, rec in plan])

        self.shapes[shape] = fn
        return fn

    def _split(self, labelnames: Tuple[str, ...]) -> _SplitFn:
        """Label segments of a child from its label values: (before ``__name__``, between
        ``__name__`` and ``le``, after ``le``)."""
        fn = self.splits.get(labelnames)
        if fn is not None:
            return fn
        segments: Tuple[List[Tuple[int, Any]], ...] = ([], [], [])
        for out_name, kind, arg in self._slots(labelnames):
            if kind == "name":
                continue
            seg = segments[0 if out_name < "__name__" else 1 if out_name < "le" else 2]
            seg.append((-2, arg) if kind == "const" else (arg, self._records(out_name)))
        plans = tuple(tuple(seg) for seg in segments)

        def made(values: Sequence[str]) -> Tuple[bytes, bytes, bytes]:
            a, b, c = [b"".join([rec if i < 0 else rec[values[i]] for i, rec in plan]) for plan in plans]
            return a, b, c

        self.splits[labelnames] = made
        return made

    def encode(self, items: Iterable[Union[Metric, Family]], now_ms: int, stale: bool = False) -> bytes:
        """The ``WriteRequest`` of every series of ``items``; samples without timestamp get
        ``now_ms``.  ``items``: what ``_render.walk`` yields (or ``Metric`` objects)."""
        return b"".join(self.encode_parts(items, now_ms, stale)[0])

    def encode_snappy(self, items: Iterable[Union[Metric, Family]], now_ms: int,
                      stale: bool = False) -> bytes:
        """:meth:`encode`, snappy block-compressed: with cramjam when installed, else with
        :func:`_snappy_series`, which knows where the series records start."""
        parts, n_series = self.encode_parts(items, now_ms, stale)
        if _snappy.HAVE_CRAMJAM:
            return _snappy.compress(b"".join(parts))
        new_cache: _SnappyCache = {}
        out = _snappy_series(parts, n_series, self.snappy_cache, new_cache)
        self.snappy_cache = new_cache
        return out

    def encode_parts(self, items: Iterable[Union[Metric, Family]], now_ms: int,
                     stale: bool = False) -> Tuple[List[bytes], int]:
        """The request as a list of bytes: ``2 * n_series`` items that alternate a series'
        record head + labels and the rest of its record (samples, exemplars, histograms),
        then the metadata records; and ``2 * n_series``."""
        if sum(len(v) for v in self.values.values()) > self._MAX_CACHE:
            self.values.clear()
            self.shapes.clear()
            self.splits.clear()
            self.series = SeriesCache(slack=64)
            self.snappy_cache.clear()
        ts_tail = b"\x10" + encode_varint(now_ms)
        samp_len = 11 + len(ts_tail)  # 12 len 09 <8 bytes> 10 <varint>
        ctx = _Ctx(ts_tail, samp_len, struct.Struct(f"<3sd{len(ts_tail)}s").pack,
                   b"\x12" + _SMALL[samp_len - 2] + b"\x09", now_ms)
        parts: List[bytes] = []
        meta: List[bytes] = []
        send_meta = self.send_metadata
        type_ids = METRIC_TYPE_BY_NAME
        for item in items:
            metrics: Iterable[Metric]
            if type(item) is Family:
                info = item.info
                if not stale:
                    if send_meta:
                        meta.append(metadata_record(type_ids.get(info.type, 0), info.name, info.help, info.unit))
                    _FAST[info.type](self, item, ctx, parts)
                    continue
                metrics = item.collect()  # staleness markers come from the samples
            else:
                metric = cast(Metric, item)
                family = None if stale else adapt(metric, quantiles=False)
                if family is not None:
                    if send_meta:
                        meta.append(metadata_record(type_ids.get(metric.type, 0), metric.name,
                                                    metric.documentation, metric.unit))
                    _FAST[family.info.type](self, family, ctx, parts)
                    continue
                metrics = (metric,)
            for m in metrics:
                if send_meta:
                    meta.append(metadata_record(type_ids.get(m.type, 0), m.name, m.documentation, m.unit))
                self._generic(m, ctx, parts, stale)
        n_series = len(parts)
        parts.extend(meta)
        return parts, n_series

    def _generic(self, m: Metric, ctx: _Ctx, parts: List[bytes], stale: bool) -> None:
        get_shape = self.shapes.get
        new_shape = self._shape
        extend = parts.extend
        samp_len = ctx.samp_len
        pack_sample = ctx.pack
        head = ctx.head
        tail = ctx.tail
        for s in m.samples:
            name, labels, value, ts, exemplar, native = s
            shape = tuple(labels)
            fn = get_shape(shape)
            if fn is None:
                fn = new_shape(shape)
            lb = fn(labels, name)
            if ts is None and exemplar is None and native is None and not stale:
                extend((_hdr(len(lb) + samp_len) + lb, pack_sample(head, value, tail)))
            else:
                extra = self._sample_extra(m, s, ctx.now_ms, stale)
                extend((_hdr(len(lb) + len(extra)) + lb, extra))

    @staticmethod
    def _sample_extra(m: Metric, s: Sample, now_ms: int, stale: bool) -> bytes:
        ts_ms = now_ms if s.timestamp is None or stale else timestamp_ms(s.timestamp)
        nh = s.native_histogram
        out: List[bytes] = []
        if stale:
            out.append(_sample(STALE_NAN, ts_ms))
        elif nh is None:
            out.append(_sample(s.value, ts_ms))
        else:
            h = histogram_from_native(nh, ts_ms, m.type == "gaugehistogram")
            out.append(histogram_record(h))
        if not stale:
            exemplars = list(nh.nh_exemplars or ()) if nh is not None else []
            if s.exemplar is not None:
                exemplars.insert(0, s.exemplar)
            for e in exemplars:
                e_ms = ts_ms if e.timestamp is None else timestamp_ms(e.timestamp)
                out.append(exemplar_record(sorted(e.labels.items()), e.value, e_ms))
        return b"".join(out)


def _sample(value: float, ts_ms: int) -> bytes:
    tail = b"\x10" + encode_varint(ts_ms)
    return b"\x12" + _SMALL[9 + len(tail)] + b"\x09" + _pack_double(value) + tail


# -- pure-Python snappy that knows the request layout (used when cramjam is missing) -------

_LITERAL_TAG: List[bytes] = [bytes(((n - 1) << 2,)) for n in range(1, 61)]


_Neighbours = Tuple[Optional[bytes], int, Optional[bytes], int]


def _snappy_prefix(prefix: bytes, near: _Neighbours) -> bytes:
    """Snappy elements that produce ``prefix`` (a series' record head + labels), copying
    whole label records from the two previous series' prefixes.

    ``near`` = (previous prefix, bytes between its end and the start of ``prefix``, the prefix
    before it, bytes between its end and the start of the previous prefix).
    """
    out: List[bytes] = []
    n = len(prefix)
    prev, gap, prev2, gap2 = near
    if prev is None:
        _snappy._literal(out, prefix, 0, n)
        return b"".join(out)
    # sources: (bytes, distance from the start of ``prefix`` back to their start)
    back = gap + len(prev)
    sources = [(prev, back)]
    if prev2 is not None:
        sources.append((prev2, back + gap2 + len(prev2)))
    h = 1
    while prefix[h] & 0x80:
        h += 1
    h += 1
    emitted = 0  # prefix[:emitted] is already encoded
    run_start = run_src = run_len = run_back = 0
    if prev[:h] == prefix[:h]:  # the record head can only match a record head
        run_len = h
        run_back = back
    pos = h
    while pos < n:
        j = pos + 1  # label record: 0a <varint len> body
        length = shift = 0
        while True:
            c = prefix[j]
            j += 1
            length |= (c & 0x7F) << shift
            if c < 0x80:
                break
            shift += 7
        end = j + length
        rec = prefix[pos:end]
        if run_len:
            src_bytes = prev if run_back == back else prev2
            assert src_bytes is not None
            k = run_src + run_len
            if src_bytes[k:k + end - pos] == rec:  # the run goes on
                run_len += end - pos
                pos = end
                continue
        if run_len >= 4:
            if run_start > emitted:
                _snappy._literal(out, prefix, emitted, run_start)
            _snappy._copy(out, run_back + run_start - run_src, run_len)
            emitted = run_start + run_len
        run_len = 0
        for src_bytes, src_back in sources:
            src = src_bytes.find(rec)
            if src >= 0:
                run_start, run_src, run_len, run_back = pos, src, end - pos, src_back
                break
        pos = end
    if run_len >= 4:
        if run_start > emitted:
            _snappy._literal(out, prefix, emitted, run_start)
        _snappy._copy(out, run_back + run_start - run_src, run_len)
        emitted = run_start + run_len
    if emitted < n:
        _snappy._literal(out, prefix, emitted, n)
    return b"".join(out)


_SnappyCache = Dict[bytes, Tuple[_Neighbours, bytes]]


def _snappy_series(parts: List[bytes], n_series: int, cache: _SnappyCache, new_cache: _SnappyCache) -> bytes:
    """Snappy block of ``b"".join(parts)`` (see :meth:`WriteRequestEncoder.encode_parts`).

    Each series' prefix is compressed against the two previous series' prefixes (copies of
    the label records they share) and memoised, keyed by the prefix and valid while those
    neighbours and the gaps stay the same; values are literals.  A pusher whose series do not
    change therefore compresses at the cost of a dict lookup per series.
    """
    out: List[bytes] = [_snappy._varint(sum(map(len, parts)))]
    append = out.append
    tags = _LITERAL_TAG
    get = cache.get
    near: _Neighbours = (None, 0, None, 0)
    for i in range(0, n_series, 2):
        prefix = parts[i]
        rest = parts[i + 1]
        e = get(prefix)
        if e is None or e[0] != near:
            e = (near, _snappy_prefix(prefix, near))
        new_cache[prefix] = e
        append(e[1])
        n = len(rest)
        if 0 < n <= 60:
            append(tags[n - 1])
            append(rest)
        else:
            _snappy._literal(out, rest, 0, n)
        near = (prefix, n, near[0], near[1])
    for meta in parts[n_series:]:
        _snappy._literal(out, meta, 0, len(meta))
    return b"".join(out)


class _Ctx(NamedTuple):
    tail: bytes  # 10 <timestamp varint>
    samp_len: int  # length of one Sample record
    pack: Callable[[bytes, float, bytes], bytes]  # (head, value, tail) -> Sample record
    head: bytes  # 12 <len> 09
    now_ms: int


def _prefixes(split: _SplitFn, values: Sequence[str], names: Sequence[bytes], samp_len: int) -> List[bytes]:
    """Record head + labels of each series of label ``values`` whose ``__name__`` records are
    ``names`` (everything of a series but its Sample record)."""
    a, b, c = split(values)
    bc = b + c
    out = []
    for name in names:
        body = a + name + bc
        out.append(_hdr(len(body) + samp_len) + body)
    return out


def _with_extra(prefix: bytes, sample: bytes, extra: bytes) -> Tuple[bytes, bytes]:
    """A series record whose prefix was made for a lone Sample, now followed by ``extra``."""
    i = 1
    while prefix[i] & 0x80:
        i += 1
    body = prefix[i + 1:]
    return _hdr(len(body) + len(sample) + len(extra)) + body, sample + extra


def _exemplar_bytes(e: Exemplar, now_ms: int) -> bytes:
    ms = now_ms if e.timestamp is None else timestamp_ms(e.timestamp)
    return exemplar_record(sorted(e.labels.items()), e.value, ms)


def _fast_counter(enc: WriteRequestEncoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    cache: Dict[object, List[bytes]] = enc.series.get(info, None, len(series))
    names = enc._records("__name__")
    nrec = (names[info.name + "_total"], names[info.name + "_created"])
    split = enc._split(info.labelnames)
    labelvalues = info.labelvalues
    extend = parts.extend
    pack, head, tail, samp_len = ctx.pack, ctx.head, ctx.tail, ctx.samp_len
    for child in series:
        pre = cache.get(child)
        if pre is None:
            pre = cache[child] = _prefixes(split, labelvalues(child), nrec, samp_len)
        value, exemplar, created = numbers(child)
        if exemplar is None:
            extend((pre[0], pack(head, value, tail)))
        else:
            extend(_with_extra(pre[0], pack(head, value, tail), _exemplar_bytes(exemplar, ctx.now_ms)))
        if created is not None:
            extend((pre[1], pack(head, created, tail)))


def _fast_gauge(enc: WriteRequestEncoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("GaugeFn", info.numbers)
    cache: Dict[object, List[bytes]] = enc.series.get(info, None, len(series))
    nrec = (enc._records("__name__")[info.name],)
    split = enc._split(info.labelnames)
    labelvalues = info.labelvalues
    extend = parts.extend
    pack, head, tail, samp_len = ctx.pack, ctx.head, ctx.tail, ctx.samp_len
    for child in series:
        pre = cache.get(child)
        if pre is None:
            pre = cache[child] = _prefixes(split, labelvalues(child), nrec, samp_len)
        extend((pre[0], pack(head, numbers(child), tail)))


def _fast_summary(enc: WriteRequestEncoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("SummaryFn", info.numbers)
    cache: Dict[object, List[bytes]] = enc.series.get(info, None, len(series))
    names = enc._records("__name__")
    name = info.name
    nrec = (names[name + "_count"], names[name + "_sum"], names[name + "_created"])
    split = enc._split(info.labelnames)
    labelvalues = info.labelvalues
    extend = parts.extend
    pack, head, tail, samp_len = ctx.pack, ctx.head, ctx.tail, ctx.samp_len
    for child in series:
        pre = cache.get(child)
        if pre is None:
            pre = cache[child] = _prefixes(split, labelvalues(child), nrec, samp_len)
        count, total, created = numbers(child)
        extend((pre[0], pack(head, count, tail), pre[1], pack(head, total, tail)))
        if created is not None:
            extend((pre[2], pack(head, created, tail)))


def _fast_histogram(enc: WriteRequestEncoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("HistogramFn", info.numbers)
    cache: Dict[object, Tuple[List[bytes], List[bytes]]] = enc.series.get(info, None, len(series))
    names = enc._records("__name__")
    name = info.name
    n_bucket = names[name + "_bucket"]
    tail_names = (names[name + "_count"], names[name + "_sum"], names[name + "_created"])
    le_records = enc._records("le")
    split = enc._split(info.labelnames)
    labelvalues = info.labelvalues
    extend = parts.extend
    pack, head, tail, samp_len, now_ms = ctx.pack, ctx.head, ctx.tail, ctx.samp_len, ctx.now_ms
    for child in series:
        les, counts, total, exemplars, created, with_sum = numbers(child)
        pre = cache.get(child)
        if pre is None:
            a, b, c = split(labelvalues(child))
            bucket_pre = []
            for le in les:
                body = a + n_bucket + b + le_records[le] + c
                bucket_pre.append(_hdr(len(body) + samp_len) + body)
            bc = b + c
            pre = cache[child] = (
                bucket_pre, [_hdr(len(a) + len(nm) + len(bc) + samp_len) + a + nm + bc for nm in tail_names])
        bucket_pre, (p_count, p_sum, p_created) = pre
        acc = 0.0
        if exemplars is None:
            for prefix, count in zip(bucket_pre, counts):
                acc += count
                extend((prefix, pack(head, acc, tail)))
        else:
            for prefix, count, ex in zip(bucket_pre, counts, exemplars):
                acc += count
                if ex is None:
                    extend((prefix, pack(head, acc, tail)))
                else:
                    extend(_with_extra(prefix, pack(head, acc, tail), _exemplar_bytes(ex, now_ms)))
        extend((p_count, pack(head, acc, tail)))
        if with_sum:
            extend((p_sum, pack(head, total, tail)))
        if created is not None:
            extend((p_created, pack(head, created, tail)))


_FAST: Dict[str, Callable[[WriteRequestEncoder, Family, _Ctx, List[bytes]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}
