"""Benchmark runner: this project vs the official prometheus-client 0.26.0, interleaved.

    python benchmarks/run.py                       # all workloads, 5 rounds, markdown table
    python benchmarks/run.py --filter expose --rounds 3 --json out.json
    python benchmarks/run.py --readme              # also rewrite README.md between the markers
    python benchmarks/run.py --list
    python benchmarks/run.py --baseline a5110c2    # also this project at an older commit

With ``--baseline REF`` a third side runs this project's ``src/`` as of git commit REF (same
interpreter, interleaved in the same rounds): the table adds its numbers, its ratio to the
official and the change of our ratio against it, so "before" and "after" of a change are
measured in one session on one machine state.

Every workload (see benchmarks/workloads.py) runs in a fresh subprocess of each interpreter:
ours = the project venv (default .venv-ci/py313, else this interpreter with src/ on
PYTHONPATH), official = $OFFICIAL_PYTHON or ${TMPDIR:-/tmp}/official-prom-venv (created with
`pip install prometheus-client==0.26.0` when missing). Rounds alternate which side goes first;
the table shows the median over rounds of each side's per-round best (a slow workload may cap
its rounds, e.g. the 1M-series exposition runs once). Ratio = ours/official
(lower is better for every row). A workload that fails on a side prints `error`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
SRC = REPO / "src"
sys.path.insert(0, str(HERE))

from workloads import WORKLOADS, Workload  # noqa: E402

OFFICIAL_VERSION = "0.26.0"
MARK_START = "<!-- bench:start -->"
MARK_END = "<!-- bench:end -->"

# Runs inside the interpreter under test. Reads a JSON spec on stdin, prints one JSON line.
HARNESS = r"""
import gc, json, os, sys, time, timeit
spec = json.loads(sys.stdin.read())
def run():
    ns = {"__name__": "__bench__", "TMPDIR": os.getcwd()}
    kind = spec["kind"]
    if kind == "time":
        exec(spec["setup"], ns)
        timer = timeit.Timer(spec["stmt"], globals=ns)
        number = spec.get("number")
        if not number:
            number = 1
            while True:
                elapsed = timer.timeit(number)
                if elapsed >= spec["target"]:
                    break
                factor = spec["target"] / max(elapsed, 1e-9)
                number = max(number + 1, int(number * min(factor * 1.2, 10)))
        best = min(timer.repeat(repeat=spec["repeat"], number=number))
        return {"value": best / number, "number": number}
    if kind == "memory":
        import tracemalloc
        exec(spec["setup"], ns)
        code = compile(spec["stmt"], "<stmt>", "exec")
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        exec(code, ns)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return {"value": (after - before) / spec["count"]}
    if kind == "once":
        exec(spec["setup"], ns)
        code = compile(spec["stmt"], "<stmt>", "exec")
        t0 = time.perf_counter()
        exec(code, ns)
        return {"value": time.perf_counter() - t0}
    raise ValueError("unknown workload kind %r" % kind)
try:
    result = run()
except BaseException as exc:
    import traceback
    result = {"error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}
sys.stdout.write("\n" + json.dumps(result) + "\n")
"""

PROBE = (
    "import importlib.metadata as m, json, platform, sys, prometheus_client\n"
    "try:\n    v = m.version('prometheus-client')\nexcept Exception:\n    v = 'not installed'\n"
    "print(json.dumps({'file': prometheus_client.__file__ or list(prometheus_client.__path__)[0],"
    " 'version': v, 'python': platform.python_version(),"
    " 'implementation': platform.python_implementation()}))\n"
)


class Side:
    """One implementation under test: an interpreter plus how to start it."""

    def __init__(self, label: str, python: str, ours: bool, src: Path = SRC) -> None:
        self.label = label
        self.python = python
        self.ours = ours
        self.src = src  # ours: the src/ directory put first on PYTHONPATH

    def command(self, code: str) -> list[str]:
        # Official: fully isolated (-I). Ours: no user site, src/ first on PYTHONPATH so the
        # project is importable even from an interpreter without an editable install.
        return [self.python, "-s" if self.ours else "-I", "-c", code]

    def env(self, extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
        env = dict(os.environ)
        for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PROMETHEUS_MULTIPROC_DIR",
                    "prometheus_multiproc_dir"):
            env.pop(key, None)
        if self.ours:
            env["PYTHONPATH"] = str(self.src)
        env.update(dict(extra))
        return env

    def run(self, code: str, stdin: str = "", extra_env: tuple[tuple[str, str], ...] = (),
            timeout: float = 600.0) -> dict[str, Any]:
        with tempfile.TemporaryDirectory(prefix="bench-") as cwd:
            try:
                proc = subprocess.run(self.command(code), input=stdin.encode(), capture_output=True,
                                      env=self.env(extra_env), cwd=cwd, timeout=timeout)
            except subprocess.TimeoutExpired:
                return {"error": f"timeout after {timeout:.0f}s"}
        lines = proc.stdout.decode(errors="replace").strip().splitlines()
        if proc.returncode != 0 or not lines:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            return {"error": f"exit {proc.returncode}: {tail[0]}"}
        try:
            result: dict[str, Any] = json.loads(lines[-1])
        except ValueError:
            return {"error": f"bad output: {lines[-1][:200]}"}
        return result


def default_ours() -> str:
    venv = REPO / ".venv-ci" / "py313" / "bin" / "python"
    return str(venv) if venv.exists() else sys.executable


def ensure_official(explicit: Optional[str]) -> str:
    """Interpreter with the official client: --official, $OFFICIAL_PYTHON, or the side venv."""
    check = (f"import importlib.metadata as m, prometheus_client\n"
             f"assert m.version('prometheus-client') == {OFFICIAL_VERSION!r}\n")
    candidates = [c for c in (explicit, os.environ.get("OFFICIAL_PYTHON")) if c]
    venv = Path(os.environ.get("TMPDIR") or "/tmp") / "official-prom-venv"
    python = str(venv / "bin" / "python")
    for cand in [*candidates, python]:
        if os.access(cand, os.X_OK) and subprocess.run([cand, "-I", "-c", check],
                                                       capture_output=True).returncode == 0:
            return cand
    if candidates:
        sys.exit(f"error: {candidates[0]} does not import prometheus-client=={OFFICIAL_VERSION}")
    print(f"creating {venv} with prometheus-client=={OFFICIAL_VERSION} ...", file=sys.stderr)
    subprocess.run(["rm", "-rf", str(venv)], check=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"prometheus-client=={OFFICIAL_VERSION}"], check=True)
    return python


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_rev() -> str:
    try:
        out = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def export_baseline(ref: str, into: Path) -> tuple[Path, str]:
    """``src/`` of this repository at git commit ``ref``, extracted under ``into``; and the
    commit's short hash."""
    rev = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", f"{ref}^{{commit}}"],
                         capture_output=True, text=True, check=True).stdout.strip()
    archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev, "src"],
                             capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into / "src", rev


def measure(side: Side, w: Workload, repeat: int, target: float) -> dict[str, Any]:
    setup, stmt = w.setup, w.stmt
    if side.ours:
        setup = w.ours_setup if w.ours_setup is not None else setup
        stmt = w.ours_stmt if w.ours_stmt is not None else stmt
    spec = {"kind": w.kind, "setup": setup, "stmt": stmt, "count": w.count,
            "number": w.number, "repeat": w.repeat or repeat, "target": target}
    if w.kind == "once":
        values = []
        for _ in range(max(repeat, 5)):  # fresh processes are noisy: at least 5 per round
            r = side.run(HARNESS, json.dumps(spec), w.env)
            if "error" in r:
                return r
            values.append(r["value"])
        return {"value": min(values)}
    return side.run(HARNESS, json.dumps(spec), w.env)


SCALE = {"ns": 1e9, "us": 1e6, "ms": 1e3, "B": 1.0}
SUFFIX = {"ns": "ns", "us": "µs", "ms": "ms", "B": "B"}


def fmt(value: Optional[float], unit: str) -> str:
    if value is None:
        return "error"
    v = value * SCALE[unit]
    digits = 0 if v >= 100 else 1 if v >= 10 else 2
    return f"{v:,.{digits}f} {SUFFIX[unit]}"


def render_baseline(results: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    """The before/after table: ratios to the official of the baseline commit and of this tree."""
    base = machine["baseline"]
    lines = [
        f"Machine: {machine['cpu']} ({machine['cores']} cores), {machine['os']}; "
        f"Python {machine['python']}; before = ours @ {base}, after = ours @ {machine['git']}, vs official "
        f"{machine['official_version']}; {machine['rounds']} interleaved rounds, median of per-round best.",
        "",
        f"| workload | before @ {base} | after @ {machine['git']} | official | before/official "
        "| after/official | change of the ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        b, a, off = (r[k].get("median") for k in ("before", "ours", "official"))
        rb = b / off if b is not None and off else None
        ra = a / off if a is not None and off else None
        change = f"{(ra / rb - 1) * 100:+.0f} %" if ra is not None and rb else "n/a"
        lines.append(f"| {r['title']} ({per_op_label_from(r)}) | {fmt(b, r['unit'])} | {fmt(a, r['unit'])} | "
                     f"{fmt(off, r['unit'])} | {'n/a' if rb is None else f'{rb:.2f}'} | "
                     f"{'n/a' if ra is None else f'{ra:.2f}'} | {change} |")
    return "\n".join(lines) + "\n"


def render(results: list[dict[str, Any]], machine: dict[str, Any]) -> str:
    lines = [
        f"Machine: {machine['cpu']} ({machine['cores']} cores), {machine['os']}; "
        f"Python {machine['python']}; ours {machine['ours_version']} @ {machine['git']} vs official "
        f"{machine['official_version']}; {machine['rounds']} interleaved rounds, median of per-round best.",
        "",
        "| workload | ours | official | ratio ours/official |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in results:
        ours, off = r["ours"].get("median"), r["official"].get("median")
        ratio = f"{ours / off:.2f}" if ours is not None and off else "n/a"
        lines.append(f"| {r['title']} ({per_op_label_from(r)}) | {fmt(ours, r['unit'])} | "
                     f"{fmt(off, r['unit'])} | {ratio} |")
    growth = growth_lines(results)
    if growth:
        lines += ["", *growth]
    capped = [f"{r['title']}: {r['rounds']}" for r in results if r.get("rounds", machine["rounds"]) < machine["rounds"]]
    if capped:
        lines += ["", "Fewer rounds (slow): " + "; ".join(capped) + "."]
    return "\n".join(lines) + "\n"


def growth_lines(results: list[dict[str, Any]]) -> list[str]:
    """Per scaling group: how much longer each size takes than the previous one (ideal: the
    size ratio, i.e. flat cost per series)."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in results:
        if r.get("group"):
            groups.setdefault(r["group"], []).append(r)
    out = []
    for group, rows in groups.items():
        rows.sort(key=lambda r: r["size"])
        steps = []
        for prev, cur in zip(rows, rows[1:]):
            parts = []
            for label in ("ours", "official"):
                a, b = prev[label].get("median"), cur[label].get("median")
                parts.append(f"{label} {b / a:.1f}x" if a and b else f"{label} n/a")
            steps.append(f"{prev['size']:,} -> {cur['size']:,} series ({cur['size'] / prev['size']:.0f}x): "
                         + ", ".join(parts))
        if steps:
            out.append(f"Growth factor, {group}: " + "; ".join(steps) + ".")
    return out


def per_op_label_from(r: dict[str, Any]) -> str:
    return {"memory": "per child", "once": "per import"}.get(r["kind"], "per op")


def write_readme(path: Path, block: str) -> None:
    if not path.exists():
        print(f"warning: {path} does not exist; README not updated", file=sys.stderr)
        return
    text = path.read_text(encoding="utf-8")
    body = f"{MARK_START}\n{block}{MARK_END}"
    pattern = re.compile(re.escape(MARK_START) + r".*?" + re.escape(MARK_END), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _m: body, text, count=1)
    else:
        text = text.rstrip("\n") + f"\n\n## Benchmarks\n\n{body}\n"
    path.write_text(text, encoding="utf-8")
    print(f"updated {path}", file=sys.stderr)


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--filter", action="append", default=[],
                    help="run only workloads whose name or title contains this substring (repeatable)")
    ap.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    ap.add_argument("--repeat", type=int, default=3,
                    help="samples per round and side; the best is kept (default 3)")
    ap.add_argument("--target", type=float, default=0.1,
                    help="seconds per timing sample, for loop-count calibration (default 0.1)")
    ap.add_argument("--json", metavar="OUT", help="also write all results to this JSON file")
    ap.add_argument("--readme", nargs="?", const=str(REPO / "README.md"), metavar="PATH",
                    help=f"write the table into PATH (default README.md) between {MARK_START} and {MARK_END}")
    ap.add_argument("--ours", default=None, help="interpreter for this project (default .venv-ci/py313)")
    ap.add_argument("--official", default=None, help="interpreter with prometheus-client==0.26.0")
    ap.add_argument("--list", action="store_true", help="list workloads and exit")
    ap.add_argument("--baseline", metavar="REF", default=None,
                    help="also run this project's src/ at git commit REF (a 'before' column)")
    args = ap.parse_args(argv)

    selected = [w for w in WORKLOADS
                if not args.filter or any(f.lower() in (w.name + " " + w.title).lower() for f in args.filter)]
    if args.list:
        for w in WORKLOADS:
            print(f"{w.name:28} {w.kind:7} {w.title}")
        return 0
    if not selected:
        print("no workload matches the filter", file=sys.stderr)
        return 2

    ours = Side("ours", args.ours or default_ours(), ours=True)
    # The official client's files were byte-compiled by pip at install; compile ours too, so
    # the import benchmark compares imports, not one side's compilation.
    subprocess.run([ours.python, "-m", "compileall", "-q", str(SRC / "prometheus_client")], check=False)
    official = Side("official", ensure_official(args.official), ours=False)
    sides = [ours, official]
    base_dir = tempfile.TemporaryDirectory(prefix="bench-baseline-")
    base_rev = None
    if args.baseline:
        base_src, base_rev = export_baseline(args.baseline, Path(base_dir.name))
        subprocess.run([ours.python, "-m", "compileall", "-q", str(base_src / "prometheus_client")], check=False)
        sides.append(Side("before", ours.python, ours=True, src=base_src))

    probes = {}
    for side in sides:
        p = side.run(PROBE)
        if "error" in p:
            print(f"warning: {side.label} ({side.python}) cannot import prometheus_client: {p['error']}",
                  file=sys.stderr)
        probes[side.label] = p
    ours_file = probes["ours"].get("file")
    if ours_file and SRC not in Path(ours_file).resolve().parents:
        sys.exit(f"error: 'ours' interpreter imports prometheus_client from {ours_file}, not from {SRC}")
    off_file = probes["official"].get("file")
    if off_file and SRC in Path(off_file).resolve().parents:
        sys.exit("error: 'official' interpreter imports this project's prometheus_client")

    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "python": probes["ours"].get("python") or probes["official"].get("python") or "?",
        "python_official": probes["official"].get("python"),
        "ours_version": probes["ours"].get("version", "?"),
        "official_version": probes["official"].get("version", OFFICIAL_VERSION),
        "git": git_rev(),
        "rounds": args.rounds,
        "repeat": args.repeat,
        "ours_python": ours.python,
        "official_python": official.python,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "baseline": base_rev,
    }
    labels = [side.label for side in sides]

    samples: dict[str, dict[str, list[float]]] = {w.name: {label: [] for label in labels} for w in selected}
    errors: dict[str, dict[str, str]] = {w.name: {} for w in selected}
    for rnd in range(args.rounds):
        order = sides if rnd % 2 == 0 else sides[::-1]
        for w in selected:
            if w.max_rounds is not None and rnd >= w.max_rounds:
                continue
            for side in order:
                if side.label in errors[w.name]:
                    continue  # failed before: do not retry every round
                t0 = time.monotonic()
                r = measure(side, w, args.repeat, args.target)
                if "error" in r:
                    errors[w.name][side.label] = r["error"]
                    msg = f"error: {r['error']}"
                else:
                    samples[w.name][side.label].append(r["value"])
                    msg = fmt(r["value"], w.unit)
                print(f"[round {rnd + 1}/{args.rounds}] {w.name:28} {side.label:8} {msg:>14} "
                      f"({time.monotonic() - t0:.1f}s)", file=sys.stderr, flush=True)

    results = []
    for w in selected:
        entry: dict[str, Any] = {"name": w.name, "title": w.title, "kind": w.kind, "unit": w.unit,
                                 "group": w.group, "size": w.size,
                                 "rounds": min(args.rounds, w.max_rounds or args.rounds)}
        for label in labels:
            vals = samples[w.name][label]
            err = errors[w.name].get(label)
            entry[label] = {"samples": vals,
                            "median": statistics.median(vals) if vals and not err else None,
                            "error": err}
        o, f = entry["ours"]["median"], entry["official"]["median"]
        entry["ratio"] = o / f if o is not None and f else None
        results.append(entry)

    table = render(results, machine)
    print(table)
    if base_rev:
        print(render_baseline(results, machine))
    base_dir.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": machine, "results": results}, indent=2) + "\n")
    if args.readme:
        write_readme(Path(args.readme), table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
