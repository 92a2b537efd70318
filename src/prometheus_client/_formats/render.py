"""Pieces shared by the text encoders: number and label rendering, and the walk over a registry.

The walk yields either a plain ``Metric`` or, for the metric objects of ``metrics.py`` whose
collection is not customised, a ``Family`` answer (see ``_family``); a ``Metric`` in the
canonical shape of its type becomes one too (``adapt``), any other is rendered sample by
sample. Encoders render those directly from raw values, with each series' label
string in a cache of theirs keyed by family and label values, so a scrape does not build a
Sample per number nor re-escape unchanged labels.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, TypeVar, Union, cast

from .._metrics.family import Family, FamilyInfo, SeriesCache
from ..metrics_core import Metric
from ..registry import Collector, CollectorRegistry
from ..utils import floatToGoString
from .adapt import adapt
from .escaping import escape_label_value, escaped_label_name, label_name_escaper

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import Quantiles

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


# -- fast path: the Family answers of metric objects ------------------------------------


def walk(registry: Collector, quantiles: bool = False) -> Iterable[Union[Metric, Family]]:
    """The registry's families (``CollectorRegistry.families``), or ``collect()`` of any
    other collector."""
    if isinstance(registry, CollectorRegistry):
        return registry.families(quantiles)
    return registry.collect()


def label_parts(info: FamilyInfo[object], child: object, escaping: str, split: str = "le") -> Tuple[str, str]:
    """(label pairs sorting before ``split``, pairs sorting after), rendered, no braces."""
    names = label_name_escaper(escaping)
    pairs = sorted(zip(info.labelnames, info.labelvalues(child)))
    before = ",".join(
        [f'{escaped_label_name(names, k, escaping)}="{escape_label_value(v)}"' for k, v in pairs if k < split]
    )
    after = ",".join(
        [f'{escaped_label_name(names, k, escaping)}="{escape_label_value(v)}"' for k, v in pairs if k >= split]
    )
    return before, after


def render_labels(info: FamilyInfo[object], child: object, escaping: str) -> str:
    """The series' label pairs, rendered, sorted by name, no braces."""
    before, after = label_parts(info, child, escaping)
    return f"{before},{after}" if before and after else before or after


# Rendered label pairs per family and escaping scheme, by series; shared by the text and
# OpenMetrics encoders (they render labels alike).
_LABELS: SeriesCache[str] = SeriesCache()
_LABELS_SPLIT: SeriesCache[Tuple[str, str]] = SeriesCache()
# Summary quantile lines: series -> (line starts, the answer rendered, its text, labels).
_QUANTILES: SeriesCache[Tuple[List[str], Quantiles, str, str]] = SeriesCache()


def label_cache(info: FamilyInfo[object], escaping: str, nseries: int) -> Dict[object, str]:
    """series -> its rendered label pairs (no braces); fill misses with ``render_labels``."""
    return _LABELS.get(info, escaping, nseries)


# The text of each series' ``_created`` value, by series, kept while the float object stays the
# same (``reset()`` stores a new one). Not through the shared ``fmt_value`` memo: every series
# has its own timestamp, so beyond the memo's size each lookup missed, each miss re-formatted,
# and the memo was cleared and refilled (large expositions grew superlinearly).
_CREATED: SeriesCache[Tuple[float, str]] = SeriesCache()


def created_cache(info: FamilyInfo[object], nseries: int) -> Dict[object, Tuple[float, str]]:
    """series -> (its created value, that value's text): what ``created_texts`` reads, for
    loops that inline it."""
    return _CREATED.get(info, None, nseries)


def created_texts(info: FamilyInfo[object], nseries: int) -> Callable[[object, float], str]:
    """A function (series, its created value) -> the value's text, cached per series."""
    cache = _CREATED.get(info, None, nseries)
    get = cache.get

    def text(child: object, cr: float) -> str:
        held = get(child)
        if held is None or held[0] is not cr:
            held = cache[child] = (cr, floatToGoString(cr))
        return held[1]

    return text


def labels_of(info: FamilyInfo[object], escaping: str, nseries: int) -> Callable[[object], str]:
    """A function series -> its rendered label pairs (no braces)."""
    cache = _LABELS.get(info, escaping, nseries)
    get = cache.get

    def labels(child: object) -> str:
        inner = get(child)
        if inner is None:
            inner = cache[child] = render_labels(info, child, escaping)
        return inner

    return labels


def split_labels_of(
    info: FamilyInfo[object], escaping: str, nseries: int, split: str = "le"
) -> Callable[[object], Tuple[str, str]]:
    """Like ``labels_of`` but split around where ``split`` sorts: ``le`` for histogram
    buckets, ``quantile`` for summaries (a family always uses the same split)."""
    cache = _LABELS_SPLIT.get(info, (escaping, split), nseries)
    get = cache.get

    def labels(child: object) -> Tuple[str, str]:
        parts = get(child)
        if parts is None:
            parts = cache[child] = label_parts(info, child, escaping, split)
        return parts

    return labels


def quantile_lines_of(
    info: FamilyInfo[object], escaping: str, nseries: int, open_: str
) -> Callable[[object, Quantiles], Tuple[str, str]]:
    """A function (label values, quantiles) -> (the ``{quantile="q"}`` sample lines of one
    summary series, its other labels rendered without braces); ``open_`` is the sample
    name and ``{``. The last answer's lines are reused while ``queries()`` returns it."""
    cache = _QUANTILES.get(info, (escaping, open_), nseries)
    split = split_labels_of(info, escaping, nseries, "quantile")

    def lines(child: object, quantiles: Quantiles) -> Tuple[str, str]:
        held = cache.get(child)
        if held is None:
            before, after = split(child)
            pre = f'{open_}{before},quantile="' if before else f'{open_}quantile="'
            post = f'",{after}}} ' if after else '"} '
            starts = [f"{pre}{floatToGoString(q)}{post}" for q, _ in quantiles]
            inner = f"{before},{after}" if before and after else before or after
        elif held[1] is quantiles:
            return held[2], held[3]
        else:
            starts, inner = held[0], held[3]
        text = "".join([f"{start}{fmt_value(v)}\n" for start, (_, v) in zip(starts, quantiles)])
        cache[child] = (starts, quantiles, text, inner)
        return text, inner

    return lines


Renderer = Callable[[Family, List[str]], None]
S = TypeVar("S")


def bind(fns: Dict[str, Callable[[Family, S, List[str]], None]], setting: S) -> Dict[str, Renderer]:
    """The encoder's per-type functions with their setting (escaping...) bound."""

    def one(fn: Callable[[Family, S, List[str]], None]) -> Renderer:
        return lambda family, out: fn(family, setting, out)

    return {typ: one(fn) for typ, fn in fns.items()}


def render(registry: Collector, generic: Callable[[Metric, List[str]], None], fast: Dict[str, Renderer]) -> List[str]:
    """Walk ``registry``; render each item with ``fast[type]`` or ``generic`` into one list:
    ``Family`` answers and the ``Metric``s that ``adapt`` turns into one with ``fast``, other
    ``Metric``s with ``generic``.

    An exception while rendering a Metric gets the Metric appended to its ``args``.
    """
    out: List[str] = []
    for item in walk(registry, quantiles=True):
        if type(item) is Family:
            fast[item.info.type](item, out)
            continue
        try:
            family = adapt(cast(Metric, item))
            if family is None:
                generic(cast(Metric, item), out)
            else:
                fast[family.info.type](family, out)
        except Exception as exception:
            exception.args = (exception.args or ("",)) + (item,)
            raise
    return out
