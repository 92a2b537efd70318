"""Remote write 1.0: encoder (checked with the official ``protobuf`` package and ``cramjam``),
HTTP behaviour (retries, errors, headers) against small servers on 127.0.0.1, the background
pusher, and a real Prometheus 2.42 with its remote-write receiver answering PromQL queries.
"""

from __future__ import annotations

import base64
import math
import ssl
import struct
import subprocess
import sys
import threading
import time
import urllib.error
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_descriptors import remote_write_classes
from peers import PROMETHEUS_VERSIONS, Peer, free_ports, make_certs, prom_api, prom_query, start_prometheus, wait_until
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client._formats import remote_write_pb as pb
from prometheus_client._formats import snappy as _snappy
from prometheus_client._transport.remote_write_http import default_handler
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.remote_write import (
    CONTENT_TYPE,
    REMOTE_WRITE_VERSION,
    RemoteWriteError,
    RemoteWritePusher,
    push_to_remote_write,
    write_request_from_registry,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram
from strategies import finite_floats, label_names, label_values

RW = remote_write_classes()
TS = 1_700_000_000.0  # fixed push time for encoder tests
TS_MS = 1_700_000_000_000


@pytest.fixture(autouse=True)
def _in_process_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests use in-process values (a multiprocess variable leaked by another test
    would turn on multiprocess mode, which has no native histograms or quantiles)."""
    for var in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)


def parse(data: bytes) -> Any:
    """Parse an uncompressed WriteRequest with the official protobuf runtime."""
    msg = RW["WriteRequest"]()
    msg.ParseFromString(data)
    return msg


def series_of(msg: Any) -> Dict[Tuple[Tuple[str, str], ...], Any]:
    out = {}
    for ts in msg.timeseries:
        key = tuple((lb.name, lb.value) for lb in ts.labels)
        assert key not in out, f"duplicate series {key}"
        out[key] = ts
    return out


def labels_key(name: str, **labels: str) -> Tuple[Tuple[str, str], ...]:
    labels["__name__"] = name
    return tuple(sorted(labels.items()))


class NativeCollector:
    """A native histogram (the example of the wire-format sheet) and a gauge histogram."""

    def collect(self) -> Iterator[Metric]:
        m = Metric("rw_native_seconds", "A native histogram", "histogram")
        nh = NativeHistogram(
            22, 100.0, 0, 0.001, 4,
            pos_spans=(BucketSpan(0, 2), BucketSpan(1, 2)), neg_spans=(BucketSpan(0, 2), BucketSpan(1, 2)),
            pos_deltas=(2, 1, -3, 3), neg_deltas=(2, 1, -2, 3),
        )
        m.add_sample("rw_native_seconds", {}, 0, None, None, nh)
        yield m
        yield GaugeHistogramMetricFamily("rw_queue_bytes", "Queue sizes",
                                         buckets=[("1024.0", 3), ("+Inf", 5)], gsum_value=4200.0)


class CustomCollector:
    """Families that the instrumentation classes do not make."""

    def __init__(self, ts: Optional[float] = None) -> None:
        self.ts = ts

    def collect(self) -> Iterator[Metric]:
        yield UnknownMetricFamily("rw_untyped", "An untyped metric", value=7.25)
        s = StateSetMetricFamily("rw_feature", "Feature flags", labels=["team"])
        s.add_metric(["core"], {"fast": True, "slow": False})
        yield s
        sm = SummaryMetricFamily("rw_latency_seconds", "A summary with quantiles", labels=["path"])
        sm.add_metric(["/a"], 10, 2.5)
        sm.samples.append(sm.samples[0]._replace(name="rw_latency_seconds", labels={"path": "/a",
                                                                                    "quantile": "0.5"},
                                                 value=0.2))
        yield sm
        g = GaugeMetricFamily("rw_stamped", "A gauge with its own timestamp", labels=["kind"])
        g.add_metric(["own"], 42.0, timestamp=self.ts)
        yield g
        c = CounterMetricFamily("rw_exemplified", "A counter with an exemplar", labels=["code"])
        c.add_metric(["200"], 9.0, exemplar=Exemplar({"trace_id": "abc123"}, 1.5,
                                                     self.ts if self.ts is not None else None))
        yield c


def full_registry(ts: Optional[float] = None) -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("rw_requests", "Requests served", ["method", "code"], registry=r)
    c.labels("GET", "200").inc(3)
    c.labels("POST", "500").inc(1.5)
    Gauge("rw_temperature", "Temperature", unit="celsius", registry=r).set(-4.5)
    h = Histogram("rw_request_seconds", "Request latency", buckets=[0.1, 1.0], registry=r)
    h.observe(0.05)
    h.observe(0.5)
    h.observe(3.0)
    Summary("rw_payload_bytes", "Payload sizes", registry=r).observe(512.0)
    Info("rw_build", "Build information", registry=r).info({"version": "1.2.3", "commit": "abc"})
    Enum("rw_state", "Service state", states=["starting", "running"], registry=r).state("running")
    r.register(CustomCollector(ts))
    r.register(NativeCollector())
    # classic + native buckets in one Histogram, and a Summary with streaming quantiles
    dual = Histogram("rw_dual_seconds", "Classic and native", ["path"], buckets=[1.0],
                     native_histogram_bucket_factor=1.1, registry=r)
    for v in (0.0, 0.5, 1.0, 2.0, 3.0, -1.0):
        dual.labels("/a").observe(v)
    q = Summary("rw_quantile_seconds", "Streaming quantiles", objectives={0.5: 0.01, 0.9: 0.01}, registry=r)
    for v in range(1, 101):
        q.observe(float(v))
    return r


# ---------------------------------------------------------------------------
# Encoder, checked with the official protobuf runtime
# ---------------------------------------------------------------------------

def test_spec_example_bytes() -> None:
    req = pb.WriteRequest([pb.TimeSeries([("__name__", "up"), ("job", "x")], [pb.Sample(1.0, 1000)])])
    data = pb.encode_write_request(req)
    assert data.hex() == ("0a280a0e0a085f5f6e616d655f5f120275700a080a036a6f62120178"
                          "120c09000000000000f03f10e807")
    assert bytes(cramjam.snappy.compress_raw(data)) == b"\x2a\xa4" + data
    assert bytes(cramjam.snappy.decompress_raw(_snappy.compress(data))) == data
    assert pb.decode_write_request(data) == pb.WriteRequest(
        (pb.TimeSeries((("__name__", "up"), ("job", "x")), (pb.Sample(1.0, 1000),)),), ())


def test_every_metric_type_maps_like_prometheus_stores_it() -> None:
    r = full_registry(ts=TS - 10.5)
    msg = parse(write_request_from_registry(r, job="batch", instance="host-1", timestamp=TS))
    got = series_of(msg)
    t = {"job": "batch", "instance": "host-1"}

    def value(name: str, **labels: str) -> float:
        ts = got[labels_key(name, **t, **labels)]
        assert len(ts.samples) == 1
        return float(ts.samples[0].value)

    assert value("rw_requests_total", method="GET", code="200") == 3.0
    assert value("rw_requests_total", method="POST", code="500") == 1.5
    assert value("rw_requests_created", method="GET", code="200") > 1e9
    assert value("rw_temperature_celsius") == -4.5
    assert [value("rw_request_seconds_bucket", le=le) for le in ("0.1", "1.0", "+Inf")] == [1, 2, 3]
    assert value("rw_request_seconds_count") == 3
    assert value("rw_request_seconds_sum") == 0.05 + 0.5 + 3.0
    assert value("rw_payload_bytes_count") == 1
    assert value("rw_payload_bytes_sum") == 512.0
    assert value("rw_build_info", version="1.2.3", commit="abc") == 1
    assert value("rw_state", rw_state="running") == 1
    assert value("rw_state", rw_state="starting") == 0
    assert value("rw_untyped") == 7.25
    assert value("rw_feature", team="core", rw_feature="fast") == 1
    assert value("rw_feature", team="core", rw_feature="slow") == 0
    assert value("rw_latency_seconds", path="/a", quantile="0.5") == 0.2
    assert value("rw_latency_seconds_count", path="/a") == 10
    assert value("rw_queue_bytes_bucket", le="1024.0") == 3
    assert value("rw_queue_bytes_gcount") == 5
    assert value("rw_queue_bytes_gsum") == 4200.0
    assert value("rw_exemplified_total", code="200") == 9.0

    # timestamps: the push time, or the sample's own
    for key, ts in got.items():
        want = TS_MS - 10_500 if dict(key)["__name__"] == "rw_stamped" else TS_MS
        for s in ts.samples:
            assert s.timestamp == want, key
        for hh in ts.histograms:
            assert hh.timestamp == want
        # labels sorted by name, no empty values, __name__ present
        names = [n for n, _ in key]
        assert names == sorted(names) and "__name__" in names
        assert all(v for _, v in key)

    ex = got[labels_key("rw_exemplified_total", code="200", **t)].exemplars
    assert [(tuple((lb.name, lb.value) for lb in e.labels), e.value, e.timestamp) for e in ex] == [
        ((("trace_id", "abc123"),), 1.5, TS_MS - 10_500)]

    native = got[labels_key("rw_native_seconds", **t)]
    assert not native.samples and len(native.histograms) == 1
    hg = native.histograms[0]
    assert hg.WhichOneof("count") == "count_int" and hg.count_int == 22
    assert hg.WhichOneof("zero_count") == "zero_count_int" and hg.zero_count_int == 4
    assert (hg.sum, hg.schema, hg.zero_threshold) == (100.0, 0, 0.001)
    assert [(s.offset, s.length) for s in hg.positive_spans] == [(0, 2), (1, 2)]
    assert list(hg.positive_deltas) == [2, 1, -3, 3] and list(hg.negative_deltas) == [2, 1, -2, 3]
    assert hg.reset_hint == 0

    meta = {m.metric_family_name: (m.type, m.help, m.unit) for m in msg.metadata}
    assert meta["rw_requests"] == (pb.COUNTER, "Requests served", "")
    assert meta["rw_temperature_celsius"] == (pb.GAUGE, "Temperature", "celsius")
    assert meta["rw_request_seconds"] == (pb.HISTOGRAM, "Request latency", "")
    assert meta["rw_payload_bytes"] == (pb.SUMMARY, "Payload sizes", "")
    assert meta["rw_build"] == (pb.INFO, "Build information", "")
    assert meta["rw_state"] == (pb.STATESET, "Service state", "")
    assert meta["rw_untyped"] == (pb.UNKNOWN, "An untyped metric", "")
    assert meta["rw_queue_bytes"] == (pb.GAUGEHISTOGRAM, "Queue sizes", "")
    assert meta["rw_native_seconds"] == (pb.HISTOGRAM, "A native histogram", "")

    # our decoder agrees with the official runtime, and re-encoding gives the same bytes
    data = write_request_from_registry(r, job="batch", instance="host-1", timestamp=TS)
    mine = pb.decode_write_request(data)
    assert len(mine.timeseries) == len(msg.timeseries)
    assert pb.encode_write_request(mine) == data


def test_target_labels_collisions_escaping_and_empty_values() -> None:
    r = CollectorRegistry()
    c = Counter("rw_c", "c", ["job", "instance", "exported_job", "empty"], registry=r)
    c.labels("inner", "i2", "x", "").inc()
    g = GaugeMetricFamily("rw.dotted", "utf-8 name", labels=["label.with dots"])
    g.add_metric(["v"], 1.0)

    class One:
        def collect(self) -> Iterator[Metric]:
            yield g

    r.register(One())
    msg = parse(write_request_from_registry(r, job="j", instance="host", extra_labels={"env": "prod"},
                                            timestamp=TS))
    keys = set(series_of(msg))
    # as Prometheus does it (honor_labels: false): a clash goes to exported_<name>, or to
    # exported_exported_<name> when the sample already has exported_<name>
    assert labels_key("rw_c_total", job="j", instance="host", env="prod", exported_exported_job="inner",
                      exported_instance="i2", exported_job="x") in keys
    assert labels_key("rw_dotted", job="j", instance="host", env="prod", label_with_dots="v") in keys

    msg = parse(write_request_from_registry(r, job="j", instance="", timestamp=TS, honor_labels=True))
    keys = set(series_of(msg))
    assert labels_key("rw_c_total", job="inner", instance="i2", exported_job="x") in keys
    assert labels_key("rw_dotted", job="j", label_with_dots="v") in keys


def _sorted_series(data: bytes) -> List[pb.TimeSeries]:
    return sorted(pb.decode_write_request(data).timeseries, key=lambda ts: ts.labels)


@pytest.mark.parametrize("honor_labels", [False, True])
def test_fast_path_equals_the_sample_path(honor_labels: bool) -> None:
    """Metric objects are encoded from raw values with cached label records; the result must
    be exactly what encoding their collected samples gives."""
    from prometheus_client._formats.remote_write import WriteRequestEncoder, target_labels
    from prometheus_client._metrics.family import Family

    r = CollectorRegistry()
    # label names sorting before __name__ (upper case), between __name__ and le, after le,
    # clashing with target labels, and values that need no escaping but are empty
    c = Counter("rw_fast", "c", ["Zone", "code", "job", "path"], registry=r)
    c.labels("EU", "200", "inner", "/a").inc(2)
    c.labels("US", "", "inner", "/b").inc(3, exemplar={"trace_id": "t1"})
    g = Gauge("rw_fast_gauge", "g", ["Zone", "x"], registry=r)
    g.labels("EU", "1").set(1.25)
    Gauge("rw_fast_plain", "g", registry=r).set(-2)
    h = Histogram("rw_fast_seconds", "h", ["Zone", "path", "x_after_le"], buckets=[0.5, 2], registry=r)
    h.labels("EU", "/a", "z").observe(0.1)
    h.labels("EU", "/a", "z").observe(1.0, exemplar={"trace_id": "t2"})
    h.labels("US", "/b", "y").observe(5.0)
    Histogram("rw_fast_plain_seconds", "h", registry=r).observe(0.3)
    s = Summary("rw_fast_bytes", "s", ["Zone", "path"], registry=r)
    s.labels("EU", "/a").observe(10)
    Summary("rw_fast_plain_bytes", "s", registry=r).observe(1)
    Info("rw_fast_build", "i", registry=r).info({"version": "1"})

    assert any(type(x) is Family for x in r.families())
    target = target_labels("j", "host", {"path": "extra"})
    fast = WriteRequestEncoder(target, honor_labels, True).encode(r.families(), TS_MS)
    slow = WriteRequestEncoder(target, honor_labels, True).encode(r.collect(), TS_MS)
    assert _sorted_series(fast) == _sorted_series(slow)
    assert sorted(pb.decode_write_request(fast).metadata) == sorted(pb.decode_write_request(slow).metadata)
    # a warm encoder (a pusher's second push) gives the same bytes again
    enc = WriteRequestEncoder(target, honor_labels, True)
    first = enc.encode(r.families(), TS_MS)
    assert enc.encode(r.families(), TS_MS) == first == fast
    # children removed since the last push leave the cache (once enough of them are gone)
    many = Gauge("rw_fast_many", "g", ["i"], registry=r)
    for i in range(300):
        many.labels(str(i)).set(i)
    enc.encode(r.families(), TS_MS)
    [info] = [f.info for f in r.families() if type(f) is Family and f.info.name == "rw_fast_many"]
    assert enc.series.size(info) == 300
    many.clear()
    c.remove("EU", "200", "inner", "/a")
    assert enc.encode(r.families(), TS_MS) == enc.encode(r.families(), TS_MS)
    assert enc.series.size(info) == 0
    assert _sorted_series(enc.encode(r.families(), TS_MS)) == _sorted_series(
        WriteRequestEncoder(target, honor_labels, True).encode(r.collect(), TS_MS))


def _pure_snappy_pushes(r: CollectorRegistry, enc: Any, pushes: int, between: Any = None) -> None:
    """Each pure-Python snappy body decompresses (cramjam and ours) to the uncompressed request."""
    for i in range(pushes):
        if between is not None:
            between(i)
        raw = enc.encode(r.families(), TS_MS + i)
        body = enc.encode_snappy(r.families(), TS_MS + i)
        assert bytes(cramjam.snappy.decompress_raw(body)) == raw
        assert _snappy.decompress_py(body) == raw
        assert len(body) <= len(raw) + len(raw) // 16 + 16  # never much more than literals


def test_pure_python_snappy_of_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without cramjam, requests are compressed with copies of the label records that a series
    shares with the two before it, memoised per series while its neighbours stay the same."""
    from prometheus_client._formats.remote_write import WriteRequestEncoder, target_labels

    monkeypatch.setattr(_snappy, "HAVE_CRAMJAM", False)
    r = full_registry(ts=TS - 1)
    c = Counter("rw_snap", "c", ["path", "code"], registry=r)
    for i in range(300):
        c.labels(f"/p/{i % 40}", str(200 + i % 7)).inc(i)
    h = Histogram("rw_snap_seconds", "h", ["path"], registry=r)
    enc = WriteRequestEncoder(target_labels("snap", "host", {"env": "prod"}), False, True)

    def change(i: int) -> None:  # the layout changes between pushes in every way
        if i == 2:
            c.labels("/new", "201").inc()
        elif i == 3:
            c.remove("/p/3", "203")
        elif i == 4:
            c.labels("/p/5", "205").inc(exemplar={"trace_id": "x"})
        elif i == 5:
            h.labels("/h").observe(0.2, exemplar={"trace_id": "y"})
        elif i == 6:
            c.clear()

    raw = enc.encode(iter_families_of(r), TS_MS)
    assert len(enc.encode_snappy(iter_families_of(r), TS_MS)) * 2 < len(raw)
    _pure_snappy_pushes(r, enc, 8, change)


def iter_families_of(r: CollectorRegistry) -> Any:
    return r.families()


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["inc", "remove", "ex"]), st.integers(0, 30), st.integers(0, 3)),
                max_size=40))
def test_pure_python_snappy_random_layouts(ops: List[Tuple[str, int, int]]) -> None:
    from prometheus_client._formats.remote_write import WriteRequestEncoder, target_labels

    r = CollectorRegistry()
    c = Counter("rw_rand", "c", ["a", "b"], registry=r)
    g = Gauge("rw_rand_gauge", "g", ["a"], registry=r)
    enc = WriteRequestEncoder(target_labels("j", "", None), False, True)
    saved = _snappy.HAVE_CRAMJAM
    _snappy.HAVE_CRAMJAM = False
    try:
        for op, a, b in ops:
            if op == "inc":
                c.labels(f"v{a}" * (1 + a % 4), str(b)).inc(a)
                g.labels(str(b)).set(a)
            elif op == "remove":
                c.remove(f"v{a}" * (1 + a % 4), str(b))
            else:
                c.labels(f"v{a}" * (1 + a % 4), str(b)).inc(exemplar={"t": "x" * a})
            _pure_snappy_pushes(r, enc, 1)
    finally:
        _snappy.HAVE_CRAMJAM = saved


def test_bad_arguments_raise_before_anything_is_sent() -> None:
    r = CollectorRegistry()
    with pytest.raises(ValueError, match="job"):
        write_request_from_registry(r, job="")
    with pytest.raises(ValueError, match="'bad-name'"):
        write_request_from_registry(r, job="j", extra_labels={"bad-name": "x"})
    with pytest.raises(ValueError, match="'__x'"):
        write_request_from_registry(r, job="j", extra_labels={"__x": "x"})
    with pytest.raises(ValueError, match="empty value"):
        write_request_from_registry(r, job="j", extra_labels={"env": ""})
    with pytest.raises(ValueError, match="clashes"):
        write_request_from_registry(r, job="j", extra_labels={"job": "x"})
    with pytest.raises(ValueError, match="cannot be overridden"):
        push_to_remote_write("http://127.0.0.1:1/api/v1/write", r, job="j",
                             headers={"content-type": "text/plain"})
    with pytest.raises(ValueError, match="http://"):
        push_to_remote_write("127.0.0.1:9090/api/v1/write", r, job="j")
    with pytest.raises(ValueError, match="timeout"):
        push_to_remote_write("http://127.0.0.1:1/api/v1/write", r, job="j", timeout=0)


timeseries_st = st.builds(
    pb.TimeSeries,
    st.lists(st.tuples(label_names, label_values.filter(bool)), max_size=4).map(tuple),
    st.lists(st.builds(pb.Sample, st.floats(allow_nan=False),
                       st.integers(min_value=-(1 << 62), max_value=1 << 62)), max_size=3).map(tuple),
    st.lists(st.builds(pb.Exemplar,
                       st.lists(st.tuples(label_names, label_values.filter(bool)), max_size=2).map(tuple),
                       finite_floats, st.integers(min_value=1, max_value=1 << 50)), max_size=2).map(tuple),
    histograms=st.just(()),
)
metadata_st = st.builds(pb.MetricMetadata, st.integers(min_value=0, max_value=7), label_names, label_values,
                        label_values)


@settings(max_examples=150, deadline=None)
@given(st.lists(timeseries_st, max_size=4), st.lists(metadata_st, max_size=3))
def test_roundtrip_against_official_protobuf(series: List[pb.TimeSeries],
                                             metadata: List[pb.MetricMetadata]) -> None:
    req = pb.WriteRequest(tuple(series), tuple(metadata))
    data = pb.encode_write_request(req)
    msg = parse(data)
    assert pb.decode_write_request(msg.SerializeToString()) == req
    assert pb.decode_write_request(data) == req
    assert len(msg.timeseries) == len(series)
    for ts, m in zip(series, msg.timeseries):
        assert [(lb.name, lb.value) for lb in m.labels] == list(ts.labels)
        assert [(s.value, s.timestamp) for s in m.samples] == [(s.value, s.timestamp) for s in ts.samples]
    compressed = _snappy.compress(data)
    assert bytes(cramjam.snappy.decompress_raw(compressed)) == data
    assert _snappy.decompress(bytes(cramjam.snappy.compress_raw(data))) == data


@settings(max_examples=100, deadline=None)
@given(st.integers(min_value=-4, max_value=8), finite_floats, st.integers(min_value=0, max_value=1 << 40),
       st.lists(st.integers(min_value=-1000, max_value=1000), max_size=5),
       st.lists(st.integers(min_value=-1000, max_value=1000), max_size=5), st.sampled_from([0, 1, 2, 3]),
       st.booleans())
def test_native_histogram_record_against_official_protobuf(schema: int, total: float, count: int,
                                                           pos: List[int], neg: List[int], hint: int,
                                                           is_float: bool) -> None:
    h = pb.Histogram(
        float(count) + (0.5 if is_float else 0), total, schema, 2.0 ** -128, 3 if not is_float else 2.5, TS_MS,
        negative_spans=((-2, len(neg)),) if neg else (), negative_deltas=() if is_float else tuple(neg),
        negative_counts=tuple(float(abs(x)) for x in neg) if is_float else (),
        positive_spans=((1, len(pos)),) if pos else (), positive_deltas=() if is_float else tuple(pos),
        positive_counts=tuple(float(abs(x)) for x in pos) if is_float else (),
        reset_hint=hint, is_float=is_float,
    )
    data = pb.encode_write_request(pb.WriteRequest((pb.TimeSeries((("__name__", "x"),), histograms=(h,)),)))
    m = parse(data).timeseries[0].histograms[0]
    assert m.WhichOneof("count") == ("count_float" if is_float else "count_int")
    assert (m.count_float if is_float else m.count_int) == h.count_value
    assert m.sum == total and m.schema == schema and m.zero_threshold == 2.0 ** -128
    assert (m.zero_count_float if is_float else m.zero_count_int) == h.zero_count
    assert list(m.positive_deltas) == list(h.positive_deltas)
    assert list(m.negative_deltas) == list(h.negative_deltas)
    assert list(m.positive_counts) == list(h.positive_counts)
    assert list(m.negative_counts) == list(h.negative_counts)
    assert m.reset_hint == hint and m.timestamp == TS_MS
    assert pb.decode_write_request(data).timeseries[0].histograms[0] == h
    assert pb.decode_write_request(parse(data).SerializeToString()).timeseries[0].histograms[0] == h


def test_stale_marker_bits() -> None:
    assert struct.pack("<d", pb.STALE_NAN) == struct.pack("<Q", 0x7FF0000000000002)
    assert math.isnan(pb.STALE_NAN)


# ---------------------------------------------------------------------------
# HTTP behaviour against a scripted receiver on 127.0.0.1
# ---------------------------------------------------------------------------

class Receiver:
    """A remote-write receiver answering a scripted list of (status, body) then 204."""

    def __init__(self, script: List[Tuple[int, bytes]], headers: Optional[Dict[str, str]] = None,
                 tls: Optional[ssl.SSLContext] = None) -> None:
        self.script = list(script)
        self.extra_headers = headers or {}
        self.requests: List[Tuple[Dict[str, str], bytes, int]] = []  # (headers, body, status answered)
        self.lock = threading.Lock()
        receiver = self

        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    status, text = receiver.script.pop(0) if receiver.script else (204, b"")
                    receiver.requests.append((dict(self.headers.items()), body, status))
                self.send_response(status)
                for k, v in receiver.extra_headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that gave up mid-answer (timeout) is part of the tests

        self.server = Server(("127.0.0.1", 0), H)
        scheme = "http"
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/api/v1/write"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def accepted(self) -> List[bytes]:
        """Decompressed bodies of the requests answered with 2xx."""
        with self.lock:
            return [bytes(cramjam.snappy.decompress_raw(b)) for _, b, s in self.requests if 200 <= s < 300]


def small_registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("rw_jobs", "Jobs done", registry=r).inc(4)
    Gauge("rw_last_success_unixtime", "Last success", registry=r).set(TS)
    return r


def test_500_then_204_delivers_exactly_one_copy() -> None:
    with Receiver([(500, b"try later"), (503, b"busy")]) as rcv:
        push_to_remote_write(rcv.url, small_registry(), job="batch", instance="h", timestamp=TS,
                             min_backoff=0.01, max_backoff=0.05)
        assert [s for _, _, s in rcv.requests] == [500, 503, 204]
        bodies = [b for _, b, _ in rcv.requests]
        assert bodies[0] == bodies[1] == bodies[2]  # a retry re-sends the same bytes
        accepted = rcv.accepted()
        assert len(accepted) == 1
        got = series_of(parse(accepted[0]))
        assert got[labels_key("rw_jobs_total", job="batch", instance="h")].samples[0].value == 4.0
        assert got[labels_key("rw_last_success_unixtime", job="batch", instance="h")].samples[0].timestamp \
            == TS_MS
        headers = {k.lower(): v for k, v in rcv.requests[-1][0].items()}
        assert headers["content-encoding"] == "snappy"
        assert headers["content-type"] == CONTENT_TYPE == "application/x-protobuf"
        assert headers["x-prometheus-remote-write-version"] == REMOTE_WRITE_VERSION == "0.1.0"
        assert headers["user-agent"].startswith("prometheus-client-python/")


def test_4xx_is_not_retried_and_raises_with_the_servers_message() -> None:
    msg = b"out of order sample for series rw_jobs_total"
    with Receiver([(400, msg)]) as rcv:
        with pytest.raises(RemoteWriteError) as ei:
            push_to_remote_write(rcv.url, small_registry(), job="batch", min_backoff=0.01)
        assert len(rcv.requests) == 1
        assert not rcv.accepted()
    err = ei.value
    assert err.status == 400 and err.attempts == 1 and isinstance(err, OSError)
    assert "HTTP 400" in str(err) and msg.decode() in str(err) and err.body == msg.decode()


def test_429_not_retried_by_default_but_on_request() -> None:
    with Receiver([(429, b"slow down")]) as rcv:
        with pytest.raises(RemoteWriteError, match="slow down"):
            push_to_remote_write(rcv.url, small_registry(), job="b")
        assert len(rcv.requests) == 1
    with Receiver([(429, b"slow down")], headers={"Retry-After": "0"}) as rcv:
        push_to_remote_write(rcv.url, small_registry(), job="b", retry_on_http_429=True, min_backoff=0.01)
        assert [s for _, _, s in rcv.requests] == [429, 204]


def test_persistent_5xx_gives_up_within_timeout() -> None:
    with Receiver([(500, b"broken")] * 1000) as rcv:
        with pytest.raises(RemoteWriteError, match="broken") as ei:
            push_to_remote_write(rcv.url, small_registry(), job="b", timeout=1.0, min_backoff=0.01,
                                 max_backoff=0.1)
        assert ei.value.status == 500 and ei.value.attempts == len(rcv.requests) > 1
        assert not rcv.accepted()
    with Receiver([(502, b"bad gateway")] * 10) as rcv:
        with pytest.raises(RemoteWriteError, match="after 3 attempt"):
            push_to_remote_write(rcv.url, small_registry(), job="b", max_attempts=3, min_backoff=0.001)
        assert len(rcv.requests) == 3


def test_connection_errors_are_retried_then_raise() -> None:
    port = free_ports(1)[0]  # nothing listens there
    with pytest.raises(RemoteWriteError) as ei:
        push_to_remote_write(f"http://127.0.0.1:{port}/api/v1/write", small_registry(), job="b",
                             timeout=0.5, min_backoff=0.01, max_backoff=0.05)
    assert ei.value.status is None and ei.value.attempts > 1
    assert isinstance(ei.value.__cause__, OSError)


def test_custom_handler_and_headers() -> None:
    calls: List[Dict[str, Any]] = []

    def handler(url: str, method: str, timeout: float, headers: List[Tuple[str, str]], data: bytes) -> Any:
        calls.append({"url": url, "method": method, "headers": headers})
        return default_handler(url, method, timeout, headers + [("Authorization", "Bearer t0k")], data)

    with Receiver([]) as rcv:
        push_to_remote_write(rcv.url, small_registry(), job="b", handler=handler,
                             headers={"X-Scope-OrgID": "tenant-1"})
        sent = {k.lower(): v for k, v in rcv.requests[0][0].items()}
    assert calls[0]["method"] == "POST" and calls[0]["url"] == rcv.url
    assert sent["x-scope-orgid"] == "tenant-1" and sent["authorization"] == "Bearer t0k"


def test_basic_auth() -> None:
    with Receiver([]) as rcv:
        push_to_remote_write(rcv.url, small_registry(), job="b", basic_auth=("user", "pässword"))
        sent = {k.lower(): v for k, v in rcv.requests[0][0].items()}
    assert sent["authorization"] == "Basic " + base64.b64encode("user:pässword".encode()).decode()
    with pytest.raises(ValueError, match="not both"):
        push_to_remote_write(rcv.url, small_registry(), job="b", basic_auth=("u", "p"),
                             headers={"Authorization": "Bearer x"})


def test_tls_with_ssl_context(tmp_path: Path) -> None:
    certs = make_certs(tmp_path)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(certs["server_cert"], certs["server_key"])
    with Receiver([], tls=server_ctx) as rcv:
        client_ctx = ssl.create_default_context(cafile=certs["ca"])
        push_to_remote_write(rcv.url, small_registry(), job="tls", ssl_context=client_ctx)
        assert len(rcv.accepted()) == 1
        # an unknown CA is not retried: it would fail the same way again
        with pytest.raises(RemoteWriteError, match="CERTIFICATE_VERIFY_FAILED") as ei:
            push_to_remote_write(rcv.url, small_registry(), job="tls", min_backoff=0.01)
        assert ei.value.attempts == 1 and ei.value.status is None
        with pytest.raises(ValueError, match="default handler"):
            push_to_remote_write(rcv.url, small_registry(), job="tls", ssl_context=client_ctx,
                                 handler=lambda **kw: default_handler(**kw))


def test_redirects_are_not_followed() -> None:
    with Receiver([(307, b"")], headers={"Location": "/elsewhere"}) as rcv:
        with pytest.raises(RemoteWriteError, match="HTTP 307"):
            push_to_remote_write(rcv.url, small_registry(), job="b")
        assert len(rcv.requests) == 1


def test_pusher_pushes_periodically_retries_and_marks_stale_on_stop() -> None:
    errors: List[BaseException] = []
    r = small_registry()
    with Receiver([(500, b"hiccup")]) as rcv:
        pusher = RemoteWritePusher(rcv.url, r, job="svc", instance="h", interval=0.05, min_backoff=0.001,
                                   max_backoff=0.01, stale_on_stop=True, on_error=errors.append)
        with pusher:
            assert pusher.running
            wait_until(lambda: len(rcv.accepted()) >= 3, "three accepted pushes", timeout=30)
        assert not pusher.running
        accepted = [parse(b) for b in rcv.accepted()]
    # the 500 was retried within the push: no push failed
    assert not errors and pusher.pushes_failed == 0 and pusher.pushes_succeeded == len(accepted)
    key = labels_key("rw_jobs_total", job="svc", instance="h")
    stamps = [series_of(m)[key].samples[0].timestamp for m in accepted]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)  # strictly increasing
    last = series_of(accepted[-1])[key].samples[0]
    assert struct.pack("<d", last.value) == struct.pack("<Q", pb.STALE_NAN_BITS)
    before = series_of(accepted[-2])[key].samples[0]
    assert before.value == 4.0  # the final push on stop, before the stale markers


def test_pusher_survives_failures_and_reports_them() -> None:
    errors: List[BaseException] = []
    with Receiver([(400, b"bad data")]) as rcv:
        pusher = RemoteWritePusher(rcv.url, small_registry(), job="svc", interval=0.05, on_error=errors.append,
                                   push_on_stop=False)
        pusher.start()
        try:
            wait_until(lambda: len(rcv.accepted()) >= 1, "a push after the failure", timeout=30)
        finally:
            pusher.stop()
    assert isinstance(errors[0], RemoteWriteError) and errors[0].status == 400
    assert pusher.pushes_failed == 1 and pusher.pushes_succeeded >= 1
    with pytest.raises(ValueError, match="interval"):
        RemoteWritePusher(rcv.url, job="svc", interval=0)


def test_pusher_flushes_at_interpreter_exit() -> None:
    script = (
        "import sys, time\n"
        "from prometheus_client import CollectorRegistry, Counter\n"
        "from prometheus_client.remote_write import RemoteWritePusher\n"
        "r = CollectorRegistry()\n"
        "c = Counter('rw_exit', 'done at exit', registry=r)\n"
        "p = RemoteWritePusher(sys.argv[1], r, job='exit', instance='h', interval=3600).start()\n"
        "while p.pushes_succeeded < 1:\n"
        "    time.sleep(0.01)\n"
        "c.inc(7)\n"  # no stop(): the atexit hook makes the final push
    )
    with Receiver([]) as rcv:
        proc = subprocess.run([sys.executable, "-c", script, rcv.url], capture_output=True, timeout=120)
        assert proc.returncode == 0, proc.stderr.decode()
        pushed = [series_of(parse(b))[labels_key("rw_exit_total", job="exit", instance="h")].samples[0].value
                  for b in rcv.accepted()]
    assert pushed == [0.0, 7.0]


# ---------------------------------------------------------------------------
# A real Prometheus (2.42 and 3.5) with its remote-write receiver
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module", params=[b for _, b in PROMETHEUS_VERSIONS], ids=[v for v, _ in PROMETHEUS_VERSIONS])
def prometheus(request: pytest.FixtureRequest) -> Iterator[Peer]:
    """Prometheus 2.42 and 3.5 (whose receiver accepts 1.0 and 2.0 by default), in turn."""
    peer = start_prometheus(
        "global:\n  scrape_interval: 1m\n",
        flags=["--web.enable-remote-write-receiver",
               "--enable-feature=native-histograms,exemplar-storage"],
        binary=request.param,
    )
    try:
        yield peer
    finally:
        peer.stop()


def prom_query_at(peer: Peer, expr: str, at: float) -> List[Dict[str, Any]]:
    result: List[Dict[str, Any]] = prom_api(peer, "query", query=expr, time=f"{at:.3f}")["result"]
    return result


def test_real_prometheus_receives_every_metric_type(prometheus: Peer) -> None:
    now = math.floor(time.time()) - 30.0  # well inside the head block, older than "now"
    own_ts = now - 12.25
    r = full_registry(ts=own_ts)
    expected = parse(write_request_from_registry(r, job="rwtest", instance="host-1", timestamp=now))
    push_to_remote_write(f"{prometheus.url}/api/v1/write", r, job="rwtest", instance="host-1", timestamp=now)

    # every float series: exact labels, value and timestamp, read back with PromQL
    for key, ts in series_of(expected).items():
        labels = dict(key)
        if ts.histograms:
            continue
        sel = "{" + ",".join(f'{k}="{v}"' for k, v in key) + "}"
        (sample,) = ts.samples
        at = sample.timestamp / 1000.0
        result = prom_query_at(prometheus, sel, at)
        assert len(result) == 1, (sel, result)
        assert result[0]["metric"] == labels
        got_ts, got_value = result[0]["value"]
        assert got_ts == at
        assert float(got_value) == sample.value, sel
        # the stored timestamp is exactly ours: the sample is gone 1 ms before it
        rng = prom_query_at(prometheus, f"timestamp({sel})", at)
        assert float(rng[0]["value"][1]) == at

    # the whole job as Prometheus sees it = exactly the float series we pushed
    stored = {tuple(sorted(x["metric"].items())) for x in prom_query_at(prometheus, '{job="rwtest"}', now)}
    assert stored == set(series_of(expected))

    # the native histogram
    (nat,) = prom_query_at(prometheus, 'rw_native_seconds{job="rwtest"}', now)
    assert nat["metric"] == {"__name__": "rw_native_seconds", "job": "rwtest", "instance": "host-1"}
    at, hist = nat["histogram"]
    assert at == now
    assert (hist["count"], hist["sum"]) == ("22", "100")
    assert hist["buckets"] == [
        [1, "-16", "-8", "4"], [1, "-8", "-4", "1"], [1, "-2", "-1", "3"], [1, "-1", "-0.5", "2"],
        [3, "-0.001", "0.001", "4"], [0, "0.5", "1", "2"], [0, "1", "2", "3"], [0, "8", "16", "3"],
    ]
    assert float(prom_query_at(prometheus, 'histogram_count(rw_native_seconds{job="rwtest"})',
                               now)[0]["value"][1]) == 22.0

    # the Histogram with native buckets: classic series (checked above) plus the native one
    (dual,) = prom_query_at(prometheus, 'rw_dual_seconds{job="rwtest"}', now)
    assert dual["metric"] == {"__name__": "rw_dual_seconds", "job": "rwtest", "instance": "host-1", "path": "/a"}
    assert (dual["histogram"][1]["count"], dual["histogram"][1]["sum"]) == ("6", "5.5")
    dual_buckets = dual["histogram"][1]["buckets"]
    assert sum(float(b[3]) for b in dual_buckets) == 6
    zero = [b for b in dual_buckets if b[0] == 3]
    assert len(zero) == 1 and zero[0][3] == "1" and float(zero[0][2]) == 2.0 ** -128
    assert float(prom_query_at(prometheus, 'rw_quantile_seconds{job="rwtest",quantile="0.5"}',
                               now)[0]["value"][1]) == pytest.approx(50.5, abs=1.5)

    # PromQL over the pushed classic histogram
    q = prom_query_at(prometheus, 'histogram_quantile(0.5, rw_request_seconds_bucket{job="rwtest"})', now)
    assert float(q[0]["value"][1]) == pytest.approx(0.1 + 0.9 * 0.5)

    # the exemplar landed with its labels, value and timestamp
    ex = prom_api(prometheus, "query_exemplars", query='rw_exemplified_total{job="rwtest"}',
                  start=f"{own_ts - 60:.3f}", end=f"{now + 60:.3f}")
    assert ex and ex[0]["exemplars"] == [{"labels": {"trace_id": "abc123"}, "value": "1.5",
                                          "timestamp": own_ts}]


def test_real_prometheus_pusher_series_over_time_and_staleness(prometheus: Peer) -> None:
    r = CollectorRegistry()
    c = Counter("rw_ticks", "Ticks", registry=r)
    Histogram("rw_ticks_seconds", "Native", registry=r, native_histogram_bucket_factor=1.1).observe(1.0)
    url = f"{prometheus.url}/api/v1/write"
    pusher = RemoteWritePusher(url, r, job="rwpusher", instance="p1", interval=0.2, stale_on_stop=True)
    with pusher:
        for _ in range(3):
            c.inc()
            n = pusher.pushes_succeeded
            wait_until(lambda n=n: pusher.pushes_succeeded > n, "a push", timeout=30)
    raw = prom_query(prometheus, 'rw_ticks_total{job="rwpusher"}[5m]')
    values = [float(v) for _, v in raw[0]["values"]]
    assert len(values) == pusher.pushes_succeeded - 1  # every push but the stale markers
    assert values[-1] == 3.0 and values == sorted(values)
    assert prom_query(prometheus, 'rw_ticks_seconds{job="rwpusher"}[5m]')[0]["histograms"]
    # stale markers (float ones, for the native histogram series too): the series are gone
    # from instant queries right after the stop
    assert prom_query(prometheus, 'rw_ticks_total{job="rwpusher"}') == []
    assert prom_query(prometheus, '{job="rwpusher"}') == []
    assert pusher.pushes_failed == 0


def test_real_prometheus_rejects_out_of_order_with_400(prometheus: Peer) -> None:
    r = small_registry()
    url = f"{prometheus.url}/api/v1/write"
    now = math.floor(time.time()) - 5.0
    push_to_remote_write(url, r, job="rworder", timestamp=now)
    r2 = CollectorRegistry()
    Counter("rw_jobs", "Jobs done", registry=r2).inc(5)
    with pytest.raises(RemoteWriteError) as ei:
        push_to_remote_write(url, r2, job="rworder", timestamp=now - 1, min_backoff=0.01)
    assert ei.value.status == 400 and ei.value.attempts == 1
    assert "out of order" in str(ei.value)


def test_default_handler_raises_httperror_for_plain_use() -> None:
    with Receiver([(404, b"no such endpoint")]) as rcv:
        with pytest.raises(urllib.error.HTTPError) as ei:
            default_handler(rcv.url, "POST", 5, [("Content-Type", CONTENT_TYPE)], b"")()
        assert ei.value.code == 404
        ei.value.close()
