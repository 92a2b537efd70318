"""Multiprocess mode: this project vs the official prometheus-client 0.26.0, same run.

    python benchmarks/bench_multiprocess.py                 # markdown tables on stdout
    python benchmarks/bench_multiprocess.py --rounds 5 --json out.json

Workloads (each runs in a fresh subprocess of each interpreter, in its own temp directory,
with ``PROMETHEUS_MULTIPROC_DIR`` set before the import; sides alternate order per round;
a cell is the median over rounds of the per-round best):

* ``inc`` / ``observe``: ``Counter.inc()`` and ``Histogram.observe(0.3)`` (default buckets)
  in multiprocess mode, ns per call. Target ratio <= 0.5.
* ``scrape100``: what 100 exited writer processes left (each: 100 counter series and a
  histogram with 10 label sets, default buckets), read by a fresh ``CollectorRegistry`` +
  ``MultiProcessCollector``: ``merge`` alone and ``generate_latest`` (merge + render), ms.
  Target ratio <= 0.3. The writers are simulated in one process with
  ``values.MultiProcessValue(lambda: pid)``, one class per pid, files closed afterwards,
  which leaves exactly the files real exited processes leave.
* ``deadN``: 4 live workers plus N dead ones (each: 20 counter series and a histogram with
  5 label sets) that were reported with ``mark_process_dead(pid)`` as gunicorn's
  ``child_exit`` hook does; files in the directory and ``generate_latest`` ms for
  N = 0, 10, 100, 1000. Target: ours at 1000 within 1.5x of ours at 0.

Ratios are ours / official (lower is better).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
OFFICIAL_VERSION = "0.26.0"

# Runs inside the interpreter under test; argv[1] is a JSON spec; prints one JSON line.
WORKER = r"""
import gc, glob, json, os, shutil, sys, tempfile, time, timeit
spec = json.loads(sys.argv[1])
d = tempfile.mkdtemp(prefix="mpbench-")
os.environ["PROMETHEUS_MULTIPROC_DIR"] = d
from prometheus_client import values, Counter, Histogram, CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.exposition import generate_latest

def best(fn, repeat, number=1):
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return min(times)

def write_worker(pid, counters, hist_series, close=True):
    cls = values.MultiProcessValue(lambda: pid)
    values.ValueClass = cls
    r = CollectorRegistry()
    c = Counter("app_requests", "Requests served", ["route"], registry=r)
    for i in range(counters):
        c.labels("/route/%d" % i).inc(i + 1)
    h = Histogram("app_latency_seconds", "Request latency", ["route"], registry=r)
    for i in range(hist_series):
        h.labels("/route/%d" % i).observe(0.01 * (i + 1))
    if close:
        cls.close_all_files()
    return cls

def scrape():
    r = CollectorRegistry()
    MultiProcessCollector(r)
    return generate_latest(r)

def merge_only():
    return list(MultiProcessCollector.merge(glob.glob(os.path.join(d, "*.db"))))

out = {}
kind = spec["kind"]
try:
    if kind == "hot":
        r = CollectorRegistry()
        c = Counter("hot_requests", "Requests", registry=r)
        h = Histogram("hot_latency_seconds", "Latency", registry=r)
        n = spec["number"]
        for stmt, label in (("c.inc()", "inc"), ("h.observe(0.3)", "observe")):
            t = timeit.Timer(stmt, globals={"c": c, "h": h})
            out[label] = min(t.repeat(repeat=spec["repeat"], number=n)) / n * 1e9
    elif kind == "scrape100":
        for pid in range(1000, 1100):
            write_worker(pid, 100, 10)
        files = len(os.listdir(d))
        gc.freeze()  # the simulated writers' objects stay alive in this process: keep GC off them
        body = scrape()
        out["files"] = files
        out["bytes"] = len(body)
        out["merge_ms"] = best(merge_only, spec["repeat"]) * 1e3
        out["scrape_ms"] = best(scrape, spec["repeat"]) * 1e3
    elif kind == "dead":
        live = [write_worker(pid, 20, 5, close=False) for pid in (1, 2, 3, 4)]
        for pid in range(10000, 10000 + spec["dead"]):
            write_worker(pid, 20, 5)
            mark_process_dead(pid, d)
        out["files"] = len([n for n in os.listdir(d) if not n.startswith(".")])
        gc.freeze()
        body = scrape()
        out["bytes"] = len(body)
        out["scrape_ms"] = best(scrape, spec["repeat"]) * 1e3
finally:
    shutil.rmtree(d, ignore_errors=True)
print(json.dumps(out))
"""


def default_ours() -> str:
    venv = REPO / ".venv-ci" / "py313" / "bin" / "python"
    if venv.exists():
        return str(venv)
    dev = REPO / ".venv" / "bin" / "python"
    return str(dev) if dev.exists() else sys.executable


def official_python(explicit: str | None) -> str:
    check = ("import importlib.metadata as m, prometheus_client\n"
             f"assert m.version('prometheus-client') == {OFFICIAL_VERSION!r}\n")
    candidates = [c for c in (explicit, os.environ.get("OFFICIAL_PYTHON")) if c]
    venv = Path(os.environ.get("TMPDIR") or "/tmp") / "official-prom-venv"
    candidates.append(str(venv / "bin" / "python"))
    for python in candidates:
        if os.access(python, os.X_OK) and subprocess.run(
            [python, "-I", "-c", check], capture_output=True, cwd=tempfile.gettempdir()
        ).returncode == 0:
            return python
    print(f"creating {venv} with prometheus-client=={OFFICIAL_VERSION} ...", file=sys.stderr)
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
                    f"prometheus-client=={OFFICIAL_VERSION}"], check=True)
    return str(venv / "bin" / "python")


def run(python: str, ours: bool, spec: Dict[str, Any]) -> Dict[str, Any]:
    env = dict(os.environ)
    for key in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir", "PYTHONPATH"):
        env.pop(key, None)
    cmd = [python, "-c", WORKER, json.dumps(spec)]
    if ours:
        env["PYTHONPATH"] = str(REPO / "src")
    else:
        cmd.insert(1, "-I")
    with tempfile.TemporaryDirectory(prefix="mpbench-cwd-") as cwd:
        proc = subprocess.run(cmd, capture_output=True, env=env, cwd=cwd, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"{'ours' if ours else 'official'} failed on {spec}:\n{proc.stderr.decode()}")
    return json.loads(proc.stdout.decode().strip().splitlines()[-1])  # type: ignore[no-any-return]


def median_of(results: List[Dict[str, Any]], key: str) -> float:
    return statistics.median(r[key] for r in results)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--ours", default=default_ours())
    ap.add_argument("--official", default=None)
    ap.add_argument("--dead", default="0,10,100,1000", help="dead worker counts for the curve")
    ap.add_argument("--json", default=None, help="also write the raw results here")
    ap.add_argument("--readme", action="store_true", help="also rewrite README.md between the bench-mp markers")
    args = ap.parse_args()
    official = official_python(args.official)
    sides = {"ours": (args.ours, True), "official": (official, False)}

    specs: Dict[str, Dict[str, Any]] = {
        "hot": {"kind": "hot", "number": 200_000, "repeat": 5},
        "scrape100": {"kind": "scrape100", "repeat": 5},
    }
    dead_counts = [int(x) for x in args.dead.split(",") if x]
    for n in dead_counts:
        specs[f"dead{n}"] = {"kind": "dead", "dead": n, "repeat": 30}  # sub-ms: more repeats

    results: Dict[str, Dict[str, List[Dict[str, Any]]]] = {k: {"ours": [], "official": []} for k in specs}
    for rnd in range(args.rounds):
        order = ["ours", "official"] if rnd % 2 == 0 else ["official", "ours"]
        for name, spec in specs.items():
            for side in order:
                python, ours = sides[side]
                results[name][side].append(run(python, ours, spec))
        print(f"round {rnd + 1}/{args.rounds} done", file=sys.stderr)

    def cell(name: str, key: str) -> tuple[float, float]:
        return median_of(results[name]["ours"], key), median_of(results[name]["official"], key)

    lines: List[str] = []
    emit = lines.append
    emit(f"CPython {platform.python_version()}, {os.cpu_count()} CPUs, {args.rounds} rounds "
         "(median of per-round best); ratio = ours / official\n")
    emit("| workload | ours | official 0.26.0 | ours / official | target |")
    emit("| --- | ---: | ---: | ---: | --- |")
    for key, label in (("inc", "`Counter.inc()` (ns)"), ("observe", "`Histogram.observe()` (ns)")):
        o, f = cell("hot", key)
        emit(f"| {label} | {o:.0f} | {f:.0f} | {o / f:.2f} | <= 0.5 |")
    o, f = cell("scrape100", "merge_ms")
    emit(f"| 100 exited writers: `merge` (ms) | {o:.1f} | {f:.1f} | {o / f:.2f} | |")
    o, f = cell("scrape100", "scrape_ms")
    emit(f"| 100 exited writers: scrape, `generate_latest` (ms) | {o:.1f} | {f:.1f} | {o / f:.2f} | <= 0.3 |")
    emit("")
    emit("Scrape after N dead workers (4 live; each worker 20 counter series and a 5-series "
         "histogram; `mark_process_dead` on exit, as gunicorn's `child_exit` hook does):\n")
    emit("| dead workers | files (ours) | scrape ms (ours) | files (official) | scrape ms (official) "
         "| ours / ours at 0 |")
    emit("| ---: | ---: | ---: | ---: | ---: | ---: |")
    base = None
    for n in dead_counts:
        name = f"dead{n}"
        fo, ff = cell(name, "files")
        mo, mf = cell(name, "scrape_ms")
        if base is None:
            base = mo
        emit(f"| {n} | {fo:.0f} | {mo:.2f} | {ff:.0f} | {mf:.2f} | {mo / base:.2f} |")
    print("\n".join(lines))
    if args.readme:
        readme = REPO / "README.md"
        text = readme.read_text()
        start, end = "<!-- bench-mp:start -->", "<!-- bench-mp:end -->"
        if start in text and end in text:
            head, rest = text.split(start, 1)
            _, tail = rest.split(end, 1)
            readme.write_text(head + start + "\n" + "\n".join(lines) + "\n" + end + tail)
        else:
            print("README.md has no bench-mp markers; not rewritten", file=sys.stderr)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
