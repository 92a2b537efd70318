"""Metric objects: Counter, Gauge, Summary, Histogram, Info, Enum and their label children.

Where a sample is stored: for an in-process Counter, a float in its own slot ``_v``; a flat
list of floats (the sum, then the bucket counts) for an in-process Histogram; otherwise
``values`` (one value object per number), as for Gauge and Summary. Where it is formatted:
``exposition`` and ``openmetrics.exposition``. Hot paths (inc, set, observe, labels lookup)
take no lock; see ``values`` for why that is exact.
"""

from __future__ import annotations

import time
import types as types  # noqa: F401  (the reference module's names: types, Type, F)
import typing
from typing import (
    Callable,
    Dict,
    Iterable,
    Literal,
    Optional,
    Sequence,
    Tuple,
    Union,
)
from typing import Type as Type  # noqa: F401

from .. import values
from . import base as _base

# isort: off
from .base import (
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
)
from .buffers import (
    _BucketView as _BucketView,
    _Buffered as _Buffered,
    _check_objectives as _check_objectives,
    _native_settings as _native_settings,
    _NativeState as _NativeState,
    _prepare_buckets as _prepare_buckets,
    _as_float as _as_float,
    _SummaryQuantiles as _SummaryQuantiles,
)
from .atomic import GIL_ATOMIC_ADD
from .observed import Histogram as Histogram, Summary as Summary
# isort: on
from ..context_managers import ExceptionCounter, InprogressTracker, Timer
from ..registry import REGISTRY, CollectorRegistry
from ..samples import Exemplar, Sample
from ..validation import check_encodable, check_label_dict, validate_exemplar

# isort: off
from ..validation import (
    _validate_exemplar as _validate_exemplar,
    _validate_labelnames as _validate_labelnames,
    _validate_metric_name as _validate_metric_name,
)
# isort: off
# More names the reference module has (it imports them for its own use).
import os as os  # noqa: F401
import warnings as warnings  # noqa: F401
from typing import Any as Any, List as List, TypeVar as TypeVar  # noqa: F401
from ..metrics_core import Metric as Metric  # noqa: F401
from ..registry import Collector as Collector  # noqa: F401
from ..utils import INF as INF, floatToGoString as floatToGoString  # noqa: F401
# isort: on
# isort: on

F = typing.TypeVar("F", bound=Callable[..., typing.Any])  # the reference module has it

if typing.TYPE_CHECKING:
    from .buffers import _ValueObject


class _SlotValue:
    """``counter._value`` of an in-process Counter: the number and the exemplar live in the
    counter's own slots (``_v``, ``_exemplar``); this view gives them the value-object API."""

    __slots__ = ("_metric",)
    _multiprocess = False

    def __init__(self, metric: Counter) -> None:
        self._metric = metric

    def inc(self, amount: float) -> None:
        amount = _as_float(amount)
        self._metric._v += amount

    def __iadd__(self, amount: float) -> _SlotValue:
        self.inc(amount)
        return self

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self._metric._v = _as_float(value)

    def get(self) -> float:
        value: float = self._metric._v
        return value

    def set_exemplar(self, exemplar: Exemplar) -> None:
        self._metric._exemplar = exemplar

    def get_exemplar(self) -> Optional[Exemplar]:
        return self._metric._exemplar


class Counter(MetricWrapperBase):
    """A Counter tracks counts of events or running totals.

    Example use cases for Counters:
    - Number of requests processed
    - Number of items that were inserted into a queue
    - Total amount of data that a system has processed

    Counters can only go up (and be reset when the process restarts).
    A trailing ``_total`` in the name is dropped and re-added on exposition.
    """

    # In-process (lock-free interpreters, see ``values``): the number is the float in ``_v``
    # and its exemplar is in ``_exemplar``. Otherwise ``_v`` holds the value object of
    # ``values.ValueClass`` (multiprocess, locked), whose ``__iadd__`` does its ``inc``, so
    # ``self._v += amount`` is right in both cases. ``_value`` is the official client's view.
    __slots__ = ("_v", "_exemplar", "_created")
    _type = "counter"

    def _metric_init(self) -> None:
        self._exemplar: Optional[Exemplar] = None
        if values.ValueClass is values.MutexValue and GIL_ATOMIC_ADD:
            self._v: Any = 0.0  # a float, or a value object (see __slots__)
        else:
            self._v = values.ValueClass(
                self._type, self._name, self._name + "_total", self._labelnames, self._labelvalues,
                self._documentation,
            )
        self._created = time.time()

    def _missing_labels(self) -> None:
        self._v = _MissingLabels(self)
        self._exemplar = None

    @property
    def _value(self) -> _ValueObject:
        """The value object (``inc``/``set``/``get``/``get_exemplar``/``set_exemplar``)."""
        v = self._v
        return _SlotValue(self) if type(v) is float else v

    @_value.setter
    def _value(self, value: _ValueObject) -> None:
        self._v = value

    def inc(self, amount: float = 1.0, exemplar: Optional[Dict[str, str]] = None) -> None:
        """Increment counter by the given amount (see ``_number`` for what counts as one).

        A call that raises changes nothing: the amount and the exemplar are checked first.
        """
        # float first, and a float default: float + float is the interpreter's fast add.
        if type(amount) is not float and type(amount) is not int:
            amount = _number(self, amount)
        if amount < 0.0:
            raise ValueError(
                "Counters can only be incremented by non-negative amounts."
                f" (metric {self._name!r}, got {amount!r})"
            )
        if exemplar:
            self._inc_with_exemplar(amount, exemplar)
            return
        try:
            self._v += amount
        except OverflowError:  # an int too large for a float: nothing was added
            _number(self, amount)
            raise
        except TypeError:  # a swapped-in value class without __iadd__
            self._v.inc(amount)

    def _inc_with_exemplar(self, amount: float, exemplar: Dict[str, str]) -> None:
        validate_exemplar(exemplar, self._name)
        if type(amount) is int:
            amount = _number(self, amount)
        value = self._value
        value.inc(amount)
        value.set_exemplar(Exemplar(exemplar, amount, time.time()))

    def reset(self) -> None:
        """Reset the counter to zero. Use this when a logical process restarts without restarting."""
        self._value.set(0)
        self._created = time.time()

    def count_exceptions(
        self, exception: Union[type, Tuple[type, ...]] = Exception
    ) -> ExceptionCounter:
        """Count exceptions in a block of code or function.

        Can be used as a function decorator or context manager.
        Increments the counter when an exception of the given type is raised up out of the code.
        """
        if not self._labelvalues and self._fam.labelnames:  # a parent with labels (no call otherwise)
            self._raise_if_not_observable()
        return ExceptionCounter(self, exception)

    def _expo_values(self) -> Tuple[float, Optional[Exemplar], Optional[float]]:
        """Raw numbers of ``_child_samples``: (total, exemplar, created or None)."""
        v = self._v
        created = self._created if _base._use_created else None
        if type(v) is float:
            return v, self._exemplar, created
        return v.get(), v.get_exemplar(), created

    def _child_samples(self) -> Iterable[Sample]:
        value, exemplar, created = self._expo_values()
        sample = Sample("_total", {}, value, None, exemplar)
        if created is not None:
            return (sample, Sample("_created", {}, created, None, None))
        return (sample,)


_MultiprocMode = Literal[
    "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent"
]


class Gauge(MetricWrapperBase):
    """Gauge metric, to report instantaneous values.

    Examples of Gauges include:
    - Inprogress requests
    - Number of items in a queue
    - Free memory
    - Total memory
    - Temperature

    Gauges can go both up and down.
    """

    __slots__ = ("_value", "_mostrecent", "_function")
    _type = "gauge"
    _MULTIPROC_MODES = frozenset(
        ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent")
    )
    _MOST_RECENT_MODES = frozenset(("mostrecent", "livemostrecent"))

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
        multiprocess_mode: _MultiprocMode = "all",
    ):
        if multiprocess_mode not in self._MULTIPROC_MODES:
            raise ValueError(f"Invalid multiprocess mode: {multiprocess_mode} (gauge {name!r})")
        self._mostrecent = multiprocess_mode in self._MOST_RECENT_MODES
        self._function: Optional[Callable[[], float]] = None
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
            _init_kwargs={"multiprocess_mode": multiprocess_mode},
        )

    def _child_setup(self, parent: Gauge) -> None:
        self._mostrecent = parent._mostrecent
        self._function = None

    def _metric_init(self) -> None:
        self._value = values.ValueClass(
            self._type, self._name, self._name, self._labelnames, self._labelvalues,
            self._documentation,
            multiprocess_mode=self._kwargs.get("multiprocess_mode", "all"),
        )

    def _missing_labels(self) -> None:
        self._value = _MissingLabels(self)

    def inc(self, amount: float = 1) -> None:
        """Increment gauge by the given amount."""
        if type(amount) is not int and type(amount) is not float:  # int first: the default 1
            amount = _number(self, amount)
        if self._mostrecent:
            raise RuntimeError(f"inc must not be used with the mostrecent mode (gauge {self._name!r})")
        try:
            self._value.inc(amount)
        except OverflowError:  # an int too large for a float: nothing was added
            _number(self, amount)
            raise

    def dec(self, amount: float = 1) -> None:
        """Decrement gauge by the given amount."""
        if type(amount) is not float and type(amount) is not int:
            amount = _number(self, amount)
        if self._mostrecent:
            raise RuntimeError(f"dec must not be used with the mostrecent mode (gauge {self._name!r})")
        try:
            self._value.inc(-amount)
        except OverflowError:  # an int too large for a float: nothing was added
            _number(self, amount)
            raise

    def set(self, value: float) -> None:
        """Set gauge to the given value (a numeric string is parsed, as ``float()`` does)."""
        if type(value) is not float:
            value = _number(self, value, strings=True)
        if self._mostrecent:
            self._value.set(value, timestamp=time.time())
        else:
            self._value.set(value)

    def set_to_current_time(self) -> None:
        """Set gauge to the current unixtime."""
        self.set(time.time())

    def track_inprogress(self) -> InprogressTracker:
        """Track inprogress blocks of code or functions.

        Can be used as a function decorator or context manager.
        Increments the gauge when the code is entered, and decrements when it is exited.
        """
        if not self._labelvalues and self._fam.labelnames:  # a parent with labels (no call otherwise)
            self._raise_if_not_observable()
        return InprogressTracker(self)

    def time(self) -> Timer:
        """Time a block of code or function, and set the duration in seconds.

        Can be used as a function decorator or context manager.
        """
        return Timer(self, "set")

    def set_function(self, f: Callable[[], float]) -> None:
        """Call the provided function to return the Gauge value.

        The function must return a float, and may be called from
        multiple threads. All other methods of the Gauge become NOOPs.
        """
        self._raise_if_not_observable()
        self._function = f

    def _expo_values(self) -> float:
        """Raw number of ``_child_samples``: the value."""
        if self._function is not None:
            return float(self._function())
        return self._value.get()  # type: ignore[no-any-return]

    def _child_samples(self) -> Iterable[Sample]:
        return (Sample("", {}, self._expo_values(), None, None),)


class Info(MetricWrapperBase):
    """Info metric, key-value pairs.

    Examples of Info include:
    - Build information
    - Version information
    - Potential target metadata
    """

    __slots__ = ("_value", "_labelname_set", "_store")
    _type = "info"

    def _metric_init(self) -> None:
        self._labelname_set = set(self._labelnames)
        self._value: Dict[str, str] = {}
        self._store = _file_store(self, "_info_store")

    def info(self, val: Dict[str, str]) -> None:
        """Set info metric."""
        if self._labelname_set.intersection(val.keys()):
            raise ValueError(
                f"Overlapping labels for Info metric, metric: {self._labelnames} child: {val}"
                + f" (Info metric {self._name!r})"
            )
        if any(v is None for v in val.values()):
            raise ValueError(f"Label value cannot be None (Info metric {self._name!r}: {val})")
        check_label_dict(self._name, val, "Info label")
        if self._store is not None:
            self._store.set(dict(val))
        self._value = dict(val)

    def _child_samples(self) -> Iterable[Sample]:
        return (Sample("_info", self._value, 1.0, None, None),)


class Enum(MetricWrapperBase):
    """Enum metric, which of a set of states is true.

    Example use cases for Enums:
    - Task state
    - Resource state
    """

    __slots__ = ("_value", "_states", "_store")
    _type = "stateset"

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
        states: Optional[Sequence[str]] = None,
    ):
        if name in labelnames:
            raise ValueError(f"Overlapping labels for Enum metric: {name}")
        if not states:
            raise ValueError(f"No states provided for Enum metric: {name}")
        for pos, s in enumerate(states):
            check_encodable(s, name, f"Enum state {pos}")
        self._states = list(states)
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
            _init_kwargs={"states": states},
        )

    def _child_setup(self, parent: Enum) -> None:
        self._states = parent._states

    def _metric_init(self) -> None:
        self._value = 0
        self._store = _file_store(self, "_enum_store", self._states)

    def _missing_labels(self) -> None:
        self._value = 0
        self._store = None

    def state(self, state: str) -> None:
        """Set enum metric state."""
        self._raise_if_not_observable()
        try:
            index = self._states.index(state)
        except ValueError:
            raise ValueError(
                f"{state!r} is not in list (Enum metric {self._name!r} has states {self._states})"
            ) from None
        if self._store is not None:
            self._store.set(index)
        self._value = index

    def _child_samples(self) -> Iterable[Sample]:
        current = self._value
        return [
            Sample("", {self._name: s}, 1 if i == current else 0, None, None)
            for i, s in enumerate(self._states)
        ]


_FAST_INITS.update(cls.__init__ for cls in (MetricWrapperBase, Counter, Gauge, Summary, Histogram, Info, Enum))

for _cls in (Counter, Gauge, Summary, Histogram):
    _cls._expo_originals = tuple(getattr(_cls, n) for n in _EXPO_METHODS + ("_expo_values",))

