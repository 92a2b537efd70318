"""Multiprocess mode: merge every process's value files into one set of metrics.

The public path of ``prometheus_client.multiprocess``: the implementation lives in
``prometheus_client._multiprocess.collector``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

# isort: off
from typing import List
from ._reexport import forward_assignments
from ._multiprocess import collector as _impl
from ._multiprocess.collector import (  # noqa: F401
    _LIVE_GAUGE_MULTIPROCESS_MODES as _LIVE_GAUGE_MULTIPROCESS_MODES,
    log as log,
    ERRORS_METRIC as ERRORS_METRIC,
    _ERRORS_HELP as _ERRORS_HELP,
    _errors as _errors,
    _count_read_errors as _count_read_errors,
    MultiProcessCollector as MultiProcessCollector,
    _read_directory as _read_directory,
    mark_process_dead as mark_process_dead,
    json as json,
)
# isort: on

# What the implementation imports is part of its namespace too.
_ALSO = (
    'logging',
    'os',
    'Any',
    'Dict',
    'Iterable',
    'List',
    'Optional',
    'Tuple',
    'Union',
    'cast',
    '_lazy',
    'mpf',
    '_TYPE_OF_KIND',
    '_archive_sources',
    '_Corrupt',
    '_entries',
    '_merge_sources',
    '_parse_key',
    '_read_sources',
    '_report',
    '_Source',
    'Metric',
    'Collector',
    'CollectorRegistry',
    'Sample',
    'floatToGoString',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})


def __getattr__(name: str) -> object:  # the implementation's names served on first use
    return getattr(_impl, name)


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(dir(_impl)))


forward_assignments(__name__, _impl)
