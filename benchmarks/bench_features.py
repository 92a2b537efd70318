"""Our features against our own baselines (issue targets that compare ours with ours).

    python benchmarks/bench_features.py [--rounds N]

Rows: Summary.observe() with three objectives vs plain Summary.observe() (target <= 3x);
generate_latest() of 1k summaries with objectives vs 1k plain summaries (target <= 2x);
protobuf exposition vs text exposition of 10k series (target <= 1x); OpenMetrics 2.0 exposition
vs OpenMetrics 1.0 of 10k series (counters, gauges, histograms, summaries; target <= 1x).
Prints a markdown table; ``--filter TEXT`` runs only the rows whose title contains TEXT.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import timeit
from pathlib import Path
from typing import Callable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest  # noqa: E402
from prometheus_client.openmetrics.exposition import generate_latest as om_latest  # noqa: E402
from prometheus_client.protobuf import encode_registry  # noqa: E402

OBJECTIVES = {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}


def per_call(fn: Callable[[], object], number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def observe_pair() -> Tuple[float, float]:
    values = [random.random() for _ in range(4096)]
    q = Summary("q", "h", objectives=OBJECTIVES, registry=CollectorRegistry())
    p = Summary("p", "h", registry=CollectorRegistry())
    n = 200_000

    def run(s: Summary) -> Callable[[], None]:
        obs = s.observe

        def loop() -> None:
            for v in values:
                obs(v)

        return loop

    return per_call(run(q), n // 4096) / 4096, per_call(run(p), n // 4096) / 4096


def scrape_pair() -> Tuple[float, float]:
    rq, rp = CollectorRegistry(), CollectorRegistry()
    q = Summary("q", "h", ["i"], objectives=OBJECTIVES, registry=rq)
    p = Summary("p", "h", ["i"], registry=rp)
    for i in range(1000):
        cq, cp = q.labels(str(i)), p.labels(str(i))
        for j in range(100):
            cq.observe(j)
            cp.observe(j)
    return per_call(lambda: generate_latest(rq), 5), per_call(lambda: generate_latest(rp), 5)


def protobuf_pair() -> Tuple[float, float]:
    r = CollectorRegistry()
    c = Counter("bench_requests", "Requests", ["path", "code"], registry=r)
    for i in range(10000):
        c.labels("/p/%d" % (i // 10), str(i % 10)).inc(i)
    return per_call(lambda: encode_registry(r), 10), per_call(lambda: generate_latest(r), 10)


def om2_pair() -> Tuple[float, float]:
    r = CollectorRegistry()
    c = Counter("bench_requests", "Requests", ["path", "code"], registry=r)
    for i in range(6000):
        c.labels("/p/%d" % (i // 10), str(i % 10)).inc(i)
    g = Gauge("bench_temperature", "Temperature", ["room"], registry=r)
    for i in range(2000):
        g.labels(str(i)).set(i / 7)
    h = Histogram("bench_latency_seconds", "Latency", ["route"], registry=r)
    for i in range(1000):
        h.labels(str(i)).observe(i / 1000)
    s = Summary("bench_size_bytes", "Sizes", ["route"], registry=r)
    for i in range(1000):
        s.labels(str(i)).observe(i)
    return (per_call(lambda: om_latest(r, version="2.0.0"), 10),
            per_call(lambda: om_latest(r, version="1.0.0"), 10))


ROWS: List[Tuple[str, str, str, Callable[[], Tuple[float, float]], float, float]] = [
    ("`Summary.observe()`, 3 objectives vs plain", "ns", "<= 3", observe_pair, 1e9, 3.0),
    ("`generate_latest()` 1k summaries with objectives vs plain", "ms", "<= 2", scrape_pair, 1e3, 2.0),
    ("protobuf vs text exposition, 10k series", "ms", "<= 1", protobuf_pair, 1e3, 1.0),
    ("OpenMetrics 2.0 vs 1.0 exposition, 10k series", "ms", "<= 1", om2_pair, 1e3, 1.0),
]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--filter", default="", help="only rows whose title contains this text")
    args = ap.parse_args()
    print("| workload | ours (feature) | ours (baseline) | ratio | target |")
    print("|---|---:|---:|---:|---|")
    for title, unit, target, fn, scale, _ in ROWS:
        if args.filter not in title:
            continue
        pairs = [fn() for _ in range(args.rounds)]
        a = statistics.median(p[0] for p in pairs) * scale
        b = statistics.median(p[1] for p in pairs) * scale
        print(f"| {title} | {a:.1f} {unit} | {b:.1f} {unit} | {a / b:.2f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
