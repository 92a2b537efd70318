"""The compiled-accelerator prototype (benchmarks/accel_prototype, not part of the library)
counts exactly: the same buckets and sums as the pure-Python Histogram for the same values,
no increment lost from several threads, failed calls change nothing, and numbers written into
an mmap'd file land at the given double slot (the multiprocess value contract).
Its speed is measured by benchmarks/accel_prototype/measure.py, not here."""

from __future__ import annotations

import importlib.util
import math
import mmap
import struct
import sys
from array import array
from pathlib import Path
from types import ModuleType
from typing import Any, List

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.threads import hammer

from prometheus_client import CollectorRegistry, Histogram

PROTO_DIR = Path(__file__).resolve().parent.parent / "benchmarks" / "accel_prototype"


@pytest.fixture(scope="module")
def accel(tmp_path_factory: pytest.TempPathFactory) -> ModuleType:
    sys.path.insert(0, str(PROTO_DIR))
    try:
        from build import build  # the prototype's own build script
    finally:
        sys.path.remove(str(PROTO_DIR))
    out = Path(build(str(tmp_path_factory.mktemp("accel"))))
    (path,) = out.glob("_pc_accel_proto*")
    spec = importlib.util.spec_from_file_location("_pc_accel_proto", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


finite_or_special = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.sampled_from([0.0, -0.0, 0.005, 0.01, 0.25, 10.0, math.inf, -math.inf]),
    st.integers(min_value=-(10**6), max_value=10**6),
)


@given(values=st.lists(finite_or_special, max_size=60))
def test_histogram_observe_matches_pure_python(accel: Any, values: List[float]) -> None:
    buckets = (-1.0, 0.0, 0.005, 0.25, 10.0)
    pure = Histogram("acc_h", "h", registry=CollectorRegistry(), buckets=buckets)
    fast = accel.Histogram(pure._upper_bounds, _storage(pure))
    for v in values:
        pure.observe(v)
        fast.observe(v)
    expected, got = pure._bucket_counts(), fast.snapshot()
    assert expected[0] == got[0]
    assert expected[1] == got[1] or (math.isnan(expected[1]) and math.isnan(got[1]))


def _storage(h: Histogram) -> Any:
    """Where the prototype writes: a buffer of doubles shaped like ``h`` (one per bucket, then
    the sum). Not the histogram's own storage: in-process that is a list of floats."""
    return array("d", bytes(8 * (len(h._upper_bounds) + 1)))


def test_counter_counts_exactly_and_failed_calls_change_nothing(accel: Any) -> None:
    c = accel.Counter()
    c.inc()
    c.inc(2)
    c.inc(0.5)
    c.inc(True)
    for bad, error in [(-1, ValueError), ("3", TypeError), (None, TypeError), (10**400, OverflowError)]:
        with pytest.raises(error):
            c.inc(bad)
    assert c.get() == 4.5
    per_thread = 20000
    hammer(4, lambda: [c.inc() for _ in range(per_thread)])
    assert c.get() == 4.5 + 4 * per_thread


def test_timer_observes_every_block_from_threads(accel: Any) -> None:
    h = Histogram("acc_t", "h", registry=CollectorRegistry())
    storage = _storage(h)
    fast = accel.Histogram(h._upper_bounds, storage)
    t = fast.time()
    assert t.duration is None
    with t as same:
        assert same is t
    assert t.duration is not None and t.duration >= 0
    per_thread = 5000

    def work() -> None:
        for _ in range(per_thread):
            with fast.time():
                pass

    hammer(4, work)
    counts, total = fast.snapshot()
    assert sum(counts) == 1 + 4 * per_thread
    assert total >= 0
    assert storage.tolist()[:-1] == counts  # observed into the given storage


def test_exception_counter_counts_matching_exceptions_only(accel: Any) -> None:
    c = accel.Counter()
    with c.count_exceptions() as entered:
        assert entered is None
    for spec, exc, counted in [
        ((), None, 0), ((KeyError,), KeyError, 1), ((KeyError,), ValueError, 0),
        (((KeyError, ValueError),), ValueError, 1), ((), KeyboardInterrupt, 0),
    ]:
        before = c.get()
        with pytest.raises(BaseException) if exc else _nothing():
            with c.count_exceptions(*spec):
                if exc:
                    raise exc
        assert c.get() == before + counted
    # Like isinstance(None, spec) in the pure-Python ExceptionCounter: odd specs behave the same.
    with c.count_exceptions(object):
        pass
    assert c.get() == 3
    with pytest.raises(TypeError):
        with c.count_exceptions("not a type"):
            pass
    assert c.get() == 3
    shared = c.count_exceptions(KeyError)

    def work() -> None:
        for i in range(3000):
            try:
                with shared:
                    if i % 2:
                        raise KeyError(i)
            except KeyError:
                pass

    hammer(4, work)
    assert c.get() == 3 + 4 * 1500


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_values_land_in_an_mmapped_file_at_their_slot(accel: Any, tmp_path: Path) -> None:
    """The multiprocess value contract: an accelerated update writes the same 8 bytes the
    pure-Python mmap writer would, at the value's offset, readable by another process."""
    path = tmp_path / "values.db"
    path.write_bytes(bytes(8 * 32))
    with open(path, "r+b") as f:
        mm = mmap.mmap(f.fileno(), 0)
        c = accel.Counter(mm, 3)
        c.inc(2.5)
        c.inc()
        h = accel.Histogram((0.1, 1.0, math.inf), mm, 10)  # 3 buckets then the sum: slots 10..13
        for v in (0.05, 0.5, 7.0, 0.1):
            h.observe(v)
        mm.flush()
        del c, h  # release the buffer exports before closing the map
        mm.close()
    slots = struct.unpack("<32d", path.read_bytes())
    assert slots[3] == 3.5
    assert slots[10:14] == (2.0, 1.0, 1.0, 0.0 + 0.05 + 0.5 + 7.0 + 0.1)  # summed in observation order
    with pytest.raises(ValueError):
        accel.Counter(array("d", [0.0]), 1)  # past the end of the storage
