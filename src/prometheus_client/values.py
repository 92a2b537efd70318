"""Value storage: where a sample's number lives.

In-process values are plain floats. On CPython 3.10 to 3.13 with the GIL an
``x += amount`` on a slot attribute cannot be interrupted by another thread or
a signal handler (the interpreter only switches at calls and backward jumps),
so increments are exact without a lock. Only the versions the test suite has
proved exact take that path (``_GIL_ATOMIC_ADD``); every other interpreter
(3.9, free-threaded builds, versions newer than 3.13, other implementations)
gets the locked variant, which is also exact when a signal handler updates the
value its own thread was updating, and whose locks are replaced in a forked
child. Multiprocess values live in memory-mapped files (see
``mmap_dict`` and ``multiprocess``); the choice is made once, at import, from
``PROMETHEUS_MULTIPROC_DIR``.
"""

from __future__ import annotations

import os
from _thread import RLock
from _weakrefset import WeakSet  # what ``weakref.WeakSet`` is, without importing ``weakref``
from typing import Any, Callable, Dict, List, Optional, Sequence, Union, final

from . import _lazy
from ._metrics.atomic import GIL_ATOMIC_ADD, lock_free_ok
from ._metrics.atomic import LOCK_FREE_VERSIONS as LOCK_FREE_VERSIONS
from .samples import Exemplar

# The reference module's other names, loaded on first use (mmap_dict is only for multiprocess).
__getattr__, __dir__ = _lazy.install(__name__, {
    "Lock": "threading:Lock",
    "warnings": "warnings",
    "MmapedDict": ".mmap_dict:MmapedDict",
    "mmap_key": ".mmap_dict:mmap_key",
})


class _AtomicValue:
    """A float updated without locks (safe where ``+=`` is atomic under the GIL)."""

    _multiprocess = False
    __slots__ = ("_value", "_exemplar")

    def __init__(
        self,
        typ: Optional[str] = None,
        metric_name: Optional[str] = None,
        name: Optional[str] = None,
        labelnames: Optional[Sequence[str]] = None,
        labelvalues: Optional[Sequence[str]] = None,
        help_text: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        self._value = 0.0
        self._exemplar: Optional[Exemplar] = None

    def inc(self, amount: float) -> None:
        self._value += amount

    def __iadd__(self, amount: float) -> _AtomicValue:
        """``holder._v += amount`` (how a Counter updates the value object it holds) is ``inc``."""
        self.inc(amount)
        return self

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self._value = value

    def set_exemplar(self, exemplar: Exemplar) -> None:
        self._exemplar = exemplar

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> Optional[Exemplar]:
        return self._exemplar


@final  # (so that ``type(item) is _SetTo`` tells a checker the other items are numbers)
class _SetTo:
    """A ``set()`` deferred by a signal handler (see ``_LockedValue``)."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


class _LockedValue(_AtomicValue):
    """A float guarded by a lock, for interpreters without proven atomic ``+=``.

    The lock is re-entrant, so a signal handler that updates the value its own thread was
    updating does not deadlock. It must not lose that thread's update either: the
    interrupted ``+=`` has already read the old value and will store over the handler's.
    So an update made while this thread is inside an update of the same value
    (``_busy``) is only appended to ``_pending`` (``list.append`` is one atomic step), and
    the outer update applies the pending ones, in order, before it returns. Other
    threads are kept out by the lock. After ``os.fork()`` the child replaces every lock:
    one held by another parent thread at fork time would never be released there.
    """

    __slots__ = ("_lock", "_busy", "_pending", "__weakref__")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = RLock()
        self._busy = False
        self._pending: List[Union[float, _SetTo]] = []
        _LOCKED_VALUES.add(self)

    def inc(self, amount: float) -> None:
        with self._lock:
            if self._busy:  # a signal handler interrupted this thread's update
                self._pending.append(amount + 0.0)  # an int too large fails here, not later
                return
            self._busy = True
            try:
                self._value += amount
            finally:
                self._settle()

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        with self._lock:
            if self._busy:
                self._pending.append(_SetTo(value))
                return
            self._busy = True
            try:
                self._value = value
            finally:
                self._settle()

    def _settle(self) -> None:
        """Apply what handlers deferred, then leave the update (lock held, ``_busy`` set)."""
        pending = self._pending
        while True:
            while pending:
                item = pending.pop(0)
                if type(item) is _SetTo:
                    self._value = item.value
                else:
                    self._value += item
            self._busy = False
            if not pending:  # a handler that ran after the loop found _busy set
                return
            self._busy = True

    def get(self) -> float:
        with self._lock:
            return self._value

    def _after_fork_in_child(self) -> None:
        self._lock = RLock()
        self._busy = True
        self._settle()


_LOCKED_VALUES: WeakSet[_LockedValue] = WeakSet()
# lock factory -> the owners whose ``_lock`` it made (weakly held)
_LOCK_OWNERS: Dict[Callable[[], Any], WeakSet[Any]] = {}


def fork_safe_lock(owner: Any, factory: Callable[[], Any] = RLock) -> Any:
    """A new lock for ``owner._lock``; a forked child gives ``owner`` a fresh one."""
    owners = _LOCK_OWNERS.get(factory)
    if owners is None:
        owners = _LOCK_OWNERS[factory] = WeakSet()
    owners.add(owner)
    return factory()


def _reset_locks_in_child() -> None:
    """Fork child: only the forking thread exists; locks other threads held stay held."""
    for factory, owners in list(_LOCK_OWNERS.items()):
        for owner in list(owners):
            try:
                owner._lock = factory()
            except Exception:  # pragma: no cover - never let a fork hook fail the child
                pass
    for value in list(_LOCKED_VALUES):
        try:
            value._after_fork_in_child()
        except Exception:  # pragma: no cover - never let a fork hook fail the child
            pass


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_locks_in_child)


# The lock-free decision (``_atomic``), under the names this module had for it.
_GIL_ATOMIC_ADD = GIL_ATOMIC_ADD
_lock_free_ok = lock_free_ok

MutexValue = _AtomicValue if _GIL_ATOMIC_ADD else _LockedValue
AtomicValue = _AtomicValue

_cleanups: List[Callable[[], None]] = []
_multi_process_cleanups = _cleanups  # the reference module's name for the same list


def close_all_multiprocess_files() -> None:
    """Close every open multiprocess file and forget cached values (test isolation)."""
    while _cleanups:
        _cleanups.pop()()


def MultiProcessValue(process_identifier: Callable[[], int] = os.getpid) -> Any:
    """Return a value class backed by this process's memory-mapped files."""
    from ._multiprocess.values import make_mmaped_value_class

    return make_mmaped_value_class(process_identifier, _cleanups)


def _multiproc_dir_set() -> bool:
    return "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ


def get_value_class() -> Any:
    """The value class chosen from the environment: file-backed in multiprocess mode."""
    if _multiproc_dir_set():
        return MultiProcessValue()
    return MutexValue


ValueClass = get_value_class()
