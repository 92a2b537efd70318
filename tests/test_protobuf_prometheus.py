"""A real Prometheus (native histograms on, so it asks for protobuf first) scrapes
``start_http_server``: every metric type arrives through the protobuf exposition, native
histograms included, with exact values read back through Prometheus' HTTP API.  Prometheus
2.42 and 3.5 scrape the same server (started together); every test runs against each."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterator, List, Tuple

import pytest

from peers import (
    PROMETHEUS_VERSIONS,
    Peer,
    free_ports,
    prom_query,
    prom_value,
    prometheus_config,
    start_prometheus,
    wait_until,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    start_http_server,
)
from prometheus_client._sketch.native_histogram import bucket_bounds, bucket_index
from prometheus_client.metrics_core import GaugeHistogramMetricFamily, Metric

NATIVE_VALUES = [0.0, 0.001, 0.5, 1.0, 1.0, 2.0, 3.0, 100.0, -1.5, -0.25, 1e-300]


class _Custom:
    def collect(self) -> List[Metric]:
        gh = GaugeHistogramMetricFamily("pb_gh", "GH", buckets=[("1.0", 2), ("+Inf", 5)], gsum_value=3.0)
        return [gh]


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("pb_requests", "Requests", ["method"], registry=r)
    c.labels("get").inc(3, exemplar={"trace_id": "abc123"})
    c.labels("post").inc(0.5)
    Gauge("pb_temperature", "T", unit="celsius", registry=r).set(-12.25)
    s = Summary("pb_latency", "L", registry=r)
    for v in (1.0, 2.0, 3.0, 4.0):
        s.observe(v)
    q = Summary("pb_quant", "Q", objectives={0.5: 0.05, 0.9: 0.01}, registry=r)
    for v in range(1, 101):
        q.observe(float(v))
    h = Histogram("pb_classic", "C", buckets=(0.5, 1.0, 5.0), registry=r)
    for v in (0.1, 0.7, 0.7, 3.0, 9.0):
        h.observe(v)
    h.observe(0.6, exemplar={"id": "e1"})
    nh = Histogram("pb_native", "N", buckets=(1.0,), native_histogram_bucket_factor=1.1, registry=r)
    for v in NATIVE_VALUES:
        nh.observe(v)
    Info("pb_build", "B", registry=r).info({"version": "1.2.3"})
    Enum("pb_state", "S", states=["up", "down"], registry=r).state("down")
    r.register(_Custom())
    return r


@pytest.fixture(scope="module")
def proms() -> Iterator[Dict[str, Peer]]:
    (port,) = free_ports(1)
    peers: Dict[str, Peer] = {}
    httpd = None
    try:
        for version, binary in PROMETHEUS_VERSIONS:
            peers[version] = start_prometheus(prometheus_config({"pb": [f"127.0.0.1:{port}"]}), binary=binary,
                                              flags=["--enable-feature=native-histograms,exemplar-storage"])
        httpd, thread = start_http_server(port, addr="127.0.0.1", registry=_registry())
        for peer in peers.values():
            wait_until(lambda peer=peer: prom_value(peer, 'pb_temperature_celsius{job="pb"}') is not None,
                       "pb target scraped", timeout=90, interval=0.25, proc=peer.proc, log=peer.log)
            # one more scrape so that rate-free instant queries see everything
            wait_until(lambda peer=peer: prom_value(peer, 'count(pb_native{job="pb"})') == 1,
                       "native histogram ingested", timeout=60, interval=0.25, proc=peer.proc, log=peer.log)
        yield peers
    finally:
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
            thread.join(10)
        for peer in peers.values():
            peer.stop()


@pytest.fixture(scope="module", params=[v for v, _ in PROMETHEUS_VERSIONS])
def prom(request: pytest.FixtureRequest, proms: Dict[str, Peer]) -> Peer:
    """Each Prometheus version in turn."""
    return proms[request.param]


def _v(peer: Peer, expr: str) -> float:
    v = prom_value(peer, expr)
    assert v is not None, f"no result for {expr}"
    return v


def test_counters_gauges_summaries(prom: Peer) -> None:
    assert _v(prom, 'pb_requests_total{method="get"}') == 3
    assert _v(prom, 'pb_requests_total{method="post"}') == 0.5
    assert _v(prom, "pb_temperature_celsius") == -12.25
    assert _v(prom, "pb_latency_count") == 4 and _v(prom, "pb_latency_sum") == 10
    assert _v(prom, "pb_quant_count") == 100
    assert abs(_v(prom, 'pb_quant{quantile="0.5"}') - 50) <= 0.05 * 100 + 1
    assert abs(_v(prom, 'pb_quant{quantile="0.9"}') - 90) <= 0.01 * 100 + 1
    assert _v(prom, 'pb_build_info{version="1.2.3"}') == 1
    assert _v(prom, 'pb_state{pb_state="down"}') == 1 and _v(prom, 'pb_state{pb_state="up"}') == 0
    # protobuf has no _created series: the created time travels inside the message
    assert prom_query(prom, "pb_requests_created") == []


def test_classic_histograms(prom: Peer) -> None:
    buckets = {float(r["metric"]["le"]): float(r["value"][1]) for r in prom_query(prom, "pb_classic_bucket")}
    assert buckets == {0.5: 1, 1.0: 4, 5.0: 5, math.inf: 6}
    assert _v(prom, "pb_classic_count") == 6 and _v(prom, "pb_classic_sum") == pytest.approx(14.1)
    # Prometheus 2.42 stores a protobuf gauge histogram's buckets and count without the
    # _bucket/_count suffixes (and loses the sum to the name clash); later versions add them.
    gh = {float(r["metric"]["le"]): float(r["value"][1])
          for r in prom_query(prom, '{__name__=~"pb_gh|pb_gh_bucket", le!=""}')}
    assert gh == {1.0: 2, math.inf: 5}
    counts = [float(r["value"][1]) for r in prom_query(prom, '{__name__=~"pb_gh|pb_gh_count", le=""}')]
    assert 5.0 in counts


def test_exemplars(prom: Peer) -> None:
    from peers import prom_api

    got: Dict[str, Any] = {}
    for series in prom_api(prom, "query_exemplars", query='{job="pb"}', start="0", end="9999999999"):
        name = series["seriesLabels"]["__name__"]
        got[name] = [(e["labels"], float(e["value"])) for e in series["exemplars"]]
    assert got["pb_requests_total"] == [({"trace_id": "abc123"}, 3.0)]
    assert ({"id": "e1"}, 0.6) in got["pb_classic_bucket"]


def _expected_native_buckets() -> List[Tuple[int, float, float, float]]:
    """(boundary rule, lower, upper, count) as Prometheus' API reports them, schema 3."""
    zt = 2.0 ** -128
    pos: Dict[int, int] = {}
    neg: Dict[int, int] = {}
    zero = 0
    for v in NATIVE_VALUES:
        if v > zt:
            pos[bucket_index(v, 3)] = pos.get(bucket_index(v, 3), 0) + 1
        elif v < -zt:
            neg[bucket_index(v, 3)] = neg.get(bucket_index(v, 3), 0) + 1
        else:
            zero += 1
    out = []
    for i in sorted(neg, reverse=True):
        lo, hi = bucket_bounds(i, 3)
        out.append((1, -hi, -lo, float(neg[i])))
    out.append((3, -zt, zt, float(zero)))
    for i in sorted(pos):
        lo, hi = bucket_bounds(i, 3)
        out.append((0, lo, hi, float(pos[i])))
    return out


def _native_bucket_of(v: float) -> Tuple[float, float]:
    """(lower, upper) bounds of the schema-3 bucket holding ``v`` (the zero bucket included)."""
    zt = 2.0**-128
    if abs(v) <= zt:
        return -zt, zt
    lo, hi = bucket_bounds(bucket_index(abs(v), 3), 3)
    return (lo, hi) if v > 0 else (-hi, -lo)


@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
def test_native_histogram_quantile_within_schema_resolution(prom: Peer, q: float) -> None:
    # Prometheus finds the bucket where the cumulative count reaches q * count and
    # interpolates inside it: the answer lies in the bucket of the observation at that rank.
    values = sorted(NATIVE_VALUES)
    rank = q * len(values)
    target = values[max(0, math.ceil(rank) - 1)]
    lo, hi = _native_bucket_of(target)
    got = _v(prom, f"histogram_quantile({q}, pb_native)")
    assert lo - 1e-12 <= got <= hi + 1e-12, (q, target, got, (lo, hi))


def test_native_histogram(prom: Peer) -> None:
    assert _v(prom, "histogram_count(pb_native)") == len(NATIVE_VALUES)
    assert _v(prom, "histogram_sum(pb_native)") == pytest.approx(sum(NATIVE_VALUES))
    # stored only as a native series: no classic _bucket/_count series for it
    assert prom_query(prom, "pb_native_bucket") == [] and prom_query(prom, "pb_native_count") == []
    (res,) = prom_query(prom, "pb_native")
    hist = res["histogram"][1]
    assert float(hist["count"]) == len(NATIVE_VALUES)
    got = [(int(rule), float(lo), float(hi), float(c)) for rule, lo, hi, c in hist["buckets"]]
    expected = _expected_native_buckets()
    assert len(got) == len(expected)
    for (r1, lo1, hi1, c1), (r2, lo2, hi2, c2) in zip(got, expected):
        assert (r1, c1) == (r2, c2)
        assert lo1 == pytest.approx(lo2, rel=1e-12) and hi1 == pytest.approx(hi2, rel=1e-12)
