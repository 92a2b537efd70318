"""Prometheus text format encoder (0.0.4, and 1.0.0 with UTF-8 names and ``escaping``).

Per family: ``# HELP``/``# TYPE`` then the sample lines. Samples named ``<name>_created``,
``<name>_gcount`` and ``<name>_gsum`` are held back and written after the family as gauge
families of their own (in that order). Timestamps are integer milliseconds; exemplars and
native histograms are not part of this format: a native-histogram sample shows its value, or
is skipped when it has none (the reference raises TypeError there: a deliberate divergence).

The library's own metric objects are rendered from raw numbers (``_fast_*``, see ``_render``);
everything else sample by sample (``_render_metric``). Both give the same bytes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from ._escaping import ALLOWUTF8, UNDERSCORES, escape_metric_name, label_name_escaper
from ._render import (
    escape_help,
    fmt_stable,
    fmt_value,
    label_set_cache,
    labels_cached,
    quantile_lines,
    render,
    series_labels,
    series_labels_created,
    series_labels_split,
    series_labels_split_created,
)
from ._skipped import encode_text
from .metrics_core import Metric
from .registry import REGISTRY, Collector
from .validation import _is_valid_legacy_metric_name

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the 0.0.4 text format (legacy names, underscores escaping)."""
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
"""Content type of the 1.0.0 text format (UTF-8 names; add ``; escaping=<scheme>``)."""
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
"""Content type of the latest Prometheus text format."""

# family type -> (suffix of the family name, type written on the TYPE line)
_TYPES: Dict[str, Tuple[str, str]] = {
    "counter": ("_total", "counter"),
    "info": ("_info", "gauge"),
    "stateset": ("", "gauge"),
    "gaugehistogram": ("", "histogram"),
    "unknown": ("", "untyped"),
}
_HELD_BACK = ("_created", "_gcount", "_gsum")  # sorted: the order they are written in

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
    if escaping == ALLOWUTF8 and not _is_valid_legacy_metric_name(name):
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


def _render_metric(metric: Metric, escaping: str, out: List[str]) -> None:
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


# -- fast: the metric objects of metrics.py --------------------------------------------


def _created_family(metric: Any, doc: str, escaping: str, lines: List[str], out: List[str]) -> None:
    if lines:
        out.append(_header(metric._name + "_created", doc, "gauge", escaping))
        out.extend(lines)


def _fast_counter(metric: Any, series: List[Any], escaping: str, out: List[str]) -> None:
    name = metric._name
    doc = escape_help(metric._documentation)
    out.append(_header(name + "_total", doc, "counter", escaping))
    t_open, t_bare = _sample_name(name + "_total", escaping)
    c_open, c_bare = _sample_name(name + "_created", escaping)
    created: List[str] = []
    append = out.append
    add_created = created.append
    labelled = bool(metric._labelnames)
    for child in series:
        value, _, cr = child._expo_values()
        if labelled:
            if cr is None:
                append(f"{t_open}{series_labels(metric, child, escaping)}}} {fmt_value(value)}\n")
            else:
                inner, cr_text = series_labels_created(metric, child, escaping, cr)
                append(f"{t_open}{inner}}} {fmt_value(value)}\n")
                add_created(f"{c_open}{inner}}} {cr_text}\n")
        else:
            append(f"{t_bare}{fmt_value(value)}\n")
            if cr is not None:
                add_created(f"{c_bare}{fmt_stable(cr)}\n")
    _created_family(metric, doc, escaping, created, out)


def _fast_gauge(metric: Any, series: List[Any], escaping: str, out: List[str]) -> None:
    name = metric._name
    out.append(_header(name, escape_help(metric._documentation), "gauge", escaping))
    g_open, g_bare = _sample_name(name, escaping)
    append = out.append
    if metric._labelnames:
        for child in series:
            value = child._expo_values()
            append(f"{g_open}{series_labels(metric, child, escaping)}}} {fmt_value(value)}\n")
    else:
        for child in series:
            append(f"{g_bare}{fmt_value(child._expo_values())}\n")


def _fast_summary(metric: Any, series: List[Any], escaping: str, out: List[str]) -> None:
    name = metric._name
    doc = escape_help(metric._documentation)
    out.append(_header(name, doc, "summary", escaping))
    n_open, n_bare = _sample_name(name + "_count", escaping)
    s_open, s_bare = _sample_name(name + "_sum", escaping)
    c_open, c_bare = _sample_name(name + "_created", escaping)
    q_open = _sample_name(name, escaping)[0]
    created: List[str] = []
    append = out.append
    labelled = bool(metric._labelnames)
    for child in series:
        count, total, cr = child._expo_values()
        quantiles = child._expo_quantiles()
        if quantiles:
            lines, inner = quantile_lines(metric, child, escaping, q_open, quantiles)
            append(lines)
        elif labelled:
            if cr is not None:
                inner, cr_text = series_labels_created(metric, child, escaping, cr)
            else:
                inner = series_labels(metric, child, escaping)
        if labelled:
            append(f"{n_open}{inner}}} {fmt_value(count)}\n{s_open}{inner}}} {fmt_value(total)}\n")
            if cr is not None:
                created.append(f"{c_open}{inner}}} {fmt_stable(cr) if quantiles else cr_text}\n")
        else:
            append(f"{n_bare}{fmt_value(count)}\n{s_bare}{fmt_value(total)}\n")
            if cr is not None:
                created.append(f"{c_bare}{fmt_stable(cr)}\n")
    _created_family(metric, doc, escaping, created, out)


def _fast_histogram(metric: Any, series: List[Any], escaping: str, out: List[str]) -> None:
    name = metric._name
    doc = escape_help(metric._documentation)
    out.append(_header(name, doc, "histogram", escaping))
    b_open = _sample_name(name + "_bucket", escaping)[0]
    n_open, n_bare = _sample_name(name + "_count", escaping)
    s_open, s_bare = _sample_name(name + "_sum", escaping)
    c_open, c_bare = _sample_name(name + "_created", escaping)
    created: List[str] = []
    append = out.append
    labelled = bool(metric._labelnames)
    for child in series:
        les, counts, total, _, cr, with_sum = child._expo_values()
        if labelled:
            if cr is None:
                before, after = series_labels_split(metric, child, escaping)
            else:
                before, after, cr_text = series_labels_split_created(metric, child, escaping, cr)
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
            if cr is not None:
                cr_text = fmt_stable(cr)
        acc = 0.0
        for le, count in zip(les, counts):
            acc += count
            append(f"{pre}{le}{post}{fmt_value(acc)}\n")
        append(f"{count_line}{fmt_value(acc)}\n")
        if with_sum:
            append(f"{sum_line}{fmt_value(total)}\n")
        if cr is not None:
            created.append(f"{created_line}{cr_text}\n")
    _created_family(metric, doc, escaping, created, out)


_FAST = {
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
    out = render(
        registry,
        lambda metric, out: _render_metric(metric, escaping, out),
        {typ: _bind(fn, escaping) for typ, fn in _FAST.items()},
    )
    return encode_text(out, "text")


def _bind(fn: Any, escaping: str) -> Any:
    return lambda metric, series, out: fn(metric, series, escaping, out)
