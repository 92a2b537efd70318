"""Buffered observations of Summary quantiles and native histograms: appends without a lock,
folded into their sketch (``_quantiles``, ``_native_histogram``) in batches and at scrape time;
the checks of their settings and of classic bucket bounds."""

from __future__ import annotations

import time
from typing import (
    TYPE_CHECKING,
    Any,
    Dict,
    List,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .. import values
from ..samples import BucketSpan, NativeHistogram
from ..utils import INF
from .base import _multiproc_env

if TYPE_CHECKING:
    from typing import Protocol

    from ..samples import Exemplar

    class _Number(Protocol):
        """A stored number: ``values.ValueClass`` instances, ``_BucketView``, ``_SlotValue``."""

        def inc(self, amount: float) -> None: ...
        def set(self, value: float, timestamp: Optional[float] = None) -> None: ...
        def get(self) -> float: ...

    class _ValueObject(_Number, Protocol):
        """A number with an exemplar, as a Counter holds it."""

        def __iadd__(self, amount: float) -> _ValueObject: ...
        def set_exemplar(self, exemplar: Exemplar) -> None: ...
        def get_exemplar(self) -> Optional[Exemplar]: ...


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
    clock = staticmethod(time.monotonic)  # time source; a class attribute so it can be replaced

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
        from .._sketch.quantiles import QuantileWindow

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
        from .._sketch.native_histogram import NativeHistogramState

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


def _as_float(x: float) -> float:
    """``x`` as a float, for a number stored in a slot or list: what ``array('d')`` took
    (a real number or anything with ``__float__``/``__index__``; not str or bytes)."""
    if type(x) is float:
        return x
    if isinstance(x, (str, bytes, bytearray)):
        raise TypeError(f"must be real number, not {type(x).__name__}")
    return float(x)


class _BucketView:
    """``histogram._buckets[i]`` / ``histogram._sum``: one number of the child's flat list."""

    __slots__ = ("_counts", "_index")

    def __init__(self, counts: List[float], index: int) -> None:
        self._counts = counts
        self._index = index

    def inc(self, amount: float) -> None:
        amount = _as_float(amount)
        self._counts[self._index] += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self._counts[self._index] = _as_float(value)

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
