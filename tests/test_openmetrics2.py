"""OpenMetrics 2.0.0 (rc0): golden tests from the draft's worked examples, parser rules and
errors, and the choices docs/openmetrics-2.md records.

Golden exposition: each worked example is built with custom collectors and rendered with
``generate_latest(..., version="2.0.0")``; the bytes must equal the example (where the 1.0
data model cannot carry what the example shows, the test says so and drops that part).
Golden parsing: each example, verbatim, parses into the 1.0-shaped Metric/Sample model.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics_core import (
    GaugeHistogramMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp

ST = 1767225600.0
ZT = 2.938735877055719e-39

EX1 = (
    "# TYPE http_requests_total counter\n"
    "# HELP http_requests_total Requests handled.\n"
    'http_requests_total{code="200"} 1027 st@1767225600.0 # {trace_id="4bf92f3577b34da6a3ce929d0e0e4736",'
    'span_id="00f067aa0ba902b7"} 1 1767229200.25 # {} 1 1767229201.5\n'
    'http_requests_total{code="500"} 3 1767229205.0 st@1767225600.0\n'
)
EX2 = (
    '# TYPE "node.load" gauge\n'
    '# HELP "node.load" Load average over \\"1m\\".\n'
    '{"node.load","host.name"="db-1"} 0.42\n'
    '{"node.load","host.name"="a\\"b\\\\c\\nd"} 0.5\n'
    "# TYPE node_up gauge\n"
    'node_up{"k8s.pod"="web-0"} 1\n'
)
EX3 = (
    "# TYPE rpc_latency_seconds summary\n"
    "# UNIT rpc_latency_seconds seconds\n"
    'rpc_latency_seconds{svc="auth"} {count:5,sum:9.125,quantile:[0.5:1.5,0.9:3.5,0.99:3.5]} st@1767225600.0\n'
    'rpc_latency_seconds{svc="idle"} {count:0,sum:0.0,quantile:[0.5:NaN,0.9:NaN]} st@1767225600.0\n'
)
EX4 = (
    "# TYPE rpc_duration_seconds histogram\n"
    'rpc_duration_seconds{svc="auth"} {count:5,sum:9.125,bucket:[0.5:1,1.0:2,2.5:3,+Inf:5]} st@1767225600.0'
    ' # {trace_id="a1"} 0.375 1767229000.0 # {trace_id="b2"} 3.5 1767229100.0\n'
)
EX5 = (
    "clock_skew_seconds {count:7,sum:18.875,schema:0,zero_threshold:2.938735877055719e-39,zero_count:1,"
    "negative_spans:[0:1],negative_buckets:[1],positive_spans:[-1:2,1:1,1:1],positive_buckets:[1,1,2,1]}"
    " st@1767225600.0\n"
)
EX6 = (
    'rpc_duration_seconds{svc="auth"} {count:5,sum:9.125,schema:0,zero_threshold:2.938735877055719e-39,'
    "zero_count:0,positive_spans:[-1:4],positive_buckets:[1,1,1,2],bucket:[0.5:1,1.0:2,2.5:3,+Inf:5]}"
    ' st@1767225600.0 # {trace_id="a1"} 0.375 1767229000.0\n'
)
EX7 = (
    "# TYPE queue_wait_seconds gaugehistogram\n"
    'queue_wait_seconds{queue="a"} {gcount:3,gsum:4.5,bucket:[1.0:1,5.0:3,+Inf:3]}\n'
    'queue_wait_seconds{queue="b"} {gcount:2,gsum:3.75,schema:1,zero_threshold:2.938735877055719e-39,'
    "zero_count:0,positive_spans:[1:1,1:1],positive_buckets:[1,1]}\n"
)
EX8 = (
    "# TYPE build_info info\n"
    'build_info{version="1.4.2",revision="abc123"} 1\n'
    "# TYPE feature_state stateset\n"
    'feature_state{feature_state="on"} 1\n'
    'feature_state{feature_state="off"} 0\n'
    "# TYPE legacy_thing unknown\n"
    "legacy_thing {count:2,sum:3.0,bucket:[1.0:1,+Inf:2]}\n"
    "jobs_seen 4\n"
)
EX9 = "# TYPE jobs_total counter\njobs_total 12 st@1767225600.0\n"


def parse2(text: str) -> List[Metric]:
    return list(text_string_to_metric_families(text, version="2.0.0"))


def om2(metrics: Iterable[Metric], escaping: str = "underscores") -> str:
    class C:
        def collect(self) -> Iterable[Metric]:
            return list(metrics)

    r = CollectorRegistry(auto_describe=False)
    r.register(C())  # type: ignore[arg-type]
    return generate_latest(r, escaping=escaping, version="2.0.0").decode()


def metric(name: str, typ: str, samples: List[Sample], doc: str = "", unit: str = "") -> Metric:
    m = Metric(name, doc, typ)
    m.unit = unit
    m.samples = samples
    return m


def ts(x: Any) -> float:
    return float(x)


# -- golden: parsing the worked examples --------------------------------------------------


def test_parse_example_1_counter() -> None:
    [m] = parse2(EX1 + "# EOF\n")
    assert (m.name, m.type, m.documentation) == ("http_requests", "counter", "Requests handled.")
    total, created, total2, created2 = m.samples
    assert total[:4] == ("http_requests_total", {"code": "200"}, 1027, None)
    # several exemplars on a counter: the 1.0 model keeps one, the latest
    assert total.exemplar is not None and total.exemplar.labels == {} and ts(total.exemplar.timestamp) == 1767229201.5
    assert created[:3] == ("http_requests_created", {"code": "200"}, ST)
    assert total2[:3] == ("http_requests_total", {"code": "500"}, 3)
    assert total2.timestamp == Timestamp(1767229205, 0)
    assert created2[:3] == ("http_requests_created", {"code": "500"}, ST) and created2.timestamp == total2.timestamp


def test_parse_example_2_utf8_names_and_escapes() -> None:
    load, up = parse2(EX2 + "# EOF\n")
    assert (load.name, load.type, load.documentation) == ("node.load", "gauge", 'Load average over "1m".')
    assert load.samples == [Sample("node.load", {"host.name": "db-1"}, 0.42),
                            Sample("node.load", {"host.name": 'a"b\\c\nd'}, 0.5)]
    assert up.samples == [Sample("node_up", {"k8s.pod": "web-0"}, 1)]


def test_parse_example_3_summary() -> None:
    [m] = parse2(EX3 + "# EOF\n")
    assert (m.name, m.type, m.unit) == ("rpc_latency_seconds", "summary", "seconds")
    auth = [s for s in m.samples if s.labels.get("svc") == "auth"]
    assert [(s.name, s.labels.get("quantile"), s.value) for s in auth] == [
        ("rpc_latency_seconds", "0.5", 1.5), ("rpc_latency_seconds", "0.9", 3.5),
        ("rpc_latency_seconds", "0.99", 3.5), ("rpc_latency_seconds_count", None, 5),
        ("rpc_latency_seconds_sum", None, 9.125), ("rpc_latency_seconds_created", None, ST)]
    idle = [s for s in m.samples if s.labels.get("svc") == "idle"]
    assert math.isnan(idle[0].value) and idle[2][:3] == ("rpc_latency_seconds_count", {"svc": "idle"}, 0)


def test_parse_example_4_classic_histogram_exemplars_go_to_their_buckets() -> None:
    [m] = parse2(EX4 + "# EOF\n")
    buckets = [s for s in m.samples if s.name.endswith("_bucket")]
    assert [(s.labels["le"], s.value) for s in buckets] == [("0.5", 1), ("1.0", 2), ("2.5", 3), ("+Inf", 5)]
    assert buckets[0].exemplar == Exemplar({"trace_id": "a1"}, 0.375, Timestamp(1767229000, 0))
    assert buckets[3].exemplar == Exemplar({"trace_id": "b2"}, 3.5, Timestamp(1767229100, 0))
    assert buckets[1].exemplar is None and buckets[2].exemplar is None
    assert [s.name for s in m.samples[4:]] == ["rpc_duration_seconds_count", "rpc_duration_seconds_sum",
                                                "rpc_duration_seconds_created"]


def test_parse_example_5_native_histogram_without_metadata() -> None:
    # no TYPE line: an unknown family whose composite value reads as a histogram's (Q11)
    [m] = parse2(EX5 + "# EOF\n")
    assert (m.name, m.type) == ("clock_skew_seconds", "unknown")
    native, created = m.samples
    assert native.native_histogram == NativeHistogram(
        7, 18.875, 0, ZT, 1, (BucketSpan(-1, 2), BucketSpan(1, 1), BucketSpan(1, 1)), (BucketSpan(0, 1),),
        (1, 0, 1, -1), (1,))
    assert created[:3] == ("clock_skew_seconds_created", {}, ST)
    # the equivalent form with empty buckets kept
    same = EX5.replace("positive_spans:[-1:2,1:1,1:1],positive_buckets:[1,1,2,1]",
                       "positive_spans:[-1:6],positive_buckets:[1,1,0,2,0,1]")
    [m2] = parse2("# TYPE clock_skew_seconds histogram\n" + same + "# EOF\n")
    nh = m2.samples[0].native_histogram
    assert nh is not None and nh.pos_spans == (BucketSpan(-1, 6),) and nh.pos_deltas == (1, 0, -1, 2, -2, 1)


def test_parse_example_6_classic_and_native() -> None:
    [m] = parse2("# TYPE rpc_duration_seconds histogram\n" + EX6 + "# EOF\n")
    names = [s.name for s in m.samples]
    assert names == ["rpc_duration_seconds_bucket"] * 4 + [
        "rpc_duration_seconds_count", "rpc_duration_seconds_sum", "rpc_duration_seconds",
        "rpc_duration_seconds_created"]
    assert m.samples[0].exemplar == Exemplar({"trace_id": "a1"}, 0.375, Timestamp(1767229000, 0))
    nh = m.samples[6].native_histogram
    assert nh == NativeHistogram(5, 9.125, 0, ZT, 0, (BucketSpan(-1, 4),), None, (1, 0, 0, 1), None)


def test_parse_example_7_gauge_histogram() -> None:
    [m] = parse2(EX7 + "# EOF\n")
    assert m.type == "gaugehistogram"
    assert [(s.name, s.labels, s.value) for s in m.samples[:4]] == [
        ("queue_wait_seconds_bucket", {"queue": "a", "le": "1.0"}, 1),
        ("queue_wait_seconds_bucket", {"queue": "a", "le": "5.0"}, 3),
        ("queue_wait_seconds_bucket", {"queue": "a", "le": "+Inf"}, 3),
        ("queue_wait_seconds_gcount", {"queue": "a"}, 3)]
    assert m.samples[4][:3] == ("queue_wait_seconds_gsum", {"queue": "a"}, 4.5)
    assert m.samples[5].native_histogram == NativeHistogram(
        2, 3.75, 1, ZT, 0, (BucketSpan(1, 1), BucketSpan(1, 1)), None, (1, 0), None)


def test_parse_example_8_info_stateset_unknown() -> None:
    info, state, legacy, jobs = parse2(EX8 + "# EOF\n")
    assert (info.name, info.type) == ("build", "info")
    assert info.samples == [Sample("build_info", {"version": "1.4.2", "revision": "abc123"}, 1)]
    assert state.samples == [Sample("feature_state", {"feature_state": "on"}, 1),
                             Sample("feature_state", {"feature_state": "off"}, 0)]
    assert (legacy.type, [s.name for s in legacy.samples]) == (
        "unknown", ["legacy_thing_bucket", "legacy_thing_bucket", "legacy_thing_count", "legacy_thing_sum"])
    assert (jobs.name, jobs.type, jobs.samples) == ("jobs_seen", "unknown", [Sample("jobs_seen", {}, 4)])


def test_parse_example_9_counter_in_1_0_and_2_0_is_the_same_model() -> None:
    [two] = parse2(EX9 + "# EOF\n")
    [one] = text_string_to_metric_families("# TYPE jobs counter\njobs_total 12\njobs_created 1767225600.0\n# EOF\n")
    assert two == one


# -- golden: exposing the worked examples ------------------------------------------------


def test_expose_example_1() -> None:
    # The 1.0 model carries one exemplar per counter sample: the example's second one is dropped.
    ex = Exemplar({"trace_id": "4bf92f3577b34da6a3ce929d0e0e4736", "span_id": "00f067aa0ba902b7"}, 1, 1767229200.25)
    m = metric("http_requests", "counter", [
        Sample("http_requests_total", {"code": "200"}, 1027.0, None, ex),
        Sample("http_requests_created", {"code": "200"}, ST),
        Sample("http_requests_total", {"code": "500"}, 3.0, 1767229205.0),
        Sample("http_requests_created", {"code": "500"}, ST, 1767229205.0),
    ], doc="Requests handled.")
    assert om2([m]) == EX1.replace(" # {} 1 1767229201.5", "") + "# EOF\n"


def test_expose_example_2_quotes_utf8_names_under_allow_utf8() -> None:
    load = metric("node.load", "gauge", [Sample("node.load", {"host.name": "db-1"}, 0.42),
                                         Sample("node.load", {"host.name": 'a"b\\c\nd'}, 0.5)],
                  doc='Load average over "1m".')
    up = metric("node_up", "gauge", [Sample("node_up", {"k8s.pod": "web-0"}, 1.0)])
    assert om2([load, up], "allow-utf-8") == EX2 + "# EOF\n"
    # the default (underscores) escapes them, as 1.0 does
    assert '# TYPE node_load gauge\n' in om2([load, up]) and 'node_up{k8s_pod="web-0"} 1\n' in om2([load, up])


def test_expose_example_3_summary() -> None:
    nan = math.nan
    samples = []
    for svc, qs, count, total in (("auth", [("0.5", 1.5), ("0.9", 3.5), ("0.99", 3.5)], 5.0, 9.125),
                                  ("idle", [("0.5", nan), ("0.9", nan)], 0.0, 0.0)):
        samples += [Sample("rpc_latency_seconds", {"svc": svc, "quantile": q}, v) for q, v in qs]
        samples += [Sample("rpc_latency_seconds_count", {"svc": svc}, count),
                    Sample("rpc_latency_seconds_sum", {"svc": svc}, total),
                    Sample("rpc_latency_seconds_created", {"svc": svc}, ST)]
    assert om2([metric("rpc_latency_seconds", "summary", samples, unit="seconds")]) == EX3 + "# EOF\n"


def _auth_histogram(native: bool, exemplars: bool = True) -> HistogramMetricFamily:
    h = HistogramMetricFamily("rpc_duration_seconds", "", labels=["svc"])
    a1 = Exemplar({"trace_id": "a1"}, 0.375, 1767229000.0)
    b2 = Exemplar({"trace_id": "b2"}, 3.5, 1767229100.0)
    buckets: List[Any] = [("0.5", 1, a1), ("1.0", 2), ("2.5", 3), ("+Inf", 5, b2)]
    if not exemplars:
        buckets[3] = ("+Inf", 5)
    h.add_metric(["auth"], buckets, 9.125)
    h.samples.append(Sample("rpc_duration_seconds_created", {"svc": "auth"}, ST))
    if native:  # the native sample goes where the library's Histogram puts it: before _created
        nh = NativeHistogram(5, 9.125, 0, ZT, 0, (BucketSpan(-1, 4),), None, (1, 0, 0, 1))
        h.samples.insert(-1, Sample("rpc_duration_seconds", {"svc": "auth"}, None, None, None, nh))  # type: ignore[arg-type]
    return h


def test_expose_example_4_classic_histogram_with_exemplars() -> None:
    assert om2([_auth_histogram(False)]) == EX4 + "# EOF\n"


def test_expose_examples_5_and_6_native_histograms() -> None:
    nh = NativeHistogram(7, 18.875, 0, ZT, 1, (BucketSpan(-1, 2), BucketSpan(1, 1), BucketSpan(1, 1)),
                         (BucketSpan(0, 1),), (1, 0, 1, -1), (1,))
    m = metric("clock_skew_seconds", "histogram", [Sample("clock_skew_seconds", {}, None, None, None, nh),  # type: ignore[arg-type]
                                                   Sample("clock_skew_seconds_created", {}, ST)])
    assert om2([m]) == "# TYPE clock_skew_seconds histogram\n" + EX5 + "# EOF\n"
    assert om2([_auth_histogram(True, exemplars=False)]) == "# TYPE rpc_duration_seconds histogram\n" + EX6 + "# EOF\n"


def test_expose_example_7_gauge_histograms_have_no_start_time() -> None:
    g = GaugeHistogramMetricFamily("queue_wait_seconds", "", labels=["queue"])
    g.add_metric(["a"], [("1.0", 1), ("5.0", 3), ("+Inf", 3)], 4.5)
    nh = NativeHistogram(2, 3.75, 1, ZT, 0, (BucketSpan(1, 1), BucketSpan(1, 1)), None, (1, 0))
    g.samples.append(Sample("queue_wait_seconds", {"queue": "b"}, None, None, None, nh))  # type: ignore[arg-type]
    assert om2([g]) == EX7 + "# EOF\n"


def test_expose_example_8_info_and_stateset() -> None:
    info = InfoMetricFamily("build", "", value={"version": "1.4.2", "revision": "abc123"})
    state = metric("feature_state", "stateset", [Sample("feature_state", {"feature_state": "on"}, 1.0),
                                                 Sample("feature_state", {"feature_state": "off"}, 0.0)])
    expected = EX8.split("# TYPE legacy_thing")[0]
    # Info labels are sorted as in 1.0 (the example lists version first).
    expected = expected.replace('{version="1.4.2",revision="abc123"}', '{revision="abc123",version="1.4.2"}')
    assert om2([info, state]) == expected + "# EOF\n"


def test_expose_example_9_and_the_library_objects() -> None:
    m = metric("jobs", "counter", [Sample("jobs_total", {}, 12.0), Sample("jobs_created", {}, ST)])
    assert om2([m]) == EX9 + "# EOF\n"
    r = CollectorRegistry()
    c = Counter("jobs", "", registry=r)
    c.inc(12)
    c._created = ST  # type: ignore[attr-defined]
    assert generate_latest(r, version="2.0.0").decode() == EX9 + "# EOF\n"


# -- the library's own metric objects: fast path == generic path ---------------------------


def _library_registry() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("reqs", "Requests", ["code"], registry=r)
    c.labels("200").inc(3, {"trace_id": "t1"})
    c.labels("500").inc()
    Gauge("temp", "Temp", unit="celsius", registry=r).set(21.5)
    h = Histogram("lat", "Latency", ["svc"], buckets=[0.5, 2.5], registry=r)
    h.labels("a").observe(0.375, {"trace_id": "a1"})
    h.labels("a").observe(3, {"trace_id": "b2"})
    s = Summary("sz", "Sizes", ["k"], registry=r)
    s.labels("x").observe(4)
    q = Summary("qs", "Quantiles", objectives={0.5: 0.05, 0.9: 0.01}, registry=r)
    for v in range(10):
        q.observe(v)
    return r


def test_fast_path_matches_generic_path() -> None:
    r = _library_registry()
    fast = generate_latest(r, version="2.0.0")
    wrapped = CollectorRegistry()
    wrapped.collect = r.collect  # type: ignore[method-assign]  # forces the generic path
    assert generate_latest(wrapped, version="2.0.0") == fast
    text = fast.decode()
    assert 'lat{svc="a"} {count:2,sum:3.375,bucket:[0.5:1,2.5:1,+Inf:2]} st@' in text
    assert ' # {trace_id="a1"} 0.375 ' in text and ' # {trace_id="b2"} 3 ' in text
    assert 'sz{k="x"} {count:1,sum:4.0,quantile:[]} st@' in text
    assert "qs {count:10,sum:45.0,quantile:[0.5:" in text
    assert "_created" not in text and "# EOF\n" == text[-6:]


def test_negative_buckets_still_get_a_sum() -> None:
    # 1.0 must leave the sum out when a bucket is negative; 2.0 requires it, and ours has it.
    r = CollectorRegistry()
    h = Histogram("neg", "", buckets=[-1, 0.5], registry=r)
    h.observe(-3)
    h.observe(0.25)
    assert "neg {count:2,sum:-2.75,bucket:[-1.0:1,0.5:2,+Inf:2]} st@" in generate_latest(r, version="2.0.0").decode()


def test_repeated_bucket_bounds_are_written_once() -> None:
    # Histogram itself refuses repeated bounds (#12); a custom collector can still send them.
    with pytest.raises(ValueError, match="repeated"):
        Histogram("h", "", buckets=[0, 0, 1], registry=CollectorRegistry())

    class Repeated:
        def collect(self) -> Any:
            yield HistogramMetricFamily("h", "", buckets=[("0", 1), ("0.0", 1), ("1", 1), ("+Inf", 1)], sum_value=0)

    r = CollectorRegistry()
    r.register(Repeated())
    assert "h {count:1,sum:0.0,bucket:[0.0:1,1.0:1,+Inf:1]}" in generate_latest(r, version="2.0.0").decode()


def test_one_and_two_share_label_caches_safely() -> None:
    r = _library_registry()
    for _ in range(2):
        for version in ("1.0.0", "2.0.0"):
            for esc in ("underscores", "allow-utf-8"):
                parsed = list(text_string_to_metric_families(generate_latest(r, esc, version).decode(),
                                                             version=version))
                assert [m.name for m in parsed] == ["reqs", "temp_celsius", "lat", "sz", "qs"]


# -- the choices (docs/openmetrics-2.md) ----------------------------------------------------


def test_numbers_integral_as_integers_sums_as_floats_timestamps_without_exponent() -> None:
    m = metric("g", "gauge", [Sample("g", {"a": "1"}, 3.0), Sample("g", {"a": "2"}, 2.0**60),
                              Sample("g", {"a": "3"}, -0.0), Sample("g", {"a": "4"}, math.inf, 1e-7)])
    text = om2([m])
    assert 'g{a="1"} 3\n' in text and 'g{a="2"} 1.152921504606847e+18\n' in text
    assert 'g{a="3"} 0\n' in text and 'g{a="4"} +Inf 0.0000001\n' in text
    with pytest.raises(ValueError, match="finite"):
        om2([metric("g", "gauge", [Sample("g", {}, 1.0, math.nan)])])


def test_exemplar_without_timestamp_is_stamped_with_the_scrape_time() -> None:
    m = metric("c", "counter", [Sample("c_total", {}, 1.0, None, Exemplar({"a": "b"}, 0.5))])
    line = om2([m]).splitlines()[1]
    assert line.startswith('c_total 1 # {a="b"} 0.5 ')
    assert abs(float(line.rsplit(" ", 1)[1]) - __import__("time").time()) < 3600


@pytest.mark.parametrize("m, match", [
    (metric("h", "histogram", [Sample("h_bucket", {"le": "+Inf"}, 1.0)]), "requires a sum"),
    (metric("h", "histogram", [Sample("h_bucket", {"le": "1"}, 1.0), Sample("h_sum", {}, 1.0)]), "must be [+]Inf"),
    (metric("h", "histogram", [Sample("h_sum", {}, 1.0)]), "classic buckets or a native"),
    (metric("s", "summary", [Sample("s_sum", {}, 1.0)]), "count and a sum"),
    (metric("c", "counter", [Sample("c", {}, 1.0)]), "no OpenMetrics 2.0 form"),
    (metric("c", "counter", [Sample("c_total", {}, -1e10)]), "negative or NaN"),
    (metric("s", "summary", [Sample("s_count", {"quantile": ""}, 0.0), Sample("s_sum", {"quantile": ""}, 0.0)]),
     "'quantile' label is reserved"),
    (metric("h", "histogram", [Sample("h", {}, None, None, None, NativeHistogram(0, 0, 0, float("nan"), 0))]),  # type: ignore[arg-type]
     "finite zero_threshold"),
    (metric("h", "histogram", [Sample("h", {}, None, None, None, NativeHistogram(  # type: ignore[arg-type]
        2, 2, 0, 0.0, 0, (BucketSpan(0, 1), BucketSpan(-1, 1)), None, (1, 0)))]), "negative offset"),
    (metric("c", "counter", [Sample("c_total", {}, float("nan"))]), "negative or NaN"),
    (metric("g", "gauge", [Sample("g", {}, 1.0, None, Exemplar({}, 1, 1))]), "exemplars"),
    (metric("h", "histogram", [Sample("h", {}, None, None, None, NativeHistogram(1, 1, -53, 0, 0))]),  # type: ignore[arg-type]
     "schema in -4..8"),
])
def test_incomplete_families_are_refused_with_the_metric_named(m: Metric, match: str) -> None:
    with pytest.raises(ValueError, match=match) as info:
        om2([m])
    assert repr(m.name) in str(info.value.args[0]) and info.value.args[-1] is m


def test_histogram_count_defaults_to_the_inf_bucket_and_native_sum() -> None:
    m = metric("h", "histogram", [Sample("h_bucket", {"le": "+Inf"}, 2.0), Sample("h_sum", {}, 1.5)])
    assert "h {count:2,sum:1.5,bucket:[+Inf:2]}\n" in om2([m])
    nh = NativeHistogram(3, 4.5, 0, 0.0, 3)
    m = metric("h", "histogram", [Sample("h", {}, None, None, Exemplar({"x": "y"}, 1, 2), nh)])  # type: ignore[arg-type]
    assert "h {count:3,sum:4.5,schema:0,zero_threshold:0.0,zero_count:3} # {x=\"y\"} 1 2.0\n" in om2([m])


def test_version_selection() -> None:
    r = _library_registry()
    assert b"_created" in generate_latest(r)
    assert b"_created" in generate_latest(r, version="1.0.0")
    assert b"_created" in generate_latest(r, version="abc")  # junk: 1.0, as before
    assert b"st@" in generate_latest(r, version="2.0.0")
    with pytest.raises(ValueError, match="unsupported OpenMetrics version"):
        list(text_string_to_metric_families("# EOF\n", version="3.0.0"))


# -- parser rules ---------------------------------------------------------------------------


GOOD = [
    EX1, EX2, EX3, EX4, EX5, EX6, EX7, EX8, EX9,
    "a 1\n",
    'a{"k.8"="x"} 1\n',
    '{"a"} 1\n',
    "# TYPE h histogram\nh {count:1,sum:-1.0,bucket:[-Inf:0,-1.0:1,+Inf:1]}\n",
    "# TYPE h histogram\nh {count:1.0,sum:1.0,bucket:[+Inf:1.0]}\n",  # float counts are allowed
    "# TYPE h histogram\nh {count:0,sum:0.0,schema:+08,zero_threshold:0.0,zero_count:0}\n",
    "# TYPE h histogram\nh {count:0,sum:0.0,schema:0,zero_threshold:0.0,zero_count:0,positive_spans:[],"
    "positive_buckets:[]}\n",
    "# TYPE g gaugehistogram\ng {gcount:-1.5,gsum:-2.0,bucket:[1.0:-2,+Inf:-1.5]}\n",
    "# TYPE s summary\ns {count:17,sum:3.0,quantile:[]}\n",
    "# TYPE c_total counter\nc_total 1 1.0 st@0.5 # {a=\"\\q\"} 1 0.75\n",
    "# TYPE c counter\nc 1\n",  # counter family not ending in _total (a SHOULD)
    "# TYPE a gauge\na 1 1\na 2 2\n",
    "# TYPE a gauge\na 1 1\na 2 1\n",  # equal timestamps: the earliest is kept
    "a 1\na 2\n",  # a repeated point without timestamps: likewise
    "# TYPE f_seconds_total counter\n# UNIT f_seconds_total minutes\nf_seconds_total 1\n",  # unit mismatch legal
    '# TYPE a gauge\n# HELP a x\x00y\na{b="\x00"} 1\n',
    "# EOF",
]


@pytest.mark.parametrize("text", GOOD)
def test_accepted(text: str) -> None:
    body = text if text.endswith("# EOF") else text + "# EOF\n"
    parse2(body)


BAD = [
    ("# TYPE c counter\nc_total 1\n# EOF\n", 2, None),  # c_total is its own family: fine
    ("# TYPE a counter\na 1 # {} 1\n# EOF\n", 2, "needs a timestamp"),
    ("# TYPE a counter\na 1 NaN\n# EOF\n", 2, "finite"),
    ("# TYPE a counter\na 1 st@1 2\n# EOF\n", 2, "order"),
    ("# TYPE a counter\na 1 ST@1\n# EOF\n", 2, "invalid timestamp"),
    ("# TYPE h histogram\nh {count:1,sum:1}\n# EOF\n", 2, "needs 'bucket"),
    ("# TYPE h histogram\nh {sum:1,count:1,bucket:[+Inf:1]}\n# EOF\n", 2, "expected 'count:'"),
    ("# TYPE h histogram\nh {count:1, sum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "composite"),
    ("# TYPE h histogram\nh {count:1,sum:1,bucket:[1.0:1,+inf:1]}\n# EOF\n", 2, "finite real"),
    ("# TYPE h histogram\nh {count:1,sum:1,bucket:[1.0:1]}\n# EOF\n", 2, "last bucket"),
    ("# TYPE h histogram\nh {count:1,sum:1,bucket:[1.0:1,Inf:1]}\n# EOF\n", 2, "finite real"),
    ("# TYPE h histogram\nh {count:1,sum:1,bucket:[NaN:1,+Inf:1]}\n# EOF\n", 2, "finite real"),
    ("# TYPE h histogram\nh {count:1,sum:1,bucket:[2.0:1,1.0:1,+Inf:1]}\n# EOF\n", 2, "sorted"),
    ("# TYPE h histogram\nh {count:2,sum:1,bucket:[1.0:2,+Inf:1]}\n# EOF\n", 2, "cumulative"),
    ("# TYPE h histogram\nh {count:2,sum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "equal the count"),
    ("# TYPE h histogram\nh {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:[0:1]}\n# EOF\n",
     2, "positive_buckets"),
    ("# TYPE h histogram\nh {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:[0:1,-1:1],"
     "positive_buckets:[1,1]}\n# EOF\n", 2, "non-negative"),
    ("# TYPE h histogram\nh {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:[0:2],"
     "positive_buckets:[1]}\n# EOF\n", 2, "add up"),
    ("# TYPE h histogram\nh {count:1,sum:1,schema:9,zero_threshold:0,zero_count:0}\n# EOF\n", 2, "-4..8"),
    ("# TYPE h histogram\nh {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:[0:1],"
     "positive_buckets:[2]}\n# EOF\n", 2, "more than the count"),
    ("# TYPE h histogram\nh {gcount:1,gsum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "cannot take a gaugehistogram"),
    ("# TYPE g gaugehistogram\ng {gcount:1,sum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "expected 'gsum:'"),
    ("# TYPE g gaugehistogram\ng {gcount:1,gsum:1,bucket:[+Inf:1]} st@1\n# EOF\n", 2, "st@ is defined only"),
    ("# TYPE h histogram\nh{le=\"1\"} {count:1,sum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "le label"),
    ("# TYPE s summary\ns {count:1,sum:1,quantile:[0.9:1,0.5:1]}\n# EOF\n", 2, "sorted"),
    ("# TYPE s summary\ns {count:1,sum:1,quantile:[1.5:1]}\n# EOF\n", 2, "outside"),
    ("# TYPE s summary\ns {count:1.5,sum:1,quantile:[]}\n# EOF\n", 2, "integer"),
    ("# TYPE s summary\ns {count:1,sum:-1,quantile:[]}\n# EOF\n", 2, "negative"),
    ("# TYPE s summary\ns 1\n# EOF\n", 2, "composite value"),
    ("# TYPE g gauge\ng {count:1,sum:1,bucket:[+Inf:1]}\n# EOF\n", 2, "takes a number"),
    ("# TYPE g gauge\ng 1 st@1\n# EOF\n", 2, "st@ is defined only"),
    ("# TYPE g gauge\ng 1 # {} 1 1\n# EOF\n", 2, "exemplars"),
    ("# TYPE i info\ni 1\n# EOF\n", 1, "end in '_info'"),
    ("# TYPE i_info info\ni_info 2\n# EOF\n", 2, "value 1"),
    ("# TYPE s stateset\ns{s=\"a\"} 2\n# EOF\n", 2, "0 or 1"),
    ("{foo} 1\n# EOF\n", 1, "expected '='"),
    ('"a.b" 1\n# EOF\n', 1, "invalid metric name"),
    ('a{b="c",} 1\n# EOF\n', 1, "trailing"),
    ('a{ b="c"} 1\n# EOF\n', 1, "whitespace"),
    ("a\t1\n# EOF\n", 1, "single space"),
    ("a 1\nb 1\na 2\n# EOF\n", 3, "appears twice"),
    ('a{x="1"} 1\na{x="2"} 1\na{x="1"} 1\n# EOF\n', 3, "interleave"),
    ("a 1 2\na 1 1\n# EOF\n", 2, "backwards"),
    ("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", 3, "before the samples"),
    ("a 1\n", 2, "missing '# EOF'"),
    ("a 1\n# EOF\n\n", 3, "nothing may follow"),
    ("# TYPE c counter\nc -1\n# EOF\n", 2, "negative"),
]


@pytest.mark.parametrize("text, lineno, match", BAD)
def test_rejected_with_line_number(text: str, lineno: int, match: str) -> None:
    if match is None:
        fams = parse2(text)
        assert [(m.name, m.type) for m in fams] == [("c", "counter"), ("c_total", "unknown")]
        return
    with pytest.raises(ValueError, match=f"Invalid OpenMetrics 2.0 at line {lineno}: .*{match}"):
        parse2(text)


HOSTILE = [
    "h {count:1,sum:1,bucket:[" + "1.0:1," * 150000 + "+Inf:1]}",
    "h {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,positive_spans:[" + "0:1," * 150000 + "0:1]}",
    'a{b="' + "\\\\" * 250000 + '"} 1',
    "a 1" + " # {} 1 1" * 100000,
    'a{' + 'b="c",' * 150000 + '} 1',
    "{" * 500000,
    "a {" + "count:1," * 100000,
    "a 1 " + "st@1 " * 150000,
]


@pytest.mark.parametrize("line", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_lines_fail_cleanly(line: str) -> None:
    # ~1 MB lines: a quadratic scan would take hours; only ValueError may escape.
    try:
        parse2("# TYPE h histogram\n" + line + "\n# EOF\n")
    except ValueError as e:
        assert "at line 2" in str(e)
