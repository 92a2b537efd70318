from __future__ import annotations

import random
import re
from typing import List

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from prometheus_client._formats import snappy as sn
from strategies import compressible_bytes


def _cj_compress(b: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(b))


def _cj_decompress(b: bytes) -> bytes:
    return bytes(cramjam.snappy.decompress_raw(b))


def test_vectors() -> None:
    assert sn.compress_py(b"") == b"\x00"
    assert sn.compress_literal(b"") == b"\x00"
    assert sn.compress_py(b"abc") == bytes.fromhex("0308616263")
    assert sn.compress_literal(b"abc") == bytes.fromhex("0308616263")
    assert sn.decompress_py(b"\x00") == b""
    assert sn.uncompressed_length(bytes.fromhex("feff7f")) == 2097150
    assert sn.uncompressed_length(b"\x40") == 64


@pytest.mark.parametrize("n", [0, 1, 3, 60, 61, 256, 257, 65536, 65537, 300000])
def test_literal_lengths(n: int) -> None:
    data = bytes(random.Random(n).getrandbits(8) for _ in range(n))
    for enc in (sn.compress_literal, sn.compress_py):
        c = enc(data)
        assert _cj_decompress(c) == data
        assert sn.decompress_py(c) == data


@settings(max_examples=400, deadline=None)
@given(compressible_bytes)
def test_roundtrip_and_cramjam_both_directions(data: bytes) -> None:
    c = sn.compress_py(data)
    assert sn.decompress_py(c) == data
    assert _cj_decompress(c) == data
    assert sn.decompress_py(_cj_compress(data)) == data
    assert sn.decompress(sn.compress(data)) == data


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=3000), st.sampled_from([rb"a", rb"[\x00-\x20]", rb"."]))
def test_custom_anchors(data: bytes, pat: bytes) -> None:
    c = sn.compress_py(data, re.compile(pat))
    assert _cj_decompress(c) == data


def test_compresses_repetitive_input() -> None:
    data = b'{job="node",instance="10.0.0.1:9100"} ' * 2000 + b"x" * 100000
    c = sn.compress_py(data)
    assert _cj_decompress(c) == data
    assert len(c) < len(data) // 20
    assert len(sn.compress_literal(data)) > len(data)


def test_long_run_and_far_offsets() -> None:
    rnd = random.Random(5)
    block = bytes(rnd.getrandbits(8) for _ in range(70000)) + b"\n"
    data = b"\n" + block + block  # second copy is > 65535 bytes back: 4-byte offset copies
    c = sn.compress_py(data)
    assert len(c) < 80000
    assert _cj_decompress(c) == data
    assert sn.decompress_py(c) == data


@pytest.mark.parametrize("bad", [
    b"",                      # no preamble
    b"\x80\x80\x80\x80\x80",  # preamble too long
    b"\x05\x08ab",            # truncated literal
    b"\x02\x01\x00",          # starts with a copy (offset beyond output)
    b"\x03\x00a\x01\x00",     # copy offset 0
    b"\x08\x00a\x0d\x05",     # copy offset beyond output
    b"\x03\x00a\x00b",        # decodes to 2 bytes, preamble says 3
    b"\x01\x04ab",            # literal beyond declared length
    b"\x08\x00a\x02\x01",     # truncated 2-byte-offset copy
    b"\x08\x00a\x03\x01\x00", # truncated 4-byte-offset copy
    b"\x10\xf0",              # truncated long literal length
])
def test_decompress_errors(bad: bytes) -> None:
    with pytest.raises(sn.SnappyError):
        sn.decompress_py(bad)
    with pytest.raises(sn.SnappyError):
        sn.decompress(bad)


def test_decompress_limit() -> None:
    c = sn.compress_py(b"a" * 1000)
    with pytest.raises(sn.SnappyError):
        sn.decompress_py(c, max_length=999)
    with pytest.raises(sn.SnappyError):
        sn.decompress(c, max_length=999)
    assert sn.decompress_py(c, max_length=1000) == b"a" * 1000


def test_overlapping_copy_rle() -> None:
    # literal "ab", then copy offset 2 length 10 -> "abababababab"
    c = b"\x0c\x04ab" + bytes((((10 - 4) << 2) | 1, 2))
    assert sn.decompress_py(c) == b"ab" * 6
    assert _cj_decompress(c) == b"ab" * 6


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200) | compressible_bytes.map(sn.compress_py).flatmap(
    lambda b: st.tuples(st.just(b), st.integers(0, max(0, len(b) - 1)), st.integers(0, 255)).map(
        lambda t: t[0][:t[1]] + bytes([t[2]]) + t[0][t[1] + 1:])))
def test_decompress_fuzz_only_snappy_errors(data: bytes) -> None:
    try:
        sn.decompress_py(data, max_length=1 << 20)
    except sn.SnappyError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=1, max_size=300), st.integers(1, 70000), st.integers(1, 300))
def test_copy_element_any_length_and_offset(prefix: bytes, offset: int, length: int) -> None:
    # _copy/_literal are also used by structure-aware encoders (remote write): any length >= 1
    data = (prefix * (offset // len(prefix) + 1))[:offset]
    out: List[bytes] = [sn._varint(offset + length)]
    sn._literal(out, data, 0, offset)
    sn._copy(out, offset, length)
    expected = data + (data * (length // offset + 1))[:length]
    assert _cj_decompress(b"".join(out)) == expected
    assert sn.decompress_py(b"".join(out)) == expected
