"""Benchmark workloads: ours vs the official client, same snippet on both.

Each ``Workload`` is plain data. The snippet uses only the official client's public API (both
implementations expose it) and runs in a fresh subprocess of the interpreter under test.

kinds:
  ``time``    ``setup`` runs once, then ``stmt`` is timed with timeit (auto-calibrated loop
              count, best of ``repeat``); reported per execution of ``stmt``.
  ``memory``  ``setup`` runs, then tracemalloc measures what ``stmt`` leaves allocated (after
              gc), divided by ``count`` (e.g. bytes per child).
  ``once``    each sample is a fresh process: ``setup``, then ONE timed execution of ``stmt``
              (e.g. ``import prometheus_client``); best of ``repeat`` processes per round.

units: ``ns``, ``us``, ``ms`` (per op, from seconds) or ``B`` (bytes per ``count``).

To add a workload (multiprocess, parsers, protobuf, remote write, ...), append a ``Workload``
to ``WORKLOADS``. ``setup`` may use ``TMPDIR`` (a fresh empty temp dir per process) and, for
``memory``, should pre-build inputs (e.g. label value strings) so only the library's own
allocations are counted. A workload that fails on one side is reported as ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Workload:
    name: str  # short id, used by --filter and in JSON
    title: str  # shown in the table
    setup: str
    stmt: str
    kind: str = "time"  # "time" | "memory" | "once"
    unit: str = "ns"  # "ns" | "us" | "ms" | "B"
    count: int = 1  # memory: divide by this
    number: Optional[int] = None  # time: fixed loop count instead of auto-calibration
    env: tuple[tuple[str, str], ...] = ()  # extra environment for the subprocess
    # Ours only: a different snippet for this project (a feature the official client lacks,
    # timed against the official client's nearest equivalent, e.g. native vs classic histogram).
    ours_setup: Optional[str] = None
    ours_stmt: Optional[str] = None


_REG = (
    "from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary\n"
    "r = CollectorRegistry()\n"
)

WORKLOADS: list[Workload] = [
    Workload(
        "counter_inc",
        "`Counter.inc()` (no labels)",
        _REG + "c = Counter('bench_requests', 'Requests', registry=r)",
        "c.inc()",
    ),
    Workload(
        "child_inc",
        "cached child `Counter.inc()`",
        _REG + "c = Counter('bench_requests', 'Requests', ['method', 'code'], registry=r)\n"
        "child = c.labels('GET', '200')",
        "child.inc()",
    ),
    Workload(
        "gauge_set",
        "`Gauge.set()`",
        _REG + "g = Gauge('bench_temperature', 'Temperature', registry=r)",
        "g.set(21.5)",
    ),
    Workload(
        "labels_inc",
        "`c.labels('GET', '200').inc()`",
        _REG + "c = Counter('bench_requests', 'Requests', ['method', 'code'], registry=r)",
        "c.labels('GET', '200').inc()",
    ),
    Workload(
        "histogram_observe",
        "`Histogram.observe()` default buckets",
        _REG + "h = Histogram('bench_latency_seconds', 'Latency', registry=r)",
        "h.observe(0.3)",
    ),
    Workload(
        "histogram_labels_observe",
        "`h.labels('GET').observe()` default buckets",
        _REG + "h = Histogram('bench_latency_seconds', 'Latency', ['method'], registry=r)",
        "h.labels('GET').observe(0.3)",
    ),
    Workload(
        "summary_observe",
        "`Summary.observe()`",
        _REG + "s = Summary('bench_size_bytes', 'Size', registry=r)",
        "s.observe(512.0)",
    ),
    Workload(
        "text_10k_counters",
        "`generate_latest()` 10k labelled counter series",
        _REG + "from prometheus_client import generate_latest\n"
        "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        "for i in range(1000):\n"
        "    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):\n"
        "        c.labels('/api/v1/item/%d' % i, code).inc(i)\n",
        "generate_latest(r)",
        unit="ms",
    ),
    Workload(
        "text_1k_histograms",
        "`generate_latest()` 1k histograms (default buckets)",
        _REG + "from prometheus_client import generate_latest\n"
        "h = Histogram('bench_latency_seconds', 'Latency', ['path'], registry=r)\n"
        "for i in range(1000):\n"
        "    h.labels('/api/v1/item/%d' % i).observe(i / 1000.0)\n",
        "generate_latest(r)",
        unit="ms",
    ),
    Workload(
        "openmetrics_10k_counters",
        "OpenMetrics `generate_latest()` 10k series",
        _REG + "from prometheus_client.openmetrics.exposition import generate_latest\n"
        "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        "for i in range(1000):\n"
        "    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):\n"
        "        c.labels('/api/v1/item/%d' % i, code).inc(i)\n",
        "generate_latest(r)",
        unit="ms",
    ),
    Workload(
        "mem_counter_child",
        "memory per labelled counter child (100k children)",
        _REG + "c = Counter('bench_requests', 'Requests', ['path'], registry=r)\n"
        "values = ['/api/v1/item/%d' % i for i in range(100000)]\n",
        "for v in values:\n    c.labels(v)\n",
        kind="memory",
        unit="B",
        count=100000,
    ),
    Workload(
        "mem_histogram_child",
        "memory per histogram child (10k children, default buckets)",
        _REG + "h = Histogram('bench_latency_seconds', 'Latency', ['path'], registry=r)\n"
        "values = ['/api/v1/item/%d' % i for i in range(10000)]\n",
        "for v in values:\n    h.labels(v)\n",
        kind="memory",
        unit="B",
        count=10000,
    ),
    Workload(
        "text_custom_collector_10k",
        "`generate_latest()` custom collector, 10k counter samples + created",
        _REG + "from prometheus_client import generate_latest\n"
        "from prometheus_client.core import CounterMetricFamily\n"
        "fam = CounterMetricFamily('bench_requests', 'Requests', labels=['path', 'code'])\n"
        "for i in range(1000):\n"
        "    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):\n"
        "        fam.add_metric(['/api/v1/item/%d' % i, code], float(i), created=1700000000.5)\n"
        "class Collector:\n"
        "    def collect(self):\n"
        "        return [fam]\n"
        "r.register(Collector())\n",
        "generate_latest(r)",
        unit="ms",
    ),
    Workload(
        "scrape_gzip_10k_counters",
        "scrape response (`_bake_output`, gzip) 10k series",
        _REG + "from prometheus_client.exposition import _bake_output\n"
        "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        "for i in range(1000):\n"
        "    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):\n"
        "        c.labels('/api/v1/item/%d' % i, code).inc(i)\n",
        "_bake_output(r, 'text/plain; version=0.0.4', 'gzip', {}, False)",
        unit="ms",
    ),
    Workload(
        "import",
        "`import prometheus_client` (fresh process)",
        "",
        "import prometheus_client",
        kind="once",
        unit="ms",
    ),
    Workload(
        "native_histogram_observe",
        "native `Histogram.observe()` (ours) vs classic default buckets (official)",
        _REG + "h = Histogram('bench_latency', 'Latency', registry=r)\nimport itertools\n"
        "vals = itertools.cycle([i / 1000 for i in range(1, 5000)])",
        "h.observe(next(vals))",
        ours_setup=_REG + "h = Histogram('bench_latency', 'Latency', buckets=(), native_histogram_bucket_factor=1.1,"
        " registry=r)\nimport itertools\nvals = itertools.cycle([i / 1000 for i in range(1, 5000)])",
    ),
    Workload(
        "protobuf_10k_counters",
        "protobuf exposition (ours) vs text `generate_latest()` (official), 10k series",
        _REG + "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        "for i in range(10000): c.labels('/p/%d' % (i // 10), str(i % 10)).inc(i)\n"
        "from prometheus_client import generate_latest",
        "generate_latest(r)",
        unit="ms",
        ours_setup=_REG + "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        "for i in range(10000): c.labels('/p/%d' % (i // 10), str(i % 10)).inc(i)\n"
        "from prometheus_client.protobuf import encode_registry",
        ours_stmt="encode_registry(r)",
    ),
]
