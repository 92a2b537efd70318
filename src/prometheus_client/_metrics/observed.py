"""The metrics that observe values: Summary (count, sum and optional quantiles) and Histogram
(classic buckets in one flat list, optional native buckets), with their buffered sketches."""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    Iterable,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .. import values
from ..context_managers import Timer
from ..registry import REGISTRY, CollectorRegistry
from ..samples import Exemplar, Sample
from ..utils import INF, floatToGoString
from ..validation import validate_exemplar
from . import base as _base
from .atomic import GIL_ATOMIC_ADD
from .base import MetricWrapperBase, _MissingLabels, _number

if TYPE_CHECKING:
    from .buffers import _Number, _ValueObject
from .buffers import (
    _BucketView,
    _check_objectives,
    _native_settings,
    _NativeState,
    _prepare_buckets,
    _SummaryQuantiles,
)


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
        init_kwargs: Optional[Dict[str, Any]] = None
        if objectives:
            _check_objectives(name, objectives, max_age, age_buckets)
            init_kwargs = {"objectives": dict(objectives), "max_age": max_age, "age_buckets": age_buckets}
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
            _init_kwargs=init_kwargs,
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
        return self._count.get(), self._sum.get(), self._created if _base._use_created else None

    def _child_samples(self) -> Iterable[Sample]:
        samples = []
        for q, value in self._expo_quantiles() or ():
            samples.append(Sample("", {"quantile": floatToGoString(q)}, value, None, None))
        count, total, created = self._expo_values()
        samples += [Sample("_count", {}, count, None, None), Sample("_sum", {}, total, None, None)]
        if created is not None:
            samples.append(Sample("_created", {}, created, None, None))
        return samples


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
    _bucket_values: Optional[List[_ValueObject]]
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
        super().__init__(
            name=name,
            documentation=documentation,
            labelnames=labelnames,
            namespace=namespace,
            subsystem=subsystem,
            unit=unit,
            registry=registry,
            _labelvalues=_labelvalues,
            _init_kwargs={"buckets": buckets, **(native or {})},
        )

    def _child_setup(self, parent: Histogram) -> None:
        self._upper_bounds = parent._upper_bounds
        self._le = parent._le

    def _metric_init(self) -> None:
        self._created = time.time()
        self._exemplars: Optional[List[Optional[Exemplar]]] = None
        self._native: Optional[_NativeState] = None
        if "native_histogram_bucket_factor" in self._kwargs:
            self._native = _NativeState(self._kwargs)
        if values.ValueClass is values.MutexValue and GIL_ATOMIC_ADD:
            # One flat list of floats: the sum, then the bucket counts (non-cumulative); exact
            # without a lock where ``+=`` cannot be interrupted (see ``values``). A list, not an
            # ``array('d')``: the interpreter's list-index and float-add fast paths take less
            # than half the instructions of array items. The sum comes first so that every index
            # is non-negative (a negative one leaves the list fast path).
            self._counts = [0.0] * (len(self._upper_bounds) + 1)
            self._bucket_values = None
            self._sum_value = None
            if self._native is not None:
                self.observe = self._observe_native_flat  # type: ignore[method-assign]
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
    def _buckets(self) -> Sequence[_Number]:
        if self._bucket_values is not None:
            return self._bucket_values
        counts = self._counts
        return [_BucketView(counts, i) for i in range(1, len(self._upper_bounds) + 1)]

    @property
    def _sum(self) -> Any:
        if self._sum_value is not None:
            return self._sum_value
        return _BucketView(self._counts, 0)

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
            counts[i + 1] += 1.0
        counts[0] += amount

    def _observe_with_exemplar(self, amount: float, exemplar: Dict[str, str]) -> None:
        validate_exemplar(exemplar, self._name)  # before anything moves
        counts = self._counts
        i = bisect_left(self._upper_bounds, amount)
        if i or amount == amount:
            counts[i + 1] += 1.0
        counts[0] += amount
        if i or amount == amount:  # NaN lands in no bucket: no exemplar
            self._set_exemplar(i, amount, exemplar)

    def _observe_native(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        if type(amount) is not float:
            amount = _number(self, amount)
        self._observe_classic(amount, exemplar)
        native = self._native
        if TYPE_CHECKING:  # set whenever this method is the observe (no runtime check)
            assert native is not None
        buf = native._buf
        buf.append(amount)  # _Buffered.observe, inlined on this hot path
        if len(buf) >= native._batch:
            native._drain(True)

    def _observe_native_flat(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        # _observe_native with the flat-list classic update of ``observe`` inlined (two
        # frames less). Whatever raises (conversion, exemplar check) does so before a count
        # or the native buffer moves.
        if type(amount) is not float:
            amount = _number(self, amount)
        if exemplar:
            self._observe_with_exemplar(amount, exemplar)
        else:
            counts = self._counts
            i = bisect_left(self._upper_bounds, amount)
            if i or amount == amount:  # NaN is counted in the sum only
                counts[i + 1] += 1.0
            counts[0] += amount
        native = self._native
        if TYPE_CHECKING:  # set whenever this method is the observe (no runtime check)
            assert native is not None
        buf = native._buf
        buf.append(amount)  # _Buffered.observe, inlined on this hot path
        if len(buf) >= native._batch:
            native._drain(True)

    def _observe_values(self, amount: float, exemplar: Optional[Dict[str, str]] = None) -> None:
        if type(amount) is not float:
            amount = _number(self, amount)
        if exemplar:
            validate_exemplar(exemplar, self._name)
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
        self._exemplars[i] = ex = Exemplar(exemplar, amount, time.time())
        if self._bucket_values is not None:
            self._bucket_values[i].set_exemplar(ex)

    def time(self) -> Timer:
        """Time a block of code or function, and observe the duration in seconds.

        Can be used as a function decorator or context manager.
        """
        return Timer(self, "observe")

    def _bucket_counts(self) -> Tuple[List[float], float]:
        if self._counts is not None:
            snapshot = self._counts[:]  # one copy: buckets and sum of the same moment
            return snapshot[1:], snapshot[0]
        return [b.get() for b in self._bucket_values or ()], self._sum_value.get()

    def _expo_values(
        self,
    ) -> Tuple[Tuple[str, ...], List[float], float, Optional[List[Optional[Exemplar]]], Optional[float], bool]:
        """Raw numbers of ``_child_samples``: (le strings, non-cumulative bucket counts, sum,
        exemplars per bucket or None, created or None, whether ``_sum`` is exposed)."""
        counts, total_sum = self._bucket_counts()
        created = self._created if _base._use_created else None
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
