"""The value files of this process, opened and mapped: the shared flock that tells compaction a
writer is alive (kept after close while the process lives), one mapping per path shared by every
value class, and views of it as doubles."""

import logging
import os
import threading
from typing import Dict, List, Optional, Protocol, Tuple, cast

from ..mmap_dict import WRITER_MAGIC, MmapedDict
from . import files as mpf


class DoubleView(Protocol):
    """A file mapping seen as doubles (``memoryview.cast("d")``), or a ``_Reopen``."""

    def __getitem__(self, i: int) -> float: ...

    def __setitem__(self, i: int, x: float) -> None: ...


Slot = Tuple[DoubleView, int]


class _Bound(Protocol):
    """A value bound to its slot (``MmapedValue``)."""

    _mv: DoubleView
    _i: int
    _kind: str
    _key: str


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
log = logging.getLogger("prometheus_client.multiprocess")


def _open_locked(path: str) -> int:
    """Open (creating) ``path`` and hold a shared flock on the file the path names."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | _CLOEXEC, 0o666)
        try:
            if mpf.HAVE_FLOCK:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_SH)  # waits out a compaction that holds it
                st = os.fstat(fd)
                try:
                    now = os.stat(path)
                except FileNotFoundError:
                    now = None
                if now is None or (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
                    os.close(fd)  # moved away by compaction while we waited: open anew
                    continue
            return fd
        except BaseException:
            os.close(fd)
            raise


# Closing a file is not dying: the shared flock on a closed value file stays held (its fd
# kept here, path -> fd) until this process exits or opens the path again, so compaction
# never takes a closed file of a running process for a dead process's file.
_RETAINED: Dict[str, int] = {}
_RETAINED_LOCK = threading.Lock()


def _retain_lock(path: str, fd: int) -> None:
    with _RETAINED_LOCK:
        old = _RETAINED.pop(path, None)
        _RETAINED[path] = fd
    if old is not None:
        _close_fd(old)


def _drop_retained(path: str) -> None:
    """The path is open again (its new fd holds the lock): the retained fd can go."""
    with _RETAINED_LOCK:
        old = _RETAINED.pop(path, None)
    if old is not None:
        _close_fd(old)


def _release_retained(pid: Optional[str] = None) -> None:
    """Let go of retained locks (of files of ``pid``, or all): for tests simulating an exit."""
    with _RETAINED_LOCK:
        paths = [p for p in _RETAINED if pid is None or _pid_of(p) == pid]
        fds = [_RETAINED.pop(p) for p in paths]
    for fd in fds:
        _close_fd(fd)


def _pid_of(path: str) -> Optional[str]:
    meta = mpf.parse_value_name(os.path.basename(path))
    return None if meta is None else meta.pid


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:  # pragma: no cover
        pass


class _File:
    """One open value file: its lock fd, the dict, and double views of its mappings."""

    __slots__ = ("path", "lock_fd", "d", "maps", "view", "lock", "refs")

    def __init__(self, path: str) -> None:
        self.path = path
        self.lock = threading.Lock()  # appends (several value classes may share the file)
        self.refs = 0
        self.lock_fd = _open_locked(path)
        _drop_retained(path)
        try:
            self.d = MmapedDict(path)
        except BaseException:
            os.close(self.lock_fd)
            raise
        m = self.d._m
        if m[4:8] != WRITER_MAGIC:
            m[4:8] = WRITER_MAGIC
        self.maps: List[Tuple[object, memoryview[int], memoryview[float]]] = []
        self.view = self._new_view()

    def _new_view(self) -> DoubleView:
        m = self.d._m
        base = memoryview(m)
        size = len(base) - len(base) % 8
        doubles = base[:size].cast("d")
        self.maps.append((m, base, doubles))
        return cast(DoubleView, doubles)

    def slot(self, key: str) -> Slot:
        """The view and double index of ``key``'s value (appending a zero entry if new)."""
        with self.lock:
            d = self.d
            pos = d._positions.get(key)
            if pos is None:
                pos = d._init_value(key)
            view = self.view if self.maps[-1][0] is d._m else self._new_view()
            self.view = view
            return view, pos // 8

    def forget(self) -> None:
        """Drop the file in a fork child: close our fds, leave mappings to the garbage collector."""
        self.maps.clear()
        f = self.d._f
        if f is not None:  # (None: the dict was closed already)
            try:
                f.close()
            except OSError:  # pragma: no cover
                pass
        try:
            os.close(self.lock_fd)
        except OSError:  # pragma: no cover
            pass

    def close(self) -> None:
        for _, base, doubles in self.maps:
            doubles.release()
            base.release()
        self.maps.clear()
        try:
            self.d.close()
        except BufferError:  # pragma: no cover - a view escaped; the mapping dies with it
            pass
        if mpf.HAVE_FLOCK:
            _retain_lock(self.path, self.lock_fd)  # this process is still alive
        else:
            _close_fd(self.lock_fd)


# One _File per path in this process, shared by every value class that writes it (two
# MmapedDicts appending to one file independently would overwrite each other's entries).
_SHARED: Dict[str, _File] = {}
_SHARED_LOCK = threading.Lock()


def _acquire_file(path: str) -> _File:
    with _SHARED_LOCK:
        f = _SHARED.get(path)
        if f is None:
            try:
                f = _File(path)
            except RuntimeError as e:
                # A damaged file left by an earlier process with this identifier: readers skip
                # it anyway; set it aside and start a fresh one rather than failing the metric.
                log.error("multiprocess: value file %s is damaged (%s); moved to %s.corrupt", path, e, path)
                try:
                    os.rename(path, path + ".corrupt")
                except FileNotFoundError:
                    pass
                f = _File(path)
            _SHARED[path] = f
        f.refs += 1
        return f


def _release_file(f: _File) -> None:
    with _SHARED_LOCK:
        if _SHARED.get(f.path) is not f:
            return  # already dropped (fork child)
        f.refs -= 1
        if f.refs <= 0:
            del _SHARED[f.path]
            f.close()


def _forget_all_files() -> None:
    """Fork child: drop every inherited file (close our fds; mappings die with their views)."""
    global _SHARED_LOCK
    _SHARED_LOCK = threading.Lock()
    files = list(_SHARED.values())
    _SHARED.clear()
    for f in files:
        f.forget()
    # The parent's retained locks are the parent's liveness, not ours: close our copies (the
    # parent's descriptors keep the locks).
    global _RETAINED_LOCK
    _RETAINED_LOCK = threading.Lock()
    retained = list(_RETAINED.values())
    _RETAINED.clear()
    for fd in retained:
        _close_fd(fd)


def _multiproc_dir(for_file: str) -> str:
    path = mpf.env_dir()
    if path is None:
        raise ValueError(
            f"multiprocess mode is on but {mpf.ENV} is not set: nowhere to create {for_file!r}"
        )
    if not os.path.isdir(path):
        raise ValueError(
            f"{mpf.ENV}={path!r} does not exist or is not a directory (needed for {for_file!r})"
        )
    return path
