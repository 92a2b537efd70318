"""benchmarks/run.py's before/after mode (``--baseline REF``): the export of an older src/ and
the table it prints. Timing itself is not tested (no test asserts on wall time)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parent.parent


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_run", module)
    spec.loader.exec_module(module)
    return module


def test_export_baseline_extracts_src_of_the_commit(tmp_path: Path) -> None:
    run = _runner()
    src, rev = run.export_baseline("HEAD", tmp_path)
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                          capture_output=True, text=True, check=True).stdout.strip()
    assert rev == head
    committed = subprocess.run(["git", "-C", str(REPO), "show", "HEAD:src/prometheus_client/__init__.py"],
                               capture_output=True, check=True).stdout
    assert (src / "prometheus_client" / "__init__.py").read_bytes() == committed


def test_before_after_table_shows_the_change_of_the_ratio() -> None:
    run = _runner()
    machine = {"cpu": "cpu", "cores": 2, "os": "os", "python": "3.13", "official_version": "0.26.0",
               "git": "new", "baseline": "old", "rounds": 3}
    results = [
        {"title": "w", "kind": "time", "unit": "ns",
         "before": {"median": 200e-9}, "ours": {"median": 220e-9}, "official": {"median": 1000e-9}},
        {"title": "broken", "kind": "time", "unit": "ns",
         "before": {"median": None}, "ours": {"median": 100e-9}, "official": {"median": 1000e-9}},
    ]
    table = run.render_baseline(results, machine)
    assert "| before @ old | after @ new |" in table
    assert "| w (per op) | 200 ns | 220 ns | 1,000 ns | 0.20 | 0.22 | +10 % |" in table
    assert "| broken (per op) | error | 100 ns | 1,000 ns | n/a | 0.10 | n/a |" in table
