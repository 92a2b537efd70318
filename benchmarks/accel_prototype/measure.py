"""Size a compiled accelerator: ns/op of the pure-Python client (ours), the C prototype in
this directory, and the official client 0.26.0, on the four hottest per-call paths.

    python benchmarks/accel_prototype/measure.py [--rounds 3] [--instructions]

Each (workload, side) runs in a fresh subprocess, sides interleaved and rotated per round;
a round's figure is the best of 5 timeit repeats, the table shows the median over rounds.
"ours" and "prototype" use this interpreter with the worktree's src/ on PYTHONPATH (the
prototype observes into storage of the pure-Python metric objects, so the numbers land where
the exposition reads them); "official" uses $OFFICIAL_PYTHON or /tmp/official-prom-venv.
``--instructions`` adds instructions per operation counted with valgrind (callgrind), which
are steady on a busy machine: a run of N operations minus a run of none.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
SRC = HERE.parent.parent / "src"
sys.path.insert(0, str(HERE))

from build import build  # noqa: E402

_REG = "from prometheus_client import CollectorRegistry, Counter, Histogram\nr = CollectorRegistry()\n"
_PROTO = (
    "import _pc_accel_proto as accel\n"
    "from array import array\n"
    "def _doubles(h):  # a double buffer shaped like h (the histogram's own storage is a list)\n"
    "    return array('d', bytes(8 * (len(h._upper_bounds) + 1)))\n"
)

# name, title, setup (ours and official), statement, prototype setup, prototype statement
WORKLOADS: List[Tuple[str, str, str, str, str, str]] = [
    (
        "histogram_time_with", "`with h.time():` (empty block)",
        _REG + "h = Histogram('bench_latency_seconds', 'Latency', registry=r)",
        "with h.time():\n    pass",
        _REG + _PROTO + "h = Histogram('bench_latency_seconds', 'Latency', registry=r)\n"
        "ph = accel.Histogram(h._upper_bounds, _doubles(h))",
        "with ph.time():\n    pass",
    ),
    (
        "counter_count_exceptions_with", "`with c.count_exceptions():` (empty block)",
        _REG + "c = Counter('bench_failures', 'Failures', registry=r)",
        "with c.count_exceptions():\n    pass",
        _PROTO + "pc = accel.Counter()",
        "with pc.count_exceptions():\n    pass",
    ),
    (
        "child_inc", "cached child `Counter.inc()`",
        _REG + "c = Counter('bench_requests', 'Requests', ['method'], registry=r)\nchild = c.labels('GET')",
        "child.inc()",
        _PROTO + "from array import array\nchild = accel.Counter(array('d', [0.0]))",
        "child.inc()",
    ),
    (
        "child_observe", "cached child `Histogram.observe()` default buckets",
        _REG + "h = Histogram('bench_latency_seconds', 'Latency', ['method'], registry=r)\n"
        "child = h.labels('GET')",
        "child.observe(0.3)",
        _REG + _PROTO + "h = Histogram('bench_latency_seconds', 'Latency', ['method'], registry=r)\n"
        "c = h.labels('GET')\nchild = accel.Histogram(c._upper_bounds, _doubles(c))",
        "child.observe(0.3)",
    ),
]

_TIMEIT = r"""
import json, sys, timeit
setup, stmt = json.loads(sys.stdin.read())
ns = {}
exec(setup, ns)
t = timeit.Timer(stmt, globals=ns)
number = 1
while t.timeit(number) < 0.05:
    number *= 4
print(min(t.timeit(number) for _ in range(5)) / number * 1e9)
"""

_COUNT = r"""
import sys
setup, stmt, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
ns = {}
exec(setup, ns)
body = "".join("        " + line + "\n" for line in stmt.splitlines())
exec(compile("def _loop():\n    for _ in range(%d):\n" % n + body, "<loop>", "exec"), ns)
ns["_loop"]()
"""


def _official_python() -> str:
    env = os.environ.get("OFFICIAL_PYTHON")
    if env:
        return env
    return str(Path(os.environ.get("TMPDIR") or "/tmp") / "official-prom-venv" / "bin" / "python")


def _env(path: Optional[str]) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PROMETHEUS_MULTIPROC_DIR")}
    if path:
        env["PYTHONPATH"] = path
    return env


def _sides(proto_dir: str) -> Dict[str, Tuple[str, Optional[str]]]:
    return {
        "ours": (sys.executable, str(SRC)),
        "prototype": (sys.executable, os.pathsep.join([str(SRC), proto_dir])),
        "official": (_official_python(), None),
    }


def _code(side: str, w: Tuple[str, str, str, str, str, str]) -> Tuple[str, str]:
    return (w[4], w[5]) if side == "prototype" else (w[2], w[3])


def time_ns(python: str, path: Optional[str], setup: str, stmt: str) -> float:
    out = subprocess.run([python, "-c", _TIMEIT], input=json.dumps([setup, stmt]), capture_output=True,
                         text=True, env=_env(path), check=True)
    return float(out.stdout)


def instructions(python: str, path: Optional[str], setup: str, stmt: str, n: int = 20000) -> Optional[int]:
    """Instructions per operation under callgrind (None without valgrind)."""
    if not shutil.which("valgrind"):
        return None

    def run(count: int) -> int:
        proc = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", python, "-c", _COUNT,
             setup, stmt, str(count)],
            capture_output=True, text=True, env=dict(_env(path), PYTHONHASHSEED="0"), check=True,
        )
        found = re.search(r"Collected : (\d+)", proc.stderr)
        assert found, proc.stderr[-2000:]
        return int(found.group(1))

    return (run(n) - run(0)) // n


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--instructions", action="store_true", help="also count instructions per op (valgrind)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pc-accel-proto-") as tmp:
        return _run(args, _sides(build(tmp)))


def _run(args: argparse.Namespace, sides: Dict[str, Tuple[str, Optional[str]]]) -> int:
    order = list(sides)
    results: Dict[Tuple[str, str], List[float]] = {}
    for rnd in range(args.rounds):
        rotated = order[rnd % 3:] + order[:rnd % 3]
        for w in WORKLOADS:
            for side in rotated:
                python, path = sides[side]
                results.setdefault((w[0], side), []).append(time_ns(python, path, *_code(side, w)))
    counts: Dict[Tuple[str, str], Optional[int]] = {}
    if args.instructions:
        for w in WORKLOADS:
            for side in order:
                python, path = sides[side]
                counts[(w[0], side)] = instructions(python, path, *_code(side, w))
    head = "| workload | ours ns/op | prototype ns/op | official ns/op | ours/official | prototype/official |"
    if args.instructions:
        head += " instructions/op ours / prototype / official |"
    print(head)
    print("|---" * head.count(" |") + "|")
    for w in WORKLOADS:
        ours, proto, off = (statistics.median(results[(w[0], s)]) for s in order)
        line = f"| {w[1]} | {ours:.0f} | {proto:.0f} | {off:.0f} | {ours / off:.2f} | {proto / off:.2f} |"
        if args.instructions:
            line += " " + " / ".join(str(counts[(w[0], s)]) for s in order) + " |"
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
