"""Metric objects: Counter, Gauge, Summary, Histogram, Info, Enum and their label children.

Where a sample is stored: ``values`` (one value object per number) for
Counter, Gauge and Summary; a flat ``array('d')`` of bucket counts plus the sum
for an in-process Histogram. Where it is formatted: ``exposition`` and
``openmetrics.exposition``. Hot paths (inc, set, observe, labels lookup) take
no lock; see ``values`` for why that is exact.
"""

import numbers
import os
import time
import warnings
from array import array
from bisect import bisect_left
from operator import attrgetter, itemgetter
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Literal,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)

from . import values  # values.ValueClass is looked up at child creation (callers swap it)
from ._atomic import GIL_ATOMIC_ADD
from ._family import Family, FamilyInfo
from ._redefine import MetricType
from .context_managers import ExceptionCounter, InprogressTracker, Timer
from .metrics_core import Metric
from .registry import REGISTRY, Collector, CollectorRegistry
from .samples import BucketSpan, Exemplar, NativeHistogram, Sample
from .utils import INF, floatToGoString
from .validation import (
    _validate_exemplar,
    _validate_labelnames,
    _validate_metric_name,
    check_encodable,
    check_label_dict,
    check_label_values,
)

T = TypeVar("T", bound="MetricWrapperBase")


def _get_use_created() -> bool:
    return os.environ.get("PROMETHEUS_DISABLE_CREATED_SERIES", "False").lower() not in ("true", "1", "t")


_use_created = _get_use_created()


def disable_created_metrics() -> None:
    """Stop exporting ``_created`` series for counters, histograms and summaries."""
    global _use_created
    _use_created = False


def enable_created_metrics() -> None:
    """Export ``_created`` series again (the default)."""
    global _use_created
    _use_created = True


def _build_full_name(metric_type: str, name: str, namespace: str, subsystem: str, unit: str) -> str:
    if not name:
        raise ValueError("Metric name should not be empty")
    full_name = ""
    if namespace:
        full_name += namespace + "_"
    if subsystem:
        full_name += subsystem + "_"
    full_name += name
    if metric_type == "counter" and full_name.endswith("_total"):
        full_name = full_name[:-6]  # Munge to OpenMetrics.
    if unit and not full_name.endswith("_" + unit):
        full_name += "_" + unit
    if unit and metric_type in ("info", "stateset"):
        raise ValueError("Metric name is of a type that cannot have a unit: " + full_name)
    return full_name


_INF = float("inf")


def _number(metric: "MetricWrapperBase", amount: Any, strings: bool = False) -> float:
    """``amount`` as a float, for an update of ``metric`` (the slow path: callers test
    ``type(amount) is float`` first).

    Accepted: every real number ``float()`` converts -- int, bool, float subclasses,
    ``fractions.Fraction``, ``decimal.Decimal``, numpy integer, float and bool scalars.
    Refused before anything changes: str/bytes (TypeError; ``strings=True``, used by
    ``Gauge.set``, parses a numeric string as ``float()`` does, like the official
    client), None and complex (TypeError), a finite value too large for a float
    (OverflowError), a Decimal signalling NaN (ValueError). NaN and ±inf pass through.
    """
    if type(amount) is int:
        try:
            return float(amount)
        except OverflowError:
            raise OverflowError(
                f"{amount!r:.40} is too large for a float (metric {metric._name!r})"
            ) from None
    if isinstance(amount, (str, bytes, bytearray)) and not strings or amount is None or (
        isinstance(amount, numbers.Complex) and not isinstance(amount, numbers.Real)
    ):
        raise TypeError(f"{metric._type} value must be a real number, got {type(amount).__name__} "
                        f"{amount!r:.40} (metric {metric._name!r})")
    try:
        value = float(amount)
    except OverflowError:
        raise OverflowError(f"{amount!r:.40} is too large for a float (metric {metric._name!r})") from None
    except (TypeError, ValueError) as e:
        raise type(e)(f"{metric._type} value {amount!r:.40} is not a number a float can hold: {e} "
                      f"(metric {metric._name!r})") from None
    if (value == _INF or value == -_INF) and not amount == value:  # e.g. Decimal('1e400')
        raise OverflowError(f"{amount!r:.40} is too large for a float (metric {metric._name!r})")
    return value


def _removal_supported() -> bool:
    """Whether the value class reflects remove()/clear() in merged multiprocess output."""
    return bool(getattr(values.ValueClass, "_supports_remove", False))


def _retire_storage(children: Iterable["MetricWrapperBase"]) -> None:
    """Tell the file-backed storage of removed children that they are gone (multiprocess)."""
    for child in children:
        parts = [getattr(child, a, None) for a in ("_value", "_count", "_sum", "_store")]
        parts.extend(getattr(child, "_bucket_values", None) or ())
        for part in parts:
            retire = getattr(part, "_retire", None)
            if retire is not None:
                retire()


def _file_store(metric: "MetricWrapperBase", factory: str, *args: Any) -> Any:
    """Multiprocess storage for an Info/Enum child (None with in-process values)."""
    make = getattr(values.ValueClass, factory, None)
    if make is None:
        return None
    return make(metric._name, metric._labelnames, metric._labelvalues, metric._documentation, *args)


def _multiproc_env() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


_labelvalues_of: Callable[[Any], Tuple[str, ...]] = attrgetter("_labelvalues")


class _MissingLabels:
    """Stands in for the storage of a labelled parent: any update names what is missing."""

    __slots__ = ("_message",)

    def __init__(self, metric: "MetricWrapperBase") -> None:
        self._message = (
            f"{metric._type} metric is missing label values "
            f"(metric {metric._name!r} has label names {metric._labelnames}; call .labels() first)"
        )

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self._message)

    inc = set = get = set_exemplar = get_exemplar = __getitem__ = __setitem__ = _fail


class _Family:
    """Settings shared by a metric and all its label children."""

    __slots__ = (
        "name", "documentation", "labelnames", "kwargs", "unit", "original_name", "namespace", "subsystem",
        "kwkey", "info",
    )

    def __init__(self) -> None:
        self.info: Optional[FamilyInfo[Any]] = None  # the exposition answer's fixed part

    def set_labelnames(self, labelnames: Tuple[str, ...]) -> None:
        self.labelnames = labelnames
        # labels(**kw) builds its cache key with one C call.
        if len(labelnames) == 1:
            only = labelnames[0]
            self.kwkey: Callable[[Dict[str, object]], Tuple[object, ...]] = lambda kw: (kw[only],)
        elif labelnames:
            self.kwkey = itemgetter(*labelnames)
        else:
            self.kwkey = lambda kw: ()


def _family_attr(field: str) -> Any:
    def get(self: "MetricWrapperBase") -> Any:
        return getattr(self._fam, field)

    def set(self: "MetricWrapperBase", value: Any) -> None:
        setattr(self._fam, field, value)
        self._fam.info = None

    return property(get, set, doc=f"The family's {field} (shared with label children).")


class MetricWrapperBase(Collector, metaclass=MetricType):
    """Base of every metric class: naming, labels, registration and collection."""

    # Per-series state lives in slots; settings shared by a family and all its
    # children live once, in ``_fam``. Parents keep ``_metrics``/``_lock`` in __dict__.
    __slots__ = ("__dict__", "__weakref__", "_labelvalues", "_fam")
    _type: Optional[str] = None
    _reserved_labelnames: Sequence[str] = ()
    # The collection methods of the class whose _expo_values mirrors _child_samples, as
    # defined in this module (set below for Counter, Gauge, Summary and Histogram).
    _expo_originals: Optional[Tuple[Any, ...]] = None

    _name = _family_attr("name")
    _documentation = _family_attr("documentation")
    _labelnames = _family_attr("labelnames")
    _kwargs = _family_attr("kwargs")
    _unit = _family_attr("unit")
    _original_name = _family_attr("original_name")
    _namespace = _family_attr("namespace")
    _subsystem = _family_attr("subsystem")

    def __init__(
        self: T,
        name: str,
        documentation: str,
        labelnames: Iterable[str] = (),
        namespace: str = "",
        subsystem: str = "",
        unit: str = "",
        registry: Optional[CollectorRegistry] = REGISTRY,
        _labelvalues: Optional[Sequence[str]] = None,
    ) -> None:
        self._fam = _Family()
        self._original_name = name
        self._namespace = namespace
        self._subsystem = subsystem
        self._name = _build_full_name(self._type or "", name, namespace, subsystem, unit)
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        self._fam.set_labelnames(_validate_labelnames(self, labelnames))
        self._labelvalues = tuple(_labelvalues or ())
        # Subclasses hand their extra constructor settings over before calling us, so that
        # _metric_init (run below for label-less metrics) already sees them.
        self._kwargs = self.__dict__.pop("_init_kwargs", None) or {}
        self._documentation = documentation
        self._unit = unit
        _validate_metric_name(self._name)
        check_encodable(documentation, self._name, "HELP text")
        if self._is_parent():
            self._lock = values.fork_safe_lock(self)
            self._metrics: Dict[Any, Any] = {}
        if self._is_observable():
            self._metric_init()
        else:
            self._missing_labels()
        if not self._labelvalues and registry:
            registry.register(self)

    # -- describing and collecting -------------------------------------------------
    def _get_metric(self) -> Metric:
        return Metric(self._name, self._documentation, self._type or "unknown", self._unit)

    def describe(self) -> Iterable[Metric]:
        return [self._get_metric()]

    def collect(self) -> Iterable[Metric]:
        metric = self._get_metric()
        name = self._name
        add = metric.samples.append
        for suffix, labels, value, timestamp, exemplar, native in self._samples():
            add(Sample(name + suffix, labels, value, timestamp, exemplar, native))
        return [metric]

    def __str__(self) -> str:
        return f"{self._type}:{self._name}"

    def __repr__(self) -> str:
        metric_type = type(self)
        return f"{metric_type.__module__}.{metric_type.__name__}({self._name})"

    # -- labels ----------------------------------------------------------------------
    def labels(self: T, *labelvalues: object, **labelkwargs: object) -> T:
        """Return the child for the given label values, creating it on first use.

        Values may be given by position or by keyword; they are converted with ``str()``.
        """
        try:
            if not labelkwargs:
                return self._metrics[labelvalues]  # type: ignore[no-any-return]
            fam = self._fam
            if not labelvalues and len(labelkwargs) == len(fam.labelnames):
                return self._metrics[fam.kwkey(labelkwargs)]  # type: ignore[no-any-return]
        except (KeyError, TypeError, AttributeError):
            pass
        return self._labels_slow(labelvalues, labelkwargs)

    def _label_key(self, labelvalues: Tuple[object, ...], labelkwargs: Dict[str, object]) -> Tuple[str, ...]:
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)
        if self._labelvalues:
            current = dict(zip(self._labelnames, self._labelvalues))
            raise ValueError(f"{self} already has labels set ({current}); can not chain calls to .labels()")
        if labelvalues and labelkwargs:
            raise ValueError(f"Can't pass both *args and **kwargs (metric {self._name!r})")
        if labelkwargs:
            if sorted(labelkwargs) != sorted(self._labelnames):
                raise ValueError(
                    f"Incorrect label names (metric {self._name!r} expects {list(self._labelnames)}, "
                    f"got {sorted(labelkwargs)})"
                )
            key = tuple(str(labelkwargs[l]) for l in self._labelnames)  # noqa: E741
        elif len(labelvalues) != len(self._labelnames):
            raise ValueError(
                f"Incorrect label count (metric {self._name!r} expects {len(self._labelnames)} "
                f"values for {list(self._labelnames)}, got {len(labelvalues)})"
            )
        else:
            key = tuple(str(l) for l in labelvalues)  # noqa: E741
        check_label_values(self._name, self._labelnames, key)
        return key

    def _labels_slow(self: T, labelvalues: Tuple[object, ...], labelkwargs: Dict[str, object]) -> T:
        key = self._label_key(labelvalues, labelkwargs)
        metrics = self._metrics
        child = metrics.get(key)
        if child is None:
            # Built outside any lock; setdefault is atomic, so a racing thread (or a
            # signal handler re-entering here) ends up sharing one child.
            child = metrics.setdefault(key, self._new_child(key))
        return child  # type: ignore[no-any-return]

    def _new_child(self: T, key: Tuple[str, ...]) -> T:
        cls = type(self)
        if cls.__init__ in _FAST_INITS:
            child = cls.__new__(cls)
            child._fam = self._fam
            child._labelvalues = key
            child._child_setup(self)
            child._metric_init()
            return child
        # A subclass with its own constructor: build the child the documented way.
        child = cls(
            self._original_name,
            documentation=self._documentation,
            labelnames=self._labelnames,
            namespace=self._namespace,
            subsystem=self._subsystem,
            unit=self._unit,
            _labelvalues=key,
            **self._kwargs,
        )
        return child

    def _child_setup(self, parent: "MetricWrapperBase") -> None:
        """Copy per-family settings a subclass keeps outside ``_kwargs``."""

    def remove(self, *labelvalues: object) -> None:
        """Drop the child with these label values (no error if absent)."""
        if _multiproc_env() and not _removal_supported():
            warnings.warn(
                "Removal of labels has not been implemented in  multi-process mode yet.", UserWarning, stacklevel=2
            )
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)
        if len(labelvalues) != len(self._labelnames):
            raise ValueError(
                "Incorrect label count (expected %d, got %s)" % (len(self._labelnames), labelvalues)
                + f" for metric {self._name!r}"
            )
        key = tuple(str(l) for l in labelvalues)  # noqa: E741
        with self._lock:
            child = self._metrics.pop(key, None)
        if child is not None:
            _retire_storage([child])

    def remove_by_labels(self, labels: Dict[str, str]) -> None:
        """Drop every child whose labels include all the given name/value pairs."""
        if _multiproc_env() and not _removal_supported():
            warnings.warn(
                "Removal of labels has not been implemented in  multi-process mode yet.", UserWarning, stacklevel=2
            )
        if not self._labelnames:
            raise ValueError("No label names were set when constructing %s" % self)
        if not isinstance(labels, dict):
            raise TypeError(
                "labels must be a dict of {label_name: label_value}"
                f" (metric {self._name!r}, got {type(labels).__name__})"
            )
        if not labels:
            return
        invalid = [k for k in labels if k not in self._labelnames]
        if invalid:
            raise ValueError(
                "Unknown label names: %s; expected %s" % (invalid, self._labelnames)
                + f" (metric {self._name!r})"
            )
        wanted = [(self._labelnames.index(k), str(v)) for k, v in labels.items()]
        with self._lock:
            removed = [self._metrics.pop(k) for k in [k for k in self._metrics if all(k[i] == v for i, v in wanted)]]
        _retire_storage(removed)

    def clear(self) -> None:
        """Drop every child (a no-op on a metric without labels)."""
        if not self._labelnames:
            return
        if _multiproc_env() and not _removal_supported():
            warnings.warn(
                "Clearing labels has not been implemented in multi-process mode yet", UserWarning, stacklevel=2
            )
        with self._lock:
            removed = list(self._metrics.values())
            self._metrics.clear()
        _retire_storage(removed)

    # -- sampling --------------------------------------------------------------------
    def _samples(self) -> Iterable[Sample]:
        if self._is_parent():
            return self._multi_samples()
        return self._child_samples()

    def _multi_samples(self) -> Iterable[Sample]:
        with self._lock:
            metrics = self._metrics.copy()
        labelnames = self._labelnames
        for labels, metric in metrics.items():
            series_labels = list(zip(labelnames, labels))
            for suffix, sample_labels, value, timestamp, exemplar, native in metric._samples():
                yield Sample(
                    suffix,
                    dict(series_labels + list(sample_labels.items())) if sample_labels else dict(series_labels),
                    value,
                    timestamp,
                    exemplar,
                    native,
                )

    def _child_samples(self) -> Iterable[Sample]:  # pragma: no cover - abstract
        raise NotImplementedError("_child_samples() must be implemented by %r" % self)

    def _metric_init(self) -> None:  # pragma: no cover - abstract
        """Initialise the storage of an observable (label-less or child) metric."""
        raise NotImplementedError("_metric_init() must be implemented by %r" % self)

    def _missing_labels(self) -> None:
        """Give a labelled parent storage that refuses updates with a clear error."""

    # -- exposition fast path --------------------------------------------------------
    # The encoders (``_text``, ``openmetrics.exposition``) render these objects from raw
    # numbers instead of Samples; all formatting stays in the encoders.
    @classmethod
    def _expo_supported(cls) -> bool:
        """Whether ``_expo_series``/``_expo_values`` describe exactly what ``collect`` yields.

        False when a subclass customises collection, or a test patched a method: the
        encoders then call ``collect()``.
        """
        originals = cls._expo_originals
        return originals is not None and all(
            getattr(cls, n) is f for n, f in zip(_EXPO_METHODS + ("_expo_values",), originals)
        )

    def _expo_series(self, quantiles: bool = False) -> Optional[List[Any]]:
        """The observable series (children, or this metric) or None if collection is
        customised on the instance. Snapshot taken like ``_multi_samples``.
        ``quantiles``: the encoder also renders the quantiles of summaries."""
        attrs = self.__dict__
        if attrs and any(n in attrs for n in _EXPO_METHODS):
            return None
        if self._is_parent():
            with self._lock:
                return list(self._metrics.values())
        return [self]

    def _expo_info(self) -> "FamilyInfo[Any]":
        cls = type(self)
        return FamilyInfo(
            self._name, self._type or "unknown", self._documentation, self._unit, self._labelnames,
            _labelvalues_of,
            cls._expo_values,
            tuple(getattr(self, "_upper_bounds", ())),
            cls._expo_quantiles if self._type == "summary" else None,
        )

    def _expo_family(self, quantiles: bool = False) -> Optional[Family]:
        """This family's exposition answer (``_family``), or None when the encoders must
        call ``collect()`` (collection customised)."""
        if not type(self)._expo_supported():
            return None
        series = self._expo_series(quantiles)
        if series is None:
            return None
        info = self._fam.info
        if info is None:
            info = self._fam.info = self._expo_info()
        return Family(info, series, self.collect)

    # -- helpers --------------------------------------------------------------------
    def _is_observable(self) -> bool:
        # Whether this metric is observable, i.e. without labels or a child with all label values.
        return not self._labelnames or (bool(self._labelnames) and bool(self._labelvalues))

    def _raise_if_not_observable(self) -> None:
        if not self._is_observable():
            raise ValueError(_MissingLabels(self)._message)

    def _is_parent(self) -> bool:
        return bool(self._labelnames) and not self._labelvalues


class Counter(MetricWrapperBase):
    """A Counter tracks counts of events or running totals.

    Example use cases for Counters:
    - Number of requests processed
    - Number of items that were inserted into a queue
    - Total amount of data that a system has processed

    Counters can only go up (and be reset when the process restarts).
    A trailing ``_total`` in the name is dropped and re-added on exposition.
    """

    __slots__ = ("_value", "_created")
    _type = "counter"

    def _metric_init(self) -> None:
        self._value = values.ValueClass(
            self._type, self._name, self._name + "_total", self._labelnames, self._labelvalues,
            self._documentation,
        )
        self._created = time.time()

    def _missing_labels(self) -> None:
        self._value = _MissingLabels(self)

    def inc(self, amount: float = 1, exemplar: Optional[Dict[str, str]] = None) -> None:
        """Increment counter by the given amount (see ``_number`` for what counts as one).

        A call that raises changes nothing: the amount and the exemplar are checked first.
        """
        if type(amount) is not float and type(amount) is not int:
            amount = _number(self, amount)
        if amount < 0:
            raise ValueError(
                "Counters can only be incremented by non-negative amounts."
                f" (metric {self._name!r}, got {amount!r})"
            )
        if exemplar:
            self._inc_with_exemplar(amount, exemplar)
            return
        try:
            self._value.inc(amount)
        except OverflowError:  # an int too large for a float: nothing was added
            _number(self, amount)
            raise

    def _inc_with_exemplar(self, amount: float, exemplar: Dict[str, str]) -> None:
        _validate_exemplar(exemplar, self._name)
        if type(amount) is int:
            amount = _number(self, amount)
        self._value.inc(amount)
        self._value.set_exemplar(Exemplar(exemplar, amount, time.time()))

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
        self._raise_if_not_observable()
        return ExceptionCounter(self, exception)

    def _expo_values(self) -> Tuple[float, Optional[Exemplar], Optional[float]]:
        """Raw numbers of ``_child_samples``: (total, exemplar, created or None)."""
        value = self._value
        return value.get(), value.get_exemplar(), self._created if _use_created else None

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
        self._init_kwargs = {"multiprocess_mode": multiprocess_mode}
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )

    def _child_setup(self, parent: MetricWrapperBase) -> None:
        self._mostrecent = parent._mostrecent  # type: ignore[attr-defined]
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
        if type(amount) is not float and type(amount) is not int:
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


class Summary(MetricWrapperBase):
    """A Summary tracks the size and number of events.

    Example use cases for Summaries:
    - Response latency
    - Request size
    """

    __slots__ = ("_count", "_sum", "_created", "_quantiles")
    _type = "summary"
    _reserved_labelnames = ["quantile"]

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
        objectives: Optional[Dict[float, float]] = None,
        max_age: float = 600.0,
        age_buckets: int = 5,
    ) -> None:
        """``objectives`` ({quantile: allowed rank error}, e.g. ``{0.5: 0.05, 0.99: 0.001}``)
        turns on streaming quantiles over a sliding window of ``max_age`` seconds made of
        ``age_buckets`` rotating streams. Without it, only ``_count`` and ``_sum``."""
        if objectives:
            _check_objectives(name, objectives, max_age, age_buckets)
            self._init_kwargs = {"objectives": dict(objectives), "max_age": max_age, "age_buckets": age_buckets}
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )

    def _metric_init(self) -> None:
        self._count = values.ValueClass(
            self._type, self._name, self._name + "_count", self._labelnames, self._labelvalues,
            self._documentation,
        )
        self._sum = values.ValueClass(
            self._type, self._name, self._name + "_sum", self._labelnames, self._labelvalues,
            self._documentation,
        )
        self._created = time.time()
        self._quantiles: Optional[_SummaryQuantiles] = None
        kwargs = self._kwargs
        if "objectives" in kwargs:
            self._quantiles = _SummaryQuantiles(kwargs["objectives"], kwargs["max_age"], kwargs["age_buckets"])
            self.observe = self._observe_with_quantiles  # type: ignore[method-assign]

    def _missing_labels(self) -> None:
        self._count = self._sum = _MissingLabels(self)
        self._quantiles = None

    def _expo_series(self, quantiles: bool = False) -> Optional[List[Any]]:
        if "objectives" in self._kwargs and not quantiles:
            return None  # this encoder has no fast path for quantile samples
        return super()._expo_series(quantiles)

    def _expo_quantiles(self) -> Optional[List[Tuple[float, float]]]:
        """(quantile, estimate) per objective, or None without objectives."""
        return self._quantiles.queries() if self._quantiles is not None else None

    def _observe_with_quantiles(self, amount: float) -> None:
        if type(amount) is not float:
            amount = _number(self, amount)
        self._count.inc(1)
        self._sum.inc(amount)
        quantiles = self._quantiles
        buf = quantiles._buf  # type: ignore[union-attr]
        buf.append(amount)  # _Buffered.observe, inlined on this hot path
        if len(buf) >= quantiles._batch:  # type: ignore[union-attr]
            quantiles._drain(True)  # type: ignore[union-attr]

    def observe(self, amount: float) -> None:
        """Observe the given amount.

        The amount is usually positive or zero. Negative values are
        accepted but prevent current versions of Prometheus from
        properly detecting counter resets in the sum of
        observations. See
        https://prometheus.io/docs/practices/histograms/#count-and-sum-of-observations
        for details.
        """
        if type(amount) is not float:
            amount = _number(self, amount)
        self._count.inc(1)
        self._sum.inc(amount)

    def time(self) -> Timer:
        """Time a block of code or function, and observe the duration in seconds.

        Can be used as a function decorator or context manager.
        """
        return Timer(self, "observe")

    def _expo_values(self) -> Tuple[float, float, Optional[float]]:
        """Raw numbers of ``_child_samples``: (count, sum, created or None)."""
        return self._count.get(), self._sum.get(), self._created if _use_created else None

    def _child_samples(self) -> Iterable[Sample]:
        samples = []
        for q, value in self._expo_quantiles() or ():
            samples.append(Sample("", {"quantile": floatToGoString(q)}, value, None, None))
        count, total, created = self._expo_values()
        samples += [Sample("_count", {}, count, None, None), Sample("_sum", {}, total, None, None)]
        if created is not None:
            samples.append(Sample("_created", {}, created, None, None))
        return samples


def _check_objectives(name: str, objectives: Dict[float, float], max_age: float, age_buckets: int) -> None:
    if _multiproc_env() or values.ValueClass is not values.MutexValue and getattr(
        values.ValueClass, "_multiprocess", False
    ):
        raise ValueError(
            f"Summary {name!r}: quantiles (objectives) are not supported in multiprocess mode; "
            "per-process quantiles cannot be merged. Use a Histogram instead."
        )
    for q, err in objectives.items():
        if not 0 <= q <= 1:
            raise ValueError(f"Summary {name!r}: quantile {q!r} is outside [0, 1]")
        if not 0 < err < 1:
            raise ValueError(f"Summary {name!r}: rank error {err!r} for quantile {q!r} must be in (0, 1)")
    if not max_age > 0:
        raise ValueError(f"Summary {name!r}: max_age must be > 0 seconds, got {max_age!r}")
    if int(age_buckets) < 1:
        raise ValueError(f"Summary {name!r}: age_buckets must be >= 1, got {age_buckets!r}")


class _Buffered:
    """Observations shared by threads for a sketch that is not thread-safe: ``observe``
    only appends to a list (atomic); batches are folded into the sketch (``observe_many``)
    under a lock, as are reads.

    Folding costs mostly per batch, not per value, so a busy series folds in larger batches:
    the batch size doubles (up to ``MAX_BATCH``) while batches fill within a second, and
    halves (down to ``MIN_BATCH``) when they don't, which keeps idle series small: a buffer
    holds at most about one second of observations, and never more than ``MAX_BATCH``."""

    __slots__ = ("_sketch", "_buf", "_lock", "_batch", "_last_drain", "_folded", "__weakref__")
    MIN_BATCH = 64
    MAX_BATCH = 16384
    clock: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(self, sketch: Any) -> None:
        self._sketch = sketch
        self._buf: List[float] = []
        self._lock = values.fork_safe_lock(self)
        self._batch = self.MIN_BATCH
        self._last_drain = self.clock()
        self._folded = 0  # batches folded so far: readers cache answers per value of it

    def observe(self, amount: float) -> None:
        buf = self._buf
        buf.append(amount)
        if len(buf) >= self._batch:
            self._drain(True)

    def _drain(self, full: bool = False) -> None:
        with self._lock:
            buf = self._buf
            n = len(buf)
            batch = buf[:n]
            del buf[:n]  # appends racing with us stay in the list for the next drain
            if batch:
                self._sketch.observe_many(batch)
                self._folded += 1
            if full:
                now = self.clock()
                if now - self._last_drain < 1.0:
                    self._batch = min(self._batch * 2, self.MAX_BATCH)
                else:
                    self._batch = max(self._batch // 2, self.MIN_BATCH)
                self._last_drain = now


class _SummaryQuantiles(_Buffered):
    """The quantile window of one Summary child."""

    __slots__ = ("_answer",)

    def __init__(self, objectives: Dict[float, float], max_age: float, age_buckets: int) -> None:
        from ._quantiles import QuantileWindow

        super().__init__(QuantileWindow(objectives, max_age, age_buckets, clock=self.clock))
        # (batches folded, answer, clock time until which it holds): reused while valid
        self._answer: Optional[Tuple[int, List[Tuple[float, float]], float]] = None

    @property
    def _window(self) -> Any:
        return self._sketch

    def queries(self) -> List[Tuple[float, float]]:
        """(quantile, estimate) per objective. A scrape that finds nothing new since the
        previous one (no observation, no stream rotation due) reuses its answer."""
        answer = self._answer
        if answer is not None and not self._buf and answer[0] == self._folded and self.clock() < answer[2]:
            return answer[1]
        with self._lock:
            self._drain()
            answer = self._answer
            if answer is not None and answer[0] == self._folded and self.clock() < answer[2]:
                return answer[1]
            result: List[Tuple[float, float]] = self._sketch.queries()
            self._answer = (self._folded, result, self._sketch.next_rotation)
            return result


def _native_settings(
    name: str, factor: float, zero_threshold: float, max_buckets: int, min_reset: float, max_zero: float
) -> Dict[str, Any]:
    if _multiproc_env():
        raise ValueError(
            f"Histogram {name!r}: native histograms are not supported in multiprocess mode; "
            "use classic buckets."
        )
    if not factor > 1:
        raise ValueError(f"Histogram {name!r}: native_histogram_bucket_factor must be > 1, got {factor!r}")
    if not zero_threshold >= 0:
        raise ValueError(f"Histogram {name!r}: native_histogram_zero_threshold must be >= 0, got {zero_threshold!r}")
    if max_buckets < 0:
        raise ValueError(f"Histogram {name!r}: native_histogram_max_bucket_number must be >= 0, got {max_buckets!r}")
    if min_reset < 0:
        raise ValueError(f"Histogram {name!r}: native_histogram_min_reset_duration must be >= 0, got {min_reset!r}")
    return {
        "native_histogram_bucket_factor": factor,
        "native_histogram_zero_threshold": zero_threshold,
        "native_histogram_max_bucket_number": max_buckets,
        "native_histogram_min_reset_duration": min_reset,
        "native_histogram_max_zero_threshold": max_zero,
    }


class _NativeState(_Buffered):
    """The native histogram of one Histogram child."""

    __slots__ = ()

    def __init__(self, kwargs: Dict[str, Any]) -> None:
        from ._native_histogram import NativeHistogramState

        super().__init__(NativeHistogramState(
            factor=kwargs["native_histogram_bucket_factor"],
            zero_threshold=kwargs["native_histogram_zero_threshold"],
            max_buckets=kwargs["native_histogram_max_bucket_number"],
            min_reset_duration=kwargs["native_histogram_min_reset_duration"],
            max_zero_threshold=kwargs["native_histogram_max_zero_threshold"],
            clock=self.clock,
        ))

    def snapshot(self) -> NativeHistogram:
        with self._lock:
            self._drain()
            snap = self._sketch.snapshot()
        return NativeHistogram(
            snap.count_value, snap.sum_value, snap.schema, snap.zero_threshold, snap.zero_count,
            tuple(BucketSpan(o, n) for o, n in snap.pos_spans), tuple(BucketSpan(o, n) for o, n in snap.neg_spans),
            tuple(snap.pos_deltas), tuple(snap.neg_deltas),
        )


class _BucketView:
    """``histogram._buckets[i]``: the non-cumulative count of one bucket, in the flat array."""

    __slots__ = ("_counts", "_index")

    def __init__(self, counts: "array[float]", index: int) -> None:
        self._counts = counts
        self._index = index

    def inc(self, amount: float) -> None:
        self._counts[self._index] += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self._counts[self._index] = value

    def get(self) -> float:
        return self._counts[self._index]


def _prepare_buckets(source: Sequence[Union[float, str]], allow_inf_only: bool = False) -> List[float]:
    buckets = [float(b) for b in source]
    if any(b != b for b in buckets):
        raise ValueError(f"Buckets cannot contain NaN: {buckets}")
    if buckets != sorted(buckets):
        # This is probably an error on the part of the user,
        # so raise rather than sorting for them.
        raise ValueError(f"Buckets not in sorted order: {buckets}")
    duplicates = sorted({a for a, b in zip(buckets, buckets[1:]) if a == b})
    if duplicates:
        raise ValueError(f"Buckets must be distinct, {duplicates} repeated: {buckets}")
    if buckets and buckets[-1] != INF:
        buckets.append(INF)
    if len(buckets) < 2 and not (allow_inf_only and buckets == [INF]):
        raise ValueError(f"Must have at least two buckets, got {buckets}")
    return buckets


class Histogram(MetricWrapperBase):
    """A Histogram tracks the size and number of events in buckets.

    You can use Histograms for aggregatable calculation of quantiles.

    Example use cases:
    - Response latency
    - Request size

    The default buckets are intended to cover a typical web/rpc request from milliseconds to seconds.
    They can be overridden by passing `buckets` keyword argument to `Histogram`.
    """

    __slots__ = (
        "_upper_bounds", "_le", "_counts", "_bucket_values", "_sum_value", "_created", "_exemplars", "_native",
    )
    _counts: Any
    _bucket_values: Optional[List[Any]]
    _sum_value: Any
    _type = "histogram"
    _reserved_labelnames = ["le"]
    DEFAULT_BUCKETS = (
        0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, INF,
    )

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
        buckets: Sequence[Union[float, str]] = DEFAULT_BUCKETS,
        native_histogram_bucket_factor: Optional[float] = None,
        native_histogram_zero_threshold: float = 2.0**-128,
        native_histogram_max_bucket_number: int = 160,
        native_histogram_min_reset_duration: float = 0.0,
        native_histogram_max_zero_threshold: float = 0.0,
    ):
        """``native_histogram_bucket_factor`` (> 1, e.g. 1.1) also keeps a native
        (exponential, sparse) histogram: the schema is the coarsest whose bucket growth is at
        most that factor; ``buckets=()`` then keeps only the ``+Inf`` classic bucket.
        When more than ``native_histogram_max_bucket_number`` buckets are populated, the
        histogram resets (if ``native_histogram_min_reset_duration`` seconds passed since the
        last reset), else widens the zero bucket up to ``native_histogram_max_zero_threshold``,
        else halves its resolution. Native histograms reach Prometheus through the protobuf
        format and OpenMetrics 2.0; text formats show the classic buckets."""
        native = None
        if native_histogram_bucket_factor is not None:
            native = _native_settings(
                name, native_histogram_bucket_factor, native_histogram_zero_threshold,
                native_histogram_max_bucket_number, native_histogram_min_reset_duration,
                native_histogram_max_zero_threshold,
            )
            if not buckets:
                buckets = (INF,)
        try:
            self._upper_bounds = _prepare_buckets(buckets, allow_inf_only=native is not None)
        except ValueError as e:
            raise ValueError(f"{e.args[0]} (histogram {name!r})") from None
        self._le = tuple(floatToGoString(b) for b in self._upper_bounds)
        self._init_kwargs = {"buckets": buckets, **(native or {})}
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )

    def _child_setup(self, parent: MetricWrapperBase) -> None:
        self._upper_bounds = parent._upper_bounds  # type: ignore[attr-defined]
        self._le = parent._le  # type: ignore[attr-defined]

    def _metric_init(self) -> None:
        self._created = time.time()
        self._exemplars: Optional[List[Optional[Exemplar]]] = None
        self._native: Optional[_NativeState] = None
        if "native_histogram_bucket_factor" in self._kwargs:
            self._native = _NativeState(self._kwargs)
        if values.ValueClass is values.MutexValue and GIL_ATOMIC_ADD:
            # One flat array: bucket counts (non-cumulative) followed by the sum; exact
            # without a lock where ``+=`` cannot be interrupted (see ``values``).
            self._counts = array("d", bytes(8 * (len(self._upper_bounds) + 1)))
            self._bucket_values = None
            self._sum_value = None
            if self._native is not None:
                self._observe_classic = self._observe_flat
                self.observe = self._observe_native  # type: ignore[method-assign]
            return
        # A swapped-in value class (multiprocess mode, tests) or an interpreter without
        # atomic ``+=`` (3.9, free-threaded): one value object per number.
        self._counts = None
        labelnames = self._labelnames + ("le",)
        self._sum_value = values.ValueClass(
            self._type, self._name, self._name + "_sum", self._labelnames, self._labelvalues,
            self._documentation,
        )
        self._bucket_values = [
            values.ValueClass(
                self._type, self._name, self._name + "_bucket", labelnames, self._labelvalues + (le,),
                self._documentation,
            )
            for le in self._le
        ]
        self.observe = self._observe_values  # type: ignore[method-assign]
        if self._native is not None:
            self._observe_classic = self._observe_values
            self.observe = self._observe_native  # type: ignore[method-assign]

    def _missing_labels(self) -> None:
        self._counts = _MissingLabels(self)
        self._bucket_values = None
        self._sum_value = None
        self._native = None

    def _expo_series(self, quantiles: bool = False) -> Optional[List[Any]]:
        if "native_histogram_bucket_factor" in self._kwargs:
            return None  # native-histogram samples: the encoders take the generic path
        return super()._expo_series(quantiles)

    @property
    def _buckets(self) -> List[Any]:
        if self._bucket_values is not None:
            return self._bucket_values
        counts = self._counts
        return [_BucketView(counts, i) for i in range(len(self._upper_bounds))]

    @property
    def _sum(self) -> Any:
        if self._sum_value is not None:
            return self._sum_value
        return _BucketView(self._counts, len(self._upper_bounds))

    def observe(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        """Observe the given amount.

        The amount is usually positive or zero. Negative values are
        accepted but prevent current versions of Prometheus from
        properly detecting counter resets in the sum of
        observations. See
        https://prometheus.io/docs/practices/histograms/#count-and-sum-of-observations
        for details.
        """
        if type(amount) is not float:
            amount = _number(self, amount)
        if exemplar:
            self._observe_with_exemplar(amount, exemplar)
            return
        counts = self._counts
        i = bisect_left(self._upper_bounds, amount)
        if i or amount == amount:  # NaN is counted in the sum only
            counts[i] += 1.0
        counts[-1] += amount

    def _observe_with_exemplar(self, amount: float, exemplar: Dict[str, str]) -> None:
        _validate_exemplar(exemplar, self._name)  # before anything moves
        counts = self._counts
        i = bisect_left(self._upper_bounds, amount)
        if i or amount == amount:
            counts[i] += 1.0
        counts[-1] += amount
        if i or amount == amount:  # NaN lands in no bucket: no exemplar
            self._set_exemplar(i, amount, exemplar)

    def _observe_native(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        if type(amount) is not float:
            amount = _number(self, amount)
        self._observe_classic(amount, exemplar)
        native = self._native
        buf = native._buf  # type: ignore[union-attr]
        buf.append(amount)  # _Buffered.observe, inlined on this hot path
        if len(buf) >= native._batch:  # type: ignore[union-attr]
            native._drain(True)  # type: ignore[union-attr]

    def _observe_flat(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        Histogram.observe(self, amount, exemplar)

    def _observe_values(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        if type(amount) is not float:
            amount = _number(self, amount)
        if exemplar:
            _validate_exemplar(exemplar, self._name)
        self._sum_value.inc(amount)
        i = bisect_left(self._upper_bounds, amount)
        if i or amount == amount:
            self._bucket_values[i].inc(1)  # type: ignore[index]
        if exemplar and (i or amount == amount):
            self._set_exemplar(i, amount, exemplar)

    def _set_exemplar(self, i: int, amount: float, exemplar: Dict[str, str]) -> None:
        """Store a validated exemplar for bucket ``i``."""
        if amount != amount:
            return  # NaN falls in no bucket, so its exemplar has no bucket either
        if self._exemplars is None:
            self._exemplars = [None] * len(self._upper_bounds)
        self._exemplars[i] = Exemplar(exemplar, amount, time.time())
        if self._bucket_values is not None:
            self._bucket_values[i].set_exemplar(self._exemplars[i])

    def time(self) -> Timer:
        """Time a block of code or function, and observe the duration in seconds.

        Can be used as a function decorator or context manager.
        """
        return Timer(self, "observe")

    def _bucket_counts(self) -> Tuple[List[float], float]:
        if self._counts is not None:
            snapshot = self._counts.tolist()
            return snapshot[:-1], snapshot[-1]
        return [b.get() for b in self._bucket_values or ()], self._sum_value.get()

    def _expo_values(
        self,
    ) -> Tuple[Tuple[str, ...], List[float], float, Optional[List[Optional[Exemplar]]], Optional[float], bool]:
        """Raw numbers of ``_child_samples``: (le strings, non-cumulative bucket counts, sum,
        exemplars per bucket or None, created or None, whether ``_sum`` is exposed)."""
        counts, total_sum = self._bucket_counts()
        created = self._created if _use_created else None
        return self._le, counts, total_sum, self._exemplars, created, self._upper_bounds[0] >= 0

    def _child_samples(self) -> Iterable[Sample]:
        les, counts, total_sum, exemplars, created, with_sum = self._expo_values()
        samples = []
        acc = 0.0
        for i, le in enumerate(les):
            acc += counts[i]
            samples.append(Sample("_bucket", {"le": le}, acc, None, exemplars[i] if exemplars else None))
        samples.append(Sample("_count", {}, acc, None, None))
        if with_sum:
            samples.append(Sample("_sum", {}, total_sum, None, None))
        if self._native is not None:
            samples.append(Sample("", {}, None, None, None, self._native.snapshot()))  # type: ignore[arg-type]
        if created is not None:
            samples.append(Sample("_created", {}, created, None, None))
        return samples


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
        self._init_kwargs = {"states": states}
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
        )

    def _child_setup(self, parent: MetricWrapperBase) -> None:
        self._states = parent._states  # type: ignore[attr-defined]

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


_FAST_INITS = frozenset(
    cls.__init__ for cls in (MetricWrapperBase, Counter, Gauge, Summary, Histogram, Info, Enum)
)

_EXPO_METHODS = ("collect", "_get_metric", "_samples", "_multi_samples", "_child_samples")
for _cls in (Counter, Gauge, Summary, Histogram):
    _cls._expo_originals = tuple(getattr(_cls, n) for n in _EXPO_METHODS + ("_expo_values",))
