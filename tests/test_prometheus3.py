"""Prometheus 3.5 LTS scrapes this library in every format it can negotiate.

One Prometheus 3.5 (native histograms, exemplar storage, created-timestamp zero ingestion)
scrapes five WSGI targets, each pinned to one entry of ``scrape_protocols``:

* ``proto``: ``PrometheusProto`` (delimited protobuf: native histograms, created timestamps);
* ``om``: ``OpenMetricsText1.0.0``;
* ``text1``: ``PrometheusText1.0.0`` (quoted UTF-8 names, as in ``om``; 3.5 asks for
  ``escaping=allow-utf-8`` in these two only: protobuf and 0.0.4 get underscore-escaped names);
* ``text004``: ``PrometheusText0.0.4`` (no escaping parameter: names escaped with underscores);
* ``bad``: protobuf with a native histogram whose count disagrees with its buckets, which
  Prometheus 3.5 answers by rejecting the whole scrape (the reason ``Metric.add_sample``
  refuses such a histogram).

Every target records the ``Accept`` header it got and the ``Content-Type`` it answered, so the
tests see what was negotiated.  Values are read back exactly through the HTTP API.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Any, Callable, Dict, Iterable, Iterator, List, Tuple
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from peers import (
    PROMETHEUS3,
    Peer,
    binary_version,
    free_ports,
    prom_api,
    prom_query,
    prom_value,
    prometheus_config,
    start_prometheus,
    wait_until,
)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, make_wsgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.samples import BucketSpan, NativeHistogram, Sample

PROTOCOLS = {
    "proto": "PrometheusProto",
    "om": "OpenMetricsText1.0.0",
    "text1": "PrometheusText1.0.0",
    "text004": "PrometheusText0.0.4",
    "bad": "PrometheusProto",
}
GOOD = ("proto", "om", "text1", "text004")
CONTENT_TYPES = {
    "proto": "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
    "om": "application/openmetrics-text; version=1.0.0",
    "text1": "text/plain; version=1.0.0",
    "text004": "text/plain; version=0.0.4",
}
NATIVE_VALUES = (0.0, 0.5, 1.0, 2.0, 3.0, -1.0, 100.0)
UTF8_NAME = "p3.temp ☃"


class _Utf8:
    def collect(self) -> List[Metric]:
        g = GaugeMetricFamily(UTF8_NAME, "A gauge with a UTF-8 name", labels=["lab.el"])
        g.add_metric(["é"], 21.5)
        return [g]


class _Inconsistent:
    """A native histogram whose count (5) is not zero_count (1) + bucket counts (2): built
    around ``add_sample``, which refuses it."""

    def collect(self) -> List[Metric]:
        m = Metric("p3_bad", "Inconsistent native histogram", "histogram")
        nh = NativeHistogram(5, 10.0, 0, 0.001, 1, pos_spans=(BucketSpan(0, 1),), pos_deltas=(2,))
        m.samples.append(Sample("p3_bad", {}, 0, None, None, nh))
        return [m]


def app_registry(created: float) -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("p3_requests", "Requests served", ["path"], registry=r)
    c.labels("/a").inc(2, exemplar={"trace_id": "t1"})
    c.labels("/a")._created = created
    Gauge("p3_temperature", "Temperature", unit="celsius", registry=r).set(-3.25)
    h = Histogram("p3_latency_seconds", "Latency", buckets=(0.1, 1.0), registry=r)
    for v in (0.05, 0.5, 3.0):
        h.observe(v)
    h._created = created
    s = Summary("p3_size_bytes", "Sizes", registry=r)
    s.observe(10)
    s.observe(20.5)
    s._created = created
    nh = Histogram("p3_native", "Native", buckets=(1.0,), native_histogram_bucket_factor=1.1, registry=r)
    for v in NATIVE_VALUES:
        nh.observe(v)
    nh._created = created
    r.register(_Utf8())
    return r


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _recording(app: Callable[..., Iterable[bytes]], seen: List[Tuple[str, str]]) -> Callable[..., Iterable[bytes]]:
    def middleware(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def start(status: str, headers: List[Tuple[str, str]], *exc: Any) -> Any:
            ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
            seen.append((environ.get("HTTP_ACCEPT", ""), ctype))
            return start_response(status, headers, *exc)

        return app(environ, start)

    return middleware


class Scrapes:
    def __init__(self, peer: Peer, seen: Dict[str, List[Tuple[str, str]]], created: float) -> None:
        self.peer = peer
        self.seen = seen
        self.created = created


@pytest.fixture(scope="module")
def p3() -> Iterator[Scrapes]:
    from prometheus_client.exposition import ThreadingWSGIServer

    ports = dict(zip(PROTOCOLS, free_ports(len(PROTOCOLS))))
    config = prometheus_config({job: [f"127.0.0.1:{port}"] for job, port in ports.items()},
                               job_options={job: {"scrape_protocols": [proto]} for job, proto in PROTOCOLS.items()})
    peer = start_prometheus(
        config, binary=PROMETHEUS3,
        flags=["--enable-feature=native-histograms,exemplar-storage,created-timestamp-zero-ingestion"])
    created = math.floor(time.time()) - 30.25  # before the first scrape, ms-exact
    seen: Dict[str, List[Tuple[str, str]]] = {job: [] for job in PROTOCOLS}
    servers = []
    try:
        for job, port in ports.items():
            registry = app_registry(created)
            if job == "bad":
                registry = CollectorRegistry()
                registry.register(_Inconsistent())
            httpd = make_server("127.0.0.1", port, _recording(make_wsgi_app(registry), seen[job]),
                                ThreadingWSGIServer, handler_class=_Quiet)
            t = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
            t.start()
            servers.append((httpd, t))

        def all_scraped() -> bool:
            targets = prom_api(peer, "targets")["activeTargets"]
            if len(targets) != len(PROTOCOLS) or any(not t["lastScrape"].startswith("2") for t in targets):
                return False
            return all(prom_value(peer, f'p3_temperature_celsius{{job="{job}"}}') is not None for job in GOOD)

        try:
            wait_until(all_scraped, "every 3.5 target scraped", timeout=90, interval=0.25, proc=peer.proc,
                       log=peer.log)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\ntargets: {prom_api(peer, 'targets')}") from None
        yield Scrapes(peer, seen, created)
    finally:
        for httpd, t in servers:
            httpd.shutdown()
            httpd.server_close()
            t.join(10)
        peer.stop()


def test_it_is_prometheus_3_5() -> None:
    assert binary_version(PROMETHEUS3)[:2] == (3, 5)


@pytest.mark.parametrize("job", list(PROTOCOLS))
def test_negotiated_format(p3: Scrapes, job: str) -> None:
    accept, ctype = p3.seen[job][0]
    assert accept.startswith(CONTENT_TYPES["proto" if job == "bad" else job].replace(" ", "")), accept
    want = CONTENT_TYPES["proto" if job == "bad" else job]
    assert ctype.startswith(want), (accept, ctype)
    # Prometheus 3.5 asks for UTF-8 names (escaping=allow-utf-8) in the 1.0.0 text formats only;
    # its protobuf and 0.0.4 requests carry no escaping parameter, so names go out escaped with
    # underscores there (as client_golang does)
    utf8 = job in ("om", "text1")
    assert ("escaping=allow-utf-8" in accept) == utf8, accept
    assert ("escaping=allow-utf-8" in ctype) == utf8, ctype


@pytest.mark.parametrize("job", GOOD)
def test_exact_values(p3: Scrapes, job: str) -> None:
    def v(expr: str) -> Any:
        return prom_value(p3.peer, expr.replace("JOB", f'job="{job}"'))

    assert v('p3_requests_total{JOB,path="/a"}') == 2
    assert v("p3_temperature_celsius{JOB}") == -3.25
    assert v("p3_size_bytes_count{JOB}") == 2 and v("p3_size_bytes_sum{JOB}") == 30.5
    buckets = {r["metric"]["le"]: float(r["value"][1])
               for r in prom_query(p3.peer, f'p3_latency_seconds_bucket{{job="{job}"}}')}
    assert buckets == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert v("p3_latency_seconds_count{JOB}") == 3 and v("p3_latency_seconds_sum{JOB}") == 3.55


@pytest.mark.parametrize("job", GOOD)
def test_utf8_names_end_to_end(p3: Scrapes, job: str) -> None:
    (got,) = prom_query(p3.peer, f'{{job="{job}",__name__=~"p3.temp.*",__name__!="p3_temperature_celsius"}}')
    if job in ("text004", "proto"):  # no escaping parameter asked: names escaped with underscores
        assert got["metric"] == {"__name__": "p3_temp__", "lab_el": "é", "job": job, "instance": got["metric"]
                                 ["instance"]}
    else:
        assert got["metric"]["__name__"] == UTF8_NAME and got["metric"]["lab.el"] == "é"
    assert float(got["value"][1]) == 21.5


def test_native_histogram_over_protobuf(p3: Scrapes) -> None:
    (nat,) = prom_query(p3.peer, 'p3_native{job="proto"}')
    hist = nat["histogram"][1]
    assert float(hist["count"]) == len(NATIVE_VALUES) and float(hist["sum"]) == sum(NATIVE_VALUES)
    assert sum(float(b[3]) for b in hist["buckets"]) == len(NATIVE_VALUES)
    # over text formats the same Histogram arrives as its classic buckets only
    assert prom_value(p3.peer, 'p3_native_count{job="om"}') == len(NATIVE_VALUES)
    assert prom_query(p3.peer, 'p3_native{job="om"}') == []


@pytest.mark.parametrize("job", ["proto", "om"])
def test_exemplars(p3: Scrapes, job: str) -> None:
    def exemplars() -> List[Dict[str, Any]]:
        data = prom_api(p3.peer, "query_exemplars", query=f'p3_requests_total{{job="{job}"}}',
                        start=str(time.time() - 3600), end=str(time.time() + 60))
        return [e for s in data for e in s["exemplars"]]

    got = wait_until(exemplars, "counter exemplar", timeout=30)
    assert got[0]["labels"] == {"trace_id": "t1"} and float(got[0]["value"]) == 2


def test_created_timestamp_zero_sample_over_protobuf(p3: Scrapes) -> None:
    """``created_timestamp`` of the protobuf exposition (counters, histograms, summaries): with
    created-timestamp-zero-ingestion Prometheus 3.5 stores a 0 sample at the start time, visible
    in a range query."""
    ct = p3.created
    for sel, read in (('p3_requests_total{job="proto",path="/a"}', float),
                      ('p3_latency_seconds_count{job="proto"}', float),
                      ('p3_latency_seconds_bucket{job="proto",le="1.0"}', float),
                      ('p3_size_bytes_count{job="proto"}', float),
                      ('p3_size_bytes_sum{job="proto"}', float)):
        rng = prom_api(p3.peer, "query_range", query=sel, start=f"{ct - 1:.3f}", end=f"{ct + 20:.3f}", step="0.25")
        (series,) = rng["result"]
        first_t, first_v = series["values"][0]
        assert (float(first_t), read(first_v)) == (ct, 0.0), series["values"][:3]
        ts = prom_api(p3.peer, "query", query=f"timestamp({sel})", time=f"{ct + 0.1:.3f}")["result"]
        assert float(ts[0]["value"][1]) == ct
    # the native histogram too: an empty histogram at the start time
    (zero,) = prom_api(p3.peer, "query", query='histogram_count(p3_native{job="proto"})', time=f"{ct + 0.1:.3f}")[
        "result"]
    assert float(zero["value"][1]) == 0.0


def test_inconsistent_native_histogram_fails_the_whole_scrape(p3: Scrapes) -> None:
    (target,) = [t for t in prom_api(p3.peer, "targets")["activeTargets"] if t["labels"]["job"] == "bad"]
    assert target["health"] == "down"
    assert "observation count" in target["lastError"], target["lastError"]
    assert prom_value(p3.peer, 'up{job="bad"}') == 0
    # which is why a custom collector cannot build it
    m = Metric("p3_bad", "d", "histogram")
    with pytest.raises(ValueError, match=r"'p3_bad'.*count 5 disagrees with its buckets .*zero_count 1.*= 3"):
        m.add_sample("p3_bad", {}, 0, None, None,
                     NativeHistogram(5, 10.0, 0, 0.001, 1, pos_spans=(BucketSpan(0, 1),), pos_deltas=(2,)))
    assert m.samples == []
