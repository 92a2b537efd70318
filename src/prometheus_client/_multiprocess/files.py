"""Multiprocess directory layout: file names, the directory setting, locks and the archive.

Shared by the writers (``_mp_values``), the reader (``multiprocess``) and compaction
(``_mp_compact``). The design is described in docs/multiprocess.md.

Names in the directory::

    <type>_<pid>.db             value file of one process (counter, summary, histogram,
    gauge_<mode>_<pid>.db       gauge_<mode>, and this library's info / enum files)
    staged.<gen>.<value file>   a dead process's value file, taken out of the writers' way by
                                compaction generation <gen>; counted while <gen> is greater
                                than the newest archive's generation
    archive.<gen>.db            compacted contents of dead processes (immutable once named)
    archive.<gen>.db.tmp        an archive being written (garbage if no compaction runs)
    .compaction.lock            flock: readers share it, compaction holds it exclusively

Anything else is not ours and is ignored. Everything that holds counts ends in ``.db``, so
wiping ``*.db`` between runs (as the official client's docs ask) wipes it all.
"""

import errno
import json
import os
import re
import struct
import time
import warnings
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

try:  # POSIX only; without it there is no liveness test, so nothing is ever compacted.
    import fcntl

    HAVE_FLOCK = True
except ImportError:  # pragma: no cover - Windows
    HAVE_FLOCK = False

ENV = "PROMETHEUS_MULTIPROC_DIR"
LEGACY_ENV = "prometheus_multiproc_dir"
_DEPRECATED = (
    "prometheus_multiproc_dir variable has been deprecated in favor of the upper case naming "
    "PROMETHEUS_MULTIPROC_DIR"
)

GAUGE_MODES = (
    "all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent",
)
LIVE_GAUGE_MODES = frozenset(m for m in GAUGE_MODES if m.startswith("live"))

# -- how the gauge values of several processes merge: the one rule, for the scrape, the
# legacy merge and compaction. A merged value is a pair (value, timestamp); the timestamp
# matters (and is kept) only for mostrecent, whose value is shown only when it is > 0.
GaugeFold = Callable[[Tuple[float, float], float, float], Tuple[float, float]]


def _fold_min(old: Tuple[float, float], value: float, ts: float) -> Tuple[float, float]:
    return (value, 0.0) if value < old[0] else old


def _fold_max(old: Tuple[float, float], value: float, ts: float) -> Tuple[float, float]:
    return (value, 0.0) if value > old[0] else old


def _fold_sum(old: Tuple[float, float], value: float, ts: float) -> Tuple[float, float]:
    return (old[0] + value, 0.0)


def _fold_mostrecent(old: Tuple[float, float], value: float, ts: float) -> Tuple[float, float]:
    return (value, ts) if ts > old[1] else old


GAUGE_FOLDS: Dict[str, GaugeFold] = {
    "min": _fold_min, "max": _fold_max, "sum": _fold_sum, "mostrecent": _fold_mostrecent,
}
"""Merge rule of each gauge mode that merges processes (``all``/``liveall`` keep one series
per process), by mode without its ``live`` prefix."""


def merged_gauge_mode(mode: str) -> Optional[str]:
    """The ``GAUGE_FOLDS`` key of a gauge mode, or None for ``all``/``liveall``."""
    base = mode[4:] if mode.startswith("live") else mode
    return base if base in GAUGE_FOLDS else None


def first_gauge(mode: str, value: float, ts: float) -> Tuple[float, float]:
    """The merged pair of the first value seen (``mode`` as in ``GAUGE_FOLDS``)."""
    return (value, ts if mode == "mostrecent" else 0.0)
# Kinds whose values mean something only while their process runs: deleted, never archived.
LIVE_KINDS = frozenset(["gauge_" + m for m in LIVE_GAUGE_MODES] + ["info", "enum"])

LOCK_NAME = ".compaction.lock"
_VALUE_RE = re.compile(
    r"^(?:(counter|summary|histogram|info|enum)|gauge_(" + "|".join(GAUGE_MODES) + r"))_([^/]+)\.db$"
)
_STAGED_RE = re.compile(r"^staged\.([0-9]+)\.(.+\.db)$")
_ARCHIVE_RE = re.compile(r"^archive\.([0-9]+)\.db$")
_ARCHIVE_TMP_RE = re.compile(r"^archive\.[0-9]+\.db\.tmp")

# A value whose timestamp is negative was removed (``remove()``/``clear()``) by its process.
TOMBSTONE = -1.0


class ValueFileName(NamedTuple):
    kind: str  # "counter", "gauge_max", "info", ...
    typ: str  # "counter", "gauge", "info", ...
    mode: str  # gauge mode, "" for other types
    pid: str


_NAME_CACHE: Dict[str, Optional[ValueFileName]] = {}


def parse_value_name(name: str) -> Optional[ValueFileName]:
    """Split a value file's base name; None for names this library does not write."""
    try:
        return _NAME_CACHE[name]
    except KeyError:
        pass
    parsed = _parse_value_name(name)
    if len(_NAME_CACHE) > 50_000:
        _NAME_CACHE.clear()
    _NAME_CACHE[name] = parsed
    return parsed


def _parse_value_name(name: str) -> Optional[ValueFileName]:
    m = _VALUE_RE.match(name)
    if m is None:
        return None
    typ, mode, pid = m.group(1), m.group(2), m.group(3)
    if typ:
        return ValueFileName(typ, typ, "", pid)
    return ValueFileName("gauge_" + mode, "gauge", mode, pid)


def value_file_name(kind: str, pid: str) -> str:
    return f"{kind}_{pid}.db"


def parse_staged_name(name: str) -> Optional[Tuple[str, int]]:
    """``staged.3.counter_12.db`` -> ``("counter_12.db", 3)``."""
    m = _STAGED_RE.match(name)
    if m is None or parse_value_name(m.group(2)) is None:
        return None
    return m.group(2), int(m.group(1))


def staged_name(name: str, gen: int) -> str:
    return f"staged.{gen}.{name}"


def parse_archive_name(name: str) -> Optional[int]:
    m = _ARCHIVE_RE.match(name)
    return int(m.group(1)) if m else None


def archive_name(gen: int) -> str:
    return f"archive.{gen}.db"


def is_archive_tmp(name: str) -> bool:
    return _ARCHIVE_TMP_RE.match(name) is not None


# -- the directory setting -------------------------------------------------------------------
def env_dir() -> Optional[str]:
    """``PROMETHEUS_MULTIPROC_DIR``; a lone legacy lower-case setting is copied over with a warning."""
    path = os.environ.get(ENV)
    if path is None and LEGACY_ENV in os.environ:
        path = os.environ[LEGACY_ENV]
        os.environ[ENV] = path
        warnings.warn(_DEPRECATED, DeprecationWarning, stacklevel=3)
    return path


# -- listing ---------------------------------------------------------------------------------
class Listing(NamedTuple):
    archive_gen: int  # newest archive generation (0: none)
    archive: Optional[str]  # its base name
    staged: List[Tuple[str, str, int]]  # (staged base name, value file name, gen) still counted
    values: List[str]  # value file base names, directory order
    garbage: List[str]  # older archives, folded staged files, tmp archives


def list_dir(path: str) -> Listing:
    """Classify the directory's entries (see the module docstring)."""
    archives: Dict[int, str] = {}
    staged: List[Tuple[str, str, int]] = []
    values: List[str] = []
    garbage: List[str] = []
    for name in os.listdir(path):
        if parse_value_name(name) is not None:
            values.append(name)
            continue
        gen = parse_archive_name(name)
        if gen is not None:
            archives[gen] = name
            continue
        st = parse_staged_name(name)
        if st is not None:
            staged.append((name, st[0], st[1]))
        elif is_archive_tmp(name):
            garbage.append(name)
    top = max(archives) if archives else 0
    garbage.extend(n for g, n in archives.items() if g != top)
    live_staged = sorted((s for s in staged if s[2] > top), key=lambda s: (s[2], s[0]))
    garbage.extend(s[0] for s in staged if s[2] <= top)
    return Listing(top, archives.get(top), live_staged, values, garbage)


# -- locks -----------------------------------------------------------------------------------
def flock_wait(fd: int, exclusive: bool, timeout: float) -> bool:
    """Take a flock on ``fd`` within ``timeout`` seconds (0: one try). True when taken."""
    if not HAVE_FLOCK:
        return True
    op = (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB
    deadline = time.monotonic() + timeout
    delay = 0.0005
    while True:
        try:
            fcntl.flock(fd, op)
            return True
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.01)


def open_dir_lock(path: str) -> Optional[int]:
    """An fd on the directory's lock file (created if possible); None if it can't be opened."""
    lock_path = os.path.join(path, LOCK_NAME)
    try:
        return os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o666)
    except OSError:
        try:
            return os.open(lock_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except OSError:
            return None


# -- the archive -----------------------------------------------------------------------------
# Layout: 8-byte magic, uint64 length of a JSON index, the index, zero padding to 8 bytes,
# then sections. The magic starts like an empty value file (int32 used = 8), so a reader
# that takes the archive for a value file (the official client globs ``*.db``) sees no
# entries. The index is a list of [section name, offset, length]; each section is a
# complete value-file image (header + entries, see mmap_dict) and its name is a value file
# name (``counter_archive.db``, ``gauge_all_<pid>.db``) that says how to read it.
ARCHIVE_MAGIC = struct.pack("i", 8) + b"pcA1"
_U64 = struct.Struct("<Q")


def encode_archive(sections: List[Tuple[str, bytes]]) -> bytes:
    # Offsets depend on the index length, which depends on the offsets: iterate to a fixpoint.
    index_len = 0
    while True:
        start = 16 + index_len
        start += (-start) % 8
        index: List[List[object]] = []
        pos = start
        for name, blob in sections:
            index.append([name, pos, len(blob)])
            pos += len(blob) + (-len(blob)) % 8
        encoded = json.dumps(index, separators=(",", ":")).encode("ascii")
        if len(encoded) <= index_len:
            encoded = encoded.ljust(index_len, b" ")
            break
        index_len = len(encoded)
    parts = [ARCHIVE_MAGIC, _U64.pack(len(encoded)), encoded, b"\0" * ((-(16 + len(encoded))) % 8)]
    for _, blob in sections:
        parts.append(blob)
        parts.append(b"\0" * ((-len(blob)) % 8))
    return b"".join(parts)


def decode_archive(data: bytes) -> Iterator[Tuple[str, bytes]]:
    """Yield ``(section name, value-file image)``; ``RuntimeError`` if the archive is damaged."""
    if len(data) < 16 or data[:8] != ARCHIVE_MAGIC:
        raise RuntimeError("not a multiprocess archive (bad magic)")
    (n,) = _U64.unpack_from(data, 8)
    try:
        index = json.loads(data[16 : 16 + n])
        entries = [(str(name), int(off), int(length)) for name, off, length in index]
    except (ValueError, TypeError) as e:
        raise RuntimeError(f"damaged archive index: {e}") from None
    for name, off, length in entries:
        if off < 16 + n or off + length > len(data):
            raise RuntimeError(f"archive section {name!r} lies outside the file")
        yield name, data[off : off + length]
