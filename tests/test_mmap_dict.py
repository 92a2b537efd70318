"""mmap_dict: the official value-file format, byte-compatible with the official client."""

from __future__ import annotations

import json
import mmap
import os
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import mmap_dict
from prometheus_client.mmap_dict import _INITIAL_MMAP_SIZE, MmapedDict, mmap_key

keys = st.text(min_size=0, max_size=40)
floats = st.floats(allow_nan=False)


def test_initial_size_and_header(tmp_path: Path) -> None:
    p = tmp_path / "counter_1.db"
    d = MmapedDict(str(p))
    assert _INITIAL_MMAP_SIZE == 65536
    assert p.stat().st_size == 65536
    d.write_value("k", 2.0, 3.0)
    d.close()
    raw = p.read_bytes()
    # used = 8 header + 4 length + 1 key + 3 padding + 16 values
    assert struct.unpack_from("i", raw, 0)[0] == 32
    assert raw[4:8] == b"\0\0\0\0"
    assert raw[8:16] == struct.pack("i", 1) + b"k   "
    assert struct.unpack_from("dd", raw, 16) == (2.0, 3.0)


@pytest.mark.parametrize("n", range(0, 12))
def test_padding_is_one_to_eight_bytes(tmp_path: Path, n: int) -> None:
    p = tmp_path / "x.db"
    d = MmapedDict(str(p))
    key = "a" * n
    d.write_value(key, 1.5, 0.0)
    d.close()
    raw = p.read_bytes()
    pad = 8 - (4 + n) % 8
    assert 1 <= pad <= 8
    assert raw[12 + n : 12 + n + pad] == b" " * pad
    assert struct.unpack_from("d", raw, 12 + n + pad)[0] == 1.5
    assert (12 + n + pad) % 8 == 0


def test_mmap_key_is_the_official_json() -> None:
    key = mmap_key("c", "c_total", ["b", "a"], ["x", "é"], 'He said "hi"')
    assert key == '["c", "c_total", {"a": "\\u00e9", "b": "x"}, "He said \\"hi\\""]'
    assert json.loads(key) == ["c", "c_total", {"a": "é", "b": "x"}, 'He said "hi"']


def test_read_value_creates_zero_entry_and_values_persist(tmp_path: Path) -> None:
    p = str(tmp_path / "x.db")
    d = MmapedDict(p)
    assert d.read_value("a") == (0.0, 0.0)
    d.write_value("b", 7.0, 1.0)
    d.write_value("a", 3.0, 0.0)
    d.close()
    d.close()  # idempotent
    d = MmapedDict(p)
    assert d.read_value("a") == (3.0, 0.0)
    assert d.read_value("b") == (7.0, 1.0)
    assert [k for k, _, _ in d.read_all_values()] == ["a", "b"]
    d.close()


def test_growth_doubles_capacity_and_keeps_everything(tmp_path: Path) -> None:
    p = str(tmp_path / "x.db")
    d = MmapedDict(p)
    for i in range(3000):
        d.write_value(f"key-{i:05d}-" + "x" * 20, float(i), 0.0)
    assert d._capacity in (65536 * 2, 65536 * 4, 65536 * 8)
    assert os.path.getsize(p) == d._capacity
    d.close()
    values = {k: v for k, v, _, _ in MmapedDict.read_all_values_from_file(p)}
    assert len(values) == 3000
    assert values["key-02999-" + "x" * 20] == 2999.0


def test_read_all_values_from_file_yields_offsets(tmp_path: Path) -> None:
    p = str(tmp_path / "x.db")
    d = MmapedDict(p)
    d.write_value("k1", 1.0, 0.0)
    d.write_value("k2", 2.0, 5.0)
    d.close()
    got = list(MmapedDict.read_all_values_from_file(p))
    assert [(k, v, t) for k, v, t, _ in got] == [("k1", 1.0, 0.0), ("k2", 2.0, 5.0)]
    raw = Path(p).read_bytes()
    for _, v, t, pos in got:
        assert struct.unpack_from("dd", raw, pos) == (v, t)


def test_read_mode_does_not_create_or_extend(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    d = MmapedDict(str(p))
    d.write_value("k", 1.0, 0.0)
    d.close()
    r = MmapedDict(str(p), read_mode=True)
    assert list(r.read_all_values()) == [("k", 1.0, 0.0)]
    with pytest.raises(RuntimeError):
        r.read_value("new")
    r.close()
    with pytest.raises(FileNotFoundError):
        MmapedDict(str(tmp_path / "missing.db"), read_mode=True)


def test_corrupt_used_field_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    d = MmapedDict(str(p))
    d.write_value("key", 1.0, 0.0)
    d.close()
    raw = bytearray(p.read_bytes())
    struct.pack_into("i", raw, 8, 500)  # the entry's key length now runs past `used`
    p.write_bytes(bytes(raw))
    with pytest.raises(RuntimeError, match="Read beyond file size detected"):
        list(MmapedDict.read_all_values_from_file(str(p)))


def test_truncated_file_is_detected(tmp_path: Path) -> None:
    p = tmp_path / "x.db"
    d = MmapedDict(str(p))
    for i in range(10):
        d.write_value(f"k{i}", 1.0, 0.0)
    d.close()
    raw = p.read_bytes()
    used = struct.unpack_from("i", raw, 0)[0]
    p.write_bytes(raw[: used - 20])
    with pytest.raises(RuntimeError):
        list(MmapedDict.read_all_values_from_file(str(p)))
    p.write_bytes(b"\x01")
    with pytest.raises(RuntimeError):
        list(MmapedDict.read_all_values_from_file(str(p)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(keys, floats, floats), max_size=40))
def test_roundtrip_model(tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[str, float, float]]) -> None:
    p = str(tmp_path_factory.mktemp("rt") / "x.db")
    model: dict[str, tuple[float, float]] = {}
    d = MmapedDict(p)
    for k, v, t in ops:
        d.write_value(k, v, t)
        model[k] = (v, t)
    for k, vt in model.items():
        assert d.read_value(k) == vt
    d.close()
    got = {k: (v, t) for k, v, t, _ in MmapedDict.read_all_values_from_file(p)}
    assert got == model
    d = MmapedDict(p)  # re-open indexes the existing entries
    assert d._positions.keys() == model.keys()
    d.close()


def test_official_client_writes_identical_bytes(tmp_path: Path, run_official) -> None:  # type: ignore[no-untyped-def]
    ops = [("a", 1.0, 0.0), ("é-key", 2.5, 3.0), ("a", 4.0, 0.0), ("x" * 300, -1.0, 7.0)]
    ops += [(f"grow-{i}-" + "y" * 50, float(i), 0.0) for i in range(1500)]
    ours = tmp_path / "ours.db"
    theirs = tmp_path / "theirs.db"
    d = MmapedDict(str(ours))
    for k, v, t in ops:
        d.write_value(k, v, t)
    d.close()
    code = (
        "import json, sys\n"
        "from prometheus_client.mmap_dict import MmapedDict\n"
        "ops = json.loads(sys.stdin.read())\n"
        f"d = MmapedDict({str(theirs)!r})\n"
        "for k, v, t in ops:\n"
        "    d.write_value(k, v, t)\n"
        "d.close()\n"
        f"print(json.dumps([[k, v, t, p] for k, v, t, p in MmapedDict.read_all_values_from_file({str(ours)!r})]))\n"
    )
    out = run_official(code, stdin=json.dumps(ops).encode())
    assert ours.read_bytes() == theirs.read_bytes()
    # ... and the official reader decodes ours exactly as we do.
    assert [tuple(x) for x in json.loads(out)] == list(MmapedDict.read_all_values_from_file(str(ours)))


def test_module_surface() -> None:
    assert mmap_dict._INITIAL_MMAP_SIZE == 1 << 16
    assert callable(MmapedDict.read_all_values_from_file)
    assert mmap.PAGESIZE > 0
