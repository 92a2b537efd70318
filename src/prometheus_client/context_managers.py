"""Context managers behind ``count_exceptions``, ``track_inprogress`` and ``time``.

Each is usable as ``with`` block and as a decorator; decorated ``async def``
functions are measured across the awaited call, not just coroutine creation.
"""

from timeit import default_timer
from types import TracebackType
from typing import TYPE_CHECKING as TYPE_CHECKING  # noqa: F401  (the reference module has it)
from typing import Any, Callable, Literal, Optional, Tuple, Type, TypeVar, Union

from .decorator import _decorate_in_context
from .decorator import decorate as decorate  # noqa: F401  (the reference module has it)

F = TypeVar("F", bound=Callable[..., Any])


class ExceptionCounter:
    def __init__(self, counter: Any, exception: Union[Type[BaseException], Tuple[Type[BaseException], ...]]):
        self._counter = counter
        self._exception = exception

    def __enter__(self) -> None:
        pass

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> "Literal[False]":
        if isinstance(value, self._exception):
            self._counter.inc()
        return False

    def __call__(self, f: F) -> F:
        return _decorate_in_context(f, lambda: self)


class InprogressTracker:
    def __init__(self, gauge: Any):
        self._gauge = gauge

    def __enter__(self) -> None:
        self._gauge.inc()

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._gauge.dec()

    def __call__(self, f: F) -> F:
        return _decorate_in_context(f, lambda: self)


class Timer:
    """Times a block or call and passes the duration to ``metric.<callback_name>``.

    ``duration`` holds the last measured time in seconds.
    """

    def __init__(self, metric: Any, callback_name: str):
        self._metric = metric
        self._callback_name = callback_name
        self.duration: Optional[float] = None
        self._start = 0.0

    def _new_timer(self) -> "Timer":
        return self.__class__(self._metric, self._callback_name)

    def __enter__(self) -> "Timer":
        self._start = default_timer()
        return self

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        duration = max(default_timer() - self._start, 0)
        self.duration = duration
        getattr(self._metric, self._callback_name)(duration)

    def labels(self, *args: Any, **kw: Any) -> None:
        """Inside ``with m.time() as t:``, pick the labelled child to observe."""
        self._metric = self._metric.labels(*args, **kw)

    def __call__(self, f: F) -> F:
        # A fresh Timer per call keeps concurrent and nested calls independent.
        return _decorate_in_context(f, self._new_timer)
