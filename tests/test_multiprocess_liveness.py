"""Multiprocess liveness: closing files is not dying.

Two value classes in one OS process with pids 123 and 456 write the same live gauge; after
``values.close_all_multiprocess_files()`` and ``mark_process_dead(123)``, pid 456's sample must
still be scraped (its writer, this process, runs on). Checked for every live mode, against
the official client in the side venv (same script, compared output).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

LIVE_MODES = ["livesum", "liveall", "livemax", "livemin", "livemostrecent"]

SCENARIO = r'''
import json, os, sys
from prometheus_client import CollectorRegistry, Gauge, values
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
mode = sys.argv[1]
values.ValueClass = values.MultiProcessValue(lambda: 123)
g1 = Gauge("g", "help", registry=None, multiprocess_mode=mode)
values.ValueClass = values.MultiProcessValue(lambda: 456)
g2 = Gauge("g", "help", registry=None, multiprocess_mode=mode)
g1.set(1)
g2.set(2)
values.close_all_multiprocess_files()
mark_process_dead(123)
out = []
for _ in range(2):  # a second scrape must not lose it either (compaction in between)
    r = CollectorRegistry()
    MultiProcessCollector(r)
    out.append(sorted([s.name, sorted(s.labels.items()), s.value] for m in r.collect() for s in m.samples))
print(json.dumps(out))
'''


def _ours(code: str, mode: str, d: Path) -> Any:
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(d))
    proc = subprocess.run([sys.executable, "-c", code, mode], capture_output=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


def _official(official_python: str, code: str, mode: str, d: Path) -> Any:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "prometheus_multiproc_dir")}
    env["PROMETHEUS_MULTIPROC_DIR"] = str(d)
    proc = subprocess.run([official_python, "-I", "-c", code, mode], capture_output=True, env=env, timeout=120,
                          cwd=str(d))
    assert proc.returncode == 0, proc.stderr.decode()
    return json.loads(proc.stdout)


@pytest.mark.parametrize("mode", LIVE_MODES)
def test_closed_files_of_a_running_process_survive_mark_process_dead(
    mode: str, tmp_path: Path, official_python: str
) -> None:
    ours_dir, off_dir = tmp_path / "ours", tmp_path / "official"
    ours_dir.mkdir()
    off_dir.mkdir()
    ours = _ours(SCENARIO, mode, ours_dir)
    expected = [["g", [["pid", "456"]], 2.0]] if mode == "liveall" else [["g", [], 2.0]]
    assert ours == [expected, expected]
    assert _official(official_python, SCENARIO, mode, off_dir) == ours


def test_in_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same, in this process: the files of pid 456 are still on disk after a compaction."""
    from prometheus_client import CollectorRegistry, Gauge, values
    from prometheus_client._multiprocess import values as _mp_values
    from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    saved = values.ValueClass
    try:
        values.ValueClass = values.MultiProcessValue(lambda: 123)
        g1 = Gauge("g", "help", registry=None, multiprocess_mode="livesum")
        values.ValueClass = values.MultiProcessValue(lambda: 456)
        g2 = Gauge("g", "help", registry=None, multiprocess_mode="livesum")
        g1.set(1)
        g2.set(2)
        values.close_all_multiprocess_files()
        mark_process_dead(123)
        assert sorted(os.listdir(tmp_path)) == [".compaction.lock", "gauge_livesum_456.db"]
        r = CollectorRegistry()
        MultiProcessCollector(r)
        assert [s.value for m in r.collect() for s in m.samples] == [2.0]
        # The value reopens its file and keeps writing.
        g2.inc(3)
        assert [s.value for m in r.collect() for s in m.samples] == [5.0]
    finally:
        values.ValueClass = saved
        values.close_all_multiprocess_files()
        _mp_values._release_retained()
