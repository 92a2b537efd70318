"""Remote write: encoding + snappy-compressing one push vs text exposition of the same registry.

    python benchmarks/bench_remote_write.py              # markdown table on stdout
    python benchmarks/bench_remote_write.py --rounds 9 --json out.json

Target (issue "remote-write sender"): encoding and compressing 10k series for one push takes no
longer than ``prometheus_client.exposition.generate_latest`` of the same registry.

Each workload registry holds 10k series. Per round, every measured operation runs once per
workload in an interleaved order (so machine noise hits all of them alike); each cell is the
median over rounds of the per-round best of ``--repeat`` runs.

Columns:
* ``text``: ``generate_latest(registry)`` (Prometheus text 0.0.4), the reference;
* ``rw encode``: ``write_request_from_registry`` (collect + protobuf ``WriteRequest``);
* ``rw + cramjam``: encode + snappy block compression with cramjam (optional extra), i.e.
  exactly the body ``push_to_remote_write`` sends when cramjam is installed;
* ``rw + pure snappy``: the same with the dependency-free compressor of ``_snappy``;
* ``pusher``: encode + cramjam by a ``RemoteWritePusher`` on its 2nd+ push (warm label
  caches), i.e. the steady-state cost per interval of the background pusher.
Ratios are against ``text`` (lower is better; <= 1.00 meets the target).
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from prometheus_client import (  # noqa: E402
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    _snappy,
    disable_created_metrics,
    enable_created_metrics,
)
from prometheus_client.exposition import generate_latest  # noqa: E402
from prometheus_client.remote_write import (  # noqa: E402
    RemoteWritePusher,
    write_request_from_registry,
)

CODES = ("200", "201", "204", "301", "302", "400", "401", "404", "500", "503")


def counters_10k() -> CollectorRegistry:
    """10k labelled counter children, ``_created`` off: 10k series."""
    r = CollectorRegistry()
    c = Counter("bench_requests", "Requests", ["path", "code"], registry=r)
    for i in range(1000):
        for code in CODES:
            c.labels(f"/api/v1/item/{i}", code).inc(i)
    return r


def counters_created_5k() -> CollectorRegistry:
    """5k labelled counter children with ``_created``: 10k series."""
    r = CollectorRegistry()
    c = Counter("bench_requests", "Requests", ["path", "code"], registry=r)
    for i in range(500):
        for code in CODES:
            c.labels(f"/api/v1/item/{i}", code).inc(i)
    return r


def mixed_10k() -> CollectorRegistry:
    """5k labelled gauges + 278 labelled histograms (default buckets, 18 series each): 10,004."""
    r = CollectorRegistry()
    g = Gauge("bench_queue_depth", "Queue depth", ["queue", "shard"], registry=r)
    for i in range(500):
        for s in range(10):
            g.labels(f"queue-{i}", str(s)).set(i * 0.5 + s)
    h = Histogram("bench_latency_seconds", "Latency", ["path"], registry=r)
    for i in range(278):
        h.labels(f"/api/v1/item/{i}").observe(i / 1000.0)
    return r


# name -> (builder, created series on?)
WORKLOADS: Dict[str, Tuple[Callable[[], CollectorRegistry], bool]] = {
    "10k counters (no `_created`)": (counters_10k, False),
    "5k counters + `_created`": (counters_created_5k, True),
    "5k gauges + 278 histograms": (mixed_10k, True),
}


def _best(fn: Callable[[], Any], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", help="also write the results as JSON to this file")
    args = ap.parse_args()

    rows = []
    for title, (build, created) in WORKLOADS.items():
        (enable_created_metrics if created else disable_created_metrics)()
        r = build()
        n_series = sum(len(m.samples) for m in r.collect())
        raw = write_request_from_registry(r, job="bench", instance="host-1")
        sizes = {
            "text": len(generate_latest(r)),
            "rw": len(raw),
            "rw_cramjam": len(_snappy.compress(raw)) if _snappy.HAVE_CRAMJAM else None,
            "rw_pure": len(_snappy.compress_py(raw)),
        }
        pusher = RemoteWritePusher("http://127.0.0.1:1/api/v1/write", r, job="bench", instance="host-1")
        enc = pusher._encoder  # the pusher's own encoder: caches stay warm between pushes
        enc.encode(r.collect(), 1)

        ops: Dict[str, Callable[[], Any]] = {
            "text": lambda r=r: generate_latest(r),
            "rw_encode": lambda r=r: write_request_from_registry(r, job="bench", instance="host-1"),
            "rw_pure": lambda r=r: _snappy.compress_py(
                write_request_from_registry(r, job="bench", instance="host-1")),
        }
        if _snappy.HAVE_CRAMJAM:
            ops["rw_cramjam"] = lambda r=r: _snappy.compress(
                write_request_from_registry(r, job="bench", instance="host-1"))
            ops["pusher"] = lambda r=r, enc=enc: _snappy.compress(enc.encode(r.collect(), 2))
        samples: Dict[str, List[float]] = {k: [] for k in ops}
        for rnd in range(args.rounds):
            order = list(ops) if rnd % 2 == 0 else list(reversed(ops))
            for k in order:
                gc.collect()
                samples[k].append(_best(ops[k], args.repeat))
        med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
        rows.append({"workload": title, "series": n_series, "ms": med, "bytes": sizes})
    enable_created_metrics()

    def cell(row: Dict[str, Any], key: str) -> str:
        ms = row["ms"].get(key)
        if ms is None:
            return "n/a"
        if key == "text":
            return f"{ms:.1f}"
        return f"{ms:.1f} ({ms / row['ms']['text']:.2f}x)"

    print(f"Python {platform.python_version()} on {platform.machine()}, cramjam "
          f"{'installed' if _snappy.HAVE_CRAMJAM else 'NOT installed'}; median of {args.rounds} rounds "
          f"(best of {args.repeat} each), ms per push; ratio vs text exposition\n")
    print("| registry | series | text `generate_latest` | rw encode | rw + cramjam | rw + pure snappy "
          "| pusher (warm) + cramjam |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['workload']} | {row['series']:,} | {cell(row, 'text')} | {cell(row, 'rw_encode')} | "
              f"{cell(row, 'rw_cramjam')} | {cell(row, 'rw_pure')} | {cell(row, 'pusher')} |")
    print("\n| registry | text bytes | WriteRequest bytes | snappy (cramjam) | snappy (pure) |")
    print("|---|---:|---:|---:|---:|")
    for row in rows:
        b = row["bytes"]
        cj = f"{b['rw_cramjam']:,}" if b["rw_cramjam"] is not None else "n/a"
        print(f"| {row['workload']} | {b['text']:,} | {b['rw']:,} | {cj} | {b['rw_pure']:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
