"""Value storage: where a sample's number lives.

In-process values are plain floats. On CPython 3.10+ with the GIL an
``x += amount`` on a slot attribute cannot be interrupted by another thread or
a signal handler (the interpreter only switches at calls and backward jumps),
so increments are exact without a lock; 3.9 and free-threaded builds get a
locked variant. Multiprocess values live in memory-mapped files (see
``mmap_dict`` and ``multiprocess``); the choice is made once, at import, from
``PROMETHEUS_MULTIPROC_DIR``.
"""

import os
import sys
from threading import RLock
from typing import Any, Callable, List, Optional, Sequence

from .samples import Exemplar

_GIL_ATOMIC_ADD = (
    sys.implementation.name == "cpython"
    and sys.version_info >= (3, 10)
    and getattr(sys, "_is_gil_enabled", lambda: True)()
)


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

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self._value = value

    def set_exemplar(self, exemplar: Exemplar) -> None:
        self._exemplar = exemplar

    def get(self) -> float:
        return self._value

    def get_exemplar(self) -> Optional[Exemplar]:
        return self._exemplar


class _LockedValue(_AtomicValue):
    """A float guarded by a lock, for interpreters without atomic ``+=``."""

    __slots__ = ("_lock",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = RLock()  # re-entrant: a signal handler may update the same value

    def inc(self, amount: float) -> None:
        with self._lock:
            self._value += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        with self._lock:
            self._value = value

    def get(self) -> float:
        with self._lock:
            return self._value


MutexValue = _AtomicValue if _GIL_ATOMIC_ADD else _LockedValue

_cleanups: List[Callable[[], None]] = []


def close_all_multiprocess_files() -> None:
    """Close every open multiprocess file and forget cached values (test isolation)."""
    while _cleanups:
        _cleanups.pop()()


def MultiProcessValue(process_identifier: Callable[[], int] = os.getpid) -> Any:
    """Return a value class backed by this process's memory-mapped files."""
    from ._mp_values import make_mmaped_value_class

    return make_mmaped_value_class(process_identifier, _cleanups)


def _multiproc_dir_set() -> bool:
    return "prometheus_multiproc_dir" in os.environ or "PROMETHEUS_MULTIPROC_DIR" in os.environ


def get_value_class() -> Any:
    """The value class chosen from the environment: file-backed in multiprocess mode."""
    if _multiproc_dir_set():
        return MultiProcessValue()
    return MutexValue


ValueClass = get_value_class()
