"""What every metric object shares: naming, label children, registration, collection and the
exposition answer (``_expo_family``); the created-series switch. The metric classes are in
``metrics`` (Counter, Gauge, Info, Enum) and ``_metric_observed`` (Summary, Histogram)."""

from __future__ import annotations

import os
import warnings
from operator import attrgetter, itemgetter
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    TypeVar,
)

from .. import values
from ..metrics_core import Metric
from ..registry import REGISTRY, Collector, CollectorRegistry
from ..samples import Sample
from ..validation import check_encodable, check_label_values, validate_labelnames, validate_metric_name
from .family import Family, FamilyInfo
from .redefine import MetricType

if TYPE_CHECKING:
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


def _complex(amount: object) -> bool:
    """Whether ``amount`` is a complex number (``numbers`` is imported here, on the slow path
    of an update, not by ``import prometheus_client``)."""
    import numbers

    return isinstance(amount, numbers.Complex) and not isinstance(amount, numbers.Real)


def _number(metric: MetricWrapperBase, amount: Any, strings: bool = False) -> float:
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
    if isinstance(amount, (str, bytes, bytearray)) and not strings or amount is None or _complex(amount):
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


def _retire_storage(children: Iterable[MetricWrapperBase]) -> None:
    """Tell the file-backed storage of removed children that they are gone (multiprocess)."""
    for child in children:
        parts = [getattr(child, a, None) for a in ("_value", "_count", "_sum", "_store")]
        parts.extend(getattr(child, "_bucket_values", None) or ())
        for part in parts:
            retire = getattr(part, "_retire", None)
            if retire is not None:
                retire()


def _file_store(metric: MetricWrapperBase, factory: str, *args: Any) -> Any:
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

    def __init__(self, metric: MetricWrapperBase) -> None:
        self._message = (
            f"{metric._type} metric is missing label values "
            f"(metric {metric._name!r} has label names {metric._labelnames}; call .labels() first)"
        )

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError(self._message)

    inc = set = get = set_exemplar = get_exemplar = __getitem__ = __setitem__ = __iadd__ = _fail


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
    def get(self: MetricWrapperBase) -> Any:
        return getattr(self._fam, field)

    def set(self: MetricWrapperBase, value: Any) -> None:
        setattr(self._fam, field, value)
        self._fam.info = None

    return property(get, set, doc=f"The family's {field} (shared with label children).")


# Constructors of this library's metric classes (filled by ``metrics``): children of these
# classes are built without calling them.
_FAST_INITS: Set[Callable[..., None]] = set()
# The collection methods whose originals mean "_expo_values mirrors _child_samples".
_EXPO_METHODS = ("collect", "_get_metric", "_samples", "_multi_samples", "_child_samples")


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
        _init_kwargs: Optional[Dict[str, Any]] = None,
    ) -> None:
        self._fam = _Family()
        self._original_name = name
        self._namespace = namespace
        self._subsystem = subsystem
        self._name = _build_full_name(self._type or "", name, namespace, subsystem, unit)
        if isinstance(labelnames, str):
            labelnames = (labelnames,)
        self._fam.set_labelnames(validate_labelnames(self, labelnames))
        self._labelvalues = tuple(_labelvalues or ())
        # Subclasses hand their extra constructor settings over as ``_init_kwargs``, so that
        # _metric_init (run below for label-less metrics) already sees them. Not through an
        # instance attribute: a label-less metric whose __dict__ was ever created loses the
        # interpreter's fast method lookup (inc/observe cost ~15% more instructions).
        self._kwargs = _init_kwargs or {}
        self._documentation = documentation
        self._unit = unit
        validate_metric_name(self._name)
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

    def _child_setup(self: T, parent: T) -> None:
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
        # Instance overrides are found by attribute lookup, not by reading self.__dict__:
        # that would create the dict of a label-less metric and slow down its inc/observe.
        cls = type(self)
        for n in _EXPO_METHODS:
            if getattr(getattr(self, n), "__func__", None) is not getattr(cls, n):
                return None
        if self._is_parent():
            with self._lock:
                return list(self._metrics.values())
        return [self]

    def _expo_info(self) -> FamilyInfo[Any]:
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
    # These read ``_fam.labelnames``, not the ``_labelnames`` property (a Python-level getter):
    # count_exceptions()/track_inprogress() check observability on every ``with``.
    def _is_observable(self) -> bool:
        # Whether this metric is observable, i.e. without labels or a child with all label values.
        return not self._fam.labelnames or bool(self._labelvalues)

    def _raise_if_not_observable(self) -> None:
        if self._fam.labelnames and not self._labelvalues:
            raise ValueError(_MissingLabels(self)._message)

    def _is_parent(self) -> bool:
        return bool(self._fam.labelnames) and not self._labelvalues


if not TYPE_CHECKING:
    # Bound to the class itself once it exists: a string bound becomes a ForwardRef, whose
    # source is compiled at import (~1.5 ms of a fresh ``import prometheus_client``).
    T = TypeVar("T", bound=MetricWrapperBase)
