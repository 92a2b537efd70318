"""OpenMetrics 2.0.0 (rc0) text encoder; ``exposition.generate_latest(..., version="2.0.0")``.

Per family: ``# TYPE``, ``# UNIT`` (when set), ``# HELP`` (when not empty), then one line per
series: counters ``<name>_total`` and info ``<name>_info`` as in 1.0; histograms, gauge
histograms and summaries as one composite value ``{count:…,sum:…,bucket:[…]}``; the start time
inline as ``st@<seconds>`` instead of ``_created`` samples; exemplars (any number, each with a
timestamp) after it. Every choice the draft leaves open is listed in docs/openmetrics-2.md.

Layers: ``*_value``/``sample_line`` build one line from plain inputs (a line head, numbers,
exemplars, a start time); ``_fast_*`` feed them from the ``Family`` answers of the library's metric
objects (raw numbers, label strings from the encoders' shared cache); ``_render_metric`` folds the 1.0-shaped samples of
any ``Metric`` (custom collectors) into the same calls.
"""

import math
import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

from .._metrics.family import Family, FamilyInfo
from ..metrics_core import Metric
from ..registry import Collector
from ..samples import Exemplar, NativeHistogram, Sample, Timestamp
from ..utils import floatToGoString
from .escaping import escape_label_value, escape_metric_name, escaped_label_name, label_name_escaper
from .render import bind, escape_help_om, fmt_value, label_set_cache, labels_cached, labels_of, render
from .skipped import encode_text
from .text import _sample_name

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn, GaugeFn, HistogramFn, SummaryFn

_MAX_EXACT = 2.0**53
SampleTime = Union[float, Timestamp]
_FAMILY_SUFFIX = {"counter": "_total", "info": "_info"}


# -- numbers and timestamps -------------------------------------------------------------


def fmt_num(v: Union[float, int, str]) -> str:
    """A Number: integral values below 2**53 as integers (``5``), others as in 1.0 (``0.25``,
    ``1e+21``, ``+Inf``, ``NaN``)."""
    if type(v) is float:
        if v.is_integer() and -_MAX_EXACT < v < _MAX_EXACT:
            return str(int(v))
        return fmt_value(v)
    if type(v) is int:
        return str(v)
    return fmt_num(float(v))


_key_cache: Dict[str, str] = {}


def fmt_key(v: Union[float, str]) -> str:
    """A bucket threshold or quantile (a number, or the text of an ``le``/``quantile`` label):
    the canonical 1.0 spelling (``1.0``, ``0.5``, ``+Inf``, ``-0.0``)."""
    if type(v) is not str:
        return floatToGoString(v)
    try:
        return _key_cache[v]
    except KeyError:
        pass
    text = floatToGoString(float(v))
    if len(_key_cache) >= 10000:
        _key_cache.clear()
    _key_cache[v] = text
    return text


_ts_cache: Dict[float, str] = {}


def fmt_ts(ts: SampleTime) -> str:
    """A timestamp in seconds without an exponent (``1767225600.0``); a Timestamp keeps its
    nanoseconds. ValueError for NaN or infinity (the grammar has no such timestamp).

    Start times repeat on every scrape and ``repr`` of a float near 1.7e9 is slow (~1 us):
    those are memoised."""
    if type(ts) is float:
        text = _ts_cache.get(ts)
        if text is not None:
            return text
    elif isinstance(ts, Timestamp):
        return str(ts)
    f = float(ts)
    if f != f or f in (math.inf, -math.inf):
        raise ValueError(f"OpenMetrics 2.0 timestamps must be finite, got {ts!r}")
    text = repr(f)
    if "e" in text:  # written out exactly: the shortest repr's digits, no exponent
        text = format(Decimal(text), "f")
        if "." not in text:
            text += ".0"
    if type(ts) is float and (f >= 1e6 or f <= -1e6):  # (never 0.0: -0.0 would share its key)
        if len(_ts_cache) >= 20000:
            _ts_cache.clear()
        _ts_cache[f] = text
    return text


# -- one line from plain inputs ---------------------------------------------------------


class Stamp:
    """The scrape time given to exemplars that have none (read once, when first needed)."""

    __slots__ = ("_now",)

    def __init__(self) -> None:
        self._now: Optional[str] = None

    def now(self) -> str:
        if self._now is None:
            self._now = fmt_ts(time.time())
        return self._now


def exemplars_text(exemplars: Sequence[Exemplar], escaping: str, stamp: Stamp) -> str:
    """`` # {labels} value timestamp`` per exemplar (labels in their given order, as
    ``trace_id``/``span_id`` are usually written); a missing timestamp becomes the scrape time."""
    parts = []
    for ex in exemplars:
        ts = stamp.now() if ex.timestamp is None else fmt_ts(ex.timestamp)
        names = label_name_escaper(escaping)
        inner = ",".join(
            [f'{escaped_label_name(names, k, escaping)}="{escape_label_value(v)}"' for k, v in ex.labels.items()]
        )
        parts.append(f" # {{{inner}}} {fmt_num(ex.value)} {ts}")
    return "".join(parts)


def sample_line(
    head: str, value: str, ts: Optional[SampleTime] = None, start: Optional[SampleTime] = None, exemplars: str = ""
) -> str:
    """``head`` is the line up to the value (``name{labels} ``); ``ts`` and ``start`` are
    seconds or None; ``exemplars`` is from ``exemplars_text``."""
    text = head + value
    if ts is not None:
        text = f"{text} {fmt_ts(ts)}"
    if start is not None:
        text = f"{text} st@{fmt_ts(start)}"
    return f"{text}{exemplars}\n"


def summary_value(count: float, total: float, quantiles: Sequence[Tuple[Union[float, str], float]]) -> str:
    """``{count:C,sum:S,quantile:[q:v,…]}``."""
    qs = ",".join([f"{fmt_key(q)}:{fmt_num(v)}" for q, v in quantiles])
    return f"{{count:{fmt_num(count)},sum:{fmt_value(total)},quantile:[{qs}]}}"


def native_problem(nh: NativeHistogram) -> Optional[str]:
    """What makes ``nh`` impossible to write in OpenMetrics 2.0, or None."""
    if type(nh.schema) is not int or not -4 <= nh.schema <= 8:
        return f"native histograms need a schema in -4..8, got {nh.schema!r}"
    if not 0 <= nh.zero_threshold < math.inf:
        return f"native histograms need a finite zero_threshold >= 0, got {nh.zero_threshold!r}"
    for spans in (nh.neg_spans, nh.pos_spans):
        if spans and any(s[0] < 0 for s in spans[1:]):
            return f"a span after the first has a negative offset: {tuple(spans)!r}"
    return None


def _native_part(nh: NativeHistogram) -> str:
    """``schema:…,zero_threshold:…,zero_count:…`` and the spans and absolute bucket counts."""
    if type(nh.schema) is not int or not -4 <= nh.schema <= 8:
        raise ValueError(f"OpenMetrics 2.0 native histograms need a schema in -4..8, got {nh.schema!r}")
    text = f"schema:{nh.schema},zero_threshold:{fmt_value(nh.zero_threshold)},zero_count:{fmt_num(nh.zero_count)}"
    for side, spans, deltas in (("negative", nh.neg_spans, nh.neg_deltas), ("positive", nh.pos_spans, nh.pos_deltas)):
        if spans:
            acc = 0.0
            counts = []
            for d in deltas or ():
                acc += d
                counts.append(fmt_num(acc))
            span_text = ",".join([f"{s[0]}:{s[1]}" for s in spans])
            text += f",{side}_spans:[{span_text}],{side}_buckets:[{','.join(counts)}]"
    return text


def histogram_value(
    count: float,
    total: float,
    buckets: Optional[Sequence[Tuple[str, float]]],
    native: Optional[NativeHistogram] = None,
    gauge: bool = False,
) -> str:
    """``{count:C,sum:S,[native keys,]bucket:[le:cumulative,…]}``; ``gcount``/``gsum`` for a
    gauge histogram. ``buckets``: (threshold as written, cumulative count), ending at ``+Inf``."""
    keys = "{gcount:" if gauge else "{count:"
    text = f"{keys}{fmt_num(count)},{'gsum' if gauge else 'sum'}:{fmt_value(total)}"
    if native is not None:
        text = f"{text},{_native_part(native)}"
    if buckets:
        inner = ",".join([f"{le}:{fmt_num(v)}" for le, v in buckets])
        text = f"{text},bucket:[{inner}]"
    return text + "}"


def header(name: str, doc: str, typ: str, unit: str, escaping: str) -> str:
    """``# TYPE``, then ``# UNIT`` and ``# HELP`` when not empty (the order the draft asks for)."""
    ename = escape_metric_name(name, escaping)
    text = f"# TYPE {ename} {typ}\n"
    if unit:
        text += f"# UNIT {ename} {unit}\n"
    if doc:
        text += f"# HELP {ename} {escape_help_om(doc)}\n"
    return text


def _head(name: str, inner: str, escaping: str) -> str:
    opened, bare = _sample_name(name, escaping)
    return f"{opened}{inner}}} " if inner else bare


# -- generic: any Metric (1.0-shaped samples folded into 2.0 lines) --------------------


class _Ctx:
    __slots__ = ("escaping", "names", "cache", "stamp")

    def __init__(self, escaping: str) -> None:
        self.escaping = escaping
        self.names = label_name_escaper(escaping)
        self.cache = label_set_cache(escaping)
        self.stamp = Stamp()

    def inner(self, labels: Optional[Dict[str, str]]) -> str:
        return labels_cached(labels, self.escaping, self.names, self.cache) if labels else ""


class _Group:
    """The 1.0 samples of one label set of a histogram, gauge histogram or summary."""

    __slots__ = ("labels", "ts", "count", "sum", "start", "buckets", "exemplars", "native", "native_exemplars",
                 "quantiles")

    def __init__(self, labels: Dict[str, str], ts: Optional[SampleTime]) -> None:
        self.labels = labels
        self.ts = ts
        self.count: Optional[float] = None
        self.sum: Optional[float] = None
        self.start: Optional[SampleTime] = None
        self.buckets: List[Tuple[str, float]] = []
        self.exemplars: List[Exemplar] = []
        self.native: Optional[NativeHistogram] = None
        self.native_exemplars: List[Exemplar] = []
        self.quantiles: List[Tuple[str, float]] = []


def _fail(metric: Metric, labels: Dict[str, str], what: str) -> ValueError:
    return ValueError(f"OpenMetrics 2.0 cannot expose {metric.type} {metric.name!r} {labels!r}: {what}")


def _groups(metric: Metric) -> List[_Group]:
    name = metric.name
    gauge = metric.type == "gaugehistogram"
    summary = metric.type == "summary"
    count_name, sum_name = (name + "_gcount", name + "_gsum") if gauge else (name + "_count", name + "_sum")
    # One line per label set and timestamp; a ``_created`` sample joins the latest line of its
    # label set (custom collectors rarely stamp it like the other samples).
    groups: Dict[Tuple[Any, ...], _Group] = {}
    latest: Dict[Tuple[Tuple[str, str], ...], _Group] = {}
    for s in metric.samples:
        labels = s.labels or {}
        sname = s.name
        varying = None
        if sname == name + "_bucket" and "le" in labels or summary and sname == name and "quantile" in labels:
            labels = dict(labels)
            varying = labels.pop("le" if sname != name else "quantile")
        key = tuple(sorted(labels.items()))
        ts = s.timestamp
        g = latest.get(key) if sname == name + "_created" else groups.get((key, None if ts is None else float(ts)))
        if g is None:
            g = groups[key, None if ts is None else float(ts)] = latest[key] = _Group(labels, ts)
        if s.exemplar is not None and (summary or varying is None and sname != name):
            raise _fail(metric, labels, f"sample {sname!r} cannot carry an exemplar")
        if varying is not None:
            if summary:
                g.quantiles.append((fmt_key(varying), s.value))
            else:
                le = fmt_key(varying)
                if g.buckets and g.buckets[-1][0] == le:
                    g.buckets[-1] = (le, s.value)  # a repeated bound is written once (2.0: unique)
                else:
                    g.buckets.append((le, s.value))
                if s.exemplar is not None:
                    g.exemplars.append(s.exemplar)
        elif sname == count_name:
            g.count = s.value
        elif sname == sum_name:
            g.sum = s.value
        elif sname == name + "_created" and not gauge:
            g.start = s.value
        elif sname == name and s.native_histogram is not None and not summary:
            g.native = nh = s.native_histogram
            if s.exemplar is not None:
                g.native_exemplars.append(s.exemplar)
            g.native_exemplars.extend(nh.nh_exemplars or ())
        else:
            raise _fail(metric, labels, f"sample {sname!r} has no OpenMetrics 2.0 form")
    return list(groups.values())


def _render_composite(metric: Metric, ctx: _Ctx, out: List[str]) -> None:
    gauge = metric.type == "gaugehistogram"
    for g in _groups(metric):
        reserved = "quantile" if metric.type == "summary" else "le"
        if reserved in g.labels:
            raise _fail(metric, g.labels, f"the {reserved!r} label is reserved in a {metric.type} series")
        head = _head(metric.name, ctx.inner(g.labels), ctx.escaping)
        if metric.type == "summary":
            if g.count is None or g.sum is None:
                raise _fail(metric, g.labels, "a summary needs both a count and a sum")
            out.append(sample_line(head, summary_value(g.count, g.sum, g.quantiles), g.ts, g.start))
            continue
        if g.buckets and g.buckets[-1][0] != "+Inf":
            raise _fail(metric, g.labels, "the last bucket must be +Inf")
        nh = g.native
        problem = native_problem(nh) if nh is not None else None
        if problem is not None:
            raise _fail(metric, g.labels, problem)
        if not g.buckets and nh is None:
            raise _fail(metric, g.labels, "a histogram needs classic buckets or a native histogram")
        count = g.count
        total = g.sum
        if nh is not None and count is not None and count != nh.count_value:
            raise _fail(metric, g.labels, f"the native count {nh.count_value} differs from the classic {count}")
        if count is None:  # the +Inf bucket is the count by definition
            count = g.buckets[-1][1] if g.buckets else nh.count_value  # type: ignore[union-attr]
        if total is None:
            if nh is None:
                raise _fail(metric, g.labels, "OpenMetrics 2.0 requires a sum (give sum_value / gsum_value)")
            total = nh.sum_value
        exemplars = g.exemplars or g.native_exemplars  # the classic set when there are both
        ex = exemplars_text(exemplars, ctx.escaping, ctx.stamp) if exemplars else ""
        value = histogram_value(count, total, g.buckets, nh, gauge)
        out.append(sample_line(head, value, g.ts, None if gauge else g.start, ex))


def _render_counter(metric: Metric, ctx: _Ctx, out: List[str]) -> None:
    name = metric.name
    total_name = name + "_total"
    created: Dict[Tuple[Tuple[str, str], ...], float] = {}
    totals: List[Sample] = []
    for s in metric.samples:
        if s.name == total_name:
            totals.append(s)
        elif s.name == name + "_created" and s.exemplar is None:
            created[tuple(sorted((s.labels or {}).items()))] = s.value
        else:
            raise _fail(metric, s.labels, f"sample {s.name!r} has no OpenMetrics 2.0 form")
    for s in totals:
        if not s.value >= 0:  # negative or NaN: no OpenMetrics 2.0 counter may carry it
            raise _fail(metric, s.labels, f"counter value {s.value!r} is negative or NaN")
        start = created.get(tuple(sorted((s.labels or {}).items()))) if created else None
        ex = exemplars_text((s.exemplar,), ctx.escaping, ctx.stamp) if s.exemplar is not None else ""
        head = _head(total_name, ctx.inner(s.labels), ctx.escaping)
        out.append(sample_line(head, fmt_num(s.value), s.timestamp, start, ex))


def _render_numbers(metric: Metric, ctx: _Ctx, out: List[str]) -> None:
    """Gauge, info, stateset, unknown: one number line per sample, named as the sample is."""
    heads: Dict[str, Tuple[str, str]] = {}
    for s in metric.samples:
        if s.exemplar is not None:
            raise _fail(metric, s.labels, "only counters and histograms carry exemplars")
        if s.native_histogram is not None:
            raise _fail(metric, s.labels, "a native histogram belongs to a histogram family")
        opened, bare = heads.get(s.name) or heads.setdefault(s.name, _sample_name(s.name, ctx.escaping))
        inner = ctx.inner(s.labels)
        head = f"{opened}{inner}}} " if inner else bare
        value = "" if s.value is None else fmt_num(s.value)
        out.append(sample_line(head, value, s.timestamp))


_GENERIC: Dict[str, Callable[[Metric, _Ctx, List[str]], None]] = {
    "counter": _render_counter,
    "histogram": _render_composite,
    "gaugehistogram": _render_composite,
    "summary": _render_composite,
}


def _render_metric(metric: Metric, ctx: _Ctx, out: List[str]) -> None:
    family = metric.name + _FAMILY_SUFFIX.get(metric.type, "")
    out.append(header(family, metric.documentation, metric.type, metric.unit, ctx.escaping))
    _GENERIC.get(metric.type, _render_numbers)(metric, ctx, out)


# -- fast: the Family answers of metric objects (see _family) ----------------------------


def _fast_header(info: FamilyInfo[object], family: str, escaping: str) -> str:
    return header(family, info.help, info.type, info.unit, escaping)


def _fast_counter(fam: Family, ctx: _Ctx, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    escaping = ctx.escaping
    family = info.name + "_total"
    out.append(_fast_header(info, family, escaping))
    opened, bare = _sample_name(family, escaping)
    append = out.append
    labelled = bool(info.labelnames)
    labels = labels_of(info, escaping, len(series))
    for child in series:
        value, exemplar, cr = numbers(child)
        ex = "" if exemplar is None else exemplars_text((exemplar,), escaping, ctx.stamp)
        st = "" if cr is None else f" st@{fmt_ts(cr)}"
        if labelled:
            append(f"{opened}{labels(child)}}} {fmt_num(value)}{st}{ex}\n")
        else:
            append(f"{bare}{fmt_num(value)}{st}{ex}\n")


def _fast_gauge(fam: Family, ctx: _Ctx, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("GaugeFn", info.numbers)
    escaping = ctx.escaping
    out.append(_fast_header(info, info.name, escaping))
    opened, bare = _sample_name(info.name, escaping)
    append = out.append
    if info.labelnames:
        labels = labels_of(info, escaping, len(series))
        for child in series:
            append(f"{opened}{labels(child)}}} {fmt_num(numbers(child))}\n")
    else:
        for child in series:
            append(f"{bare}{fmt_num(numbers(child))}\n")


def _fast_summary(fam: Family, ctx: _Ctx, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("SummaryFn", info.numbers)
    quantiles_of = info.quantiles
    escaping = ctx.escaping
    out.append(_fast_header(info, info.name, escaping))
    opened, bare = _sample_name(info.name, escaping)
    append = out.append
    labelled = bool(info.labelnames)
    labels = labels_of(info, escaping, len(series))
    for child in series:
        count, total, cr = numbers(child)
        quantiles = quantiles_of(child) if quantiles_of is not None else None
        head = f"{opened}{labels(child)}}} " if labelled else bare
        if quantiles:
            value = summary_value(count, total, quantiles)
        else:
            value = f"{{count:{fmt_num(count)},sum:{fmt_value(total)},quantile:[]}}"
        append(f"{head}{value}\n" if cr is None else f"{head}{value} st@{fmt_ts(cr)}\n")


def _fast_histogram(fam: Family, ctx: _Ctx, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("HistogramFn", info.numbers)
    escaping = ctx.escaping
    out.append(_fast_header(info, info.name, escaping))
    opened, bare = _sample_name(info.name, escaping)
    append = out.append
    labelled = bool(info.labelnames)
    labels = labels_of(info, escaping, len(series))
    for child in series:
        les, counts, total, exemplars, cr, _ = numbers(child)
        head = f"{opened}{labels(child)}}} " if labelled else bare
        acc = 0.0
        parts = []
        prev = None
        for le, c in zip(les, counts):
            acc += c
            if le != prev:
                parts.append(f"{le}:{fmt_num(acc)}")
            else:  # a repeated bound (buckets=[1, 1]) is written once: 2.0 wants them unique
                parts[-1] = f"{le}:{fmt_num(acc)}"
            prev = le
        value = f"{{count:{fmt_num(acc)},sum:{fmt_value(total)},bucket:[{','.join(parts)}]}}"
        ex = ""
        if exemplars:
            present = [e for e in exemplars if e is not None]
            if present:
                ex = exemplars_text(present, escaping, ctx.stamp)
        if cr is None:
            append(f"{head}{value}{ex}\n")
        else:
            append(f"{head}{value} st@{fmt_ts(cr)}{ex}\n")


_FAST: Dict[str, Callable[[Family, _Ctx, List[str]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


def generate_latest_2_0(registry: Collector, escaping: str) -> bytes:
    """Render ``registry`` as OpenMetrics 2.0.0 text (UTF-8 bytes), ending with ``# EOF``."""
    ctx = _Ctx(escaping)
    out = render(registry, lambda metric, out: _render_metric(metric, ctx, out), bind(_FAST, ctx))
    out.append("# EOF\n")
    return encode_text(out, "openmetrics")
