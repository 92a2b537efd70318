"""Compaction: fold dead processes' value files into one archive, crash-safe.

Everything happens under an exclusive ``flock`` of the directory's ``.compaction.lock``
(readers take it shared while they list and open files, so they never see a half-done
step). One run with generation ``g`` (greater than every archive and staged generation
present):

1. Stage: for each value file this library wrote (header stamp) whose own lock can be
   taken exclusively -- its writer is gone -- rename ``x_<pid>.db`` to
   ``staged.<g>.x_<pid>.db``. A new process reusing the pid now creates a fresh file. A
   staged file keeps counting for readers while ``g`` is above the archive's generation.
   Live-only files (``gauge_live*``, Info, Enum) of dead processes are deleted instead.
2. Fold the current archive and every counted staged file into a new image and write it
   to ``archive.<g>.db.tmp``; fsync.
3. Commit: rename it to ``archive.<g>.db``. From this instant readers use the new archive
   and ignore staged files of generation <= g and older archives.
4. Delete the old archive and the folded staged files.

A crash (kill -9) anywhere leaves either the old archive with its staged files still
counted (before 3) or the new archive with leftovers that are ignored (after 3); the next
run picks up counted staged files and deletes leftovers. Nothing is lost or counted
twice, and nothing is ever modified in place.
"""

import logging
import os
from typing import Dict, Iterable, List, Optional, Tuple

from ..mmap_dict import WRITER_MAGIC, encode_file, iter_records, read_file_bytes, read_used
from . import files as mpf

log = logging.getLogger("prometheus_client.multiprocess")
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_FOLD_MODES = tuple(mpf.GAUGE_FOLDS)


def retire_pid(path: str, pid: str, timeout: float = 5.0) -> int:
    """``mark_process_dead``: drop ``pid``'s live-only files and compact every dead file.

    Returns the number of files removed or folded. If the directory stays locked for
    ``timeout`` seconds only the live gauge files are removed (the official behaviour);
    the rest is folded by a later run.
    """
    try:
        names = _pid_files(path, pid)
    except FileNotFoundError:
        return 0  # no directory, nothing to do (as the official client's glob finds nothing)
    lock_fd = mpf.open_dir_lock(path)
    try:
        if lock_fd is None or not mpf.flock_wait(lock_fd, True, timeout):
            return _remove_live_gauges(path, names)
        return _compact_locked(path, pid)
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def compact_dead(path: str, timeout: float = 0.0) -> int:
    """Fold the files of every process that no longer runs (skipped if the lock is busy)."""
    if not mpf.HAVE_FLOCK:
        return 0
    lock_fd = mpf.open_dir_lock(path)
    if lock_fd is None:
        return 0
    try:
        if not mpf.flock_wait(lock_fd, True, timeout):
            return 0
        return _compact_locked(path, None)
    finally:
        os.close(lock_fd)


def _pid_files(path: str, pid: str) -> List[str]:
    out = []
    for name in os.listdir(path):
        meta = mpf.parse_value_name(name)
        if meta is not None and meta.pid == pid:
            out.append(name)
    return out


def _remove_live_gauges(path: str, names: Iterable[str]) -> int:
    removed = 0
    for name in names:
        meta = mpf.parse_value_name(name)
        if meta is not None and meta.typ == "gauge" and meta.mode in mpf.LIVE_GAUGE_MODES:
            try:
                os.unlink(os.path.join(path, name))
                removed += 1
            except FileNotFoundError:
                pass
    return removed


def _compact_locked(path: str, dead_pid: Optional[str]) -> int:
    """Steps 1-4 (the caller holds the directory lock). ``dead_pid``: vouched dead by the caller."""
    if not mpf.HAVE_FLOCK:  # no way to tell a dead file from a live one: official behaviour only
        return _remove_live_gauges(path, _pid_files(path, dead_pid)) if dead_pid is not None else 0
    listing = mpf.list_dir(path)
    gen = max([listing.archive_gen] + [g for _, _, g in listing.staged]) + 1
    staged = list(listing.staged)
    changed = 0
    for name in listing.values:
        meta = mpf.parse_value_name(name)
        if meta is None:
            continue
        action = _probe(path, name, meta, meta.pid == dead_pid, gen)
        if action == "delete":
            changed += 1
        elif action == "stage":
            staged.append((mpf.staged_name(name, gen), name, gen))
            changed += 1
    if staged:
        _fold_and_commit(path, listing, staged, gen)
    for name in listing.garbage:
        _unlink(os.path.join(path, name))
    return changed


def _probe(path: str, name: str, meta: mpf.ValueFileName, vouched: bool, gen: int) -> str:
    """Stage or delete a dead process's file; return "stage", "delete" or "" (left alone)."""
    full = os.path.join(path, name)
    try:
        fd = os.open(full, os.O_RDONLY | _CLOEXEC)
    except FileNotFoundError:
        return ""
    try:
        if vouched and meta.typ == "gauge" and meta.kind in mpf.LIVE_KINDS:
            # mark_process_dead(pid) vouches for the pid: its live gauges go, as in the official
            # client, even when the lock is held (several pids can share one OS process).
            os.unlink(full)
            return "delete"
        if not mpf.flock_wait(fd, True, 0.0):
            return ""  # a running writer holds it
        st = os.fstat(fd)
        try:
            now = os.stat(full)
        except FileNotFoundError:
            return ""
        if (now.st_ino, now.st_dev) != (st.st_ino, st.st_dev):
            return ""
        ours = os.pread(fd, 8, 0)[4:8] == WRITER_MAGIC
        if meta.kind in mpf.LIVE_KINDS:
            # The official client deletes a dead pid's live gauges; never guess for others' files.
            if ours or (vouched and meta.typ == "gauge"):
                os.unlink(full)
                return "delete"
            return ""
        if not ours:
            return ""  # another writer's file: no lock protocol, so never moved
        os.rename(full, os.path.join(path, mpf.staged_name(name, gen)))
        return "stage"
    finally:
        os.close(fd)


class _Fold:
    """Folded contents: sums per type, one value per gauge mode, per-pid ``all`` gauges."""

    def __init__(self) -> None:
        self.sums: Dict[str, Dict[bytes, float]] = {t: {} for t in ("counter", "summary", "histogram")}
        self.gauges: Dict[str, Dict[bytes, Tuple[float, float]]] = {m: {} for m in _FOLD_MODES}
        self.all: Dict[str, Dict[bytes, float]] = {}

    def add(self, meta: mpf.ValueFileName, data: bytes) -> None:
        entries = list(_entries(data))  # parse fully first: a damaged file changes nothing
        if meta.kind in self.sums:
            acc = self.sums[meta.kind]
            for key, value, ts in entries:
                if ts >= 0:
                    acc[key] = acc.get(key, 0.0) + value
        elif meta.typ == "gauge" and meta.mode == "all":
            per = self.all.setdefault(meta.pid, {})
            for key, value, ts in entries:
                if ts >= 0:
                    per[key] = value
        elif meta.typ == "gauge" and meta.mode in self.gauges:
            mode = meta.mode
            gacc = self.gauges[mode]
            fold = mpf.GAUGE_FOLDS[mode]
            for key, value, ts in entries:
                if ts < 0:
                    continue
                old = gacc.get(key)
                gacc[key] = mpf.first_gauge(mode, value, ts) if old is None else fold(old, value, ts)
        # live-only kinds are never folded

    def sections(self) -> List[Tuple[str, bytes]]:
        out: List[Tuple[str, bytes]] = []
        for typ, acc in self.sums.items():
            if acc:
                out.append((f"{typ}_archive.db", _image((k, v, 0.0) for k, v in acc.items())))
        for mode, gacc in self.gauges.items():
            if gacc:
                out.append((f"gauge_{mode}_archive.db", _image((k, v, ts) for k, (v, ts) in gacc.items())))
        for pid, per in self.all.items():
            if per:
                out.append((f"gauge_all_{pid}.db", _image((k, v, 0.0) for k, v in per.items())))
        return out


def _entries(data: bytes) -> Iterable[Tuple[bytes, float, float]]:
    for key, _, value, ts in iter_records(data, read_used(data)):
        yield key, value, ts


_image = encode_file


def _fold_and_commit(path: str, listing: mpf.Listing, staged: List[Tuple[str, str, int]], gen: int) -> None:
    fold = _Fold()
    if listing.archive is not None:
        apath = os.path.join(path, listing.archive)
        try:
            with open(apath, "rb") as f:
                sections = list(mpf.decode_archive(f.read()))
            for section, blob in sections:
                meta = mpf.parse_value_name(section)
                if meta is not None:
                    fold.add(meta, blob)
        except (OSError, RuntimeError) as e:
            # Readers skip (and report) this archive too; folding without it would hide that.
            log.error("multiprocess: archive %s is unreadable (%s); compaction stopped", apath, e)
            return
    for staged_file, value_name, _ in staged:
        spath = os.path.join(path, staged_file)
        meta = mpf.parse_value_name(value_name)
        assert meta is not None
        try:
            fold.add(meta, read_file_bytes(spath))
        except FileNotFoundError:
            continue
        except (OSError, RuntimeError) as e:
            log.error("multiprocess: dead process file %s is unreadable (%s); set aside as .corrupt", spath, e)
            _rename(spath, spath + ".corrupt")
    data = mpf.encode_archive(fold.sections())
    final = os.path.join(path, mpf.archive_name(gen))
    tmp = final + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)  # the commit point
    if listing.archive is not None:
        _unlink(os.path.join(path, listing.archive))
    for staged_file, _, _ in staged:
        _unlink(os.path.join(path, staged_file))


def _unlink(p: str) -> None:
    try:
        os.unlink(p)
    except FileNotFoundError:
        pass


def _rename(src: str, dst: str) -> None:
    try:
        os.rename(src, dst)
    except FileNotFoundError:
        pass
