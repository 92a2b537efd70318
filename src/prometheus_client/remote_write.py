"""Push metrics straight into Prometheus-compatible storage with remote write 1.0.

Prometheus (``--web.enable-remote-write-receiver``), Mimir, Cortex, Thanos receive,
VictoriaMetrics and others accept the Prometheus remote-write protocol: an HTTP ``POST`` of a
snappy-compressed protobuf ``WriteRequest``.  This module turns a registry into such a request
and sends it:

* :func:`push_to_remote_write` pushes once (batch jobs, serverless functions, cron);
* :class:`RemoteWritePusher` pushes every ``interval`` seconds from a background thread
  (long-running processes that cannot be scraped).

Data model (what a receiver stores), chosen to match what Prometheus itself stores when it
scrapes the same registry:

* every sample of every family becomes one series named after the sample:
  counters ``x_total`` (and ``x_created`` unless created series are disabled with
  :func:`prometheus_client.disable_created_metrics`), histograms ``x_bucket{le=...}``,
  ``x_count``, ``x_sum`` (and ``x_created``), summaries ``x{quantile=...}`` when present,
  ``x_count``, ``x_sum`` (and ``x_created``), gauge histograms ``x_bucket``, ``x_gcount``,
  ``x_gsum``, info ``x_info``, stateset ``x{x="state"}`` (1 or 0), gauges and unknown ``x``;
  native-histogram samples become native histogram series under the bare name;
* labels are sorted, ``__name__`` included, empty label values left out (remote write forbids
  them; Prometheus drops them when it scrapes), names outside the legacy character set escaped
  with ``underscores`` like ``generate_latest``;
* ``job`` and ``instance`` (default: the host name) and ``extra_labels`` are added to every
  series.  A sample label with the same name is renamed ``exported_<name>`` (Prometheus'
  ``honor_labels: false``), or wins over the target label with ``honor_labels=True``;
* samples carry the push time in milliseconds, or their own timestamp when they have one;
* one ``MetricMetadata`` per family: type, family name (the OpenMetrics family name, e.g.
  ``x`` for the counter ``x_total``, as Prometheus records it when scraping), help and unit;
* exemplars are sent with their series.

Speed: the metric objects of this library are encoded from their raw numbers (the exposition
fast path), with the encoded labels of every series built once and, in a
:class:`RemoteWritePusher`, kept while the series exists; snappy uses ``cramjam`` when it is
installed (``pip install cramjam``), else the library's own pure-Python compressor.

Retries: 5xx answers and connection errors are retried with exponential back-off and jitter
until ``timeout`` is used up, then :class:`RemoteWriteError` is raised.  Other answers >= 300
(4xx, and 429 unless ``retry_on_http_429``) are not retried and raise at once with the
server's message.  A retry re-sends the very same bytes (same timestamps), so a receiver that
did store an earlier attempt sees identical duplicates, which Prometheus-compatible stores
accept without change; after a 2xx nothing is sent again.
"""

from __future__ import annotations

import atexit
import base64
import logging
import random
import re
import socket
import ssl
import struct
import threading
import time
import urllib.error
import urllib.request
from typing import (
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

from . import _snappy
from ._content_types import CONTENT_TYPE_REMOTE_WRITE
from ._family import (
    CounterFn,
    Family,
    GaugeFn,
    HistogramFn,
    SeriesCache,
    SummaryFn,
)
from ._protobuf import encode_varint
from ._remote_write_pb import (
    METRIC_TYPE_BY_NAME,
    RESET_HINT_GAUGE,
    RESET_HINT_UNKNOWN,
    STALE_NAN,
    Histogram,
    exemplar_record,
    histogram_record,
    label_record,
    metadata_record,
)
from ._render import walk
from .metrics_core import Metric
from .registry import REGISTRY, Collector
from .samples import Sample

__all__ = [
    "CONTENT_TYPE",
    "REMOTE_WRITE_VERSION",
    "USER_AGENT",
    "RemoteWriteError",
    "RemoteWritePusher",
    "default_handler",
    "push_to_remote_write",
    "write_request_from_registry",
]

CONTENT_TYPE = CONTENT_TYPE_REMOTE_WRITE
REMOTE_WRITE_VERSION = "0.1.0"
USER_AGENT = "prometheus-client-python/0.27.0"
_RESERVED_HEADERS = frozenset(
    {"content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent"}
)

logger = logging.getLogger("prometheus_client.remote_write")

Handler = Callable[..., Callable[[], Any]]
Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]

_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_INVALID_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")

_DOUBLE = struct.Struct("<d")
_pack_double = _DOUBLE.pack
_SMALL: List[bytes] = [bytes((i,)) for i in range(128)]


class RemoteWriteError(OSError):
    """A remote-write request failed.

    ``status`` is the HTTP status of the last answer received (``None`` when the receiver
    never answered: connection errors, timeouts), ``body`` that answer's text (trimmed),
    ``attempts`` the number of requests made.
    """

    def __init__(self, message: str, *, url: str = "", status: Optional[int] = None,
                 body: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body
        self.attempts = attempts


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

def _ms(ts: Any) -> int:
    """Milliseconds since the epoch of a float (seconds) or ``Timestamp``."""
    sec = getattr(ts, "sec", None)
    if sec is not None:
        return int(sec) * 1000 + int(round(int(ts.nsec) / 1e6))
    return int(round(float(ts) * 1000.0))


def _target_labels(job: str, instance: Optional[str],
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


class _Encoder:
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
        """Sorted ``(output name, kind, arg)`` of a series' labels, ``__name__`` included.

        kind ``sample``: arg = index of the sample label in ``shape``; ``const``: arg = the
        encoded target label; ``name``: the ``__name__`` slot.
        """
        slots: Dict[str, Tuple[str, Any]] = {}
        for i, k in enumerate(shape):
            slots[_escape_label_name(k)] = ("sample", i)
        for k, v in self.target.items():
            if k in slots:
                if self.honor_labels:
                    continue
                exported = "exported_" + k
                while exported in slots:
                    exported = "exported_" + exported
                slots[exported] = slots.pop(k)
            slots[k] = ("const", label_record(k, v))
        slots["__name__"] = ("name", None)
        return [(k, *slots[k]) for k in sorted(slots)]

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
            if type(item) is Family:
                info = item.info
                if stale:
                    raise ValueError("stale markers are encoded from collect(), not from families")
                if send_meta:
                    meta.append(metadata_record(type_ids.get(info.type, 0), info.name, info.help, info.unit))
                _FAST[info.type](self, item, ctx, parts)
                continue
            m = cast(Metric, item)
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
        ts_ms = now_ms if s.timestamp is None or stale else _ms(s.timestamp)
        nh = s.native_histogram
        out: List[bytes] = []
        if stale:
            out.append(_sample(STALE_NAN, ts_ms))
        elif nh is None:
            out.append(_sample(s.value, ts_ms))
        else:
            count = nh.count_value
            zc = nh.zero_count
            is_float = not (float(count).is_integer() and float(zc).is_integer())
            h = Histogram(
                count, nh.sum_value, nh.schema, nh.zero_threshold, zc, ts_ms,
                negative_spans=[(sp.offset, sp.length) for sp in nh.neg_spans or ()],
                negative_deltas=list(nh.neg_deltas or ()) if not is_float else (),
                positive_spans=[(sp.offset, sp.length) for sp in nh.pos_spans or ()],
                positive_deltas=list(nh.pos_deltas or ()) if not is_float else (),
                negative_counts=_absolute(nh.neg_deltas) if is_float else (),
                positive_counts=_absolute(nh.pos_deltas) if is_float else (),
                reset_hint=RESET_HINT_GAUGE if m.type == "gaugehistogram" else RESET_HINT_UNKNOWN,
                is_float=is_float,
            )
            out.append(histogram_record(h))
        if not stale:
            exemplars = list(nh.nh_exemplars or ()) if nh is not None else []
            if s.exemplar is not None:
                exemplars.insert(0, s.exemplar)
            for e in exemplars:
                e_ms = ts_ms if e.timestamp is None else _ms(e.timestamp)
                out.append(exemplar_record(sorted(e.labels.items()), e.value, e_ms))
        return b"".join(out)


def _sample(value: float, ts_ms: int) -> bytes:
    tail = b"\x10" + encode_varint(ts_ms)
    return b"\x12" + _SMALL[9 + len(tail)] + b"\x09" + _pack_double(value) + tail


def _absolute(deltas: Optional[Sequence[int]]) -> List[float]:
    out: List[float] = []
    acc = 0
    for d in deltas or ():
        acc += d
        out.append(float(acc))
    return out


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
    """Snappy block of ``b"".join(parts)`` (see :meth:`_Encoder.encode_parts`).

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


def _exemplar_bytes(e: Any, now_ms: int) -> bytes:
    ms = now_ms if e.timestamp is None else _ms(e.timestamp)
    return exemplar_record(sorted(e.labels.items()), e.value, ms)


def _fast_counter(enc: _Encoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
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


def _fast_gauge(enc: _Encoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
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


def _fast_summary(enc: _Encoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
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


def _fast_histogram(enc: _Encoder, fam: Family, ctx: _Ctx, parts: List[bytes]) -> None:
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


_FAST: Dict[str, Callable[[_Encoder, Family, _Ctx, List[bytes]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


def write_request_from_registry(
    registry: Collector = REGISTRY,
    *,
    job: str,
    instance: Optional[str] = None,
    extra_labels: Optional[Mapping[str, str]] = None,
    timestamp: Optional[float] = None,
    honor_labels: bool = False,
    send_metadata: bool = True,
) -> bytes:
    """The uncompressed protobuf ``WriteRequest`` that :func:`push_to_remote_write` would send.

    ``timestamp`` (seconds since the epoch, default now) is given to samples without one.
    """
    enc = _Encoder(_target_labels(job, instance, extra_labels), honor_labels, send_metadata)
    now = time.time() if timestamp is None else timestamp
    return enc.encode(walk(registry), _ms(now))


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Remote write never follows redirects (urllib would turn the POST into a GET)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _urllib_handler(opener: urllib.request.OpenerDirector) -> Handler:
    def handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                data: bytes) -> Callable[[], None]:
        def handle() -> None:
            req = urllib.request.Request(url, data=data, method=method)
            for k, v in headers:
                req.add_header(k, v)
            with opener.open(req, timeout=timeout) as resp:
                resp.read()

        return handle

    return handler


def default_handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                    data: bytes) -> Callable[[], None]:
    """Send one request with urllib.  Same calling convention as the Pushgateway handlers:
    ``handler(url=..., method=..., timeout=..., headers=[(name, value), ...], data=...)``
    returns a callable that performs the request and raises on failure
    (:class:`urllib.error.HTTPError` for answers >= 300, ``OSError`` for connection errors).
    """
    return _default(url, method, timeout, headers, data)


_default = _urllib_handler(_opener)


def _handler_for(handler: Handler, ssl_context: Optional[ssl.SSLContext]) -> Handler:
    if ssl_context is None:
        return handler
    if handler is not default_handler:
        raise ValueError("remote write: ssl_context applies to the default handler only; "
                         "configure TLS in your handler instead")
    return _urllib_handler(urllib.request.build_opener(_NoRedirect(),
                                                       urllib.request.HTTPSHandler(context=ssl_context)))


def _headers(headers: Optional[Headers], basic_auth: Optional[Tuple[str, str]] = None) -> List[Tuple[str, str]]:
    out = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", CONTENT_TYPE),
        ("X-Prometheus-Remote-Write-Version", REMOTE_WRITE_VERSION),
        ("User-Agent", USER_AGENT),
    ]
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for k, v in items:
            if k.lower() in _RESERVED_HEADERS:
                raise ValueError(f"remote write: header {k!r} is set by the protocol and cannot be overridden")
            if basic_auth is not None and k.lower() == "authorization":
                raise ValueError("remote write: give either basic_auth or an Authorization header, not both")
            out.append((k, v))
    if basic_auth is not None:
        user, password = basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        out.append(("Authorization", "Basic " + token))
    return out


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"remote write: url must start with http:// or https://, got {url!r}")


def _error_body(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()
    except Exception:  # noqa: BLE001 - the body is best effort
        raw = b""
    finally:
        try:
            e.close()
        except Exception:  # noqa: BLE001
            pass
    text = raw.decode("utf-8", "replace").strip() if raw else ""
    if not text:
        text = str(e.reason or "")
    return text[:2048]


def _retry_after(e: urllib.error.HTTPError) -> Optional[float]:
    value = e.headers.get("Retry-After") if e.headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _Policy:
    __slots__ = ("timeout", "min_backoff", "max_backoff", "max_attempts", "retry_on_http_429")

    def __init__(self, timeout: float, min_backoff: float, max_backoff: float,
                 max_attempts: Optional[int], retry_on_http_429: bool) -> None:
        if not timeout > 0:
            raise ValueError(f"remote write: timeout must be > 0 seconds, got {timeout!r}")
        if not 0 <= min_backoff <= max_backoff:
            raise ValueError("remote write: need 0 <= min_backoff <= max_backoff, "
                             f"got {min_backoff!r} and {max_backoff!r}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"remote write: max_attempts must be >= 1, got {max_attempts!r}")
        self.timeout = float(timeout)
        self.min_backoff = float(min_backoff)
        self.max_backoff = float(max_backoff)
        self.max_attempts = max_attempts
        self.retry_on_http_429 = retry_on_http_429


def _send(url: str, body: bytes, headers: List[Tuple[str, str]], handler: Handler, policy: _Policy,
          wait: Callable[[float], bool]) -> int:
    """POST ``body`` with retries; return the number of attempts.  ``wait(s)`` sleeps and
    returns True when the caller wants to give up early (pusher being stopped)."""
    start = time.monotonic()
    deadline = start + policy.timeout
    attempt = 0
    answer: Optional[Tuple[int, str]] = None  # last HTTP answer received (status, message)
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        status: Optional[int] = None
        hint: Optional[float] = None
        try:
            handler(url=url, method="POST", timeout=max(remaining, 0.001), headers=headers, data=body)()
            return attempt
        except urllib.error.HTTPError as e:
            status = e.code
            msg = _error_body(e)
            hint = _retry_after(e) if status == 429 else None
            retryable = status >= 500 or (status == 429 and policy.retry_on_http_429)
            what = f"HTTP {status}: {msg}" if msg else f"HTTP {status}"
            if not retryable:
                raise RemoteWriteError(f"remote write to {url} failed: {what}", url=url, status=status,
                                       body=msg, attempts=attempt) from None
            answer = (status, msg)
            last: BaseException = e
        except RemoteWriteError as e:  # raised by a custom handler
            status = e.status
            if status is not None and status < 500 and not (status == 429 and policy.retry_on_http_429):
                raise
            what = str(e)
            msg = e.body
            if status is not None:
                answer = (status, msg)
            last = e
        except OSError as e:  # connection refused/reset, DNS, timeouts
            what = f"{type(e).__name__}: {e}"
            if isinstance(e, ssl.SSLCertVerificationError) or isinstance(
                    getattr(e, "reason", None), ssl.SSLCertVerificationError):
                # a certificate that does not verify will not verify on a retry either
                raise RemoteWriteError(f"remote write to {url} failed: {what}", url=url,
                                       attempts=attempt) from e
            msg = ""
            last = e
        delay = min(policy.max_backoff, policy.min_backoff * (2.0 ** (attempt - 1)))
        delay *= random.uniform(0.5, 1.0)
        if hint is not None:
            delay = max(delay, hint)
        if answer is not None and status is None:  # e.g. the last attempt timed out
            what += f"; last answer: HTTP {answer[0]}" + (f": {answer[1]}" if answer[1] else "")
        a_status, a_msg = answer if answer is not None else (None, "")
        elapsed = time.monotonic() - start
        if (policy.max_attempts is not None and attempt >= policy.max_attempts) or \
                time.monotonic() + delay >= deadline:
            raise RemoteWriteError(
                f"remote write to {url} failed after {attempt} attempt(s) in {elapsed:.2f}s: {what}",
                url=url, status=a_status, body=a_msg, attempts=attempt) from last
        logger.debug("remote write to %s: attempt %d failed (%s), retrying in %.3fs", url, attempt,
                     what, delay)
        if wait(delay):
            raise RemoteWriteError(f"remote write to {url} abandoned (pusher stopped) after "
                                   f"{attempt} attempt(s): {what}", url=url, status=a_status, body=a_msg,
                                   attempts=attempt) from last


def _sleep(delay: float) -> bool:
    time.sleep(delay)
    return False


def push_to_remote_write(
    url: str,
    registry: Collector = REGISTRY,
    *,
    job: str,
    instance: Optional[str] = None,
    extra_labels: Optional[Mapping[str, str]] = None,
    timeout: float = 30,
    handler: Handler = default_handler,
    headers: Optional[Headers] = None,
    timestamp: Optional[float] = None,
    honor_labels: bool = False,
    send_metadata: bool = True,
    retry_on_http_429: bool = False,
    min_backoff: float = 0.03,
    max_backoff: float = 5.0,
    max_attempts: Optional[int] = None,
    basic_auth: Optional[Tuple[str, str]] = None,
    ssl_context: Optional[ssl.SSLContext] = None,
) -> None:
    """Push every sample of ``registry`` to a remote-write receiver, once.

    ``url`` is the receiver's write endpoint, e.g. ``http://prometheus:9090/api/v1/write``.
    ``job`` (required) and ``instance`` (default: the host name; ``""`` leaves it out) are added
    to every series, as are ``extra_labels``.  ``timeout`` bounds the whole call, retries
    included.  ``headers`` are extra HTTP headers (e.g. ``Authorization``, ``X-Scope-OrgID``);
    the protocol headers cannot be overridden.  ``handler`` has the Pushgateway handler calling
    convention (see :func:`default_handler`).  ``timestamp`` (seconds) is given to samples
    without their own, default now.  ``basic_auth=(user, password)`` adds HTTP basic
    authentication; ``ssl_context`` configures TLS (custom CA, client certificate) for the
    default handler.

    Raises :class:`RemoteWriteError` (an ``OSError``) when the receiver refuses the data
    (4xx: at once, with its message) or is still failing when ``timeout`` is used up.
    """
    _check_url(url)
    policy = _Policy(timeout, min_backoff, max_backoff, max_attempts, retry_on_http_429)
    hdrs = _headers(headers, basic_auth)
    handler = _handler_for(handler, ssl_context)
    enc = _Encoder(_target_labels(job, instance, extra_labels), honor_labels, send_metadata)
    now = time.time() if timestamp is None else timestamp
    # one push: without cramjam, the general pure-Python compressor (slower than the
    # pusher's memoised one, but it compresses about 4x better)
    body = _snappy.compress(enc.encode(walk(registry), _ms(now)))
    _send(url, body, hdrs, handler, policy, _sleep)


class RemoteWritePusher:
    """Push a registry to a remote-write receiver every ``interval`` seconds from a thread.

    ::

        with RemoteWritePusher("http://prometheus:9090/api/v1/write", job="worker", interval=15):
            run_forever()

    Each push gets up to ``timeout`` seconds (default: ``interval``) for its retries; a push
    that still fails is logged (logger ``prometheus_client.remote_write``), passed to
    ``on_error`` if given, and dropped: the next push carries the current (cumulative) values.
    :meth:`stop` makes one last push by default (``push_on_stop``) so the final values land,
    and with ``stale_on_stop=True`` then marks every pushed series stale, as Prometheus does
    for a target that went away, so queries stop showing them at once.  A pusher still running
    when the interpreter exits is stopped (and so flushed) by an ``atexit`` hook.
    """

    def __init__(
        self,
        url: str,
        registry: Collector = REGISTRY,
        *,
        job: str,
        instance: Optional[str] = None,
        interval: float = 15.0,
        extra_labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        handler: Handler = default_handler,
        headers: Optional[Headers] = None,
        honor_labels: bool = False,
        send_metadata: bool = True,
        retry_on_http_429: bool = False,
        min_backoff: float = 0.03,
        max_backoff: float = 5.0,
        max_attempts: Optional[int] = None,
        push_on_stop: bool = True,
        stale_on_stop: bool = False,
        on_error: Optional[Callable[[BaseException], None]] = None,
        basic_auth: Optional[Tuple[str, str]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
    ) -> None:
        _check_url(url)
        if not interval > 0:
            raise ValueError(f"remote write: interval must be > 0 seconds, got {interval!r}")
        self.url = url
        self.registry = registry
        self.interval = float(interval)
        self._policy = _Policy(self.interval if timeout is None else timeout, min_backoff, max_backoff,
                               max_attempts, retry_on_http_429)
        self._headers = _headers(headers, basic_auth)
        self._handler = _handler_for(handler, ssl_context)
        self._encoder = _Encoder(_target_labels(job, instance, extra_labels), honor_labels, send_metadata)
        self._push_on_stop = push_on_stop
        self._stale_on_stop = stale_on_stop
        self._on_error = on_error
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one push at a time
        self._thread: Optional[threading.Thread] = None
        self._last_ms = 0
        self.pushes_succeeded = 0
        self.pushes_failed = 0
        self.last_error: Optional[BaseException] = None
        self.last_success: Optional[float] = None  # time.time() of the last successful push

    # -- one push -----------------------------------------------------------------
    def _now_ms(self) -> int:
        # strictly increasing, so two pushes never send one series twice at one timestamp
        ms = max(_ms(time.time()), self._last_ms + 1)
        self._last_ms = ms
        return ms

    def _body(self, stale: bool = False) -> bytes:
        """Collect, encode and compress one push."""
        items = self.registry.collect() if stale else walk(self.registry)
        return self._encoder.encode_snappy(items, self._now_ms(), stale=stale)

    def push(self, *, stale: bool = False, interruptible: bool = False) -> None:
        """Collect and push now (in the calling thread); raises :class:`RemoteWriteError`."""
        wait: Callable[[float], bool] = self._stop.wait if interruptible else _sleep
        with self._lock:
            body = self._body(stale)
            try:
                _send(self.url, body, self._headers, self._handler, self._policy, wait)
            except BaseException as e:
                self.pushes_failed += 1
                self.last_error = e
                raise
            self.pushes_succeeded += 1
            self.last_success = time.time()

    def _push_logged(self, **kw: bool) -> None:
        try:
            self.push(**kw)
        except Exception as e:  # noqa: BLE001 - the thread must survive any failure
            logger.warning("remote write push to %s failed: %s", self.url, e)
            if self._on_error is not None:
                try:
                    self._on_error(e)
                except Exception:  # noqa: BLE001
                    logger.exception("remote write on_error callback failed")

    # -- thread -------------------------------------------------------------------
    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._push_logged(interruptible=True)
            next_at += self.interval
            now = time.monotonic()
            if next_at <= now:  # a slow push: skip the ticks we missed
                next_at = now + self.interval - ((now - next_at) % self.interval)
            if self._stop.wait(next_at - now):
                break

    def start(self) -> RemoteWritePusher:
        """Start pushing from a daemon thread (the first push happens at once)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("RemoteWritePusher is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prometheus-remote-write", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a process that exits without stop() still flushes
        return self

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop the thread, then make the final push (and stale markers) if configured."""
        thread = self._thread
        if thread is None:
            return
        atexit.unregister(self.stop)
        self._stop.set()
        thread.join(timeout)
        self._thread = None
        if self._push_on_stop:
            self._push_logged()
        if self._stale_on_stop:
            self._push_logged(stale=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> RemoteWritePusher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
