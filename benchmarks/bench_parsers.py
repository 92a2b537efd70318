#!/usr/bin/env python3
"""Parser benchmark: this project vs the official prometheus-client 0.26.0, same run, interleaved.

    python benchmarks/bench_parsers.py [--rounds 5] [--series 10000] [--json out.json]

Ours runs in this interpreter's environment (``src/`` is put first on ``PYTHONPATH``). The
official client runs from ``$OFFICIAL_PYTHON``, or else ``${TMPDIR:-/tmp}/official-prom-venv``
(created with ``pip install prometheus-client==0.26.0`` when missing, never in the project venv).
Each round starts a fresh process per side and workload. The order of the sides alternates
from round to round, and each process reports its best of several repeats. The table shows
the median over rounds; ratio = ours / official (lower is better).

Workloads:
* ``text 10k``: 10,000 labelled series in the Prometheus text format (counters, gauges,
  histograms, a summary; 4-5 labels each, escapes in some values).
* ``openmetrics 10k``: the same series as OpenMetrics (with ``_created``, exemplars, ``# EOF``).
* hostile 1 MB lines, each parsed by both parsers: time to parse or reject. A regex
  backtracking blow-up would show up here as seconds or minutes; the official side gets a
  timeout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))

HARNESS = r"""
import json, sys, time
spec = json.loads(sys.argv[1])
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
fn = text_parse if spec["format"] == "text" else om_parse
with open(spec["path"], encoding="utf-8") as f:
    text = f.read()
def once():
    t0 = time.perf_counter()
    outcome = "ok"
    try:
        n = 0
        for m in fn(text):
            n += len(m.samples)
        outcome = f"ok ({n} samples)"
    except ValueError:
        outcome = "ValueError"
    except Exception as e:
        outcome = type(e).__name__
    return time.perf_counter() - t0, outcome
best, outcome = once()
deadline = time.perf_counter() + spec["budget"]
for _ in range(spec["repeat"] - 1):
    if time.perf_counter() > deadline:
        break
    t, outcome = once()
    best = min(best, t)
print(json.dumps({"seconds": best, "outcome": outcome}))
"""


def official_python() -> str:
    from official_client import official_python_path

    return official_python_path()


def _escape(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def workload_texts(series: int) -> Tuple[str, str]:
    """(Prometheus text, OpenMetrics) for ``series`` labelled series."""
    text: List[str] = []
    om: List[str] = []
    per_family = 100
    families = max(series // per_family, 1)
    n = 0
    for f in range(families):
        kind = ("counter", "gauge", "counter", "histogram", "gauge", "summary")[f % 6]
        name = f"app_subsystem_{kind}_{f}"
        if kind == "histogram":
            rows = per_family // 7  # 5 buckets + count + sum per label set
        elif kind == "summary":
            rows = per_family // 5  # 3 quantiles + count + sum
        else:
            rows = per_family
        tname = f"{name}_total" if kind == "counter" else name
        text.append(f"# HELP {tname} Some help text for {name}.\n# TYPE {tname} {kind}\n")
        om.append(f"# HELP {name} Some help text for {name}.\n# TYPE {name} {kind}\n")
        created: List[str] = []
        for i in range(rows):
            path = _escape(f'/api/v1/items/{i}' + ('/"quoted"' if i % 17 == 0 else ""))
            labels = (f'method="{("GET", "POST", "PUT")[i % 3]}",path="{path}",status="{200 + i % 5}",'
                      f'instance="host-{i % 7}.example.org:9100"')
            v = f"{i * 1.5 + f}"
            if kind == "counter":
                text.append(f"{name}_total{{{labels}}} {v}\n")
                created.append(f"{name}_created{{{labels}}} 1.7e+09\n")
                ex = f' # {{trace_id="{i:016x}"}} 1.0 1700000000.5' if i % 10 == 0 else ""
                om.append(f"{name}_total{{{labels}}} {v}{ex}\n{name}_created{{{labels}}} 1.7e+09\n")
                n += 1
            elif kind == "gauge":
                line = f"{name}{{{labels}}} {v}\n"
                text.append(line)
                om.append(line)
                n += 1
            elif kind == "histogram":
                acc = 0
                for le in ("0.1", "1.0", "10.0", "100.0", "+Inf"):
                    acc += i % 3
                    line = f'{name}_bucket{{{labels},le="{le}"}} {acc}.0\n'
                    text.append(line)
                    om.append(line)
                tail = f"{name}_count{{{labels}}} {acc}.0\n{name}_sum{{{labels}}} {v}\n"
                text.append(tail)
                om.append(tail)
                n += 7
            else:
                for q in ("0.5", "0.9", "0.99"):
                    line = f'{name}{{{labels},quantile="{q}"}} {v}\n'
                    text.append(line)
                    om.append(line)
                tail = f"{name}_count{{{labels}}} {i}.0\n{name}_sum{{{labels}}} {v}\n"
                text.append(tail)
                om.append(tail)
                n += 5
        if created:
            text.append(f"# HELP {name}_created Some help text for {name}.\n# TYPE {name}_created gauge\n")
            text.extend(created)
    om.append("# EOF\n")
    return "".join(text), "".join(om)


MB = 1_000_000


def hostile_inputs() -> List[Tuple[str, str, str]]:
    """(name, format, text): 1 MB lines built to trip backtracking parsers."""
    return [
        ("unterminated label value", "text", 'a{b="' + "x" * MB + "\n"),
        ("label value of backslashes", "text", 'a{b="' + "\\\\" * (MB // 2) + "x} 1\n"),
        ("many empty labels", "text", "a{" + 'b="",' * (MB // 5) + "c=} 1\n"),
        ("quote storm in labels", "text", "a{" + 'b="' * (MB // 3) + "} 1\n"),
        ("1 MB metric name", "text", "a" * MB + " 1\n"),
        ("spaces then garbage", "text", "a" + " " * MB + "x\n"),
        ("unterminated label value", "om", 'a{b="' + "x" * MB + "\n# EOF\n"),
        ("label value of backslashes", "om", 'a{b="' + "\\\\" * (MB // 2) + "x} 1\n# EOF\n"),
        ("many labels, bad end", "om", "a{" + 'b="",' * (MB // 5) + "} 1\n# EOF\n"),
        ("exemplar label storm", "om", "# TYPE a counter\na_total 1 # {" + 'b="c",' * (MB // 6) + "\n# EOF\n"),
        ("native histogram spans", "om",
         "# TYPE a histogram\na {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:["
         + "1:1," * (MB // 4) + "\n# EOF\n"),
        ("1 MB HELP of escapes", "om", "# HELP a " + "\\" * MB + "\n# EOF\n"),
        ("1 MB native-histogram field", "om",
         "# TYPE a histogram\na {count:1," + "1" * MB + "} 1\n# EOF\n"),
        ("150k native-histogram exemplars", "om",
         "# TYPE a histogram\na {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0}"
         + " # {} 1" * (MB // 7) + "\n# EOF\n"),
    ]


def run_side(python: str, fmt: str, path: str, repeat: int, budget: float, ours: bool,
             timeout: Optional[float] = None) -> Dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    argv = [python, "-c", HARNESS, json.dumps({"format": fmt, "path": path, "repeat": repeat,
                                                "budget": budget})]
    if ours:
        env["PYTHONPATH"] = str(REPO / "src")
    else:
        argv.insert(1, "-I")
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=timeout,
                              cwd=tempfile.gettempdir())
    except subprocess.TimeoutExpired:
        return {"seconds": float("inf"), "outcome": f"timeout after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"seconds": float("nan"), "outcome": "error: " + proc.stderr.strip().splitlines()[-1]}
    result: Dict[str, Any] = json.loads(proc.stdout)
    return result


def fmt_time(s: float) -> str:
    if s != s:
        return "error"
    if s == float("inf"):
        return "timeout"
    return f"{s * 1000:.1f} ms" if s < 10 else f"{s:.1f} s"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--series", type=int, default=10_000)
    ap.add_argument("--json", default="")
    ap.add_argument("--hostile-timeout", type=float, default=60.0,
                    help="seconds the official parser gets per hostile input")
    args = ap.parse_args()

    ours_py = sys.executable
    off_py = os.environ.get("OFFICIAL_PYTHON") or official_python()
    results: Dict[str, Any] = {"python": sys.version.split()[0], "rows": [], "hostile": []}
    with tempfile.TemporaryDirectory(prefix="bench-parsers-") as tmp:
        text, om = workload_texts(args.series)
        paths = {}
        for key, body in (("text", text), ("om", om)):
            p = Path(tmp) / f"{key}.txt"
            p.write_text(body, encoding="utf-8")
            paths[key] = str(p)
        rows: List[Tuple[str, str]] = [(f"text {args.series // 1000}k series ({len(text) // 1024} KiB)", "text"),
                                       (f"openmetrics {args.series // 1000}k series ({len(om) // 1024} KiB)", "om")]
        for label, fmt in rows:
            ours_t: List[float] = []
            off_t: List[float] = []
            outcomes = set()
            for r in range(args.rounds):
                sides = [(True, ours_py), (False, off_py)]
                if r % 2:
                    sides.reverse()
                for is_ours, py in sides:
                    res = run_side(py, fmt, paths[fmt], repeat=5, budget=5.0, ours=is_ours)
                    (ours_t if is_ours else off_t).append(res["seconds"])
                    outcomes.add(("ours" if is_ours else "official", res["outcome"]))
            o, f = statistics.median(ours_t), statistics.median(off_t)
            results["rows"].append({"workload": label, "ours_s": o, "official_s": f, "ratio": o / f,
                                    "outcomes": sorted(outcomes)})
        for name, fmt, body in hostile_inputs():
            p = Path(tmp) / "hostile.txt"
            p.write_text(body, encoding="utf-8")
            o_res = run_side(ours_py, fmt, str(p), repeat=3, budget=5.0, ours=True)
            f_res = run_side(off_py, fmt, str(p), repeat=1, budget=0.0, ours=False,
                             timeout=args.hostile_timeout)
            results["hostile"].append({"input": name, "format": fmt, "bytes": len(body.encode()),
                                       "ours_s": o_res["seconds"], "ours": o_res["outcome"],
                                       "official_s": f_res["seconds"], "official": f_res["outcome"]})

    print(f"Python {results['python']}; median of {args.rounds} interleaved rounds, each the best of 5 "
          "runs in a fresh process.\n")
    print("| workload | ours | official 0.26.0 | ratio ours/official |")
    print("|---|---:|---:|---:|")
    for row in results["rows"]:
        print(f"| {row['workload']} | {fmt_time(row['ours_s'])} | {fmt_time(row['official_s'])} | "
              f"{row['ratio']:.2f} |")
    print("\nHostile 1 MB inputs (time to parse or reject; ours: best of 3):\n")
    print("| input | format | ours | result | official 0.26.0 | result |")
    print("|---|---|---:|---|---:|---|")
    for h in results["hostile"]:
        print(f"| {h['input']} | {h['format']} | {fmt_time(h['ours_s'])} | {h['ours']} | "
              f"{fmt_time(h['official_s'])} | {h['official']} |")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    worst = max(h["ours_s"] for h in results["hostile"])
    return 0 if worst < 1.0 and all(r["ratio"] <= 0.3 for r in results["rows"]) else 1


if __name__ == "__main__":
    sys.exit(main())
