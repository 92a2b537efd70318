"""The registry -> delimited protobuf exposition adapter (``_protobuf_exposition.encode_registry``)."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List

import pytest
from hypothesis import HealthCheck, given, settings

from pb_descriptors import client_model_classes, read_delimited
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
)
from prometheus_client._formats import protobuf_model as pbm
from prometheus_client._formats import protobuf_wire as pb
from prometheus_client._formats.protobuf import _PB_LABELS, encode_registry
from prometheus_client._metrics.family import Family
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Timestamp
from strategies import expo_registries

C = client_model_classes()


def official(data: bytes) -> Dict[str, Any]:
    return {mf.name: mf for mf in (C["MetricFamily"].FromString(m) for m in read_delimited(data))}


class Fixed:
    def __init__(self, metrics: List[Metric]) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self._metrics


def labels(m: Any) -> Dict[str, str]:
    return {lp.name: lp.value for lp in m.label}


def test_instrumented_metrics() -> None:
    reg = CollectorRegistry()
    c = Counter("req", "Requests", ["method"], registry=reg)
    c.labels("get").inc(3)
    c.labels("post").inc()
    g = Gauge("temp_celsius", "Temp", unit="celsius", registry=reg)
    g.set(21.5)
    s = Summary("lat", "Latency", registry=reg)
    s.observe(0.5)
    s.observe(1.5)
    h = Histogram("h", "Hist", buckets=(1, 2), registry=reg)
    h.observe(0.5)
    h.observe(1.5)
    h.observe(7)
    Info("build", "Build info", registry=reg).info({"version": "1.2"})
    Enum("state", "State", states=["a", "b"], registry=reg).state("b")
    fams = official(encode_registry(reg))
    assert set(fams) == {"req_total", "temp_celsius", "lat", "h", "build_info", "state"}

    req = fams["req_total"]
    assert req.type == pb.COUNTER and req.help == "Requests"
    by = {labels(m)["method"]: m for m in req.metric}
    assert by["get"].counter.value == 3 and by["post"].counter.value == 1
    assert by["get"].counter.HasField("created_timestamp")
    assert by["get"].counter.created_timestamp.seconds > 1_600_000_000

    t = fams["temp_celsius"]
    assert t.type == pb.GAUGE and t.unit == "celsius" and t.metric[0].gauge.value == 21.5

    lat = fams["lat"].metric[0].summary
    assert (lat.sample_count, lat.sample_sum) == (2, 2.0) and lat.HasField("created_timestamp")

    hist = fams["h"].metric[0].histogram
    assert fams["h"].type == pb.HISTOGRAM
    assert (hist.sample_count, hist.sample_sum) == (3, 9.0)
    assert [(b.upper_bound, b.cumulative_count) for b in hist.bucket] == [(1, 1), (2, 2), (math.inf, 3)]
    assert not hist.HasField("schema")

    info = fams["build_info"]
    assert info.type == pb.GAUGE and labels(info.metric[0]) == {"version": "1.2"}
    assert info.metric[0].gauge.value == 1
    st = fams["state"]
    assert {labels(m)["state"]: m.gauge.value for m in st.metric} == {"a": 0, "b": 1}


def test_custom_collector_types_timestamps_exemplars() -> None:
    cf = CounterMetricFamily("c", "C", labels=["a"])
    cf.add_metric(["x"], 5, created=1700000000.25, timestamp=1700000001.5,
                  exemplar=Exemplar({"trace_id": "t1"}, 0.7, Timestamp(1700000000, 5)))
    gf = GaugeMetricFamily("g", "G")
    gf.add_metric([], 1.0, timestamp=Timestamp(12, 500_000_000))
    uf = UnknownMetricFamily("u", "U", value=3)
    sf = SummaryMetricFamily("s", "S", labels=["a"])
    sf.add_metric(["y"], count_value=4, sum_value=2.5)
    hf = HistogramMetricFamily("hh", "HH", labels=["a"])
    hf.add_metric(["z"], [("0.5", 1, Exemplar({"id": "e"}, 0.3)), ("+Inf", 4)], sum_value=6.0)
    ghf = GaugeHistogramMetricFamily("gh", "GH", buckets=[("1.0", 2), ("+Inf", 5)], gsum_value=3.0)
    q = Metric("sq", "SQ", "summary")
    q.add_sample("sq", {"quantile": "0.5"}, 1.0)
    q.add_sample("sq", {"quantile": "0.99"}, 2.0)
    q.add_sample("sq_count", {}, 10)
    q.add_sample("sq_sum", {}, 12.0)
    fams = official(encode_registry(Fixed([cf, gf, uf, sf, hf, ghf, q])))

    c = fams["c_total"].metric[0]
    assert labels(c) == {"a": "x"} and c.counter.value == 5
    assert c.timestamp_ms == 1700000001500
    assert (c.counter.created_timestamp.seconds, c.counter.created_timestamp.nanos) == (1700000000, 250_000_000)
    ex = c.counter.exemplar
    assert labels(ex) == {"trace_id": "t1"} and ex.value == 0.7
    assert (ex.timestamp.seconds, ex.timestamp.nanos) == (1700000000, 5)

    assert fams["g"].metric[0].timestamp_ms == 12500
    assert fams["u"].type == pb.UNTYPED and fams["u"].metric[0].untyped.value == 3
    s = fams["s"].metric[0]
    assert labels(s) == {"a": "y"} and (s.summary.sample_count, s.summary.sample_sum) == (4, 2.5)
    hh = fams["hh"].metric[0]
    assert labels(hh) == {"a": "z"}
    assert [(b.upper_bound, b.cumulative_count) for b in hh.histogram.bucket] == [(0.5, 1), (math.inf, 4)]
    assert labels(hh.histogram.bucket[0].exemplar) == {"id": "e"}
    assert hh.histogram.sample_count == 4 and hh.histogram.sample_sum == 6.0
    gh = fams["gh"]
    assert gh.type == pb.GAUGE_HISTOGRAM
    assert gh.metric[0].histogram.sample_count == 5 and gh.metric[0].histogram.sample_sum == 3.0
    sq = fams["sq"].metric[0].summary
    assert [(x.quantile, x.value) for x in sq.quantile] == [(0.5, 1.0), (0.99, 2.0)]
    assert sq.sample_count == 10


def test_native_histogram_sample() -> None:
    m = Metric("nh", "NH", "histogram")
    nh = NativeHistogram(4, 6.0, 3, 2.0 ** -128, 1, (BucketSpan(0, 1), BucketSpan(7, 1), BucketSpan(4, 1)), None,
                         (1, 0, 0), None,
                         (Exemplar({"t": "1"}, 2.0, 1700000000.0), Exemplar({"t": "2"}, 3.0)))
    m.add_sample("nh", {"x": "1"}, 0, None, None, nh)
    m.add_sample("nh_bucket", {"x": "1", "le": "1.0"}, 2)
    m.add_sample("nh_bucket", {"x": "1", "le": "+Inf"}, 4)
    m.add_sample("nh_count", {"x": "1"}, 4)
    m.add_sample("nh_sum", {"x": "1"}, 6.0)
    fams = official(encode_registry(Fixed([m])))
    (met,) = fams["nh"].metric
    h = met.histogram
    assert labels(met) == {"x": "1"}
    assert h.schema == 3 and h.zero_count == 1 and h.zero_threshold == 2.0 ** -128
    assert [(s.offset, s.length) for s in h.positive_span] == [(0, 1), (7, 1), (4, 1)]
    assert list(h.positive_delta) == [1, 0, 0]
    assert [(b.upper_bound, b.cumulative_count) for b in h.bucket] == [(1.0, 2), (math.inf, 4)]
    assert h.sample_count == 4 and h.sample_sum == 6.0
    assert [labels(e) for e in h.exemplars] == [{"t": "1"}]  # exemplars without timestamp dropped


def test_native_only_and_empty_native() -> None:
    m = Metric("n", "N", "histogram")
    m.add_sample("n", {}, 0, None, None, NativeHistogram(0, 0.0, 0, 0.0, 0))
    h = official(encode_registry(Fixed([m])))["n"].metric[0].histogram
    assert h.HasField("schema") and h.sample_count == 0
    assert [(s.offset, s.length) for s in h.positive_span] == [(0, 0)]  # no-op span


def test_escaping_of_names() -> None:
    m = GaugeMetricFamily("my.metric", "doc", labels=["a.b"])
    m.add_metric(["v"], 1)
    fam = official(encode_registry(Fixed([m])))["my_metric"]
    assert labels(fam.metric[0]) == {"a_b": "v"}
    fam = official(encode_registry(Fixed([m]), escaping="allow-utf-8"))["my.metric"]
    assert labels(fam.metric[0]) == {"a.b": "v"}
    assert "U__my_2e_metric" in official(encode_registry(Fixed([m]), escaping="values"))


def test_error_carries_metric() -> None:
    m = Metric("bad", "B", "gauge")
    m.add_sample("bad", {}, 1, timestamp=math.nan)  # the text format fails on it too
    with pytest.raises(ValueError) as ei:
        encode_registry(Fixed([m]))
    assert ei.value.args[-1] is m


def test_unrepresentable_values_degrade_instead_of_failing_the_scrape() -> None:
    h = Metric("h", "H", "histogram")
    h.add_sample("h_bucket", {"le": "not-a-number"}, 1)  # skipped: no upper bound
    h.add_sample("h_bucket", {"le": "+Inf"}, 2)
    h.add_sample("h_created", {}, math.nan)  # a Timestamp cannot hold NaN: left out
    s = Metric("s", "S", "summary")
    s.add_sample("s", {"quantile": "median"}, 1.0)  # skipped
    s.add_sample("s_count", {}, math.nan)  # uint64 only: 0
    s.add_sample("s_sum", {}, 1.0)
    n = Metric("n", "N", "histogram")  # non-integral deltas: a float native histogram
    n.add_sample("n", {}, 0, None, None, NativeHistogram(3.0, 1.0, 2.0, 0.001, 0.5, (BucketSpan(0, 2),), None,
                                                           (1.5, -0.5), None))
    fams = official(encode_registry(Fixed([h, s, n])))
    hh = fams["h"].metric[0].histogram
    assert [(b.upper_bound, b.cumulative_count) for b in hh.bucket] == [(math.inf, 2)]
    assert not hh.HasField("created_timestamp")
    ss = fams["s"].metric[0].summary
    assert ss.sample_count == 0 and list(ss.quantile) == []
    nn = fams["n"].metric[0].histogram
    assert nn.schema == 2 and nn.sample_count_float == 3.0 and nn.zero_count_float == 0.5
    assert list(nn.positive_count) == [1.5, 1.0] and list(nn.positive_delta) == []


def test_same_created_time_across_types(monkeypatch: pytest.MonkeyPatch) -> None:
    import time
    monkeypatch.setattr(time, "time", lambda: 1700000000.5)
    reg = CollectorRegistry()
    Counter("c", "C", registry=reg).inc()
    Summary("s", "S", registry=reg).observe(1)
    Histogram("h", "H", registry=reg).observe(1)
    fams = official(encode_registry(reg))
    assert fams["c_total"].metric[0].counter.created_timestamp.seconds == 1700000000
    assert fams["s"].metric[0].summary.created_timestamp.nanos == 500_000_000
    assert fams["h"].metric[0].histogram.created_timestamp.seconds == 1700000000


def test_negotiation_serves_protobuf() -> None:
    from prometheus_client.exposition import choose_encoder
    reg = CollectorRegistry()
    Gauge("x", "X", registry=reg).set(2)
    accept = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
              "application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1")
    encoder, ctype = choose_encoder(accept)
    assert ctype.startswith("application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily")
    assert official(encoder(reg))["x"].metric[0].gauge.value == 2


def test_decoder_reads_registry_output() -> None:
    reg = CollectorRegistry()
    Counter("a", "A", registry=reg).inc(2)
    fams = pbm.decode_delimited(encode_registry(reg))
    assert fams[0].name == "a_total" and fams[0].metrics[0].value == 2


class Generic:
    """Forces the generic (collect + Sample) path for the same metrics."""

    def __init__(self, reg: CollectorRegistry) -> None:
        self._reg = reg

    def collect(self) -> Iterable[Metric]:
        return self._reg.collect()


def test_fast_path_equals_generic_path() -> None:
    reg = CollectorRegistry()
    c = Counter("c", "C", ["a", "b"], registry=reg)
    c.labels("1", "x").inc(2, exemplar={"trace_id": "abc"})
    c.labels("2", "y").inc()
    Counter("plain", "P", registry=reg).inc(5)
    g = Gauge("g", "G", ["z"], registry=reg, unit="bytes")
    g.labels("q").set(-3.5)
    Gauge("fn", "F", registry=reg).set_function(lambda: 7)
    s = Summary("s", "S", ["k"], registry=reg)
    s.labels("v").observe(2.5)
    h = Histogram("h", "H", ["k"], buckets=(0.1, 1.0), registry=reg)
    h.labels("v").observe(0.05, exemplar={"id": "e1"})
    h.labels("w").observe(5)
    Histogram("neg", "N", buckets=(-1.0, 1.0), registry=reg).observe(-2)
    Histogram("u.tf8", "U", ["l.x"], registry=reg).labels("1").observe(1)
    frac = Histogram("frac", "F", buckets=(1.0,), registry=reg)
    frac.observe(0.5)
    frac._buckets[0].inc(0.25)  # a non-integral count travels in the *_float fields
    for escaping in ("underscores", "allow-utf-8", "values"):
        fast = pbm.decode_delimited(encode_registry(reg, escaping))
        generic = pbm.decode_delimited(encode_registry(Generic(reg), escaping))
        assert fast == generic
    [info] = [f.info for f in reg.families() if type(f) is Family and f.info.name == "c"]
    assert _PB_LABELS.size(info) > 0


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(desc=expo_registries())
def test_protobuf_never_fails_where_text_succeeds(desc: Dict[str, Any]) -> None:
    """Registries of every shape (odd names, raw samples, NaN/huge values, native samples):
    when the text format renders, the protobuf exposition renders too and decodes, and the
    fast path agrees with the generic one."""
    import time

    import _expo_builder as builder
    import prometheus_client.metrics as metrics_module
    from prometheus_client import generate_latest

    real_time = time.time
    time.time = lambda: builder.FIXED_TIME
    if not desc.get("created", True):
        metrics_module.disable_created_metrics()
    try:
        reg = CollectorRegistry(target_info=desc.get("target_info"))
        for item in desc["items"]:
            try:
                if item["k"] == "family":
                    reg.register(builder._Collector([builder._family(item)]))
                elif item["k"] == "raw":
                    reg.register(builder._Collector([builder._raw(item)]))
                else:
                    builder._metric_object(item, reg)
            except Exception:  # noqa: BLE001 - invalid descriptions are part of the input space
                pass
        for escaping in ("allow-utf-8", "underscores"):
            try:
                generate_latest(reg, escaping)
            except Exception:  # noqa: BLE001
                continue
            fast = pbm.decode_delimited(encode_registry(reg, escaping))
            generic = pbm.decode_delimited(encode_registry(Generic(reg), escaping))
            assert _nan_free(fast) == _nan_free(generic)
    finally:
        time.time = real_time
        metrics_module.enable_created_metrics()


def _nan_free(x: Any) -> Any:
    """Structure with NaN replaced by a marker (NaN != NaN)."""
    if isinstance(x, float):
        return "nan" if x != x else x
    if isinstance(x, (list, tuple)):
        return tuple(_nan_free(i) for i in x)
    return x


def test_label_names_colliding_after_escaping_keep_one_order() -> None:
    reg = CollectorRegistry()
    Counter("c", "C", ["0", "9"], registry=reg).labels("0", "").inc()
    fast = pbm.decode_delimited(encode_registry(reg))
    assert fast[0].metrics[0].labels == (("_", "0"), ("_", ""))  # sorted by the original names
    assert fast == pbm.decode_delimited(encode_registry(Generic(reg)))
