"""Context managers behind ``count_exceptions``, ``track_inprogress`` and ``time``.

Each is usable as ``with`` block and as a decorator; decorated ``async def``
functions are measured across the awaited call, not just coroutine creation.
"""

from __future__ import annotations

from time import perf_counter as default_timer  # what timeit.default_timer is
from types import TracebackType
from typing import TYPE_CHECKING as TYPE_CHECKING  # noqa: F401  (the reference module has it)
from typing import Any as Any  # noqa: F401  (the reference module has it)
from typing import Callable, Literal, Optional, Tuple, Type, TypeVar, Union

from .decorator import _decorate_in_context, decorate_inline
from .decorator import decorate as decorate  # noqa: F401  (the reference module has it)

F = TypeVar("F", bound=Callable[..., object])

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Protocol

    class Incrementable(Protocol):
        def inc(self) -> object: ...

    class UpDownCounter(Incrementable, Protocol):
        def dec(self) -> object: ...


class ExceptionCounter:
    def __init__(self, counter: Incrementable, exception: Union[Type[BaseException], Tuple[Type[BaseException], ...]]):
        self._counter = counter
        self._exception = exception

    if TYPE_CHECKING:
        def __enter__(self) -> None: ...
    else:
        # Entering does nothing and gives None: calling ``NoneType()`` does exactly that in C,
        # and a class attribute that is not a descriptor is called without ``self``. This saves
        # the ``with`` statement a Python frame (a third of an empty ``with`` block's cost).
        __enter__ = type(None)

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> Literal[False]:
        exception = self._exception
        # isinstance(None, Exception) is always False but slow (it goes through
        # type.__instancecheck__); any other spec is checked as given, even on a clean exit
        # (a spec like ``object`` counts those too, a spec that is no type raises TypeError).
        if (value is not None or exception is not Exception) and isinstance(value, exception):
            self._counter.inc()
        return False

    def __call__(self, f: F) -> F:
        if type(self) is ExceptionCounter and _plain_exception_spec(self._exception):
            # Same work as __exit__, inlined in the wrapper (the spec is known to match no clean exit).
            wrapper = decorate_inline(
                f, "", "", "if isinstance(_pc_e_, _pc_exc_): _pc_target_.inc()",
                {"_pc_target_": self._counter, "_pc_exc_": self._exception},
            )
            if wrapper is not None:
                return wrapper
        return _decorate_in_context(f, lambda: self)


def _plain_exception_spec(spec: object) -> bool:
    """Whether ``isinstance(None, spec)`` is False without running user code: exception
    classes (or nested tuples of them) whose metaclass is ``type``."""
    if type(spec) is tuple:
        return all(_plain_exception_spec(s) for s in spec)
    return type(spec) is type and issubclass(spec, BaseException)


class InprogressTracker:
    def __init__(self, gauge: UpDownCounter):
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
        if type(self) is InprogressTracker:  # same work as __enter__/__exit__, inlined
            wrapper = decorate_inline(f, "_pc_target_.inc()", "_pc_target_.dec()", "", {"_pc_target_": self._gauge})
            if wrapper is not None:
                return wrapper
        return _decorate_in_context(f, lambda: self)


class Timer:
    """Times a block or call and passes the duration to ``metric.<callback_name>``.

    ``duration`` holds the last measured time in seconds.
    """

    def __init__(self, metric: Any, callback_name: str):
        self._metric = metric
        self._callback_name = callback_name
        self.duration: Optional[float] = None

    def _new_timer(self) -> Timer:
        return self.__class__(self._metric, self._callback_name)

    def __enter__(self) -> Timer:
        self._start = default_timer()
        return self

    def __exit__(
        self,
        typ: Optional[Type[BaseException]],
        value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        duration = default_timer() - self._start
        if duration < 0:  # time can go backwards: max(duration, 0), without the call
            duration = 0
        self.duration = duration
        # getattr(metric, name)(duration), with the two names the metrics use spelled out: a
        # plain method call costs much less than getattr plus a bound-method call.
        name = self._callback_name
        if name == "observe":
            self._metric.observe(duration)
        elif name == "set":
            self._metric.set(duration)
        else:
            getattr(self._metric, name)(duration)

    def labels(self, *args: object, **kw: object) -> None:
        """Inside ``with m.time() as t:``, pick the labelled child to observe."""
        self._metric = self._metric.labels(*args, **kw)

    def __call__(self, f: F) -> F:
        # Each call measures with its own local start time (like a fresh Timer per call), so
        # concurrent and nested calls stay independent. The metric and callback are looked up
        # per call, as a fresh Timer's __exit__ does; max(elapsed, 0) is spelled as a comparison (no call).
        name = self._callback_name
        if type(self) is Timer and name.isidentifier():
            wrapper = decorate_inline(
                f, "_pc_start_ = _pc_clock_()",
                f"_pc_d_ = _pc_clock_() - _pc_start_; _pc_target_._metric.{name}(0 if _pc_d_ < 0 else _pc_d_)", "",
                {"_pc_target_": self, "_pc_clock_": default_timer},
            )
            if wrapper is not None:
                return wrapper
        return _decorate_in_context(f, self._new_timer)
