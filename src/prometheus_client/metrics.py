"""Metric objects: Counter, Gauge, Summary, Histogram, Info, Enum and their label children.

The public path of ``prometheus_client.metrics``: the implementation lives in
``prometheus_client._metrics.metrics``. Every name of that module is re-exported here, and an
assignment here (``mock.patch``, ``monkeypatch``) is forwarded to it.
"""

from __future__ import annotations

# isort: off
from . import _lazy
from ._reexport import forward_assignments
from ._metrics import base as _impl0
from ._metrics import buffers as _impl1
from ._metrics import observed as _impl2
from ._metrics import metrics as _impl
from ._metrics.metrics import (  # noqa: F401
    F as F,
    Counter as Counter,
    _MultiprocMode as _MultiprocMode,
    Gauge as Gauge,
    Info as Info,
    Enum as Enum,
    types as types,
    Type as Type,
    _EXPO_METHODS as _EXPO_METHODS,
    _FAST_INITS as _FAST_INITS,
    _INF as _INF,
    MetricWrapperBase as MetricWrapperBase,
    T as T,
    _build_full_name as _build_full_name,
    _Family as _Family,
    _family_attr as _family_attr,
    _file_store as _file_store,
    _get_use_created as _get_use_created,
    _labelvalues_of as _labelvalues_of,
    _MissingLabels as _MissingLabels,
    _multiproc_env as _multiproc_env,
    _number as _number,
    _removal_supported as _removal_supported,
    _retire_storage as _retire_storage,
    _use_created as _use_created,
    disable_created_metrics as disable_created_metrics,
    enable_created_metrics as enable_created_metrics,
    _BucketView as _BucketView,
    _Buffered as _Buffered,
    _check_objectives as _check_objectives,
    _native_settings as _native_settings,
    _NativeState as _NativeState,
    _prepare_buckets as _prepare_buckets,
    _SummaryQuantiles as _SummaryQuantiles,
    Histogram as Histogram,
    Summary as Summary,
    _validate_exemplar as _validate_exemplar,
    _validate_labelnames as _validate_labelnames,
    _validate_metric_name as _validate_metric_name,
    os as os,
    warnings as warnings,
    Any as Any,
    List as List,
    TypeVar as TypeVar,
    Metric as Metric,
    Collector as Collector,
    INF as INF,
    floatToGoString as floatToGoString,
)
# isort: on

# What the implementation imports is part of its namespace too.
_ALSO = (
    'time',
    'typing',
    'Callable',
    'Dict',
    'Iterable',
    'Literal',
    'Optional',
    'Sequence',
    'Tuple',
    'Union',
    '_base',
    '_buffers',
    '_observed',
    'values',
    'forward_assignments',
    'ExceptionCounter',
    'InprogressTracker',
    'Timer',
    'REGISTRY',
    'CollectorRegistry',
    'Exemplar',
    'Sample',
    'check_encodable',
    'check_label_dict',
    'validate_exemplar',
)
globals().update({name: getattr(_impl, name) for name in _ALSO if hasattr(_impl, name)})
# ``threading.Lock`` (the reference module imports it) is offered on first access.
__getattr__, __dir__ = _lazy.install(__name__, {"Lock": "threading:Lock"})
forward_assignments(__name__, _impl0, _impl1, _impl2, _impl)
