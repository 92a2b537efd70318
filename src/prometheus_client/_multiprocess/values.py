"""File-backed values of multiprocess mode.

``make_mmaped_value_class(process_identifier)`` returns a class (``values.MultiProcessValue``)
whose instances keep their number in this process's memory-mapped file of their kind
(``counter_<pid>.db``, ``gauge_livesum_<pid>.db``, ...; byte format in ``mmap_dict``).

Hot path. A value resolves its slot once, when it is bound to a file: it keeps a
``memoryview`` of the mapping cast to doubles and the index of its value, so ``inc`` is
``view[i] += amount`` -- no key lookup, no struct packing, no lock (on CPython 3.10-3.13 with
the GIL the read-modify-write of a subscript cannot be interrupted, see ``values``). When
a file grows, the dict maps the larger file again; views of the old mapping stay valid
(both map the same file) so bound values never need to be told.

Fork. With the default ``os.getpid`` identifier nothing is checked per call: an
``os.register_at_fork`` hook in the child closes the inherited files and points every
value's view at a ``_Reopen`` stand-in, whose first access re-opens this process's own
files and re-binds all values (each appears at 0 in the child's file, as the official
client does) before it forwards the access. No method is swapped: the hot path stays
``view[i] += amount`` whatever the view is. A custom identifier (e.g. ``lambda: worker_id``), or
an interpreter without atomic ``+=``, gets the checked variant: a lock and an identifier
comparison on every call.

Liveness. A writer holds a shared ``flock`` on each of its files for as long as it may
write to it, and stamps ``WRITER_MAGIC`` into the header padding; compaction (see
``_mp_compact``) treats a stamped file whose lock it can take exclusively as dead. Opening
a file takes the shared lock first and then checks that the path still names the file it
locked (compaction may have moved it away meanwhile).

Removal. ``remove()``/``clear()`` retire the child's values: the slot is zeroed and its
timestamp set to ``TOMBSTONE`` (negative), which the collector skips and compaction drops;
the detached value object keeps working on private memory, like a removed in-process
child. Creating the child again revives the slot at 0.
"""

import os
import threading
import time
import weakref
from typing import Callable, ClassVar, Dict, List, Optional, Sequence, Tuple, Union, cast

from .._metrics.atomic import GIL_ATOMIC_ADD
from ..mmap_dict import mmap_key
from ..samples import Exemplar
from . import files as mpf
from .mapped import (
    _CLOEXEC as _CLOEXEC,
)
from .mapped import (
    _RETAINED as _RETAINED,
)
from .mapped import (
    _RETAINED_LOCK as _RETAINED_LOCK,
)
from .mapped import (
    _SHARED as _SHARED,
)
from .mapped import (
    _SHARED_LOCK as _SHARED_LOCK,
)
from .mapped import (
    DoubleView as DoubleView,
)
from .mapped import (
    Slot as Slot,
)
from .mapped import (
    _acquire_file as _acquire_file,
)
from .mapped import (
    _Bound as _Bound,
)
from .mapped import (
    _close_fd as _close_fd,
)
from .mapped import (
    _drop_retained as _drop_retained,
)
from .mapped import (
    _File as _File,
)
from .mapped import (
    _forget_all_files as _forget_all_files,
)
from .mapped import (
    _multiproc_dir as _multiproc_dir,
)
from .mapped import (
    _open_locked as _open_locked,
)
from .mapped import (
    _pid_of as _pid_of,
)
from .mapped import (
    _release_file as _release_file,
)
from .mapped import (
    _release_retained as _release_retained,
)
from .mapped import (
    _retain_lock as _retain_lock,
)
from .mapped import (
    log as log,
)

_ATOMIC_ADD = GIL_ATOMIC_ADD  # the interpreters proven exact without a lock (see values)


_TOMBSTONE = mpf.TOMBSTONE


class _Reopen:
    """The view of a value while its class's files are closed (after a fork, or
    ``close_all_files``): the first access re-opens this process's files, which re-binds
    every value to a real view, then forwards to the value's new view."""

    __slots__ = ("_state", "_value")

    def __init__(self, state: "_State", value: _Bound) -> None:
        self._state = state
        self._value = value

    def __getitem__(self, i: int) -> float:
        self._state.revive()
        return self._value._mv[i]

    def __setitem__(self, i: int, x: float) -> None:
        self._state.revive()
        self._value._mv[i] = x


class _State:
    """Everything one ``MultiProcessValue()`` class shares: files, bound objects, the lock."""

    def __init__(self, process_identifier: Callable[[], object]) -> None:
        self.process_identifier = process_identifier
        self.lock = threading.RLock()
        self.busy = False  # an update is in progress in the thread holding the lock
        self.pending: List[Tuple[Callable[[float, Optional[float]], None], float, Optional[float]]] = []
        self.pid: Optional[str] = None  # identifier the open files belong to
        self.files: Dict[str, _File] = {}
        self.objs: Dict[Union[_Bound, _Store], None] = {}  # bound values and stores, in creation order
        self.refs: Dict[Tuple[str, str], int] = {}  # (kind, key) -> live value objects
        self.on_open: Callable[[], None] = lambda: None  # (re-)registers close_all_files

    def settle(self) -> None:
        """Apply the updates signal handlers queued, then leave the update (lock held)."""
        pending = self.pending
        while True:
            while pending:
                apply, value, timestamp = pending.pop(0)
                try:
                    apply(value, timestamp)
                except Exception:  # pragma: no cover - a file that could not be bound
                    pass
            self.busy = False
            if not pending:
                return
            self.busy = True

    # -- files -------------------------------------------------------------------------
    def file(self, kind: str) -> _File:
        f = self.files.get(kind)
        if f is None:
            name = mpf.value_file_name(kind, self.pid or "")
            path = os.path.join(_multiproc_dir(name), name)
            try:
                f = _acquire_file(path)
            except OSError as e:
                raise ValueError(
                    f"multiprocess mode: cannot open value file {path!r}: {e.strerror or e}"
                ) from e
            self.files[kind] = f
        return f

    # -- binding -----------------------------------------------------------------------
    def ensure(self) -> None:
        """Make sure the open files are this process's (re-binding everything if not)."""
        pid = str(self.process_identifier())
        if pid == self.pid:
            return
        self._unbind_all(release=True)
        self.pid = pid
        try:
            for obj in list(self.objs):
                if isinstance(obj, _Store):
                    obj._bind(self)
                else:
                    self._bind_value(obj, fresh=False)
        except BaseException:
            self._unbind_all(release=True)
            raise
        self.on_open()

    def _unbind_all(self, release: bool) -> None:
        """Close the files; every value's view becomes a ``_Reopen`` stand-in.

        ``release``: also release the files (not in a fork child: they are the parent's).
        """
        self.pid = None
        files = list(self.files.values())
        self.files.clear()
        for obj in self.objs:
            if not isinstance(obj, _Store):
                obj._mv = _Reopen(self, obj)
        if release:
            for f in files:
                _release_file(f)

    def _bind_value(self, v: _Bound, fresh: bool) -> None:
        view, i = self.file(v._kind).slot(v._key)
        if fresh and view[i + 1] < 0:  # a removed series created again starts from zero
            view[i] = 0.0
            view[i + 1] = 0.0
        v._mv = view
        v._i = i

    def add_value(self, v: _Bound) -> None:
        with self.lock:
            self.ensure()
            self._bind_value(v, fresh=True)
            self.objs[v] = None
            slot = (v._kind, v._key)
            self.refs[slot] = self.refs.get(slot, 0) + 1

    def add_store(self, store: "_Store") -> None:
        with self.lock:
            self.ensure()
            store._bind(self)
            self.objs[store] = None

    def revive(self) -> None:
        with self.lock:
            self.ensure()

    def retire_value(self, v: _Bound) -> None:
        with self.lock:
            if v not in self.objs:
                return
            self.ensure()
            last = v._mv[v._i]
            del self.objs[v]
            slot = (v._kind, v._key)
            left = self.refs.get(slot, 1) - 1
            if left:
                self.refs[slot] = left
            else:
                self.refs.pop(slot, None)
                v._mv[v._i] = 0.0
                v._mv[v._i + 1] = _TOMBSTONE
            private = cast(DoubleView, memoryview(bytearray(16)).cast("d"))
            private[0] = last
            v._mv = private
            v._i = 0

    def retire_store(self, store: "_Store") -> None:
        with self.lock:
            if store not in self.objs:
                return
            self.ensure()
            del self.objs[store]
            store._tombstone()

    # -- process lifecycle -------------------------------------------------------------
    def close_all(self) -> None:
        with self.lock:
            self._unbind_all(release=True)

    def after_fork_child(self) -> None:
        # Only this thread exists in the child: the parent's lock may be held forever.
        self.lock = threading.RLock()
        self.busy = False
        self.pending.clear()
        self._unbind_all(release=False)


_STATES: "weakref.WeakSet[_State]" = weakref.WeakSet()


def _after_fork_in_child() -> None:
    try:
        _forget_all_files()
    except Exception:  # pragma: no cover - never let a fork hook fail the child
        _SHARED.clear()
    for state in list(_STATES):
        try:
            state.after_fork_child()
        except Exception:  # pragma: no cover - never let a fork hook fail the child
            state.files.clear()
            state.pid = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Store:
    """File-backed state of an Info or Enum child (not a hot path: locked and checked)."""

    kind = ""
    _state: _State

    def _bind(self, state: _State) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _tombstone(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def _retire(self) -> None:
        self._state.retire_store(self)


def _write(slot: Slot, value: float, timestamp: float) -> None:
    view, i = slot
    view[i] = value
    view[i + 1] = timestamp


class _InfoStore(_Store):
    """Info child: one slot per label set ever set; the current one holds 1, old ones are removed."""

    kind = "info"

    def __init__(
        self,
        state: _State,
        metric_name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
    ) -> None:
        self._state = state
        self._metric_name = metric_name
        self._labelnames = tuple(labelnames)
        self._labelvalues = tuple(labelvalues)
        self._help = help_text
        self._info: Dict[str, str] = {}
        self._key = self._key_for(self._info)
        self._slot: Optional[Slot] = None
        state.add_store(self)

    def _key_for(self, info: Dict[str, str]) -> str:
        names = self._labelnames + tuple(info)
        values = self._labelvalues + tuple(info.values())
        return mmap_key(self._metric_name, self._metric_name + "_info", names, values, self._help)

    def _bind(self, state: _State) -> None:
        self._slot = state.file(self.kind).slot(self._key)
        _write(self._slot, 1.0, 0.0)

    def _tombstone(self) -> None:
        if self._slot is not None:
            _write(self._slot, 0.0, _TOMBSTONE)

    def set(self, info: Dict[str, str]) -> None:
        state = self._state
        with state.lock:
            state.ensure()
            key = self._key_for(info)
            if key != self._key:
                old = self._slot
                self._key = key
                self._bind(state)
                if old is not None:
                    _write(old, 0.0, _TOMBSTONE)
            self._info = dict(info)


class _EnumStore(_Store):
    """Enum child: one slot per state (1 for the current one), stamped with the time it was set."""

    kind = "enum"

    def __init__(
        self,
        state: _State,
        metric_name: str,
        labelnames: Sequence[str],
        labelvalues: Sequence[str],
        help_text: str,
        states: Sequence[str],
    ) -> None:
        self._state = state
        names = tuple(labelnames) + (metric_name,)
        self._keys = [
            mmap_key(metric_name, metric_name, names, tuple(labelvalues) + (s,), help_text) for s in states
        ]
        self._index = 0
        self._stamp = 0.0  # 0 until state() is called: any explicitly set state wins the merge
        self._slots: List[Slot] = []
        state.add_store(self)

    def _bind(self, state: _State) -> None:
        f = state.file(self.kind)
        self._slots = [f.slot(k) for k in self._keys]
        self._write_all()

    def _write_all(self) -> None:
        for j, slot in enumerate(self._slots):
            _write(slot, 1.0 if j == self._index else 0.0, self._stamp)

    def _tombstone(self) -> None:
        for slot in self._slots:
            _write(slot, 0.0, _TOMBSTONE)

    def set(self, index: int) -> None:
        state = self._state
        with state.lock:
            state.ensure()
            self._index = index
            self._stamp = time.time()
            self._write_all()


def make_mmaped_value_class(
    process_identifier: Callable[[], object] = os.getpid, cleanups: Optional[List[Callable[[], None]]] = None
) -> type:
    """A new ``MmapedValue`` class with its own files, objects and lock (``MultiProcessValue``).

    ``cleanups``: the list ``values.close_all_multiprocess_files`` empties and runs; the
    class's ``close_all_files`` is (re-)added to it whenever it opens files."""
    if cleanups is None:
        cleanups = []
    state = _State(process_identifier)
    _STATES.add(state)
    checked = not (process_identifier is os.getpid and _ATOMIC_ADD)

    class MmapedValue:
        """A number kept in this process's memory-mapped file (multiprocess mode)."""

        _multiprocess = True
        _supports_remove = True
        __slots__ = ("_mv", "_i", "_kind", "_key", "__weakref__")
        _state: ClassVar[_State]

        def __init__(
            self,
            typ: str,
            metric_name: str,
            name: str,
            labelnames: Sequence[str],
            labelvalues: Sequence[str],
            help_text: str,
            multiprocess_mode: str = "",
            **kwargs: object,
        ) -> None:
            self._kind = "gauge_" + (multiprocess_mode or "all") if typ == "gauge" else typ
            self._key = mmap_key(metric_name, name, labelnames, labelvalues, help_text)
            self._mv: DoubleView = cast(DoubleView, None)  # bound by add_value below
            self._i = 0
            state.add_value(self)

        if not checked:

            def inc(self, amount: float) -> None:
                self._mv[self._i] += amount

            def __iadd__(self, amount: float) -> "MmapedValue":  # a Counter's ``_v += amount``
                self._mv[self._i] += amount
                return self

            def set(self, value: float, timestamp: Optional[float] = None) -> None:
                self._mv[self._i] = value
                if timestamp is not None:
                    self._mv[self._i + 1] = timestamp

            def get(self) -> float:
                return self._mv[self._i]

        else:

            # As values._LockedValue: an update made by a signal handler while this
            # thread is inside an update (``state.busy``) is queued, and the interrupted
            # update applies it before it returns, so none is lost.
            def inc(self, amount: float) -> None:
                with state.lock:
                    if state.busy:
                        state.pending.append((self._apply_inc, amount + 0.0, None))
                        return
                    state.busy = True
                    try:
                        if state.pid != str(process_identifier()):
                            state.ensure()
                        self._mv[self._i] += amount
                    finally:
                        state.settle()

            def set(self, value: float, timestamp: Optional[float] = None) -> None:
                with state.lock:
                    if state.busy:
                        state.pending.append((self._apply_set, value, timestamp))
                        return
                    state.busy = True
                    try:
                        if state.pid != str(process_identifier()):
                            state.ensure()
                        self._apply_set(value, timestamp)
                    finally:
                        state.settle()

            def __iadd__(self, amount: float) -> "MmapedValue":  # a Counter's ``_v += amount``
                self.inc(amount)
                return self

            def _apply_inc(self, amount: float, _: Optional[float]) -> None:
                self._mv[self._i] += amount

            def _apply_set(self, value: float, timestamp: Optional[float]) -> None:
                self._mv[self._i] = value
                if timestamp is not None:
                    self._mv[self._i + 1] = timestamp

            def get(self) -> float:
                with state.lock:
                    if state.pid != str(process_identifier()):
                        state.ensure()
                    return self._mv[self._i]

        def set_exemplar(self, exemplar: Exemplar) -> None:
            """Exemplars are not shared between processes."""

        def get_exemplar(self) -> Optional[Exemplar]:
            return None

        def _retire(self) -> None:
            state.retire_value(self)

        @classmethod
        def close_all_files(cls) -> None:
            """Close this class's files; values re-open them on their next use."""
            state.close_all()

        @classmethod
        def _info_store(
            cls, metric_name: str, labelnames: Sequence[str], labelvalues: Sequence[str], help_text: str
        ) -> _InfoStore:
            return _InfoStore(state, metric_name, labelnames, labelvalues, help_text)

        @classmethod
        def _enum_store(
            cls,
            metric_name: str,
            labelnames: Sequence[str],
            labelvalues: Sequence[str],
            help_text: str,
            states: Sequence[str],
        ) -> _EnumStore:
            return _EnumStore(state, metric_name, labelnames, labelvalues, help_text, states)

    def on_open() -> None:
        # close_all_multiprocess_files() forgets the cleanup once it ran; files opened again
        # afterwards must still be closed by the next call.
        cleanup = MmapedValue.close_all_files
        if cleanup not in cleanups:
            cleanups.append(cleanup)

    state.on_open = on_open
    MmapedValue._state = state
    return MmapedValue
