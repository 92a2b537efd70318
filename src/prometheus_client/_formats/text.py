"""Prometheus text format encoder (0.0.4, and 1.0.0 with UTF-8 names and ``escaping``).

Per family: ``# HELP``/``# TYPE`` then the sample lines. Samples named ``<name>_created``,
``<name>_gcount`` and ``<name>_gsum`` are held back and written after the family as gauge
families of their own (in that order). Timestamps are integer milliseconds; exemplars and
native histograms are not part of this format: a native-histogram sample shows its value, or
is skipped when it has none (the reference raises TypeError there: a deliberate divergence).

The library's own metric objects, and custom collectors' families in the canonical shape of
their type (``adapt``), are rendered from raw numbers (``_fast_*``, see ``render``); everything
else sample by sample (``_render_metric``). Both give the same bytes.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, cast

from .._metrics.family import Family
from ..metrics_core import Metric
from ..registry import REGISTRY, Collector
from ..utils import floatToGoString
from ..validation import is_valid_legacy_metric_name
from .content_types import CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST
from .content_types import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE_PLAIN_0_0_4
from .content_types import CONTENT_TYPE_PLAIN_1_0_0 as CONTENT_TYPE_PLAIN_1_0_0
from .escaping import ALLOWUTF8, UNDERSCORES, escape_metric_name, label_name_escaper
from .render import (
    bind,
    created_cache,
    created_texts,
    escape_help,
    fmt_stable,
    fmt_value,
    label_cache,
    label_set_cache,
    labels_cached,
    labels_of,
    quantile_lines_of,
    render,
    render_labels,
    split_labels_of,
)
from .skipped import encode_text

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn, GaugeFn, HistogramFn, SummaryFn
    from ..samples import Exemplar

#: ``(prefix with labels, prefix without labels)`` of a sample name (see :func:`_sample_name`).
SampleNameFn = Callable[[str, str], Tuple[str, str]]

# family type -> (suffix of the family name, type written on the TYPE line)
_TYPES: Dict[str, Tuple[str, str]] = {
    "counter": ("_total", "counter"),
    "info": ("_info", "gauge"),
    "stateset": ("", "gauge"),
    "gaugehistogram": ("", "histogram"),
    "unknown": ("", "untyped"),
}
_HELD_BACK = ("_created", "_gcount", "_gsum")  # sorted: the order they are written in
_INF = float("inf")
_repr = float.__repr__

_name_cache: Dict[Tuple[str, str], Tuple[str, str]] = {}


def _sample_name(name: str, escaping: str) -> Tuple[str, str]:
    """(prefix of a sample line with labels, prefix without labels) for a sample name.

    Under ``allow-utf-8`` a name that is not legacy-valid moves inside the braces, quoted.
    """
    key = (name, escaping)
    try:
        return _name_cache[key]
    except (KeyError, TypeError):
        pass
    if escaping == ALLOWUTF8 and not is_valid_legacy_metric_name(name):
        quoted = escape_metric_name(name, escaping)
        result = ("{" + quoted + ",", "{" + quoted + "} ")
    else:
        escaped = escape_metric_name(name, escaping)
        result = (escaped + "{", escaped + " ")
    if len(_name_cache) >= 10000:
        _name_cache.clear()
    _name_cache[key] = result
    return result


def _header(name: str, doc: str, typ: str, escaping: str) -> str:
    ename = escape_metric_name(name, escaping)
    return f"# HELP {ename} {doc}\n# TYPE {ename} {typ}\n"


# -- generic: any Metric ----------------------------------------------------------------


def _render_metric(metric: Metric, out: List[str], escaping: str) -> None:
    name = metric.name
    suffix, typ = _TYPES.get(metric.type, ("", metric.type))
    doc = escape_help(metric.documentation)
    out.append(_header(name + suffix, doc, typ, escaping))
    held: Optional[Dict[str, List[str]]] = None
    held_names = {name + suffix: suffix for suffix in _HELD_BACK}
    names = label_name_escaper(escaping)
    cache = label_set_cache(escaping)
    prefixes: Dict[str, Tuple[str, str]] = {}
    # Label dicts are often shared between samples (a counter's _total and _created):
    # render each dict once per family (the samples keep them alive, so ids are stable).
    rendered: Dict[int, str] = {}
    for s in metric.samples:
        sname = s.name
        labels = s.labels
        value = s.value
        if value is None and s.native_histogram is not None:
            continue  # a native histogram has no text form; its classic buckets (if any) do
        prefix = prefixes.get(sname)
        if prefix is None:
            prefix = prefixes[sname] = _sample_name(sname, escaping)
        if labels:
            inner = rendered.get(id(labels))
            if inner is None:
                inner = rendered[id(labels)] = labels_cached(labels, escaping, names, cache)
        else:
            inner = ""
        v = fmt_value(value)
        timestamp = s.timestamp
        ts = "" if timestamp is None else f" {int(float(timestamp) * 1000)}"
        line = f"{prefix[0]}{inner}}} {v}{ts}\n" if inner else f"{prefix[1]}{v}{ts}\n"
        held_suffix = held_names.get(sname)
        if held_suffix is None:
            out.append(line)
        else:
            if held is None:
                held = {}
            held.setdefault(held_suffix, []).append(line)
    if held:
        for suffix in _HELD_BACK:
            if suffix in held:
                out.append(_header(name + suffix, doc, "gauge", escaping))
                out.extend(held[suffix])


# -- fast: the Family answers of metric objects (see _family) ----------------------------


def _created_family(name: str, doc: str, escaping: str, lines: List[str], out: List[str]) -> None:
    if lines:
        out.append(_header(name + "_created", doc, "gauge", escaping))
        out.extend(lines)


def _fast_counter(fam: Family, escaping: str, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    name = info.name
    doc = escape_help(info.help)
    out.append(_header(name + "_total", doc, "counter", escaping))
    t_open, t_bare = _sample_name(name + "_total", escaping)
    c_open, c_bare = _sample_name(name + "_created", escaping)
    created: List[str] = []
    append = out.append
    add_created = created.append
    if info.labelnames:
        cache = label_cache(info, escaping, len(series))
        get = cache.get
        texts = created_cache(info, len(series))  # (created_texts, inlined: one call less per series)
        text_of = texts.get
        for child in series:
            value, _, cr = numbers(child)
            inner = get(child)
            if inner is None:
                inner = cache[child] = render_labels(info, child, escaping)
            # fmt_value, inlined for the common float
            v = _repr(value) if type(value) is float and -_INF < value < 1e6 else fmt_value(value)
            append(f"{t_open}{inner}}} {v}\n")
            if cr is not None:
                held = text_of(child)
                if held is None or held[0] is not cr:
                    held = texts[child] = (cr, floatToGoString(cr))
                add_created(f"{c_open}{inner}}} {held[1]}\n")
    else:
        for child in series:
            value, _, cr = numbers(child)
            append(f"{t_bare}{fmt_value(value)}\n")
            if cr is not None:
                add_created(f"{c_bare}{fmt_stable(cr)}\n")
    _created_family(name, doc, escaping, created, out)


def _fast_gauge(fam: Family, escaping: str, out: List[str]) -> None:
    info = fam.info
    out.append(_header(info.name, escape_help(info.help), "gauge", escaping))
    gauge_lines(fam, escaping, out, _sample_name)


def gauge_lines(fam: Family, escaping: str, out: List[str], sample_name: SampleNameFn) -> None:
    """The sample lines of a gauge family (the same in the text and OpenMetrics formats, but
    for ``sample_name``)."""
    info = fam.info
    series = fam.series
    numbers = cast("GaugeFn", info.numbers)
    g_open, g_bare = sample_name(info.name, escaping)
    append = out.append
    if info.labelnames:
        cache = label_cache(info, escaping, len(series))
        get = cache.get
        for child in series:
            inner = get(child)
            if inner is None:
                inner = cache[child] = render_labels(info, child, escaping)
            append(f"{g_open}{inner}}} {fmt_value(numbers(child))}\n")
    else:
        for child in series:
            append(f"{g_bare}{fmt_value(numbers(child))}\n")


def _fast_summary(fam: Family, escaping: str, out: List[str]) -> None:
    info = fam.info
    doc = escape_help(info.help)
    out.append(_header(info.name, doc, "summary", escaping))
    created: List[str] = []
    summary_lines(fam, escaping, out, created, _sample_name)
    _created_family(info.name, doc, escaping, created, out)


def summary_lines(fam: Family, escaping: str, out: List[str], created: List[str],
                  sample_name: SampleNameFn) -> None:
    """The sample lines of a summary family: quantiles, ``_count`` and ``_sum`` go to ``out``,
    ``_created`` lines to ``created`` (the text format gathers them in a family of their own,
    OpenMetrics passes ``out``)."""
    info = fam.info
    series = fam.series
    numbers = cast("SummaryFn", info.numbers)
    quantiles_of = info.quantiles
    name = info.name
    n_open, n_bare = sample_name(name + "_count", escaping)
    s_open, s_bare = sample_name(name + "_sum", escaping)
    c_open, c_bare = sample_name(name + "_created", escaping)
    q_lines = quantile_lines_of(info, escaping, len(series), sample_name(name, escaping)[0])
    labelled = bool(info.labelnames)
    labels = labels_of(info, escaping, len(series))
    created_text = created_texts(info, len(series))
    append = out.append
    add_created = created.append
    inner = ""
    for child in series:
        count, total, cr = numbers(child)
        quantiles = quantiles_of(child) if quantiles_of is not None else None
        if quantiles:
            lines, inner = q_lines(child, quantiles)
            append(lines)
        elif labelled:
            inner = labels(child)
        if labelled:
            append(f"{n_open}{inner}}} {fmt_value(count)}\n{s_open}{inner}}} {fmt_value(total)}\n")
            if cr is not None:
                add_created(f"{c_open}{inner}}} {created_text(child, cr)}\n")
        else:
            append(f"{n_bare}{fmt_value(count)}\n{s_bare}{fmt_value(total)}\n")
            if cr is not None:
                add_created(f"{c_bare}{fmt_stable(cr)}\n")


def _fast_histogram(fam: Family, escaping: str, out: List[str]) -> None:
    info = fam.info
    doc = escape_help(info.help)
    out.append(_header(info.name, doc, "histogram", escaping))
    created: List[str] = []
    histogram_lines(fam, escaping, out, created, _sample_name, None)
    _created_family(info.name, doc, escaping, created, out)


def histogram_lines(fam: Family, escaping: str, out: List[str], created: List[str],
                    sample_name: SampleNameFn,
                    exemplar_text: Optional[Callable[[Exemplar], str]]) -> None:
    """The sample lines of a histogram family: buckets (with exemplars when ``exemplar_text``
    is given), ``_count`` and ``_sum`` go to ``out``, ``_created`` lines to ``created`` (see
    :func:`summary_lines`)."""
    info = fam.info
    series = fam.series
    numbers = cast("HistogramFn", info.numbers)
    name = info.name
    b_open = sample_name(name + "_bucket", escaping)[0]
    n_open, n_bare = sample_name(name + "_count", escaping)
    s_open, s_bare = sample_name(name + "_sum", escaping)
    c_open, c_bare = sample_name(name + "_created", escaping)
    append = out.append
    add_created = created.append
    labelled = bool(info.labelnames)
    split = split_labels_of(info, escaping, len(series))
    created_text = created_texts(info, len(series))
    for child in series:
        les, counts, total, exemplars, cr, with_sum = numbers(child)
        if labelled:
            before, after = split(child)
            inner = f"{before},{after}" if before and after else before or after
            pre = f'{b_open}{before},le="' if before else f'{b_open}le="'
            post = f'",{after}}} ' if after else '"} '
            count_line = f"{n_open}{inner}}} "
            sum_line = f"{s_open}{inner}}} "
            created_line = f"{c_open}{inner}}} "
        else:
            pre = f'{b_open}le="'
            post = '"} '
            count_line = n_bare
            sum_line = s_bare
            created_line = c_bare
        acc = 0.0
        if exemplars and exemplar_text is not None:
            for le, count, exemplar in zip(les, counts, exemplars):
                acc += count
                ex = "" if exemplar is None else exemplar_text(exemplar)
                append(f"{pre}{le}{post}{fmt_value(acc)}{ex}\n")
        else:
            for le, count in zip(les, counts):
                acc += count
                append(f"{pre}{le}{post}{fmt_value(acc)}\n")
        append(f"{count_line}{fmt_value(acc)}\n")
        if with_sum:
            append(f"{sum_line}{fmt_value(total)}\n")
        if cr is not None:
            add_created(f"{created_line}{created_text(child, cr) if labelled else fmt_stable(cr)}\n")


_FAST: Dict[str, Callable[[Family, str, List[str]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


def generate_latest(registry: Collector = REGISTRY, escaping: str = UNDERSCORES) -> bytes:
    """Render ``registry`` in the Prometheus text format (UTF-8 bytes).

    ``escaping`` (``underscores`` by default; ``allow-utf-8``, ``dots``, ``values``) decides
    how metric and label names outside the legacy character set are written.
    """
    out = render(registry, partial(_render_metric, escaping=escaping), bind(_FAST, escaping))
    return encode_text(out, "text")
