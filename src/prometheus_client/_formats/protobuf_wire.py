"""Minimal protobuf wire-format primitives, dependency-free: varints, ZigZag, tags,
length-delimited records, doubles, packed repeated fields, timestamps. Used by the
``io.prometheus.client`` codec (``_protobuf_model``) and the remote-write encoders.
"""

from __future__ import annotations

import math
import struct
from typing import Any, Iterable, Iterator, List, Sequence, Tuple, Union

from .content_types import CONTENT_TYPE_PROTOBUF

__all__ = [
    "CONTENT_TYPE_DELIMITED",
    "COUNTER", "GAUGE", "SUMMARY", "UNTYPED", "HISTOGRAM", "GAUGE_HISTOGRAM",
    "WIRE_VARINT", "WIRE_I64", "WIRE_LEN", "WIRE_I32",
    "DecodeError",
    "encode_varint", "write_varint", "decode_varint", "zigzag_encode", "zigzag_decode",
    "encode_tag", "encode_len_delimited", "encode_double", "decode_double",
    "encode_packed_varints", "encode_packed_sint", "encode_packed_doubles",
    "decode_packed_varints", "decode_packed_doubles", "iter_fields",
    "encode_timestamp", "timestamp_parts",
]

CONTENT_TYPE_DELIMITED = CONTENT_TYPE_PROTOBUF

# io.prometheus.client.MetricType
COUNTER = 0
GAUGE = 1
SUMMARY = 2
UNTYPED = 3
HISTOGRAM = 4
GAUGE_HISTOGRAM = 5

WIRE_VARINT = 0
WIRE_I64 = 1
WIRE_LEN = 2
WIRE_I32 = 5

_U64 = (1 << 64) - 1
_DOUBLE = struct.Struct("<d")
_pack_double = _DOUBLE.pack
_unpack_double_from = _DOUBLE.unpack_from
_TAG_DOUBLE = struct.Struct("<Bd").pack  # one-byte tag + double
_SMALL: List[bytes] = [bytes((i,)) for i in range(128)]


class DecodeError(ValueError):
    """Malformed protobuf input."""


# ---------------------------------------------------------------------------
# Primitives
# ---------------------------------------------------------------------------

def encode_varint(n: int) -> bytes:
    """Unsigned varint; negative ints are written as 64-bit two's complement (10 bytes)."""
    if 0 <= n < 0x80:
        return _SMALL[n]
    if 0 < n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if n < 0:
        if n < -(1 << 63):
            raise ValueError(f"{n} is out of the int64 range of a protobuf varint")
        n &= _U64
    elif n >> 64:
        raise ValueError(f"{n} is out of the uint64 range of a protobuf varint")
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


_varint = encode_varint


def write_varint(buf: bytearray, n: int) -> None:
    """Append the varint of ``n`` to ``buf``."""
    if 0 <= n < 0x80:
        buf.append(n)
        return
    if n < 0:
        if n < -(1 << 63):
            raise ValueError(f"{n} is out of the int64 range of a protobuf varint")
        n &= _U64
    elif n >> 64:
        raise ValueError(f"{n} is out of the uint64 range of a protobuf varint")
    while n > 0x7F:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def decode_varint(data: bytes, pos: int = 0) -> Tuple[int, int]:
    """Return ``(value, new_pos)``; the value is an unsigned 64-bit int."""
    try:
        b = data[pos]
        if b < 0x80:
            return b, pos + 1
        result = b & 0x7F
        shift = 7
        pos += 1
        while True:
            b = data[pos]
            pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
            if shift >= 70:
                raise DecodeError("varint too long")
    except IndexError:
        raise DecodeError("truncated varint") from None
    return result & _U64, pos


def zigzag_encode(n: int) -> int:
    """ZigZag-map a signed int (sint32/sint64): 0→0, -1→1, 1→2, -2→3."""
    return (n << 1) if n >= 0 else ((-n) << 1) - 1


def zigzag_decode(n: int) -> int:
    return (n >> 1) ^ -(n & 1)


def to_int64(n: int) -> int:
    """Interpret an unsigned 64-bit varint value as int64."""
    return n - (1 << 64) if n >= (1 << 63) else n


def to_int32(n: int) -> int:
    n &= 0xFFFFFFFF
    return n - (1 << 32) if n >= (1 << 31) else n


def encode_tag(field: int, wire_type: int) -> bytes:
    return encode_varint((field << 3) | wire_type)


def encode_len_delimited(tag: bytes, payload: bytes) -> bytes:
    """``tag ‖ varint(len) ‖ payload``."""
    n = len(payload)
    if n < 0x80:
        return tag + _SMALL[n] + payload
    return tag + encode_varint(n) + payload


_ld = encode_len_delimited


def encode_double(tag: bytes, value: float) -> bytes:
    return tag + _pack_double(value)


def decode_double(data: bytes, pos: int = 0) -> float:
    try:
        return float(_unpack_double_from(data, pos)[0])
    except struct.error:
        raise DecodeError("truncated double") from None


def encode_packed_varints(values: Iterable[int]) -> bytes:
    buf = bytearray()
    for v in values:
        write_varint(buf, v)
    return bytes(buf)


def encode_packed_sint(values: Iterable[int]) -> bytes:
    buf = bytearray()
    for v in values:
        write_varint(buf, (v << 1) if v >= 0 else ((-v) << 1) - 1)
    return bytes(buf)


def encode_packed_doubles(values: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(values)}d", *values)


def decode_packed_varints(data: bytes) -> List[int]:
    out: List[int] = []
    pos = 0
    end = len(data)
    while pos < end:
        v, pos = decode_varint(data, pos)
        out.append(v)
    return out


def decode_packed_doubles(data: bytes) -> List[float]:
    if len(data) % 8:
        raise DecodeError("packed doubles length is not a multiple of 8")
    return list(struct.unpack(f"<{len(data) // 8}d", data))


FieldValue = Union[int, bytes]


def iter_fields(data: bytes) -> Iterator[Tuple[int, int, FieldValue]]:
    """Yield ``(field_number, wire_type, value)`` for each record of a message.

    VARINT values are unsigned ints; I64/I32 values are their raw 8/4 bytes; LEN values
    are the payload bytes.  Groups (wire types 3/4) are rejected.
    """
    pos = 0
    end = len(data)
    while pos < end:
        key, pos = decode_varint(data, pos)
        field = key >> 3
        wt = key & 7
        if field == 0:
            raise DecodeError("field number 0")
        if wt == 0:
            v, pos = decode_varint(data, pos)
            yield field, wt, v
        elif wt == 2:
            n, pos = decode_varint(data, pos)
            stop = pos + n
            if stop > end:
                raise DecodeError("truncated length-delimited field")
            yield field, wt, data[pos:stop]
            pos = stop
        elif wt == 1:
            stop = pos + 8
            if stop > end:
                raise DecodeError("truncated fixed64 field")
            yield field, wt, data[pos:stop]
            pos = stop
        elif wt == 5:
            stop = pos + 4
            if stop > end:
                raise DecodeError("truncated fixed32 field")
            yield field, wt, data[pos:stop]
            pos = stop
        else:
            raise DecodeError(f"unsupported wire type {wt}")


# ---------------------------------------------------------------------------
# Timestamps
# ---------------------------------------------------------------------------

TimestampLike = Any  # float seconds, or an object with int ``sec``/``nsec`` attributes


def timestamp_parts(ts: TimestampLike) -> Tuple[int, int]:
    """Split a timestamp into ``(seconds, nanos)`` with ``0 <= nanos < 1e9``.

    Accepts float/int seconds since the epoch or an object with ``sec`` and ``nsec``
    attributes (``prometheus_client.samples.Timestamp``, whose nsec carries the sign of sec).
    """
    sec_attr = getattr(ts, "sec", None)
    if sec_attr is not None:
        total = int(sec_attr) * 1_000_000_000 + int(ts.nsec)
        s, n = divmod(total, 1_000_000_000)
        return s, n
    f = float(ts)
    if not math.isfinite(f):
        raise ValueError(f"timestamp must be finite, got {ts!r}")
    s = math.floor(f)
    n = int(round((f - s) * 1e9))
    if n >= 1_000_000_000:
        s += 1
        n -= 1_000_000_000
    return int(s), n


def encode_timestamp(ts: TimestampLike) -> bytes:
    """Encode a ``google.protobuf.Timestamp`` message body."""
    s, n = timestamp_parts(ts)
    out = bytearray()
    if s:
        out.append(0x08)
        write_varint(out, s)
    if n:
        out.append(0x10)
        write_varint(out, n)
    return bytes(out)


def _decode_timestamp(data: bytes) -> float:
    s = 0
    n = 0
    for f, wt, v in iter_fields(data):
        if wt != 0:
            continue
        assert isinstance(v, int)
        if f == 1:
            s = to_int64(v)
        elif f == 2:
            n = to_int32(v)
    return s + n / 1e9


# ---------------------------------------------------------------------------
# io.prometheus.client message model (plain values)
# ---------------------------------------------------------------------------

