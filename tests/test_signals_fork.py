"""Signal handlers and fork on every supported Python (issue #12, rows 5 and 6).

Each scenario runs in a child interpreter with a timeout, so a deadlock fails the test
instead of hanging it; the totals are asserted exactly. ``locked`` forces the locked value
class, the path of 3.9 and of interpreters not proven exact without a lock, on whatever
interpreter runs the suite (CI runs it on 3.9 and 3.13).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from prometheus_client import values

CHILD = Path(__file__).with_name("_signal_fork_child.py")
SRC = str(Path(__file__).resolve().parents[1] / "src")


def _run(case: str, mode: str) -> dict:
    env = dict(os.environ, PYTHONPATH=SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", str(CHILD), case, mode],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.mark.parametrize("mode", ["default", "locked", "multiprocess"])
def test_updates_from_signal_handler_lose_nothing(mode: str) -> None:
    r = _run("signal", mode)
    calls = r["loops"] + r["fired"]  # main-loop iterations + handler runs
    assert r["fired"] >= 2000
    if mode == "locked":
        assert r["value_class"] == "_LockedValue"
    assert r["counter"] == calls
    assert r["gauge"] == r["loops"] - r["fired"]  # main +1 each; handler +1 then -2
    assert r["hist_count"] == calls
    assert r["hist_inf"] == calls
    assert r["summary_count"] == calls


@pytest.mark.parametrize("mode", ["default", "locked"])
def test_fork_while_threads_update_never_blocks_child(mode: str) -> None:
    r = _run("fork", mode)
    assert r["children"] == [0] * 20  # every child updated and scraped, none hung


def test_lock_free_path_only_on_verified_versions() -> None:
    ok = values._lock_free_ok
    assert values.LOCK_FREE_VERSIONS == ((3, 10), (3, 13))
    for minor in (10, 11, 12, 13):
        assert ok("cpython", (3, minor, 0), True)
    assert not ok("cpython", (3, 9, 18), True)
    assert not ok("cpython", (3, 14, 0), True)
    assert not ok("cpython", (3, 13, 1), False)  # free-threaded
    assert not ok("pypy", (3, 10, 0), True)
    here = ok(sys.implementation.name, sys.version_info, getattr(sys, "_is_gil_enabled", lambda: True)())
    assert values._GIL_ATOMIC_ADD is here
    assert (values.MutexValue is values._AtomicValue) is here


def test_locked_value_defers_reentrant_updates_in_order() -> None:
    v = values._LockedValue()
    v._busy = True  # as if a signal handler interrupted this thread inside an update
    v.inc(2.0)
    v.set(10.0)
    v.inc(1.0)
    assert v._pending and v.get() == 0.0
    v._busy = False
    v.inc(5.0)  # the outer update settles what the handler deferred, in order
    assert v.get() == 11.0 and not v._pending and not v._busy


def test_locked_value_recovers_after_a_failed_update() -> None:
    v = values._LockedValue()
    with pytest.raises(OverflowError):
        v.inc(10**400)  # type: ignore[arg-type]
    assert not v._busy
    v.inc(1.0)
    assert v.get() == 1.0 and not v._pending
