"""OpenMetrics text encoder (1.0.0; 2.0.0 lives in ``_om2_exposition``).

Per family: ``# HELP``, ``# TYPE``, ``# UNIT`` (when set), then every sample in order,
``_created``/``_gcount``/``_gsum`` inline; the exposition ends with ``# EOF``. Timestamps
are seconds as given (``str``), exemplars follow `` # ``. Reference quirks kept on
purpose: sample names are escaped with the label-name character set (so ``:`` becomes
``_`` under ``underscores``), a sample without a value renders an empty value.
"""

from __future__ import annotations

from io import StringIO as StringIO  # noqa: F401  (the reference module's names)
from sys import maxunicode as maxunicode  # noqa: F401
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, cast

from .._metrics.family import Family, FamilyInfo
from ..metrics_core import Metric
from ..registry import Collector
from ..samples import Exemplar, NativeHistogram, Sample
from ..utils import parse_version
from .content_types import CONTENT_TYPE_OPENMETRICS_1_0, CONTENT_TYPE_OPENMETRICS_2_0
from .escaping import label_name_escaper
from .render import (
    bind,
    created_texts,
    escape_help_om,
    exemplar_labels,
    fmt_stable,
    fmt_value,
    label_cache,
    label_set_cache,
    labels_cached,
    render,
    render_labels,
)
from .skipped import encode_text
from .text import _sample_name as _text_sample_name
from .text import gauge_lines, histogram_lines, summary_lines

# Re-exported: the reference defines these here and callers import them from this module.
# isort: off
# Also names the public path re-exports (the fast renderers used them before they moved to text.py).
from .render import labels_of as labels_of  # noqa: F401
from .render import quantile_lines_of as quantile_lines_of  # noqa: F401
from .render import split_labels_of as split_labels_of  # noqa: F401
from .escaping import (
    _SURROGATE_MAX as _SURROGATE_MAX,
    _SURROGATE_MIN as _SURROGATE_MIN,
    ALLOWUTF8 as ALLOWUTF8,
    DOTS as DOTS,
    ESCAPING_HEADER_TAG as ESCAPING_HEADER_TAG,
    UNDERSCORES as UNDERSCORES,
    VALUES as VALUES,
    _escape as _escape,
    _is_legacy_labelname_rune as _is_legacy_labelname_rune,
    _is_legacy_metric_rune as _is_legacy_metric_rune,
    _is_valid_utf8 as _is_valid_utf8,
    escape_label_name as escape_label_name,
    escape_metric_name as escape_metric_name,
)
from ..utils import floatToGoString as floatToGoString
from ..validation import (
    _is_valid_legacy_labelname as _is_valid_legacy_labelname,
    _is_valid_legacy_metric_name as _is_valid_legacy_metric_name,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterFn
# isort: on

CONTENT_TYPE_LATEST = CONTENT_TYPE_OPENMETRICS_1_0
"""Content type of OpenMetrics 1.0.0."""
CONTENT_TYPE_LATEST_2_0 = CONTENT_TYPE_OPENMETRICS_2_0
"""Content type of OpenMetrics 2.0.0 (rc0: composite values, ``st@``, native histograms)."""


def _is_valid_exemplar_metric(metric: Metric, sample: Sample) -> bool:
    """Exemplars belong on counter ``*_total``, (gauge)histogram ``*_bucket`` samples and
    native-histogram samples (named like the histogram itself)."""
    mtype = metric.type
    if mtype == "counter":
        return sample.name.endswith("_total")
    if mtype == "histogram":
        return sample.name.endswith("_bucket") or sample.name == metric.name
    if mtype == "gaugehistogram":
        return sample.name.endswith("_bucket")
    return False


def _exemplar_text(exemplar: Exemplar) -> str:
    ts = exemplar.timestamp
    text = f" # {{{exemplar_labels(exemplar.labels)}}} {floatToGoString(exemplar.value)}"
    return text if ts is None else f"{text} {ts}"


def _compose_exemplar_string(metric: Metric, sample: Sample, exemplar: Exemplar) -> str:
    """`` # {labels} value[ timestamp]`` for an exemplar of ``sample``.

    ValueError if the sample may not carry exemplars.
    """
    if not _is_valid_exemplar_metric(metric, sample):
        raise ValueError(f"Metric {metric.name} has exemplars, but is not a histogram bucket or counter")
    return _exemplar_text(exemplar)


_name_cache: Dict[Tuple[str, str], Tuple[str, str]] = {}


def _sample_name(name: str, escaping: str) -> Tuple[str, str]:
    """(prefix of a sample line with labels, prefix without labels) for a sample name."""
    if escaping == ALLOWUTF8:
        return _text_sample_name(name, escaping)
    key = (name, escaping)
    try:
        return _name_cache[key]
    except (KeyError, TypeError):
        pass
    escaped = _escape(name, escaping, _is_legacy_labelname_rune)
    result = (escaped + "{", escaped + " ")
    if len(_name_cache) >= 10000:
        _name_cache.clear()
    _name_cache[key] = result
    return result


def _spans(spans: Sequence[Any]) -> str:
    return ",".join([f"{span[0]}:{span[1]}" for span in spans])


def _native_value(nh: NativeHistogram) -> str:
    text = (
        f"{{count:{nh.count_value},sum:{nh.sum_value},schema:{nh.schema},"
        f"zero_threshold:{nh.zero_threshold},zero_count:{nh.zero_count}"
    )
    if nh.neg_spans:
        deltas = ",".join([str(d) for d in nh.neg_deltas or ()])
        text += f",negative_spans:[{_spans(nh.neg_spans)}],negative_deltas:[{deltas}]"
    if nh.pos_spans:
        deltas = ",".join([str(d) for d in nh.pos_deltas or ()])
        text += f",positive_spans:[{_spans(nh.pos_spans)}],positive_deltas:[{deltas}]"
    return text + "}"


def _header(name: str, doc: str, typ: str, unit: str, escaping: str) -> str:
    ename = escape_metric_name(name, escaping)
    text = f"# HELP {ename} {escape_help_om(doc)}\n# TYPE {ename} {typ}\n"
    return f"{text}# UNIT {ename} {unit}\n" if unit else text


class _Version:
    """Whether native histograms are written; parsed on first need (as the reference does)."""

    __slots__ = ("version", "_native")

    def __init__(self, version: str) -> None:
        self.version = version
        self._native: Optional[bool] = None

    def native(self) -> bool:
        if self._native is None:
            self._native = parse_version(self.version) >= (2, 0, 0)
        return self._native


# -- generic: any Metric ----------------------------------------------------------------


def _render_metric(metric: Metric, escaping: str, version: _Version, out: List[str]) -> None:
    out.append(_header(metric.name, metric.documentation, metric.type, metric.unit, escaping))
    names = label_name_escaper(escaping)
    cache = label_set_cache(escaping)
    prefixes: Dict[str, Tuple[str, str]] = {}
    rendered: Dict[int, str] = {}  # label dicts shared between samples, rendered once (see _text)
    for s in metric.samples:
        exemplar = _compose_exemplar_string(metric, s, s.exemplar) if s.exemplar else ""
        nh = s.native_histogram
        if nh:
            if not version.native():
                continue
            value = _native_value(nh)
            if nh.nh_exemplars:
                exemplar += "".join([_compose_exemplar_string(metric, s, e) for e in nh.nh_exemplars])
        else:
            value = "" if s.value is None else fmt_value(s.value)
        sname = s.name
        prefix = prefixes.get(sname)
        if prefix is None:
            prefix = prefixes[sname] = _sample_name(sname, escaping)
        timestamp = s.timestamp
        ts = "" if timestamp is None else f" {timestamp}"
        labels = s.labels
        if labels:
            inner = rendered.get(id(labels))
            if inner is None:
                inner = rendered[id(labels)] = labels_cached(labels, escaping, names, cache)
            out.append(f"{prefix[0]}{inner}}} {value}{ts}{exemplar}\n")
        else:
            out.append(f"{prefix[1]}{value}{ts}{exemplar}\n")


# -- fast: the Family answers of metric objects (see _family) ----------------------------


def _fast_header(info: FamilyInfo[object], escaping: str) -> str:
    return _header(info.name, info.help, info.type, info.unit, escaping)


def _fast_counter(fam: Family, escaping: str, out: List[str]) -> None:
    info = fam.info
    series = fam.series
    numbers = cast("CounterFn", info.numbers)
    name = info.name
    out.append(_fast_header(info, escaping))
    t_open, t_bare = _sample_name(name + "_total", escaping)
    c_open, c_bare = _sample_name(name + "_created", escaping)
    append = out.append
    if info.labelnames:
        cache = label_cache(info, escaping, len(series))
        get = cache.get
        created_text = created_texts(info, len(series))
        for child in series:
            value, exemplar, cr = numbers(child)
            ex = "" if exemplar is None else _exemplar_text(exemplar)
            inner = get(child)
            if inner is None:
                inner = cache[child] = render_labels(info, child, escaping)
            if cr is None:
                append(f"{t_open}{inner}}} {fmt_value(value)}{ex}\n")
            else:
                append(f"{t_open}{inner}}} {fmt_value(value)}{ex}\n{c_open}{inner}}} {created_text(child, cr)}\n")
    else:
        for child in series:
            value, exemplar, cr = numbers(child)
            ex = "" if exemplar is None else _exemplar_text(exemplar)
            if cr is None:
                append(f"{t_bare}{fmt_value(value)}{ex}\n")
            else:
                append(f"{t_bare}{fmt_value(value)}{ex}\n{c_bare}{fmt_stable(cr)}\n")


def _fast_gauge(fam: Family, escaping: str, out: List[str]) -> None:
    out.append(_fast_header(fam.info, escaping))
    gauge_lines(fam, escaping, out, _sample_name)


def _fast_summary(fam: Family, escaping: str, out: List[str]) -> None:
    out.append(_fast_header(fam.info, escaping))
    summary_lines(fam, escaping, out, out, _sample_name)


def _fast_histogram(fam: Family, escaping: str, out: List[str]) -> None:
    out.append(_fast_header(fam.info, escaping))
    histogram_lines(fam, escaping, out, out, _sample_name, _exemplar_text)


_FAST: Dict[str, Callable[[Family, str, List[str]], None]] = {
    "counter": _fast_counter,
    "gauge": _fast_gauge,
    "summary": _fast_summary,
    "histogram": _fast_histogram,
}


def _is_2_0(version: str) -> bool:
    """Whether ``version`` asks for OpenMetrics 2.x (``2.0.0``; also ``2``, ``2.0``, ``2.1.0``).
    Junk and other majors keep the 1.0 text (with the reference's native-histogram lines from
    3 on), as before."""
    return version != "1.0.0" and parse_version(version)[:1] == (2,)


def generate_latest(registry: Collector, escaping: str = UNDERSCORES, version: str = "1.0.0") -> bytes:
    """Render ``registry`` as OpenMetrics text (UTF-8 bytes), ending with ``# EOF``.

    ``version`` 2.0.0 (any 2.x) gives OpenMetrics 2.0.0-rc0 text (``_om2_exposition``:
    composite histogram/summary lines, ``st@`` start times, native histograms); anything else
    OpenMetrics 1.0.0 (plus the reference's pre-draft native-histogram lines from version 3).
    """
    if _is_2_0(version):
        from .openmetrics2 import generate_latest_2_0

        return generate_latest_2_0(registry, escaping)
    v = _Version(version)
    out = render(
        registry,
        lambda metric, out: _render_metric(metric, escaping, v, out),
        bind(_FAST, escaping),
    )
    out.append("# EOF\n")
    return encode_text(out, "openmetrics")
