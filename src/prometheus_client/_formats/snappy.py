"""Snappy *block* format (google/snappy ``format_description.txt``), dependency-free.

Remote write bodies are snappy block-compressed (not the framed ``sNaPpY`` stream).

* :func:`compress` / :func:`decompress` use ``cramjam`` when it is installed (optional extra
  ``prometheus-client[snappy]``), else the pure-Python codec below.
* :func:`compress_py` is a pure-Python compressor that is fast because it never loops over
  bytes in Python: match candidates are only looked for at *content-defined anchors* (positions
  of a few byte values, found with ``re`` at C speed; for protobuf these are the field tags
  that start label/sample records), keyed by the following ``_KEY`` bytes in a dict, and
  matches are extended with galloping slice comparisons (``memcmp``).  On protobuf remote-write
  payloads this finds most of the repetition (label names and values) at a fraction of the
  cost of a byte-by-byte matcher.  Data without anchors is emitted as literals (still valid).
"""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING, List, Optional

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from types import ModuleType

__all__ = [
    "SnappyError", "compress", "decompress", "compress_py", "decompress_py", "compress_literal",
    "uncompressed_length", "HAVE_CRAMJAM",
]

try:  # pragma: no cover - depends on the environment
    import cramjam as _cramjam

    _cramjam_snappy: Optional[ModuleType] = _cramjam.snappy
    HAVE_CRAMJAM = True
except Exception:  # pragma: no cover
    _cramjam_snappy = None
    HAVE_CRAMJAM = False


class SnappyError(ValueError):
    """Corrupt or truncated snappy block data."""


_MAX_LEN = 0xFFFFFFFF
_KEY = 6  # bytes hashed at each anchor (minimum match length found)
# Anchors: protobuf LEN tags of fields 1..4 (0a 12 1a 22), LF, space, '"', ',' and '{'.
_DEFAULT_ANCHORS = re.compile(rb"[\x0a\x12\x1a\x22\x20\x2c\x7b]")
# Runs of one byte, looked for only inside long literal stretches.
_RUNS = re.compile(rb"(.)\1{15,}", re.DOTALL)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_LIT_HEAD = [bytes((m << 2,)) for m in range(60)]  # literal tags for lengths 1..60
_pack_copy1 = struct.Struct("<BB").pack
_pack_copy2 = struct.Struct("<BH").pack
_pack_copy4 = struct.Struct("<BI").pack


def _literal(out: List[bytes], data: bytes, start: int, end: int) -> None:
    """Append literal elements for ``data[start:end]`` (chunks of at most 65536 bytes)."""
    n = end - start
    if 0 < n <= 60:
        out.append(_LIT_HEAD[n - 1])
        out.append(data[start:end])
        return
    while start < end:
        n = end - start
        if n > 65536:
            n = 65536
        m = n - 1
        if m < 60:
            out.append(_LIT_HEAD[m])
        elif m < 0x100:
            out.append(bytes((0xF0, m)))
        else:
            out.append(bytes((0xF4, m & 0xFF, m >> 8)))
        out.append(data[start:start + n])
        start += n


def _copy(out: List[bytes], offset: int, length: int) -> None:
    """Append copy elements (``offset`` >= 1, ``length`` >= 1)."""
    if offset < 65536:
        if length <= 64:
            if 4 <= length < 12 and offset < 2048:
                out.append(_pack_copy1(((offset >> 8) << 5) | ((length - 4) << 2) | 1, offset & 0xFF))
            else:
                out.append(_pack_copy2(((length - 1) << 2) | 2, offset))
            return
        while length >= 68:
            out.append(_pack_copy2(0xFE, offset))  # len 64
            length -= 64
        if length > 64:
            out.append(_pack_copy2(0xEE, offset))  # len 60
            length -= 60
        if 4 <= length < 12 and offset < 2048:
            out.append(_pack_copy1(((offset >> 8) << 5) | ((length - 4) << 2) | 1, offset & 0xFF))
        else:
            out.append(_pack_copy2(((length - 1) << 2) | 2, offset))
    else:
        while length > 0:
            n = 64 if length > 64 else length
            out.append(_pack_copy4(((n - 1) << 2) | 3, offset))
            length -= n


def compress_literal(data: bytes) -> bytes:
    """Valid snappy block holding only literals (no compression, very fast)."""
    data = bytes(data)
    if len(data) > _MAX_LEN:
        raise ValueError("snappy input larger than 4 GiB - 1")
    out = [_varint(len(data))]
    _literal(out, data, 0, len(data))
    return b"".join(out)


def compress_py(data: bytes, anchors: Optional[re.Pattern[bytes]] = None) -> bytes:
    """Pure-Python snappy block compressor (anchor-keyed greedy matcher, see module doc)."""
    data = bytes(data)
    n = len(data)
    if n > _MAX_LEN:
        raise ValueError("snappy input larger than 4 GiB - 1")
    out: List[bytes] = [_varint(n)]
    pat = anchors if anchors is not None else _DEFAULT_ANCHORS
    table: dict[bytes, int] = {}
    get = table.get
    lit = 0  # start of pending literal
    limit = n - _KEY
    key_len = _KEY
    from_bytes = int.from_bytes
    append = out.append
    lit_head = _LIT_HEAD
    pack1 = _pack_copy1
    pack2 = _pack_copy2
    for mo in pat.finditer(data):
        p = mo.start()
        if p < lit:
            continue
        if p > limit:
            break
        key = data[p:p + key_len]
        q = get(key)
        table[key] = p
        if q is None:
            continue
        # extend forward: compare 32-byte windows as ints, the lowest differing bit gives
        # the first mismatching byte
        m = key_len
        while True:
            e = p + m + 32
            if e > n:
                e = n
            x = from_bytes(data[q + m:q + m + e - p - m], "little") ^ from_bytes(data[p + m:e], "little")
            if x:
                m += ((x & -x).bit_length() - 1) >> 3
                break
            m = e - p
            if e == n:
                break
        # extend backward into the pending literal, same trick with big-endian ints
        b = 0
        maxb = p - lit
        if maxb > q:
            maxb = q
        while b < maxb:
            w = maxb - b
            if w > 16:
                w = 16
            x = from_bytes(data[q - b - w:q - b], "big") ^ from_bytes(data[p - b - w:p - b], "big")
            if x:
                b += ((x & -x).bit_length() - 1) >> 3
                break
            b += w
        p -= b
        m += b
        k = p - lit
        if k:
            if k <= 32:  # short literal, inlined (no run scan below 32 bytes anyway)
                append(lit_head[k - 1])
                append(data[lit:p])
            else:
                _literal_runs(out, data, lit, p)
        off = p - (q - b)
        if m <= 64 and off < 65536:
            if m < 12 and off < 2048:
                append(pack1(((off >> 8) << 5) | ((m - 4) << 2) | 1, off & 0xFF))
            else:
                append(pack2(((m - 1) << 2) | 2, off))
        else:
            _copy(out, off, m)
        lit = p + m
    if lit < n:
        _literal_runs(out, data, lit, n)
    return b"".join(out)


def _literal_runs(out: List[bytes], data: bytes, start: int, end: int) -> None:
    """Like :func:`_literal`, but long runs of one byte become self-overlapping copies."""
    if end - start >= 32:
        for mo in _RUNS.finditer(data, start, end):
            p = mo.start()
            _literal(out, data, start, p + 1)
            _copy(out, 1, mo.end() - p - 1)
            start = mo.end()
    _literal(out, data, start, end)


def uncompressed_length(data: bytes) -> int:
    """Read the preamble of a snappy block."""
    result = shift = 0
    for i in range(min(len(data), 5)):
        b = data[i]
        result |= (b & 0x7F) << shift
        if b < 0x80:
            if result > _MAX_LEN:
                break
            return result
        shift += 7
    raise SnappyError("invalid snappy length preamble")


def decompress_py(data: bytes, max_length: int = _MAX_LEN) -> bytes:
    """Pure-Python snappy block decompressor.  Raises :class:`SnappyError` on bad input."""
    data = bytes(data)
    total = uncompressed_length(data)
    if total > max_length:
        raise SnappyError(f"snappy block declares {total} bytes, more than the limit {max_length}")
    pos = 1
    while data[pos - 1] & 0x80:
        pos += 1
    n = len(data)
    out = bytearray()
    olen = 0
    try:
        while pos < n:
            tag = data[pos]
            kind = tag & 3
            if kind == 0:
                m = tag >> 2
                if m < 60:
                    pos += 1
                else:
                    k = m - 59
                    m = int.from_bytes(data[pos + 1:pos + 1 + k], "little")
                    if pos + 1 + k > n:
                        raise SnappyError("truncated literal length")
                    pos += 1 + k
                m += 1
                if pos + m > n:
                    raise SnappyError("truncated literal")
                out += data[pos:pos + m]
                pos += m
                olen += m
                if olen > total:
                    raise SnappyError("output exceeds declared length")
                continue
            if kind == 1:
                length = ((tag >> 2) & 7) + 4
                offset = ((tag >> 5) << 8) | data[pos + 1]
                pos += 2
            elif kind == 2:
                length = (tag >> 2) + 1
                if pos + 3 > n:
                    raise SnappyError("truncated copy")
                offset = data[pos + 1] | (data[pos + 2] << 8)
                pos += 3
            else:
                length = (tag >> 2) + 1
                if pos + 5 > n:
                    raise SnappyError("truncated copy")
                offset = int.from_bytes(data[pos + 1:pos + 5], "little")
                pos += 5
            if offset == 0 or offset > olen:
                raise SnappyError("invalid copy offset")
            if olen + length > total:
                raise SnappyError("output exceeds declared length")
            start = olen - offset
            if offset >= length:
                out += out[start:start + length]
            else:
                chunk = out[start:]
                out += (chunk * (length // offset + 1))[:length]
            olen += length
    except IndexError:
        raise SnappyError("truncated snappy block") from None
    if olen != total:
        raise SnappyError(f"snappy block decoded to {olen} bytes, preamble says {total}")
    return bytes(out)


def compress(data: bytes) -> bytes:
    """Snappy block-compress ``data`` (cramjam if installed, else :func:`compress_py`)."""
    if _cramjam_snappy is not None:
        return bytes(_cramjam_snappy.compress_raw(bytes(data)))
    return compress_py(data)


def decompress(data: bytes, max_length: int = _MAX_LEN) -> bytes:
    """Decompress a snappy block (cramjam if installed, else :func:`decompress_py`)."""
    if _cramjam_snappy is not None:
        if uncompressed_length(data) > max_length:
            raise SnappyError(f"snappy block declares more than the limit {max_length} bytes")
        try:
            return bytes(_cramjam_snappy.decompress_raw(bytes(data)))
        except Exception as e:
            raise SnappyError(str(e)) from None
    return decompress_py(data, max_length)
