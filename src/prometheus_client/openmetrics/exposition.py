"""OpenMetrics text encoder (1.0.0; 2.0.0 lives in ``_om2_exposition``).

The public path of ``prometheus_client.openmetrics.exposition``: the implementation lives in
``prometheus_client._formats.openmetrics``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

from __future__ import annotations

# isort: off
from .._reexport import forward_assignments
from .._formats import openmetrics as _impl
from .._formats.openmetrics import (  # noqa: F401
    CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST,
    CONTENT_TYPE_LATEST_2_0 as CONTENT_TYPE_LATEST_2_0,
    _is_valid_exemplar_metric as _is_valid_exemplar_metric,
    _exemplar_text as _exemplar_text,
    _compose_exemplar_string as _compose_exemplar_string,
    _name_cache as _name_cache,
    _sample_name as _sample_name,
    _spans as _spans,
    _native_value as _native_value,
    _header as _header,
    _Version as _Version,
    _render_metric as _render_metric,
    _fast_header as _fast_header,
    _fast_counter as _fast_counter,
    _fast_gauge as _fast_gauge,
    _fast_summary as _fast_summary,
    _fast_histogram as _fast_histogram,
    _FAST as _FAST,
    _is_2_0 as _is_2_0,
    generate_latest as generate_latest,
    StringIO as StringIO,
    maxunicode as maxunicode,
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
    floatToGoString as floatToGoString,
    _is_valid_legacy_labelname as _is_valid_legacy_labelname,
    _is_valid_legacy_metric_name as _is_valid_legacy_metric_name,
)
# isort: on

# What the implementation imports is part of its namespace too.
_ALSO = (
    'Any',
    'Callable',
    'Dict',
    'List',
    'Optional',
    'Sequence',
    'Tuple',
    'cast',
    'CONTENT_TYPE_OPENMETRICS_1_0',
    'CONTENT_TYPE_OPENMETRICS_2_0',
    'label_name_escaper',
    'CounterFn',
    'Family',
    'FamilyInfo',
    'GaugeFn',
    'HistogramFn',
    'SummaryFn',
    'bind',
    'escape_help_om',
    'exemplar_labels',
    'fmt_stable',
    'fmt_value',
    'label_cache',
    'label_set_cache',
    'labels_cached',
    'labels_of',
    'quantile_lines_of',
    'render',
    'render_labels',
    'split_labels_of',
    'encode_text',
    '_text_sample_name',
    'Metric',
    'Collector',
    'Exemplar',
    'NativeHistogram',
    'Sample',
    'parse_version',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})
forward_assignments(__name__, _impl)
