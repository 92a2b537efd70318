"""Remote write: encoding + snappy-compressing one push vs text exposition of the same registry.

    python benchmarks/bench_remote_write.py              # markdown table on stdout
    python benchmarks/bench_remote_write.py --rounds 9 --json out.json

Target (issue "remote-write sender"): encoding and compressing 10k series for one push takes no
longer than ``prometheus_client.exposition.generate_latest`` of the same registry.

Each workload registry holds 10k series. Both encoders keep per-series caches (rendered label
strings / encoded label records), so there are two fair comparisons:

* **cold**: the first call on a freshly built registry. ``generate_latest(r)`` vs
  ``push_to_remote_write``'s body, ``_snappy.compress(write_request_from_registry(r, ...))``
  (a batch job pushes once: this is its cost);
* **warm**: steady state. ``generate_latest(r)`` called again and again (a scraped process)
  vs a ``RemoteWritePusher``'s second and later pushes (collect + encode + compress).

Snappy uses cramjam when installed (optional extra). The last column forces the pure-Python
path of a pusher (its memoised, layout-aware compressor); the byte table also shows the size
``push_to_remote_write`` gets without cramjam (``_snappy.compress_py``).
Rounds interleave the operations and alternate their order; each cell is the median over
rounds (cold: one call per round on a new registry; warm: best of ``--repeat`` calls).
Ratios are rw / text: <= 1.00 meets the target.

Remote write 2.0 (``protobuf_message="io.prometheus.write.v2.Request"``) is measured the same
way against remote write 1.0 (target: RW2 encode + compress of 10k series no slower than RW1):
**rw2 cold** = ``push_to_remote_write``'s 2.0 body from a fresh registry, **rw2 warm** = a 2.0
``RemoteWritePusher``'s later pushes; their ratios are rw2 / rw1 (cold vs cold, warm vs warm).
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
    disable_created_metrics,
    enable_created_metrics,
)
from prometheus_client._formats import remote_write_v2 as _remote_write_v2  # noqa: E402
from prometheus_client._formats import snappy as _snappy  # noqa: E402
from prometheus_client._formats.remote_write import target_labels  # noqa: E402
from prometheus_client._formats.render import walk as iter_families  # noqa: E402
from prometheus_client.exposition import generate_latest  # noqa: E402
from prometheus_client.remote_write import (  # noqa: E402
    PROTOBUF_MESSAGE_V2,
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


def _cold(build: Callable[[], CollectorRegistry], op: Callable[[CollectorRegistry], Any]) -> float:
    r = build()
    gc.collect()
    t = time.perf_counter()
    op(r)
    return time.perf_counter() - t


def _rw_once(r: CollectorRegistry) -> bytes:
    return _snappy.compress(write_request_from_registry(r, job="bench", instance="host-1"))


def _rw2_once(r: CollectorRegistry) -> bytes:
    """What ``push_to_remote_write(..., protobuf_message=V2)`` compresses and sends."""
    enc = _remote_write_v2.V2Encoder(target_labels("bench", "host-1", None))
    return _snappy.compress(enc.encode(iter_families(r), int(time.time() * 1000))[0])


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
            "rw_snappy": len(_snappy.compress(raw)),
            "rw_pure": len(_snappy.compress_py(raw)),
        }
        pusher = RemoteWritePusher("http://127.0.0.1:1/api/v1/write", r, job="bench", instance="host-1")
        pusher._body()  # first push: the pusher's caches are warm from then on
        generate_latest(r)  # same for the text encoder's label cache
        pusher2 = RemoteWritePusher("http://127.0.0.1:1/api/v1/write", r, job="bench", instance="host-1",
                                    protobuf_message=PROTOBUF_MESSAGE_V2)
        sizes["rw2_snappy"] = len(pusher2._body_v2()[0])  # first push: caches warm from then on
        pure_pusher = RemoteWritePusher("http://127.0.0.1:1/api/v1/write", r, job="bench", instance="host-1")

        def pusher_pure(pusher: RemoteWritePusher = pure_pusher) -> bytes:
            saved = _snappy._cramjam_snappy, _snappy.HAVE_CRAMJAM
            _snappy._cramjam_snappy, _snappy.HAVE_CRAMJAM = None, False  # force pure Python
            try:
                return pusher._body()
            finally:
                _snappy._cramjam_snappy, _snappy.HAVE_CRAMJAM = saved

        pure_body = pusher_pure()
        pusher_pure()  # warm
        sizes["rw_pusher_pure"] = len(pure_body)

        ops: Dict[str, Callable[[], float]] = {
            "text_cold": lambda build=build: _cold(build, generate_latest),
            "rw_cold": lambda build=build: _cold(build, _rw_once),
            "text_warm": lambda r=r: _best(lambda: generate_latest(r), args.repeat),
            "rw_warm": lambda pusher=pusher: _best(pusher._body, args.repeat),
            "rw_warm_pure": lambda f=pusher_pure: _best(f, args.repeat),
            "rw2_cold": lambda build=build: _cold(build, _rw2_once),
            "rw2_warm": lambda pusher2=pusher2: _best(pusher2._body_v2, args.repeat),
        }
        samples: Dict[str, List[float]] = {k: [] for k in ops}
        for rnd in range(args.rounds):
            order = list(ops) if rnd % 2 == 0 else list(reversed(ops))
            for k in order:
                gc.collect()
                samples[k].append(ops[k]())
        med = {k: statistics.median(v) * 1e3 for k, v in samples.items()}
        rows.append({"workload": title, "series": n_series, "ms": med, "bytes": sizes})
    enable_created_metrics()

    def ms(row: Dict[str, Any], key: str, ref: str = "") -> str:
        v = row["ms"][key]
        return f"{v:.1f} ({v / row['ms'][ref]:.2f}x)" if ref else f"{v:.1f}"

    print(f"Python {platform.python_version()} on {platform.machine()}, snappy via "
          f"{'cramjam' if _snappy.HAVE_CRAMJAM else 'pure Python (cramjam not installed)'}; "
          f"median of {args.rounds} rounds; ms per call; ratio = rw / text\n")
    print("| registry | series | text cold | rw push cold | text warm | rw pusher warm "
          "| rw pusher warm, pure-Python snappy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['workload']} | {row['series']:,} | {ms(row, 'text_cold')} | "
              f"{ms(row, 'rw_cold', 'text_cold')} | {ms(row, 'text_warm')} | {ms(row, 'rw_warm', 'text_warm')} | "
              f"{ms(row, 'rw_warm_pure', 'text_warm')} |")
    print("\n| registry | series | rw1 push cold | rw2 push cold | rw1 pusher warm | rw2 pusher warm |")
    print("|---|---:|---:|---:|---:|---:|")
    for row in rows:
        print(f"| {row['workload']} | {row['series']:,} | {ms(row, 'rw_cold')} | {ms(row, 'rw2_cold', 'rw_cold')} | "
              f"{ms(row, 'rw_warm')} | {ms(row, 'rw2_warm', 'rw_warm')} |")
    print("\n| registry | text bytes | WriteRequest bytes | snappy | pure Python: one push | "
          "pure Python: pusher | RW2 snappy |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for row in rows:
        b = row["bytes"]
        print(f"| {row['workload']} | {b['text']:,} | {b['rw']:,} | {b['rw_snappy']:,} | {b['rw_pure']:,} | "
              f"{b['rw_pusher_pure']:,} | {b['rw2_snappy']:,} |")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
