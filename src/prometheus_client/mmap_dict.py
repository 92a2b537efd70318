"""Memory-mapped value files of multiprocess mode (byte format: docs/multiprocess.md, the official client's layout).

A file is a header and a list of entries, all in native byte order::

    offset 0   int32   used: bytes in use, counted from the start of the file (>= 8)
    offset 4   4 bytes padding (zero; our own writers stamp ``WRITER_MAGIC`` here)
    offset 8   entries, each 8-byte aligned:
               int32 L | L bytes UTF-8 key | 1..8 spaces | float64 value | float64 timestamp

The padding after the key is ``8 - (4 + L) % 8`` bytes (never zero), so every value
sits on an 8-byte boundary and can be read or written through a ``memoryview`` cast to
doubles. Files start at 64 KiB and double when full. Writers append an entry, then
rewrite ``used``; readers never look past ``used``.
"""

import json
import mmap
import os
import struct
from typing import TYPE_CHECKING, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import BinaryIO

_INITIAL_MMAP_SIZE = 1 << 16
_HEADER_SIZE = 8

_INT = struct.Struct("i")
_TWO_DOUBLES = struct.Struct("dd")

# Stamped into the header padding by this library's writers (``_mp_values``), which also
# hold a shared ``flock`` on the file for as long as they may write to it. A file without
# the stamp came from another writer (e.g. the official client) and is only ever read.
WRITER_MAGIC = b"pcW1"

_CORRUPT = "Read beyond file size detected, file is corrupted."
_EMPTY = struct.pack("i", 8) + b"\0\0\0\0"


def mmap_key(
    metric_name: str,
    name: str,
    labelnames: Sequence[str],
    labelvalues: Sequence[str],
    help_text: str,
) -> str:
    """The key of one value in a file: a JSON list, byte-identical to the official client's."""
    labels = dict(zip(labelnames, labelvalues))
    return json.dumps([metric_name, name, labels, help_text], sort_keys=True)


def encode_entry(key: bytes, value: float = 0.0, timestamp: float = 0.0) -> bytes:
    """One complete entry (length, key, padding, value, timestamp) as bytes."""
    n = len(key)
    return _INT.pack(n) + key + b" " * (8 - (4 + n) % 8) + _TWO_DOUBLES.pack(value, timestamp)


def encode_file(entries: Iterable[Tuple[bytes, float, float]]) -> bytes:
    """A complete value file (header with ``used``, then the entries) of ``(key, value,
    timestamp)`` triples, with no free space."""
    body = b"".join([encode_entry(k, v, ts) for k, v, ts in entries])
    return _INT.pack(_HEADER_SIZE + len(body)) + b"\0\0\0\0" + body


def iter_records(data: Union[bytes, mmap.mmap], used: int) -> Iterator[Tuple[bytes, int, float, float]]:
    """Yield ``(key_bytes, value_offset, value, timestamp)`` for each entry of a file's bytes
    up to ``used``: the one reader of the entry layout.

    Raises ``RuntimeError`` when an entry runs past ``used`` (a truncated or corrupt file).
    """
    unpack_int = _INT.unpack_from
    unpack_dd = _TWO_DOUBLES.unpack_from
    pos = _HEADER_SIZE
    while pos < used:
        if pos + 4 > used:
            raise RuntimeError(_CORRUPT)
        (n,) = unpack_int(data, pos)
        start = pos + 4
        value_pos = start + n + 8 - (4 + n) % 8
        if n < 0 or value_pos + 16 > used:
            raise RuntimeError(_CORRUPT)
        value, timestamp = unpack_dd(data, value_pos)
        yield data[start : start + n], value_pos, value, timestamp
        pos = value_pos + 16


def read_used(data: bytes) -> int:
    """The ``used`` field of a file's bytes, checked against the data's length."""
    if len(data) < _HEADER_SIZE:
        raise RuntimeError(_CORRUPT)
    (used,) = _INT.unpack_from(data, 0)
    if used == 0:
        return _HEADER_SIZE
    if used < _HEADER_SIZE or used > len(data):
        raise RuntimeError(_CORRUPT)
    return int(used)


def read_file_bytes(filename: str) -> bytes:
    """The bytes of a value file up to its ``used`` mark (the tail of the file is never read)."""
    with open(filename, "rb") as f:
        head = f.read(mmap.PAGESIZE)
        if not head:  # a writer has just created it and not yet sized it: no entries yet
            return _EMPTY
        if len(head) < _HEADER_SIZE:
            raise RuntimeError(_CORRUPT)
        (used,) = _INT.unpack_from(head, 0)
        if used > len(head):
            head += f.read(used - len(head))
    return head


class MmapedDict:
    """A dict of ``key -> (value, timestamp)`` stored in a memory-mapped file.

    Not thread-safe: callers serialise access. ``read_mode=True`` maps the file read-only
    and never creates or extends it.
    """

    def __init__(self, filename: str, read_mode: bool = False) -> None:
        self._fname = filename
        self._read_mode = read_mode
        f = open(filename, "rb" if read_mode else "a+b")
        self._f: Optional[BinaryIO] = f  # None once closed
        self._positions: Dict[str, int] = {}
        self._retired_maps: List[mmap.mmap] = []
        try:
            fd = f.fileno()
            size = os.fstat(fd).st_size
            if size == 0:
                if read_mode:
                    raise RuntimeError(f"multiprocess value file {filename!r} is empty")
                f.truncate(_INITIAL_MMAP_SIZE)
                size = _INITIAL_MMAP_SIZE
            self._capacity = size
            access = mmap.ACCESS_READ if read_mode else mmap.ACCESS_WRITE
            self._m = mmap.mmap(fd, size, access=access)
            (used,) = _INT.unpack_from(self._m, 0)
            if used == 0:
                used = _HEADER_SIZE
                if not read_mode:
                    _INT.pack_into(self._m, 0, used)
            elif used < _HEADER_SIZE or used > size:
                raise RuntimeError(f"{_CORRUPT} ({filename!r}: used={used}, size={size})")
            self._used: int = used
            if not read_mode:
                for key, _, _, pos in self._read_all_values():
                    self._positions[key] = pos
        except BaseException:
            self.close()
            raise

    # -- reading ---------------------------------------------------------------------
    @staticmethod
    def read_all_values_from_file(filename: str) -> Iterator[Tuple[str, float, float, int]]:
        """Yield ``(key, value, timestamp, value_offset)`` for every entry of a file."""
        data = read_file_bytes(filename)
        return _decode_entries(data, read_used(data))

    def _read_all_values(self) -> Iterator[Tuple[str, float, float, int]]:
        return _decode_entries(self._m, self._used)

    def read_all_values(self) -> Iterator[Tuple[str, float, float]]:
        """Yield ``(key, value, timestamp)`` for every entry."""
        for key, value, timestamp, _ in self._read_all_values():
            yield key, value, timestamp

    def read_value(self, key: str) -> Tuple[float, float]:
        """``(value, timestamp)`` of ``key``; a missing key is created at ``(0.0, 0.0)``."""
        pos = self._positions.get(key)
        if pos is None:
            pos = self._init_value(key)
        value, timestamp = _TWO_DOUBLES.unpack_from(self._m, pos)
        return value, timestamp

    # -- writing ---------------------------------------------------------------------
    def write_value(self, key: str, value: float, timestamp: float) -> None:
        """Store ``(value, timestamp)`` for ``key`` (one 16-byte slice assignment)."""
        pos = self._positions.get(key)
        if pos is None:
            pos = self._init_value(key)
        self._m[pos : pos + 16] = _TWO_DOUBLES.pack(value, timestamp)

    def _init_value(self, key: str) -> int:
        """Append a zero entry for ``key``; return the offset of its value."""
        if self._read_mode:
            raise RuntimeError(f"{self._fname!r} is open read-only; cannot add {key!r}")
        entry = encode_entry(key.encode("utf-8"))
        used = self._used
        if used + len(entry) > self._capacity:
            self._grow(used + len(entry))
        self._m[used : used + len(entry)] = entry
        self._used = used + len(entry)
        _INT.pack_into(self._m, 0, self._used)
        pos = self._used - 16
        self._positions[key] = pos
        return pos

    def _grow(self, needed: int) -> None:
        capacity = self._capacity
        while capacity < needed:
            capacity *= 2
        f = self._f
        assert f is not None  # (not closed: writes need the map, gone too once closed)
        f.truncate(capacity)
        # The old mapping stays valid (same file, MAP_SHARED) for anyone still holding a view
        # of it; it is closed with the dict.
        self._retired_maps.append(self._m)
        self._m = mmap.mmap(f.fileno(), capacity, access=mmap.ACCESS_WRITE)
        self._capacity = capacity

    def close(self) -> None:
        """Unmap and close the file (idempotent)."""
        maps = self._retired_maps
        m = getattr(self, "_m", None)
        if m is not None:
            maps.append(m)
            del self._m
        while maps:
            maps.pop().close()
        f = getattr(self, "_f", None)
        if f is not None:
            f.close()
            self._f = None


# The reference module's low-level helpers, same names, signatures and results.
_pack_integer_func = _INT.pack
_pack_two_doubles_func = _TWO_DOUBLES.pack
_unpack_integer = _INT.unpack_from
_unpack_two_doubles = _TWO_DOUBLES.unpack_from


def _pack_two_doubles(data: Union[bytearray, mmap.mmap], pos: int, value: float, timestamp: float) -> None:
    """Write the value and timestamp at ``pos`` with one slice assignment (never a torn zero)."""
    data[pos : pos + 16] = _TWO_DOUBLES.pack(value, timestamp)


def _pack_integer(data: Union[bytearray, mmap.mmap], pos: int, value: int) -> None:
    data[pos : pos + 4] = _INT.pack(value)


def _read_all_values(data: Union[bytes, mmap.mmap], used: int = 0) -> Iterator[Tuple[str, float, float, int]]:
    """Yield ``(key, value, timestamp, value_offset)`` of ``data``; ``used <= 0``: read it from data."""
    if used <= 0:
        (used,) = _INT.unpack_from(data, 0)
    yield from _decode_entries(data, used)


def _decode_entries(data: Union[bytes, mmap.mmap], used: int) -> Iterator[Tuple[str, float, float, int]]:
    for key, pos, value, timestamp in iter_records(data, used):
        yield key.decode("utf-8"), value, timestamp, pos

