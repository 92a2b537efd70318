"""Pieces shared by the text encoders: number and label rendering, and the walk over a registry.

The walk yields either a plain ``Metric`` (rendered sample by sample) or, for the metric
objects of ``metrics.py`` whose collection is not customised, a ``FastFamily``: the metric
object plus its observable series. Encoders render those directly from raw values, with
each series' label string cached on the series object (``_expo_labels``, one scheme at a
time), so a scrape does not build a Sample per number nor re-escape unchanged labels.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple, Union

from ._escaping import escape_label_value, escaped_label_name, label_name_escaper
from .metrics_core import Metric
from .registry import CollectorRegistry
from .utils import floatToGoString

_INF = float("inf")
_repr = float.__repr__


_big_cache: Dict[float, str] = {}


def fmt_value(v: Any) -> str:
    """``floatToGoString(v)``: ``repr`` for the common finite floats below 1e6, a bounded
    memo for the larger ones (``_created`` timestamps, big counters), which need rewriting."""
    if type(v) is float:
        if -_INF < v < 1e6:
            return _repr(v)
        if v != v:
            return "NaN"
        s = _big_cache.get(v)
        if s is None:
            s = floatToGoString(v)
            if len(_big_cache) >= 20000:
                _big_cache.clear()
            _big_cache[v] = s
        return s
    return floatToGoString(v)


fmt_stable = fmt_value


def escape_help(doc: str) -> str:
    """HELP text of the Prometheus text format: backslash and line feed escaped."""
    return doc.replace("\\", "\\\\").replace("\n", "\\n")


def escape_help_om(doc: str) -> str:
    """HELP text of OpenMetrics: backslash, line feed and double quote escaped."""
    return doc.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def labels_inner(labels: Dict[str, str], escaping: str, names: Optional[Dict[str, str]] = None) -> str:
    """``k="v",…`` (sorted by name, names escaped per scheme, values escaped), no braces.

    ``names``: the scheme's label-name cache (``label_name_escaper(escaping)``) if at hand.
    """
    if not labels:
        return ""
    if names is None:
        names = label_name_escaper(escaping)
    parts = []
    for k, v in sorted(labels.items()) if len(labels) > 1 else labels.items():
        escaped = names.get(k)
        if escaped is None:
            escaped = escaped_label_name(names, k, escaping)
        if type(v) is not str or "\\" in v or "\n" in v or '"' in v:
            v = escape_label_value(v)
        parts.append(f'{escaped}="{v}"')
    return ",".join(parts)


_content_caches: Dict[str, Dict[Tuple[Any, ...], str]] = {}
_CONTENT_LIMIT = 100000


def label_set_cache(escaping: str) -> Dict[Tuple[Any, ...], str]:
    """A per-scheme cache ``{tuple(labels.items()): rendered}`` for label dicts that custom
    collectors (and the multiprocess collector) rebuild on every scrape."""
    cache = _content_caches.get(escaping)
    if cache is None:
        if len(_content_caches) > 16:
            _content_caches.clear()
        cache = _content_caches[escaping] = {}
    return cache


def labels_cached(
    labels: Dict[str, str], escaping: str, names: Dict[str, str], cache: Dict[Tuple[Any, ...], str]
) -> str:
    """``labels_inner`` memoised by content (only label sets made of plain ``str``)."""
    items = tuple(labels.items())
    try:
        rendered = cache.get(items)
    except TypeError:  # an unhashable value: render (and fail) as usual
        return labels_inner(labels, escaping, names)
    if rendered is None:
        rendered = labels_inner(labels, escaping, names)
        if all(type(k) is str and type(v) is str for k, v in items):
            if len(cache) >= _CONTENT_LIMIT:
                cache.clear()
            cache[items] = rendered
    return rendered


def exemplar_labels(labels: Dict[str, str]) -> str:
    """Exemplar label set: sorted, names as they are, values escaped."""
    return ",".join([f'{k}="{escape_label_value(v)}"' for k, v in sorted(labels.items())])


# -- fast path ------------------------------------------------------------------------


class FastFamily(NamedTuple):
    """A metric object of ``metrics.py`` and its observable series (children)."""

    metric: Any  # MetricWrapperBase
    series: List[Any]


def _child_label_parts(metric: Any, child: Any, escaping: str, split: str = "le") -> Tuple[str, str]:
    """(label pairs sorting before ``split``, pairs sorting after), rendered, no braces."""
    names = label_name_escaper(escaping)
    pairs = sorted(zip(metric._labelnames, child._labelvalues))
    before = ",".join(
        [f'{escaped_label_name(names, k, escaping)}="{escape_label_value(v)}"' for k, v in pairs if k < split]
    )
    after = ",".join(
        [f'{escaped_label_name(names, k, escaping)}="{escape_label_value(v)}"' for k, v in pairs if k >= split]
    )
    return before, after


def series_labels(metric: Any, child: Any, escaping: str) -> str:
    """The child's rendered label pairs (cached on the child per escaping scheme)."""
    try:
        cached = child._expo_labels
        if cached[0] == escaping and len(cached) in (2, 4):  # (escaping, inner[, created cache])
            return cached[1]  # type: ignore[no-any-return]
    except AttributeError:
        pass
    before, after = _child_label_parts(metric, child, escaping)
    inner = f"{before},{after}" if before and after else before or after
    child._expo_labels = (escaping, inner)
    return inner


def series_labels_split(metric: Any, child: Any, escaping: str, split: str = "le") -> Tuple[str, str]:
    """Like ``series_labels`` but split around where ``split`` sorts: ``le`` for histogram
    buckets, ``quantile`` for summaries (a child always uses the same split)."""
    try:
        cached = child._expo_labels
        if cached[0] == escaping and len(cached) in (3, 5):  # (escaping, before, after[, created])
            return cached[1], cached[2]
    except AttributeError:
        pass
    before, after = _child_label_parts(metric, child, escaping, split)
    child._expo_labels = (escaping, before, after)
    return before, after


# The ``_created`` value of a series: its text is cached on the series next to its labels,
# keyed by the identity of the float (``reset()`` stores a new one). Not through the shared
# ``fmt_value`` memo: every series has its own timestamp, so beyond the memo's size each
# lookup missed and each miss re-formatted (repr + rewrite), then the memo was cleared and
# refilled: the cause of the superlinear cost of large expositions (10k -> 100k series took
# 30x, not 10x). floatToGoString, not fmt_value, so the memo is not churned on first sight.


def series_labels_created(metric: Any, child: Any, escaping: str, cr: float) -> Tuple[str, str]:
    """(``series_labels``, text of ``cr``), cached as ``(escaping, inner, cr, text)``."""
    try:
        cached = child._expo_labels
        if cached[0] == escaping and len(cached) == 4 and cached[2] is cr:
            return cached[1], cached[3]
    except AttributeError:
        pass
    inner = series_labels(metric, child, escaping)
    text = floatToGoString(cr)
    child._expo_labels = (escaping, inner, cr, text)
    return inner, text


def series_labels_split_created(
    metric: Any, child: Any, escaping: str, cr: float, split: str = "le"
) -> Tuple[str, str, str]:
    """(``series_labels_split``, text of ``cr``), cached as ``(escaping, before, after, cr, text)``."""
    try:
        cached = child._expo_labels
        if cached[0] == escaping and len(cached) == 5 and cached[3] is cr:
            return cached[1], cached[2], cached[4]
    except AttributeError:
        pass
    before, after = series_labels_split(metric, child, escaping, split)
    text = floatToGoString(cr)
    child._expo_labels = (escaping, before, after, cr, text)
    return before, after, text


def quantile_lines(
    metric: Any, child: Any, escaping: str, open_: str, quantiles: List[Tuple[float, float]]
) -> Tuple[str, str]:
    """(the ``{quantile="q"}`` sample lines of one summary child, its other labels rendered
    without braces); ``open_`` is the sample name and ``{``."""
    # Cached on the summary child: the line starts per escaping, and the rendered lines for
    # the last answer (``queries()`` returns the same list while nothing changed).
    holder = child._expo_quantile_cache()
    cached = holder._expo_prefixes
    if cached is None or cached[0] != escaping or cached[1] != open_:
        before, after = series_labels_split(metric, child, escaping, "quantile")
        pre = f'{open_}{before},quantile="' if before else f'{open_}quantile="'
        post = f'",{after}}} ' if after else '"} '
        starts = [f"{pre}{floatToGoString(q)}{post}" for q, _ in quantiles]
        inner = f"{before},{after}" if before and after else before or after
    elif cached[3] is quantiles:
        return cached[4], cached[5]
    else:
        starts, inner = cached[2], cached[5]
    text = "".join([f"{start}{fmt_value(v)}\n" for start, (_, v) in zip(starts, quantiles)])
    holder._expo_prefixes = (escaping, open_, starts, quantiles, text, inner)  # one atomic store
    return text, inner


def _fast_supported(cls: type) -> bool:
    # Checked on every scrape (not cached): tests patch metric classes.
    check = getattr(cls, "_expo_supported", None)
    return check is not None and bool(check())


def iter_families(registry: Any, quantiles: bool = False) -> Iterator[Union[Metric, FastFamily]]:
    """What ``registry.collect()`` yields, with metric objects turned into FastFamily items.

    Only a plain CollectorRegistry (``collect`` not overridden) is walked directly, with the
    same snapshot semantics as ``CollectorRegistry.collect``; anything else is collected.
    """
    if type(registry).collect is not CollectorRegistry.collect or "collect" in vars(registry):
        yield from registry.collect()
        return
    try:
        with registry._lock:
            collectors = list(registry._collector_to_names)
            target_info = registry._target_info_metric() if registry._target_info else None
    except AttributeError:  # pragma: no cover - registry internals changed: be generic
        yield from registry.collect()
        return
    if target_info is not None:
        yield target_info
    for collector in collectors:
        if _fast_supported(type(collector)):
            series = collector._expo_series(True) if quantiles else collector._expo_series()
            if series is not None:
                yield FastFamily(collector, series)
                continue
        yield from collector.collect()


def render(
    registry: Any,
    generic: Callable[[Metric, List[str]], None],
    fast: Dict[str, Callable[[Any, List[Any], List[str]], None]],
) -> List[str]:
    """Walk ``registry``; render each item with ``fast[type]`` or ``generic`` into one list.

    An exception while rendering a Metric gets the Metric appended to its ``args``.
    """
    out: List[str] = []
    for item in iter_families(registry, quantiles=True):
        if type(item) is FastFamily:
            fast[item.metric._type](item.metric, item.series, out)
            continue
        try:
            generic(item, out)  # type: ignore[arg-type]
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (item,)
            raise
    return out
