"""Scrape throughput: this project vs the official client 0.26.0, measured with ``wrk``.

    python benchmarks/bench_http.py                    # markdown table on stdout
    python benchmarks/bench_http.py --rounds 5 --duration 5 --json out.json

Target (issue "serving and pushing"): with 10k series, ours serves >= 2x the requests per
second of the official client, for the built-in HTTP server and for the WSGI app.

Each side runs the same server script in its own interpreter (ours: this checkout's ``src/``;
official: ``$OFFICIAL_PYTHON`` or the side venv ``${TMPDIR:-/tmp}/official-prom-venv``, created
when missing) on a free port on 127.0.0.1, with a registry of 10k series (50 gauge families and
25 counter families, 100 labelled children each; counters expose ``_total`` and ``_created``).

Servers:
* ``start_http_server``: the library's built-in threaded server;
* ``make_wsgi_app``: the WSGI app under the standard library's single-threaded
  ``wsgiref.simple_server`` (same server for both sides, so the app is what differs).

Requests:
* ``text``: a plain ``GET /metrics`` (no Accept, no Accept-Encoding): text 0.0.4;
* ``prometheus``: the headers Prometheus 2.42 sends (OpenMetrics preferred, gzip).

Load: ``wrk -t1 -c4`` for ``--duration`` seconds after a short warm-up. Rounds alternate which
side is measured first; each cell is the median requests/s over rounds. Ratio = ours /
official (higher is better; >= 2.00 meets the target).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
OFFICIAL_VERSION = "0.26.0"

PROM_HEADERS = [
    "Accept: application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    "Accept-Encoding: gzip",
]

SERVER = r'''
import sys, threading
from prometheus_client import CollectorRegistry, Counter, Gauge, make_wsgi_app, start_http_server
mode, port = sys.argv[1], int(sys.argv[2])
r = CollectorRegistry()
for f in range(50):
    g = Gauge(f"bench_gauge_{f}", "A gauge family", ["instance_id"], registry=r)
    for i in range(100):
        g.labels(f"inst-{i}").set(i * 1.5 + f)
for f in range(25):
    c = Counter(f"bench_requests_{f}", "A counter family", ["endpoint"], registry=r)
    for i in range(100):
        c.labels(f"/api/v1/endpoint/{i}").inc(i + f)
if mode == "http":
    start_http_server(port, addr="127.0.0.1", registry=r)
else:
    from wsgiref.simple_server import WSGIRequestHandler, make_server
    class Quiet(WSGIRequestHandler):
        def log_message(self, *a):
            pass
    httpd = make_server("127.0.0.1", port, make_wsgi_app(r), handler_class=Quiet)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
print("ready", flush=True)
sys.stdin.read()
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def ensure_official(explicit: Optional[str]) -> str:
    check = ("import importlib.metadata as m, prometheus_client\n"
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
    shutil.rmtree(venv, ignore_errors=True)
    base = getattr(sys, "_base_executable", None) or sys.executable
    subprocess.run([base, "-m", "venv", str(venv)], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    f"prometheus-client=={OFFICIAL_VERSION}"], check=True)
    return python


class Server:
    def __init__(self, python: str, mode: str, ours: bool) -> None:
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PROMETHEUS_MULTIPROC")}
        env.pop("PYTHONPATH", None)
        argv = [python, "-c", SERVER, mode, str(self.port)]
        if ours:
            env["PYTHONPATH"] = str(SRC)
        else:
            argv.insert(1, "-I")
        self.tmp = tempfile.mkdtemp(prefix="bench-http-")
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, cwd=self.tmp)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if line.strip() != b"ready":
            err = self.proc.stderr.read() if self.proc.stderr else b""
            raise RuntimeError(f"server did not start: {line!r} {err.decode(errors='replace')[-2000:]}")
        self.url = f"http://127.0.0.1:{self.port}/metrics"
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(self.url, timeout=10) as resp:
                    self.size = len(resp.read())
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if f is not None:
                f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


def wrk(url: str, headers: List[str], duration: float, connections: int) -> Tuple[float, int]:
    """(requests/s, non-2xx or socket errors) from one wrk run."""
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "--latency"]
    for h in headers:
        argv += ["-H", h]
    out = subprocess.run([*argv, url], capture_output=True, text=True, timeout=duration + 60).stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if not m:
        raise RuntimeError(f"unexpected wrk output:\n{out}")
    errors = 0
    for pat in (r"Non-2xx or 3xx responses: (\d+)", r"Socket errors: connect (\d+), read (\d+), write (\d+), "
                r"timeout (\d+)"):
        em = re.search(pat, out)
        if em:
            errors += sum(int(x) for x in em.groups())
    return float(m.group(1)), errors


CASES = [
    ("start_http_server", "http", "text", []),
    ("start_http_server", "http", "prometheus", PROM_HEADERS),
    ("make_wsgi_app (wsgiref)", "wsgi", "text", []),
    ("make_wsgi_app (wsgiref)", "wsgi", "prometheus", PROM_HEADERS),
]


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=float, default=4.0, help="seconds of load per measurement")
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--official", help="python of a venv with prometheus-client==0.26.0")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    if not shutil.which("wrk"):
        sys.exit("error: wrk not found (apt-get install wrk)")
    sides = {"ours": sys.executable, "official": ensure_official(args.official)}

    results: List[Dict[str, Any]] = []
    for server_name, mode, req_name, headers in CASES:
        rps: Dict[str, List[float]] = {"ours": [], "official": []}
        sizes: Dict[str, int] = {}
        errors = 0
        for rnd in range(args.rounds):
            order = ["ours", "official"] if rnd % 2 == 0 else ["official", "ours"]
            for side in order:
                srv = Server(sides[side], mode, side == "ours")
                try:
                    sizes[side] = srv.size
                    wrk(srv.url, headers, 1, args.connections)  # warm-up
                    value, errs = wrk(srv.url, headers, args.duration, args.connections)
                    rps[side].append(value)
                    errors += errs
                finally:
                    srv.stop()
        ours, official = statistics.median(rps["ours"]), statistics.median(rps["official"])
        results.append({
            "server": server_name, "request": req_name, "ours_rps": ours, "official_rps": official,
            "ratio": ours / official if official else None, "errors": errors,
            "ours_all": rps["ours"], "official_all": rps["official"], "text_bytes": sizes,
        })
        print(f"{server_name} / {req_name}: ours {ours:.1f} req/s, official {official:.1f} req/s, "
              f"x{ours / official:.2f}", file=sys.stderr)

    print(f"Scrape throughput, 10k series, wrk -t1 -c{args.connections}, {args.duration:g}s x {args.rounds} "
          f"rounds (median); {platform.python_implementation()} {platform.python_version()}, "
          f"{os.cpu_count()} CPUs\n")
    print("| server | request | ours (req/s) | official 0.26.0 (req/s) | ours / official |")
    print("| --- | --- | ---: | ---: | ---: |")
    for r in results:
        ratio = f"{r['ratio']:.2f}x" if r["ratio"] else "n/a"
        print(f"| {r['server']} | {r['request']} | {r['ours_rps']:.1f} | {r['official_rps']:.1f} | {ratio} |")
    if any(r["errors"] for r in results):
        print("\nwrk reported errors:", {f"{r['server']}/{r['request']}": r["errors"] for r in results})
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
