"""Strict parser for the OpenMetrics 1.0 text format (2.0 with ``version="2.0.0"``).

The public path of ``prometheus_client.openmetrics.parser``: the implementation lives in
``prometheus_client._formats.om_parser``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

# isort: off
from typing import List
from .._reexport import forward_assignments
from .._formats import om_parser as _impl
from .._formats.om_parser import (  # noqa: F401
    _Family as _Family,
    _group_labels as _group_labels,
    _check_sample as _check_sample,
    _counter_like as _counter_like,
    _integral as _integral,
    _le_value as _le_value,
    _check_histogram_group as _check_histogram_group,
    _end_group as _end_group,
    _add_sample as _add_sample,
    _finish as _finish,
    _wants_2_0 as _wants_2_0,
    text_fd_to_metric_families as text_fd_to_metric_families,
    text_string_to_metric_families as text_string_to_metric_families,
    _H as _H,
    re as re,
    BucketSpan as BucketSpan,
    Exemplar as Exemplar,
    NativeHistogram as NativeHistogram,
    Timestamp as Timestamp,
)
# isort: on

# What the implementation imports is part of its namespace too.
_ALSO = (
    'io',
    'math',
    'Any',
    'Dict',
    'FrozenSet',
    'Iterable',
    'Iterator',
    'List',
    'Optional',
    'Set',
    'Tuple',
    'LineError',
    'fail',
    'line_error',
    'unescape',
    'METRIC_TYPES',
    'Metric',
    'Sample',
    '_CLAIMED',
    '_FMT',
    '_SUFFIXES',
    '_fast_sample',
    '_number',
    '_parse_metadata',
    '_parse_sample_line',
    '_ts_key',
    '_lazy',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})


def __getattr__(name: str) -> object:  # the implementation's names served on first use
    return getattr(_impl, name)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(dir(_impl)))


forward_assignments(__name__, _impl)
