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
    repeat: Optional[int] = None  # time: samples per round instead of --repeat (slow workloads)
    max_rounds: Optional[int] = None  # run in at most this many rounds (the official 1M takes minutes)
    # Scaling series: workloads sharing a ``group`` are printed with their growth factor
    # (time of this size / time of the previous size, and the size ratio), e.g. 10k -> 100k.
    group: Optional[str] = None
    size: int = 0


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

# Every timer/tracker form, as context manager and as decorator (no exception raised).
_TIMER_SETUP = _REG + (
    "h = Histogram('bench_latency_seconds', 'Latency', registry=r)\n"
    "s = Summary('bench_size_seconds', 'Size', registry=r)\n"
    "g = Gauge('bench_last_seconds', 'Last', registry=r)\n"
    "ip = Gauge('bench_inprogress', 'In progress', registry=r)\n"
    "c = Counter('bench_failures', 'Failures', registry=r)\n"
    "@h.time()\ndef h_dec(): pass\n"
    "@s.time()\ndef s_dec(): pass\n"
    "@g.time()\ndef g_dec(): pass\n"
    "@ip.track_inprogress()\ndef ip_dec(): pass\n"
    "@c.count_exceptions()\ndef c_dec(): pass\n"
)
for _name, _title, _cm, _dec in [
    ("histogram_time", "`Histogram.time()`", "h.time()", "h_dec"),
    ("summary_time", "`Summary.time()`", "s.time()", "s_dec"),
    ("gauge_time", "`Gauge.time()`", "g.time()", "g_dec"),
    ("gauge_track_inprogress", "`Gauge.track_inprogress()`", "ip.track_inprogress()", "ip_dec"),
    ("counter_count_exceptions", "`Counter.count_exceptions()`", "c.count_exceptions()", "c_dec"),
]:
    WORKLOADS.append(Workload(_name + "_with", f"`with {_cm}:` (empty block)", _TIMER_SETUP,
                              f"with {_cm}:\n    pass"))
    WORKLOADS.append(Workload(_name + "_decorator", f"{_title} as decorator, call of an empty function",
                              _TIMER_SETUP, f"{_dec}()"))

WORKLOADS.append(Workload(
    "child_observe",
    "cached child `Histogram.observe()` default buckets",
    _REG + "h = Histogram('bench_latency_seconds', 'Latency', ['method'], registry=r)\n"
    "child = h.labels('GET')",
    "child.observe(0.3)",
))

# Text exposition of N labelled counter series (2 labels), for the growth factor.
for _size, _label, _rep, _rounds in [
    (1000, "1k", None, None), (10000, "10k", None, None), (100000, "100k", 2, 3), (1000000, "1M", 1, 1),
]:
    WORKLOADS.append(Workload(
        f"text_scale_{_label}",
        f"`generate_latest()` {_label} labelled counter series",
        _REG + "from prometheus_client import generate_latest\n"
        "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
        f"for i in range({_size // 10}):\n"
        "    for code in ('200', '201', '204', '301', '302', '400', '401', '404', '500', '503'):\n"
        "        c.labels('/api/v1/item/%d' % i, code).inc(i)\n"
        "generate_latest(r)\n",  # first scrape (fills encoder caches) is not timed
        "generate_latest(r)",
        unit="ms",
        number=1 if _size >= 100000 else None,
        repeat=_rep,
        max_rounds=_rounds,
        group="text exposition",
        size=_size,
    ))

WORKLOADS.append(Workload(
    "mem_counter_child_2labels",
    "memory per Counter child, 2 labels, incremented once (100k children)",
    _REG + "c = Counter('bench_requests', 'Requests', ['path', 'code'], registry=r)\n"
    "values = [('/api/v1/item/%d' % (i // 10), str(200 + i % 10)) for i in range(100000)]\n",
    "for p, code in values:\n    c.labels(p, code).inc()\n",
    kind="memory",
    unit="B",
    count=100000,
))

WORKLOADS.append(Workload(
    "parse_text_10k",
    "`text_string_to_metric_families` 10k series",
    "from prometheus_client.parser import text_string_to_metric_families\n"
    "text = '# HELP bench_requests_total Requests\\n# TYPE bench_requests_total counter\\n' + ''.join(\n"
    "    'bench_requests_total{path=\"/api/v1/item/%d\",code=\"%d\"} %d\\n' % (i // 10, 200 + i % 10, i)\n"
    "    for i in range(10000))\n",
    "for _ in text_string_to_metric_families(text): pass",
    unit="ms",
))

WORKLOADS.append(Workload(
    "parse_openmetrics_10k",
    "OpenMetrics `text_string_to_metric_families` 10k series",
    "from prometheus_client.openmetrics.parser import text_string_to_metric_families\n"
    "text = '# HELP bench_requests Requests\\n# TYPE bench_requests counter\\n' + ''.join(\n"
    "    'bench_requests_total{path=\"/api/v1/item/%d\",code=\"%d\"} %d\\n' % (i // 10, 200 + i % 10, i)\n"
    "    for i in range(10000)) + '# EOF\\n'\n",
    "for _ in text_string_to_metric_families(text): pass",
    unit="ms",
))
