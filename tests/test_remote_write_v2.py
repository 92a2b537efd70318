"""Remote write 2.0 (``io.prometheus.write.v2.Request``): the encoder checked with the official
protobuf runtime (descriptors built at test time), a hypothesis round trip, the HTTP contract
(headers, Written-header accounting, 415 and the pusher's fallback to 1.0) against a scripted
receiver, and a real Prometheus 3.5 receiver that accepts only 2.0."""

from __future__ import annotations

import logging
import math
import struct
import time
from typing import Any, Dict, Iterator, List, Tuple

import cramjam
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pb_descriptors import remote_write_v2_classes
from peers import PROMETHEUS, PROMETHEUS3, Peer, prom_api, start_prometheus
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client._formats import remote_write_pb as pb
from prometheus_client._formats import remote_write_v2 as v2
from prometheus_client._transport.remote_write_http import default_handler
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.remote_write import (
    PROTOBUF_MESSAGE_V2,
    RemoteWriteError,
    RemoteWritePusher,
    push_to_remote_write,
    write_request_from_registry,
)
from prometheus_client.samples import BucketSpan, NativeHistogram
from strategies import finite_floats, label_names, label_values
from test_remote_write import TS, TS_MS, Receiver, full_registry, labels_key, series_of
from test_remote_write import parse as parse_v1

RW2 = remote_write_v2_classes()
V2 = PROTOBUF_MESSAGE_V2


@pytest.fixture(autouse=True)
def _in_process_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        monkeypatch.setenv(var, "")
        monkeypatch.delenv(var)


def encode(registry: Collector, timestamp: float = TS, **kw: Any) -> Tuple[bytes, v2.Counts]:
    from prometheus_client._formats.remote_write import target_labels
    from prometheus_client._formats.render import walk as iter_families

    job, instance = kw.pop("job", "batch"), kw.pop("instance", "host-1")
    enc = v2.V2Encoder(target_labels(job, instance, None), **kw)
    body, counts = enc.encode(iter_families(registry), int(round(timestamp * 1000)))
    # the public helper gives the same bytes
    assert write_request_from_registry(registry, job=job, instance=instance, timestamp=timestamp,
                                       protobuf_message=V2, **kw) == body
    return body, counts


def parse(data: bytes) -> Any:
    msg = RW2["Request"]()
    msg.ParseFromString(data)
    return msg


def by_labels(msg: Any) -> Dict[Tuple[Tuple[str, str], ...], Any]:
    """Series of an official-runtime Request by their (resolved, sorted) labels."""
    sym = list(msg.symbols)
    assert sym[0] == "" and len(set(sym)) == len(sym)  # table rules: "" first, no duplicates
    out = {}
    for ts in msg.timeseries:
        refs = list(ts.labels_refs)
        assert len(refs) % 2 == 0
        key = tuple((sym[refs[i]], sym[refs[i + 1]]) for i in range(0, len(refs), 2))
        names = [k for k, _ in key]
        assert names == sorted(names) and len(set(names)) == len(names) and "__name__" in names
        assert all(k and v for k, v in key)
        assert key not in out, key
        assert bool(ts.samples) != bool(ts.histograms)  # one kind per series
        out[key] = ts
    return out


def meta_of(msg: Any, ts: Any) -> Tuple[int, str, str]:
    return ts.metadata.type, msg.symbols[ts.metadata.help_ref], msg.symbols[ts.metadata.unit_ref]


# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------

def test_spec_example_decodes_and_our_encoding_means_the_same() -> None:
    example = bytes.fromhex(
        "2200" "22085f5f6e616d655f5f" "220a6a6f62735f746f74616c" "22036a6f62" "220178"
        "220f4a6f62732070726f6365737365642e" "2a25" "0a0401020304" "1217090000000000000840"
        "1080adc6b8b733" "1880d0eab6b733" "2a0408011805")
    assert len(example) == 88
    mine = pb.decode_v2_request(example)
    (s,) = mine.timeseries
    assert s.labels == (("__name__", "jobs_total"), ("job", "x"))
    assert s.samples == (pb.V2Sample(3.0, 1767229200000, 1767225600000),)
    assert (s.type, s.help, s.unit) == (pb.COUNTER, "Jobs processed.", "")
    assert bytes(cramjam.snappy.compress_raw(example))[:3] == bytes.fromhex("58f057")

    c = CounterMetricFamily("jobs", "Jobs processed.", created=1767225600.0)
    c.add_metric([], 3.0, created=1767225600.0)
    r = CollectorRegistry()
    r.register(_Fixed([_keep_total(c)]))
    body, counts = encode(r, timestamp=1767229200.0, instance="")
    assert counts == v2.Counts(1, 0, 0)
    (got,) = pb.decode_v2_request(body).timeseries
    assert (got.labels, got.samples, got.type, got.help) == (
        (("__name__", "jobs_total"), ("job", "batch")), s.samples, s.type, s.help)
    assert got.created_timestamp == 1767225600000  # rc.3 layout too


class _Fixed:
    def __init__(self, metrics: List[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> List[Metric]:
        return self.metrics


def _keep_total(c: Metric) -> Metric:
    c.samples = [s for s in c.samples if s.name.endswith("_total") or s.name.endswith("_created")]
    return c


def test_every_metric_type_against_the_official_runtime_and_v1() -> None:
    """The same series as 1.0 minus the ``_created`` series (now start times), with metadata
    on every series; values, timestamps, histograms and exemplars equal to 1.0's."""
    r = full_registry(ts=TS - 10.5)
    v1_msg = parse_v1(write_request_from_registry(r, job="batch", instance="host-1", timestamp=TS))
    v1_series = series_of(v1_msg)
    v1_meta = {m.metric_family_name: (m.type, m.help, m.unit) for m in v1_msg.metadata}
    body, counts = encode(r)
    msg = parse(body)
    got = by_labels(msg)

    created = {k: s for k, s in v1_series.items() if dict(k)["__name__"].endswith("_created")}
    assert set(got) == set(v1_series) - set(created)
    n_samples = n_hist = n_ex = 0
    for key, ts in got.items():
        old = v1_series[key]
        assert [(s.value, s.timestamp) for s in ts.samples] == [(s.value, s.timestamp) for s in old.samples] \
            or all(math.isnan(s.value) for s in ts.samples)
        assert len(ts.histograms) == len(old.histograms)
        for h2, h1 in zip(ts.histograms, old.histograms):
            h2c = RW2["Histogram"].FromString(h2.SerializeToString())
            h2c.ClearField("start_timestamp")
            assert h2c.SerializeToString() == h1.SerializeToString()  # fields 1-15: same numbers
        sym = msg.symbols
        assert [([sym[i] for i in e.labels_refs], e.value, e.timestamp) for e in ts.exemplars] == [
            ([x for lb in e.labels for x in (lb.name, lb.value)], e.value, e.timestamp) for e in old.exemplars]
        n_samples += len(ts.samples)
        n_hist += len(ts.histograms)
        n_ex += len(ts.exemplars)
        # metadata of the family on every series (1.0 sends it once per family)
        typ, help_, unit = meta_of(msg, ts)
        family = [f for f in v1_meta if dict(key)["__name__"].startswith(f)]
        assert family, key
        assert (typ, help_, unit) == v1_meta[max(family, key=len)], key
    assert counts == v2.Counts(n_samples, n_hist, n_ex)
    assert n_hist == 2 and n_ex >= 1

    # created times: on counter-like series only, equal to 1.0's _created value in ms
    def ct(name: str, **labels: str) -> Tuple[int, List[int]]:
        ts = got[labels_key(name, job="batch", instance="host-1", **labels)]
        return ts.created_timestamp, [s.start_timestamp for s in ts.samples] + [
            h.start_timestamp for h in ts.histograms]

    want = round(created[labels_key("rw_requests_created", job="batch", instance="host-1", method="GET",
                                    code="200")].samples[0].value * 1000)
    assert ct("rw_requests_total", method="GET", code="200") == (want, [want])
    hist_ct = round(created[labels_key("rw_request_seconds_created", job="batch",
                                       instance="host-1")].samples[0].value * 1000)
    for name, labels in (("rw_request_seconds_bucket", {"le": "0.1"}), ("rw_request_seconds_count", {}),
                         ("rw_request_seconds_sum", {})):
        assert ct(name, **labels) == (hist_ct, [hist_ct])
    dual_ct = ct("rw_dual_seconds", path="/a")
    assert dual_ct[0] > 0 and dual_ct[1] == [dual_ct[0]]  # the native series too
    assert ct("rw_temperature_celsius") == (0, [0])
    assert ct("rw_queue_bytes_gcount") == (0, [0])
    assert ct("rw_latency_seconds", path="/a", quantile="0.5") == (0, [0])
    assert ct("rw_latency_seconds_count", path="/a")[0] == 0  # no _created sample given

    # our decoder agrees with the official runtime
    mine = {s.labels: s for s in pb.decode_v2_request(body).timeseries}
    assert set(mine) == set(got)
    for key, s in mine.items():
        assert [x.value for x in s.samples] == [x.value for x in got[key].samples] or key[0][1] == "rw_stale"
        assert s.created_timestamp == got[key].created_timestamp


def test_utf8_names_travel_unescaped_and_empty_values_are_dropped() -> None:
    r = CollectorRegistry()
    g = GaugeMetricFamily("rw.dotted ☃", "utf-8 name", labels=["label.with dots", "empty", "job"])
    g.add_metric(["é", "", "inner"], 1.0)
    r.register(_Fixed([g]))
    got = by_labels(parse(encode(r)[0]))
    assert set(got) == {(("__name__", "rw.dotted ☃"), ("exported_job", "inner"),
                         ("instance", "host-1"), ("job", "batch"), ("label.with dots", "é"))}


def test_stale_markers_for_floats_and_native_histograms() -> None:
    r = CollectorRegistry()
    Counter("rw_stale", "s", registry=r).inc()
    Histogram("rw_stale_native", "n", registry=r, native_histogram_bucket_factor=1.1).observe(1.0)
    from prometheus_client._formats.remote_write import target_labels

    enc = v2.V2Encoder(target_labels("j", "", None), False)
    body, counts = enc.encode(r.collect(), TS_MS, stale=True)
    got = by_labels(parse(body))
    stale_bits = struct.pack("<Q", pb.STALE_NAN_BITS)
    floats = [s for ts in got.values() for s in ts.samples]
    hists = [h for ts in got.values() for h in ts.histograms]
    assert floats and all(struct.pack("<d", s.value) == stale_bits for s in floats)
    assert len(hists) == 1 and struct.pack("<d", hists[0].sum) == stale_bits
    assert counts == v2.Counts(len(floats), 1, 0)


def test_symbol_table_is_reused_by_a_pusher_and_rebuilt_when_it_grows() -> None:
    r = CollectorRegistry()
    c = Counter("rw_churn", "c", ["id"], registry=r)
    from prometheus_client._formats.remote_write import target_labels
    from prometheus_client._formats.render import walk as iter_families

    enc = v2.V2Encoder(target_labels("j", "", None), False)
    sizes = []
    for i in range(40):
        c.clear()
        for k in range(200):
            c.labels(f"{i}-{k}").inc()
        body, _ = enc.encode(iter_families(r), TS_MS + i)
        msg = parse(body)
        assert len(by_labels(msg)) == 200
        sizes.append(len(msg.symbols))
    # bounded: vanished series' strings are dropped by a rebuild
    assert max(sizes) <= 2 * 206 + 4096 + 200 and min(sizes[1:]) < max(sizes)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(label_names, label_values, finite_floats, st.booleans()), min_size=1, max_size=8),
       st.text(min_size=0, max_size=20), st.sampled_from(["", "seconds", "bytes"]))
def test_roundtrip_random_families(rows: List[Tuple[str, str, float, bool]], help_: str, unit: str) -> None:
    metrics: List[Metric] = []
    want: Dict[Tuple[Tuple[str, str], ...], Tuple[float, int]] = {}
    for i, (lname, lvalue, value, counter) in enumerate(rows):
        name = f"rt_m{i}"
        if lname in ("job", "instance", "__name__") or lname.startswith("__"):
            lname = "x_" + lname.lstrip("_")
        if counter:
            m: Metric = CounterMetricFamily(name, help_, labels=[lname])
            m.add_metric([lvalue], abs(value), created=1000.5)  # type: ignore[attr-defined]
            sname, v, typ = name + "_total", abs(value), pb.COUNTER
        else:
            m = GaugeMetricFamily(name, help_, labels=[lname], unit=unit)
            m.add_metric([lvalue], value)  # type: ignore[attr-defined]
            sname, v, typ = name if not unit else m.name, value, pb.GAUGE
        metrics.append(m)
        key = tuple(sorted([("__name__", sname), ("job", "j")] + ([(lname, lvalue)] if lvalue else [])))
        want[key] = (v, typ)
    r = CollectorRegistry()
    r.register(_Fixed(metrics))
    from prometheus_client._formats.remote_write import target_labels

    body, counts = v2.V2Encoder(target_labels("j", "", None), False).encode(r.collect(), TS_MS)
    msg = parse(body)
    got = by_labels(msg)
    assert set(got) == set(want) and counts.samples == len(want)
    for key, (v, typ) in want.items():
        ts = got[key]
        assert [s.value for s in ts.samples] == [v]
        assert ts.metadata.type == typ and msg.symbols[ts.metadata.help_ref] == help_
        assert ts.created_timestamp == (1000500 if typ == pb.COUNTER else 0)
    assert {s.labels: s.samples[0].value for s in pb.decode_v2_request(body).timeseries} == {
        k: v for k, (v, _) in want.items()}


def test_default_is_still_v1_and_bad_message_name_is_refused() -> None:
    with Receiver([]) as rcv:
        push_to_remote_write(rcv.url, _small(), job="j", instance="h")
        with pytest.raises(ValueError, match="protobuf_message"):
            push_to_remote_write(rcv.url, _small(), job="j", protobuf_message="v2")
        with pytest.raises(ValueError, match="protobuf_message"):
            RemoteWritePusher(rcv.url, _small(), job="j", protobuf_message="io.prometheus.write.v3.Request")
        (headers, _, _), = rcv.requests
    assert headers["Content-Type"] == "application/x-protobuf"
    assert headers["X-Prometheus-Remote-Write-Version"] == "0.1.0"


# ---------------------------------------------------------------------------
# HTTP contract against a scripted receiver
# ---------------------------------------------------------------------------

def _small() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("rw_jobs", "Jobs done", registry=r).inc(4)
    Gauge("rw_temp", "T", unit="celsius", registry=r).set(-1.5)
    return r


def _written(samples: int, histograms: int = 0, exemplars: int = 0) -> Dict[str, str]:
    return {"X-Prometheus-Remote-Write-Samples-Written": str(samples),
            "X-Prometheus-Remote-Write-Histograms-Written": str(histograms),
            "X-Prometheus-Remote-Write-Exemplars-Written": str(exemplars)}


def test_v2_headers_and_written_counts_accepted() -> None:
    with Receiver([], headers=_written(2)) as rcv:
        push_to_remote_write(rcv.url, _small(), job="j", instance="h", protobuf_message=V2,
                             headers={"X-Scope-OrgID": "t1"})
        (headers, body, status), = rcv.requests
    assert headers["Content-Type"] == "application/x-protobuf;proto=io.prometheus.write.v2.Request"
    assert headers["Content-Encoding"] == "snappy"
    assert headers["X-Prometheus-Remote-Write-Version"] == "2.0.0"
    assert headers["User-Agent"].startswith("prometheus-client-python/")
    assert {k.lower(): v for k, v in headers.items()}["x-scope-orgid"] == "t1"
    got = by_labels(parse(bytes(cramjam.snappy.decompress_raw(body))))
    assert {dict(k)["__name__"] for k in got} == {"rw_jobs_total", "rw_temp_celsius"}
    with pytest.raises(ValueError, match="content-type"):
        push_to_remote_write(rcv.url, _small(), job="j", protobuf_message=V2,
                             headers={"content-type": "x"})


def test_receiver_that_wrote_fewer_raises() -> None:
    with Receiver([], headers=_written(1)) as rcv:
        with pytest.raises(RemoteWriteError, match="wrote only 1 of 2 samples") as info:
            push_to_remote_write(rcv.url, _small(), job="j", protobuf_message=V2)
    assert not info.value.only_v1


def test_missing_written_header_counts_as_zero() -> None:
    hdrs = _written(2)
    del hdrs["X-Prometheus-Remote-Write-Exemplars-Written"]
    r = _small()
    Counter("rw_ex", "e", registry=r).inc(exemplar={"trace_id": "t"})
    with Receiver([], headers={**hdrs, "X-Prometheus-Remote-Write-Samples-Written": "3"}) as rcv:
        with pytest.raises(RemoteWriteError, match="0 of 1 exemplars"):
            push_to_remote_write(rcv.url, r, job="j", protobuf_message=V2)


@pytest.mark.parametrize("script, extra", [([(415, b"unsupported proto")], {}), ([], {})],
                         ids=["415", "2xx-without-written-headers"])
def test_v1_only_receiver_is_reported(script: List[Tuple[int, bytes]], extra: Dict[str, str]) -> None:
    with Receiver(script, headers=extra) as rcv:
        with pytest.raises(RemoteWriteError, match="only speaks remote write 1.0") as info:
            push_to_remote_write(rcv.url, _small(), job="j", protobuf_message=V2)
        assert len(rcv.requests) == 1  # a 415 is not retried
    assert info.value.only_v1


def test_pusher_falls_back_to_v1_once_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="prometheus_client.remote_write")
    with Receiver([(415, b"v1 only")]) as rcv:
        pusher = RemoteWritePusher(rcv.url, _small(), job="j", instance="h", protobuf_message=V2)
        assert pusher.protobuf_message == V2
        pusher.push()
        pusher.push()
        types = [h["Content-Type"] for h, _, _ in rcv.requests]
        bodies = rcv.accepted()
    assert types == ["application/x-protobuf;proto=io.prometheus.write.v2.Request",
                     "application/x-protobuf", "application/x-protobuf"]
    assert pusher.protobuf_message == "prometheus.WriteRequest"
    assert pusher.pushes_succeeded == 2 and pusher.pushes_failed == 0
    warnings = [rec for rec in caplog.records if "falling back to remote write 1.0" in rec.getMessage()]
    assert len(warnings) == 1
    assert series_of(parse_v1(bodies[0]))[labels_key("rw_jobs_total", job="j", instance="h")].samples[0].value == 4


def test_pusher_v2_keeps_pushing_v2() -> None:
    with Receiver([(500, b"retry me")], headers=_written(2)) as rcv:
        pusher = RemoteWritePusher(rcv.url, _small(), job="j", instance="h", protobuf_message=V2,
                                   min_backoff=0.001, max_backoff=0.01)
        pusher.push()
        pusher.push()
        pusher.push(stale=True)
        bodies = rcv.accepted()
    assert len(bodies) == 3 and pusher.protobuf_message == V2
    stamps = [[s.timestamp for ts in parse(b).timeseries for s in ts.samples] for b in bodies]
    assert stamps[0][0] < stamps[1][0] < stamps[2][0]
    last = [s.value for ts in parse(bodies[2]).timeseries for s in ts.samples]
    assert all(math.isnan(x) for x in last)


# ---------------------------------------------------------------------------
# A real Prometheus 3.5 receiver that accepts only 2.0
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def prom3() -> Iterator[Peer]:
    peer = start_prometheus(
        "global:\n  scrape_interval: 1m\n",
        flags=["--web.enable-remote-write-receiver",
               f"--web.remote-write-receiver.accepted-protobuf-messages={V2}",
               "--enable-feature=native-histograms,exemplar-storage,created-timestamp-zero-ingestion"],
        binary=PROMETHEUS3,
    )
    try:
        yield peer
    finally:
        peer.stop()


def _at(peer: Peer, expr: str, at: float) -> List[Dict[str, Any]]:
    result: List[Dict[str, Any]] = prom_api(peer, "query", query=expr, time=f"{at:.3f}")["result"]
    return result


def _one(peer: Peer, expr: str, at: float) -> float:
    (r,) = _at(peer, expr, at)
    return float(r["value"][1])


class _Native:
    def collect(self) -> Iterator[Metric]:
        m = Metric("rw2_native_seconds", "A native histogram", "histogram")
        nh = NativeHistogram(22, 100.0, 0, 0.001, 4,
                             pos_spans=(BucketSpan(0, 2), BucketSpan(1, 2)),
                             neg_spans=(BucketSpan(0, 2), BucketSpan(1, 2)),
                             pos_deltas=(2, 1, -3, 3), neg_deltas=(2, 1, -2, 3))
        m.add_sample("rw2_native_seconds", {}, 0, None, None, nh)
        yield m
        g = GaugeMetricFamily("rw2.utf8 ☃", "UTF-8 name", labels=["lab.el"])
        g.add_metric(["é"], 2.5)
        yield g


def test_real_prometheus3_receives_v2(prom3: Peer) -> None:
    now = math.floor(time.time()) - 30.0
    r = CollectorRegistry()
    c = Counter("rw2_requests", "Requests served", ["code"], registry=r)
    c.labels("200").inc(3, exemplar={"trace_id": "abc"})
    Gauge("rw2_temperature", "Temperature now", unit="celsius", registry=r).set(-4.25)
    h = Histogram("rw2_latency_seconds", "Latency", buckets=[0.1, 1.0], registry=r)
    for v in (0.05, 0.5, 3.0):
        h.observe(v)
    r.register(_Native())
    url = f"{prom3.url}/api/v1/write"
    push_to_remote_write(url, r, job="rw2", instance="h", timestamp=now, protobuf_message=V2)

    sel = 'job="rw2"'
    assert _one(prom3, f'rw2_requests_total{{{sel},code="200"}}', now) == 3
    assert _one(prom3, f"rw2_temperature_celsius{{{sel}}}", now) == -4.25
    buckets = {r["metric"]["le"]: float(r["value"][1]) for r in _at(prom3, f"rw2_latency_seconds_bucket{{{sel}}}",
                                                                   now)}
    assert buckets == {"0.1": 1, "1.0": 2, "+Inf": 3}
    assert _one(prom3, f"rw2_latency_seconds_count{{{sel}}}", now) == 3
    assert _one(prom3, f"rw2_latency_seconds_sum{{{sel}}}", now) == 0.05 + 0.5 + 3.0
    (nat,) = _at(prom3, f"rw2_native_seconds{{{sel}}}", now)
    assert (nat["histogram"][1]["count"], nat["histogram"][1]["sum"]) == ("22", "100")
    assert nat["histogram"][1]["buckets"] == [
        [1, "-16", "-8", "4"], [1, "-8", "-4", "1"], [1, "-2", "-1", "3"], [1, "-1", "-0.5", "2"],
        [3, "-0.001", "0.001", "4"], [0, "0.5", "1", "2"], [0, "1", "2", "3"], [0, "8", "16", "3"]]
    (utf8,) = _at(prom3, f'{{"rw2.utf8 ☃",{sel}}}', now)
    assert utf8["metric"] == {"__name__": "rw2.utf8 ☃", "lab.el": "é", "job": "rw2", "instance": "h"}
    assert float(utf8["value"][1]) == 2.5
    ex = prom_api(prom3, "query_exemplars", query=f"rw2_requests_total{{{sel}}}", start=f"{now - 60:.3f}",
                  end=f"{now + 60:.3f}")
    assert ex and [e["labels"] for e in ex[0]["exemplars"]] == [{"trace_id": "abc"}]



def test_real_prometheus3_created_timestamp_zero_ingestion(prom3: Peer) -> None:
    """With ``--enable-feature=created-timestamp-zero-ingestion`` Prometheus 3.5 inserts a 0
    sample at the created time of a counter (and of every histogram series) pushed over 2.0."""
    now = math.floor(time.time()) - 10.0
    created = now - 20.5
    c = CounterMetricFamily("rw2_ct", "Counter with a created time", labels=["k"])
    c.add_metric(["a"], 5.0, created=created)
    r = CollectorRegistry()
    r.register(_Fixed([c]))
    h = Histogram("rw2_ct_seconds", "Histogram with a created time", buckets=[1.0], registry=r)
    h.observe(0.5)
    h._created = created
    push_to_remote_write(f"{prom3.url}/api/v1/write", r, job="rw2ct", instance="h", timestamp=now,
                         protobuf_message=V2)
    for sel in ('rw2_ct_total{job="rw2ct",k="a"}', 'rw2_ct_seconds_count{job="rw2ct"}',
                'rw2_ct_seconds_bucket{job="rw2ct",le="1.0"}'):
        rng = prom_api(prom3, "query_range", query=sel, start=f"{created - 2:.3f}", end=f"{now:.3f}", step="0.5")
        (series,) = rng["result"]
        points = [(float(t), float(v)) for t, v in series["values"]]
        assert points[0] == (created, 0.0), (sel, points[:3])  # the zero sample at the start time
        assert points[-1][1] in (5.0, 1.0)
        assert all(v == 0.0 for t, v in points if t < now)
        assert float(prom_api(prom3, "query", query=f"timestamp({sel})", time=f"{created + 0.25:.3f}")
                     ["result"][0]["value"][1]) == created


def test_real_prometheus3_refuses_v1_with_415(prom3: Peer) -> None:
    with pytest.raises(RemoteWriteError) as info:
        push_to_remote_write(f"{prom3.url}/api/v1/write", _small(), job="rw1", instance="h")
    assert info.value.status == 415


def test_real_prometheus3_metadata_of_v2_push(prom3: Peer) -> None:
    """What reached Prometheus 3.5 carried type, HELP and unit on the series (recorded by a
    handler that forwards to the real receiver).  Prometheus 3.5 writes that metadata to its head
    and WAL but its /api/v1/metadata lists scraped targets' metadata only: it stays empty for
    remote-written series (if a later version lists it, this test says so)."""
    now = math.floor(time.time()) - 20.0
    r = CollectorRegistry()
    Gauge("rw2_meta_gauge", "Help of the gauge", unit="bytes", registry=r).set(1)
    sent: List[bytes] = []

    def recording(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
        sent.append(data)
        return default_handler(url, method, timeout, headers, data)

    push_to_remote_write(f"{prom3.url}/api/v1/write", r, job="rw2m", instance="h", timestamp=now,
                         protobuf_message=V2, handler=recording)
    assert _one(prom3, 'rw2_meta_gauge_bytes{job="rw2m"}', now) == 1
    (body,) = sent
    (series,) = pb.decode_v2_request(bytes(cramjam.snappy.decompress_raw(body))).timeseries
    assert (series.type, series.help, series.unit) == (pb.GAUGE, "Help of the gauge", "bytes")
    assert prom_api(prom3, "metadata", metric="rw2_meta_gauge_bytes") == {}


def test_real_prometheus2_pusher_falls_back_to_v1(caplog: pytest.LogCaptureFixture) -> None:
    """Prometheus 2.42 only speaks 1.0: it ignores the 2.0 Content-Type, decodes an empty 1.0
    request and answers 204 without Written headers.  The pusher takes that as "1.0 only",
    warns once and pushes 1.0 from then on; the values land."""
    caplog.set_level(logging.WARNING, logger="prometheus_client.remote_write")
    peer = start_prometheus("global:\n  scrape_interval: 1m\n", flags=["--web.enable-remote-write-receiver"],
                            binary=PROMETHEUS)
    try:
        r = _small()
        with pytest.raises(RemoteWriteError, match="only speaks remote write 1.0") as info:
            push_to_remote_write(f"{peer.url}/api/v1/write", r, job="fb", instance="h", protobuf_message=V2)
        assert info.value.only_v1
        pusher = RemoteWritePusher(f"{peer.url}/api/v1/write", r, job="fb", instance="h", protobuf_message=V2)
        pusher.push()
        pusher.push()
        assert pusher.protobuf_message == "prometheus.WriteRequest" and pusher.pushes_succeeded == 2
        (res,) = prom_api(peer, "query", query='rw_jobs_total{job="fb"}')["result"]
        assert float(res["value"][1]) == 4
    finally:
        peer.stop()
    assert len([rec for rec in caplog.records if "falling back" in rec.getMessage()]) == 1
