"""Parser for the Prometheus text exposition format (0.0.4, and 1.0.0 with quoted UTF-8 names).

The public path of ``prometheus_client.parser``: the implementation lives in
``prometheus_client._formats.text_parser``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

# isort: off
from typing import List
from ._reexport import forward_assignments
from ._formats import text_parser as _impl
from ._formats.text_parser import (  # noqa: F401
    _H as _H,
    ESCAPE_SEQUENCES as ESCAPE_SEQUENCES,
    ESCAPING_RE as ESCAPING_RE,
    HELP_ESCAPING_RE as HELP_ESCAPING_RE,
    _FMT as _FMT,
    replace_escape_sequence as replace_escape_sequence,
    _LABEL as _LABEL,
    _FAST_VALUE as _FAST_VALUE,
    _FAST_MAX as _FAST_MAX,
    _FAST_SAMPLE_RE as _FAST_SAMPLE_RE,
    _FAST_PAIR_RE as _FAST_PAIR_RE,
    _WS as _WS,
    _WS_SPLIT_RE as _WS_SPLIT_RE,
    _CWS as _CWS,
    _skip_ws as _skip_ws,
    _skip_space as _skip_space,
    _scan_labels as _scan_labels,
    _timestamp as _timestamp,
    _parse_sample as _parse_sample,
    _parse_sample_slow as _parse_sample_slow,
    _new_sample as _new_sample,
    _SHAPES_MAX as _SHAPES_MAX,
    _shape_pattern as _shape_pattern,
    split_comment as split_comment,
    _allowed as _allowed,
    _build as _build,
    _TYPES as _TYPES,
    text_fd_to_metric_families as text_fd_to_metric_families,
    text_string_to_metric_families as text_string_to_metric_families,
    parse_labels as parse_labels,
)
# isort: on

# What the implementation imports is part of its namespace too.
_ALSO = (
    'io',
    're',
    'Dict',
    'Iterable',
    'Iterator',
    'List',
    'Optional',
    'Tuple',
    '_lazy',
    'MAX_INT_DIGITS',
    'TEXT_LABEL_NAME_AT_RE',
    'LineError',
    'check_number_token',
    'fail',
    'is_legacy_metric_name',
    'line_error',
    'parse_value',
    'read_quoted',
    'unescape_help_text',
    'Metric',
    'Sample',
    '_Shape',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})


def __getattr__(name: str) -> object:  # the implementation's names served on first use
    return getattr(_impl, name)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(dir(_impl)))


forward_assignments(__name__, _impl)
