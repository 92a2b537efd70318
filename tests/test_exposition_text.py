"""Prometheus text format (number formatting, escaping, every metric type), negotiation and _bake_output."""

from __future__ import annotations

import gzip
import time
from typing import Any, Iterator, List

import pytest

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, exposition
from prometheus_client import metrics as metrics_module
from prometheus_client._formats import negotiation as _negotiation
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    StateSetMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.exposition import (
    CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0,
    _bake_output,
    choose_encoder,
    generate_latest,
    gzip_accepted,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.openmetrics.exposition import escape_label_name, escape_metric_name
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp

NOW = 1700000000.5


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)


class _Fixed:
    """A collector yielding the given metric families."""

    def __init__(self, *metrics: Metric) -> None:
        self.metrics = list(metrics)

    def collect(self) -> List[Metric]:
        return self.metrics


def _reg(*metrics: Metric) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_Fixed(*metrics))
    return registry


def text(registry: Any, escaping: str = "underscores") -> str:
    return generate_latest(registry, escaping).decode("utf-8")


def worked_registry() -> CollectorRegistry:
    """A registry with one metric of every type."""
    r = CollectorRegistry()
    c = Counter("req", 'Requests "quoted" \\ back\nnl', ["method"], namespace="ns", subsystem="sub", registry=r)
    c.labels("GET").inc()
    c.labels('a"b\\c\nd').inc(2.5)
    Gauge("temp", "Temp", unit="celsius", registry=r).set(3)
    Summary("lat", "Latency", registry=r).observe(1.5)
    Histogram("h", "Hist", buckets=[0.1, 1, 10, 1e10], registry=r).observe(0.5, {"trace": "abc"})
    Info("build", "Build info", registry=r).info({"version": "1.0", "b": "x"})
    Enum("state", "State", states=["a", "b"], registry=r).state("b")
    r.register(_Fixed(
        GaugeHistogramMetricFamily("gh", "GH", buckets=[("1.0", 1), ("+Inf", 2)], gsum_value=3),
        StateSetMetricFamily("ss", "SS", {"x": True, "y": False}),
        UnknownMetricFamily("unk", "U", 1),
    ))
    return r


WORKED_TEXT = """\
# HELP ns_sub_req_total Requests "quoted" \\\\ back\\nnl
# TYPE ns_sub_req_total counter
ns_sub_req_total{method="GET"} 1.0
ns_sub_req_total{method="a\\"b\\\\c\\nd"} 2.5
# HELP ns_sub_req_created Requests "quoted" \\\\ back\\nnl
# TYPE ns_sub_req_created gauge
ns_sub_req_created{method="GET"} 1.7000000005e+09
ns_sub_req_created{method="a\\"b\\\\c\\nd"} 1.7000000005e+09
# HELP temp_celsius Temp
# TYPE temp_celsius gauge
temp_celsius 3.0
# HELP lat Latency
# TYPE lat summary
lat_count 1.0
lat_sum 1.5
# HELP lat_created Latency
# TYPE lat_created gauge
lat_created 1.7000000005e+09
# HELP h Hist
# TYPE h histogram
h_bucket{le="0.1"} 0.0
h_bucket{le="1.0"} 1.0
h_bucket{le="10.0"} 1.0
h_bucket{le="1e+10"} 1.0
h_bucket{le="+Inf"} 1.0
h_count 1.0
h_sum 0.5
# HELP h_created Hist
# TYPE h_created gauge
h_created 1.7000000005e+09
# HELP build_info Build info
# TYPE build_info gauge
build_info{b="x",version="1.0"} 1.0
# HELP state State
# TYPE state gauge
state{state="a"} 0.0
state{state="b"} 1.0
# HELP gh GH
# TYPE gh histogram
gh_bucket{le="1.0"} 1.0
gh_bucket{le="+Inf"} 2.0
# HELP gh_gcount GH
# TYPE gh_gcount gauge
gh_gcount 2.0
# HELP gh_gsum GH
# TYPE gh_gsum gauge
gh_gsum 3.0
# HELP ss SS
# TYPE ss gauge
ss{ss="x"} 1.0
ss{ss="y"} 0.0
# HELP unk U
# TYPE unk untyped
unk 1.0
"""


def test_worked_example() -> None:
    assert text(worked_registry()) == WORKED_TEXT


def test_worked_example_through_generic_path_is_identical() -> None:
    """A collector that is not a CollectorRegistry is rendered sample by sample."""
    registry = worked_registry()
    assert text(_Fixed(*registry.collect())) == WORKED_TEXT


def test_reference_outputs() -> None:
    r = CollectorRegistry()
    Gauge("gg", "A gauge", registry=r).set(17)
    assert generate_latest(r) == b"# HELP gg A gauge\n# TYPE gg gauge\ngg 17.0\n"

    for name in ("cc_total", "cc"):
        r = CollectorRegistry()
        Counter(name, "c", registry=r)
        assert text(r) == (
            "# HELP cc_total c\n# TYPE cc_total counter\ncc_total 0.0\n"
            "# HELP cc_created c\n# TYPE cc_created gauge\ncc_created 1.7000000005e+09\n"
        )

    r = CollectorRegistry()
    Counter("requests", "r", unit="total", registry=r).inc()
    assert "requests_total_total 1.0\n" in text(r)
    assert "requests_total_created 1.7000000005e+09\n" in text(r)

    r = CollectorRegistry()
    Info("ii", "i", ["a", "b"], registry=r).labels("c", "d").info({"foo": "bar"})
    assert 'ii_info{a="c",b="d",foo="bar"} 1.0\n' in text(r)

    r = CollectorRegistry()
    Histogram("neg", "n", buckets=[-1, 0, 1], registry=r).observe(-0.5)
    out = text(r)
    assert 'neg_bucket{le="-1.0"} 0.0\nneg_bucket{le="0.0"} 1.0\n' in out
    assert "neg_count 1.0\n" in out and "neg_sum" not in out

    r = CollectorRegistry(target_info={"env": "prod"})
    assert text(r) == '# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{env="prod"} 1.0\n'


def test_empty_registry_and_empty_families() -> None:
    assert generate_latest(CollectorRegistry()) == b""
    r = CollectorRegistry()
    Counter("c", "doc", ["l"], registry=r)
    Histogram("h", "doc", ["l"], registry=r)
    assert text(r) == "# HELP c_total doc\n# TYPE c_total counter\n# HELP h doc\n# TYPE h histogram\n"


def test_created_series_can_be_disabled() -> None:
    r = CollectorRegistry()
    Counter("c", "doc", registry=r).inc()
    Summary("s", "doc", registry=r)
    metrics_module.disable_created_metrics()
    try:
        out = text(r)
    finally:
        metrics_module.enable_created_metrics()
    assert out == (
        "# HELP c_total doc\n# TYPE c_total counter\nc_total 1.0\n"
        "# HELP s doc\n# TYPE s summary\ns_count 0.0\ns_sum 0.0\n"
    )


def test_held_back_families_in_sorted_order() -> None:
    m = Metric("g", "d", "gauge")
    for name, value in (("g_created", 1), ("g_gsum", 2), ("g_gcount", 3), ("g", 4)):
        m.add_sample(name, {}, value)
    m.add_sample("g_created", {"a": "b"}, 5)
    assert text(_reg(m)) == (
        "# HELP g d\n# TYPE g gauge\ng 4.0\n"
        '# HELP g_created d\n# TYPE g_created gauge\ng_created 1.0\ng_created{a="b"} 5.0\n'
        "# HELP g_gcount d\n# TYPE g_gcount gauge\ng_gcount 3.0\n"
        "# HELP g_gsum d\n# TYPE g_gsum gauge\ng_gsum 2.0\n"
    )


@pytest.mark.parametrize(
    "value,expected",
    [
        (0, "0.0"), (1, "1.0"), (-0.0, "-0.0"), (0.1, "0.1"), (100, "100.0"), (123456.0, "123456.0"),
        (1e6, "1e+06"), (1234567.0, "1.234567e+06"), (1e10, "1e+10"),
        (1.55555555555552e6, "1.55555555555552e+06"), (1e16, "1e+16"), (1e22, "1e+22"), (1e-05, "1e-05"),
        (2.5e-07, "2.5e-07"), (-1e10, "-10000000000.0"), (2 ** 63, "9.223372036854776e+18"),
        (10 ** 20, "1e+20"), (True, "1.0"), (NOW, "1.7000000005e+09"), (float("inf"), "+Inf"),
        (float("-inf"), "-Inf"), (float("nan"), "NaN"), ("1.5", "1.5"), (999999.9999999999, "999999.9999999999"),
    ],
)
def test_number_formatting(value: Any, expected: str) -> None:
    assert text(_reg(GaugeMetricFamily("g", "d", value))).endswith(f"\ng {expected}\n")


def test_timestamps_are_milliseconds() -> None:
    m = Metric("u", "d", "unknown")
    m.add_sample("u", {"q": "a"}, 2, timestamp=Timestamp(123, 456000))
    m.add_sample("u", {"q": "b"}, 2, timestamp=-123.456)
    m.add_sample("u", {"q": "c"}, 2, timestamp=12)
    m.add_sample("u", {"q": "d"}, 2, timestamp=0)
    assert text(_reg(m)) == (
        '# HELP u d\n# TYPE u untyped\nu{q="a"} 2.0 123000\nu{q="b"} 2.0 -123456\nu{q="c"} 2.0 12000\n'
        'u{q="d"} 2.0 0\n'
    )


def test_exemplars_are_dropped() -> None:
    r = CollectorRegistry()
    Counter("c", "d", registry=r).inc(exemplar={"trace": "1"})
    assert "#" not in text(r).replace("# HELP", "").replace("# TYPE", "")
    m = Metric("g", "d", "gauge")  # an exemplar OpenMetrics would reject is ignored here
    m.add_sample("g", {}, 1, None, Exemplar({"a": "b"}, 1))
    assert text(_reg(m)) == "# HELP g d\n# TYPE g gauge\ng 1.0\n"


def test_native_histogram_samples() -> None:
    m = Metric("nh", "d", "histogram")
    nh = NativeHistogram(6, 2, 3, 4, 5, [BucketSpan(0, 1)], None, [1])
    m.add_sample("nh", {}, 0, None, None, nh)
    m.add_sample("nh", {"a": "b"}, None, None, None, nh)  # no value: skipped (the reference raises)
    m.add_sample("nh_count", {}, 3, 17)
    assert text(_reg(m)) == "# HELP nh d\n# TYPE nh histogram\nnh 0.0\nnh_count 3.0 17000\n"


UTF8_CASES = [
    # (name, metric: underscores, dots, values; label: underscores, dots, values)
    ("no:escaping_required", ("no:escaping_required", "no:escaping__required", "no:escaping_required"),
     ("no_escaping_required", "no__escaping__required", "U__no_3a_escaping__required")),
    ("mysystem.prod.west.cpu.load",
     ("mysystem_prod_west_cpu_load", "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
      "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load"),
     ("mysystem_prod_west_cpu_load", "mysystem_dot_prod_dot_west_dot_cpu_dot_load",
      "U__mysystem_2e_prod_2e_west_2e_cpu_2e_load")),
    ("label with 😱", ("label_with__", "label__with____", "U__label_20_with_20__1f631_"),
     ("label_with__", "label__with____", "U__label_20_with_20__1f631_")),
    ("花火", ("__", "____", "U___82b1__706b_"), ("__", "____", "U___82b1__706b_")),
    ("http.status:sum", ("http_status:sum", "http_dot_status:sum", "U__http_2e_status:sum"),
     ("http_status_sum", "http_dot_status__sum", "U__http_2e_status_3a_sum")),
    ("0abc", ("_abc", "__abc", "U___30_abc"), ("_abc", "__abc", "U___30_abc")),
    ("__x", ("__x", "____x", "__x"), ("__x", "____x", "U______x")),
    ("a\ud800b", ("a_b", "a__b", "U__a_FFFD_b"), ("a_b", "a__b", "U__a_FFFD_b")),
    ("a\x00", ("a_", "a__", "U__a_0_"), ("a_", "a__", "U__a_0_")),
    ("", ("", "", ""), ("", "", "")),
]


@pytest.mark.parametrize("name,metric,label", UTF8_CASES)
def test_escaping_schemes(name: str, metric: Any, label: Any) -> None:
    for scheme, m, lab in zip(("underscores", "dots", "values"), metric, label):
        assert escape_metric_name(name, scheme) == m
        assert escape_label_name(name, scheme) == lab


def test_allow_utf8_quotes_only_what_is_not_legacy() -> None:
    assert escape_metric_name("a:b", "allow-utf-8") == "a:b"
    assert escape_label_name("a:b", "allow-utf-8") == '"a:b"'
    assert escape_metric_name('x"y\\z\nw', "allow-utf-8") == '"x\\"y\\\\z\\nw"'
    assert escape_label_name("__x", "allow-utf-8") == '"__x"'
    assert escape_label_name("_", "allow-utf-8") == "_"
    # the legacy regexes end in `$`, which accepts a trailing line feed: escaped, not quoted
    assert escape_metric_name("ab\n", "allow-utf-8") == "ab\\n"
    assert escape_metric_name("ab\n", "underscores") == "ab\n"
    assert escape_metric_name("a.b", "bogus") == "a.b"


def test_utf8_names_in_text() -> None:
    r = CollectorRegistry()
    Counter("utf8.cc", "d", registry=r).inc()
    Summary("my.metric", "d", ["q.x"], registry=r).labels("v").observe(1)
    assert text(r, "allow-utf-8") == (
        '# HELP "utf8.cc_total" d\n# TYPE "utf8.cc_total" counter\n{"utf8.cc_total"} 1.0\n'
        '# HELP "utf8.cc_created" d\n# TYPE "utf8.cc_created" gauge\n{"utf8.cc_created"} 1.7000000005e+09\n'
        '# HELP "my.metric" d\n# TYPE "my.metric" summary\n{"my.metric_count","q.x"="v"} 1.0\n'
        '{"my.metric_sum","q.x"="v"} 1.0\n# HELP "my.metric_created" d\n# TYPE "my.metric_created" gauge\n'
        '{"my.metric_created","q.x"="v"} 1.7000000005e+09\n'
    )
    assert text(r, "underscores").startswith(
        "# HELP utf8_cc_total d\n# TYPE utf8_cc_total counter\nutf8_cc_total 1.0\n"
    )
    assert "U__my_2e_metric__count{U__q_2e_x=" in text(r, "values")
    assert "my_dot_metric__count{q_dot_x=" in text(r, "dots")


def test_label_cache_follows_the_scheme_and_children() -> None:
    r = CollectorRegistry()
    c = Counter("c", "d", ["a.b", "z"], registry=r)
    c.labels("1", "2").inc()
    first = text(r, "underscores")
    assert 'c_total{a_b="1",z="2"} 1.0\n' in first
    assert 'c_total{"a.b"="1",z="2"} 1.0\n' in text(r, "allow-utf-8")
    assert 'c__total{a_dot_b="1",z="2"} 1.0\n' in text(r, "dots")
    assert text(r, "underscores") == first
    c.remove("1", "2")
    c.labels("1", "2").inc(3)
    assert 'c_total{a_b="1",z="2"} 3.0\n' in text(r)
    c.labels("1", "2").reset()
    assert 'c_total{a_b="1",z="2"} 0.0\n' in text(r)


def test_histogram_le_sorts_among_labels() -> None:
    r = CollectorRegistry()
    h = Histogram("h", "d", ["a", "z", "lz"], buckets=[1], registry=r)
    h.labels("x", "y", "w").observe(0.5)
    assert 'h_bucket{a="x",le="1.0",lz="w",z="y"} 1.0\n' in text(r)
    assert 'h_count{a="x",lz="w",z="y"} 1.0\n' in text(r)


def test_gauge_function_and_subclasses_fall_back_to_collect() -> None:
    r = CollectorRegistry()
    Gauge("g", "d", registry=r).set_function(lambda: 7)

    class Doubling(Gauge):
        def _child_samples(self) -> Any:
            return [s._replace(value=s.value * 2) for s in super()._child_samples()]

    Doubling("dg", "d", ["l"], registry=r).labels("x").set(2)
    odd = Counter("oc", "d", registry=r)
    odd.collect = lambda: [CounterMetricFamily("oc", "d", 42)]  # type: ignore[method-assign]
    assert text(r) == (
        "# HELP g d\n# TYPE g gauge\ng 7.0\n# HELP dg d\n# TYPE dg gauge\ndg{l=\"x\"} 4.0\n"
        "# HELP oc_total d\n# TYPE oc_total counter\noc_total 42.0\n"
    )


def test_errors_keep_their_type_and_carry_the_metric() -> None:
    cases = [(None, TypeError), ([], TypeError), ({}, TypeError), ("", ValueError), ("x", ValueError)]
    for value, error in cases:
        m = Metric("g", "d", "gauge")
        m.add_sample("g", {}, value)
        with pytest.raises(error) as info:
            generate_latest(_reg(m))
        assert info.value.args[-1] is m
    m = Metric("g", "d", "gauge")
    m.add_sample("g", {"l": None}, 1)  # type: ignore[dict-item]
    with pytest.raises(AttributeError) as attr_info:
        generate_latest(_reg(m))
    assert attr_info.value.args[-1] is m
    m = Metric("g", "d", "gauge")
    m.samples.append(Sample("g", {}, None))  # type: ignore[arg-type]
    with pytest.raises(TypeError) as type_info:
        generate_latest(_reg(m))
    assert type_info.value.args[0].startswith("float() argument must be")


def test_content_types_and_all() -> None:
    assert CONTENT_TYPE_PLAIN_0_0_4 == "text/plain; version=0.0.4; charset=utf-8"
    assert CONTENT_TYPE_PLAIN_1_0_0 == "text/plain; version=1.0.0; charset=utf-8"
    assert CONTENT_TYPE_LATEST == CONTENT_TYPE_PLAIN_1_0_0
    assert exposition.__all__ == (
        "CONTENT_TYPE_LATEST", "CONTENT_TYPE_PLAIN_0_0_4", "CONTENT_TYPE_PLAIN_1_0_0", "delete_from_gateway",
        "generate_latest", "instance_ip_grouping_key", "make_asgi_app", "make_wsgi_app", "MetricsHandler",
        "push_to_gateway", "pushadd_to_gateway", "start_http_server", "start_wsgi_server", "write_to_textfile",
    )
    for name in exposition.__all__ + ("choose_encoder", "gzip_accepted", "_bake_output", "default_handler",
                                      "basic_auth_handler", "tls_auth_handler", "passthrough_redirect_handler",
                                      "ThreadingWSGIServer"):
        assert hasattr(exposition, name), name
    assert prometheus_client.generate_latest is generate_latest


# -- negotiation -------------------------------------------------------------------------

OM_1 = "application/openmetrics-text; version=1.0.0; charset=utf-8"


@pytest.mark.parametrize(
    "accept,kind,escaping,content_type",
    [
        (None, "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("*/*", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("text/plain; version=0.0.4", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("text/plain; version=1.0.0", "text1", "underscores", CONTENT_TYPE_PLAIN_1_0_0 + "; escaping=underscores"),
        ("text/plain;version=1.0.0;escaping=allow-utf-8", "text1", "allow-utf-8",
         CONTENT_TYPE_PLAIN_1_0_0 + "; escaping=allow-utf-8"),
        ("text/plain; version=2.0", "text1", "underscores", CONTENT_TYPE_PLAIN_1_0_0 + "; escaping=underscores"),
        ("text/plain; version=1.0", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("TEXT/PLAIN; version=1.0.0", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("application/openmetrics-text", "om", "underscores", OM_1),
        ("application/openmetrics-text; escaping=dots", "om", "underscores", OM_1),
        ("application/openmetrics-text; version=", "om", "underscores", OM_1),
        ("application/openmetrics-text; version=1.0.0", "om", "underscores", OM_1 + "; escaping=underscores"),
        ("application/openmetrics-text; version=1.0.0; escaping=bogus", "om", "underscores",
         OM_1 + "; escaping=underscores"),
        ("application/openmetrics-text;version=1.0.0;escaping=values;q=0.5", "om", "values",
         OM_1 + "; escaping=values"),
        ("application/openmetrics-text; version=2.0.0; escaping=allow-utf-8", "om", "allow-utf-8",
         "application/openmetrics-text; version=2.0.0; charset=utf-8; escaping=allow-utf-8"),
        ("application/openmetrics-text; version=0.0.1", "text", "underscores", CONTENT_TYPE_PLAIN_0_0_4),
        ("application/openmetrics-text;version=0.0.1,text/plain;version=1.0.0", "text1", "underscores",
         CONTENT_TYPE_PLAIN_1_0_0 + "; escaping=underscores"),
        ("text/plain;version=0.0.4,application/openmetrics-text", "om", "underscores", OM_1),
        ("application/openmetrics-text;version=1.0.0;version=0.0.1", "om", "underscores",
         OM_1 + "; escaping=underscores"),
        ("application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
         "text/plain;version=0.0.4;q=0.5,*/*;q=0.1", "om", "underscores", OM_1 + "; escaping=underscores"),
    ],
)
def test_choose_encoder(accept: Any, kind: str, escaping: str, content_type: str) -> None:
    encoder, ct = choose_encoder(accept)
    assert ct == content_type
    r = worked_registry()
    if kind == "text":
        assert encoder is generate_latest
    elif kind == "text1":
        assert encoder(r) == generate_latest(r, escaping)
    else:
        version = "2.0.0" if "2.0.0" in content_type else "1.0.0"
        assert encoder(r) == om.generate_latest(r, escaping, version)


def test_choose_encoder_skips_an_unparseable_version() -> None:
    # The official client raises TypeError here (so a scrape gets a 500); we skip the entry.
    for accept in ("application/openmetrics-text; version=abc", "text/plain; version=1.a.0"):
        assert choose_encoder(accept) == (generate_latest, CONTENT_TYPE_PLAIN_0_0_4)
    om_after = choose_encoder("text/plain; version=abc, application/openmetrics-text")
    assert om_after[1] == om.CONTENT_TYPE_LATEST


def test_protobuf_is_negotiated_when_the_encoder_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    accept = ("application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,"
              "application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5")
    monkeypatch.setattr(_negotiation, "_protobuf_cached", (None,))
    assert choose_encoder(accept)[1] == OM_1 + "; escaping=underscores"

    def encode(registry: Any) -> bytes:
        return b"pb"

    monkeypatch.setattr(_negotiation, "_protobuf_cached", (encode,))
    encoder, ct = choose_encoder(accept)
    assert encoder is encode
    assert ct == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    assert choose_encoder("application/vnd.google.protobuf; proto=other; encoding=delimited")[1] == (
        CONTENT_TYPE_PLAIN_0_0_4)
    monkeypatch.setattr(_negotiation, "_protobuf_cached", None)  # the real encoder
    encoder, ct = choose_encoder(accept.split(",")[0] + ";escaping=allow-utf-8")
    assert ct == "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited"
    r = CollectorRegistry()
    Gauge("a.b", "d", registry=r).set(1)
    from prometheus_client._formats.protobuf import encode_registry
    from prometheus_client._formats.protobuf_model import decode_delimited
    assert [f.name for f in decode_delimited(encoder(r))] == ["a.b"]
    assert [f.name for f in decode_delimited(choose_encoder(accept)[0](r))] == ["a_b"]
    assert choose_encoder(accept)[0] is encode_registry


@pytest.mark.parametrize(
    "header,accepted",
    [("gzip", True), ("GZIP", True), ("x-gzip", False), ("deflate, gzip;q=0", True), (" gzip ;q=1", True),
     ("br,gzip", True), ("", False), ("identity", False), ("gzip2", False), (None, False)],
)
def test_gzip_accepted(header: Any, accepted: bool) -> None:
    assert gzip_accepted(header) is accepted


# -- _bake_output ------------------------------------------------------------------------


@pytest.fixture
def small_registry() -> Iterator[CollectorRegistry]:
    r = CollectorRegistry()
    Counter("a", "b", registry=r).inc()
    Gauge("g", "h", registry=r).set(2)
    yield r


def test_bake_output_plain(small_registry: CollectorRegistry) -> None:
    status, headers, body = _bake_output(small_registry, "text/plain", "gzip", {}, True)
    assert status == "200 OK"
    assert headers == [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4)]
    assert body == generate_latest(small_registry)


def test_bake_output_gzip_and_restriction(small_registry: CollectorRegistry) -> None:
    status, headers, body = _bake_output(small_registry, None, "gzip", {"name[]": ["a_total"]}, False)
    assert headers == [("Content-Type", CONTENT_TYPE_PLAIN_0_0_4), ("Content-Encoding", "gzip")]
    assert gzip.decompress(body) == b"# HELP a_total b\n# TYPE a_total counter\na_total 1.0\n"
    status, headers, body = _bake_output(
        small_registry, "application/openmetrics-text", "deflate", {"name[]": ["a_total", "a_created", "g"]}, False
    )
    assert headers == [("Content-Type", OM_1)]
    assert body == (b"# HELP a b\n# TYPE a counter\na_total 1.0\na_created 1.7000000005e+09\n"
                    b"# HELP g h\n# TYPE g gauge\ng 2.0\n# EOF\n")
    # family names are not sample names: a counter's family name selects nothing
    assert _bake_output(small_registry, None, None, {"name[]": ["a"]}, False)[2] == b""


def test_bake_output_is_patchable_through_exposition(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exposition, "_bake_output", lambda *a: ("200 OK", [], b"patched"))
    app = exposition.make_wsgi_app(CollectorRegistry())
    body = app({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": ""}, lambda status, headers: None)
    assert b"".join(body) == b"patched"


@pytest.mark.parametrize(
    "tokens,version,escaping",
    [([], "", "underscores"), (["application/openmetrics-text", "version=1.0.0"], "1.0.0", "underscores"),
     (["version=1.0.0", "version=2"], "1.0.0", "underscores"), (["version"], "", "underscores"),
     (["version=", "version=1.0.0"], "", "underscores"), (["escaping=bogus", "escaping=dots"], "", "underscores"),
     (["escaping", "escaping=dots"], "", "dots"), ([" escaping=values"], "", "values"),
     (["version = 1.0.0"], "", "underscores"), (["version=1=2"], "1=2", "underscores"),
     (["x=1;version=3"], "", "underscores"), (["escaping=DOTS"], "", "underscores"),
     (["escaping=allow-utf-8"], "", "allow-utf-8")],
)
def test_parameter_helpers(tokens: List[str], version: str, escaping: str) -> None:
    assert exposition._get_version(tokens) == version
    assert exposition._get_escaping(tokens) == escaping


def test_patched_metric_classes_are_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    r = CollectorRegistry()
    Gauge("g", "d", registry=r).set(1)
    assert text(r).endswith("\ng 1.0\n")
    monkeypatch.setattr(Gauge, "_child_samples", lambda self: [Sample("", {}, 5.0)])
    assert text(r).endswith("\ng 5.0\n")


def test_label_sets_rebuilt_every_scrape_render_the_same() -> None:
    """Custom collectors build new label dicts per scrape: rendered from a content cache."""
    state = {"value": "x"}

    class Rebuilding:
        def collect(self) -> List[Metric]:
            fam = CounterMetricFamily("c", "d", labels=["a.b", "l"])
            fam.add_metric([state["value"], 'q"\n'], 1, created=5)
            return [fam]

    r = CollectorRegistry()
    r.register(Rebuilding())
    expected = ('# HELP c_total d\n# TYPE c_total counter\nc_total{a_b="x",l="q\\"\\n"} 1.0\n'
                '# HELP c_created d\n# TYPE c_created gauge\nc_created{a_b="x",l="q\\"\\n"} 5.0\n')
    assert text(r) == expected
    assert text(r) == expected
    assert 'c_total{"a.b"="x",l="q\\"\\n"} 1.0\n' in text(r, "allow-utf-8")
    state["value"] = 1  # type: ignore[assignment]
    with pytest.raises(AttributeError):
        text(r)


def test_created_text_cached_per_series_follows_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    """The text of each series' _created is cached with its labels; a reset (new timestamp)
    and switching between text and OpenMetrics (same labels cache) render the new value."""
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest

    registry = CollectorRegistry()
    clock = iter([1700000000.25, 1700000000.5, 1800000000.75, 1900000000.0])
    monkeypatch.setattr(time, "time", lambda: next(clock))
    c = Counter("cc", "h", ["a"], registry=registry)
    h = Histogram("hh", "h", ["a"], buckets=(1.0,), registry=registry)
    s = Summary("ss", "h", ["a"], registry=registry)
    c.labels("x").inc()
    h.labels("x").observe(0.5)
    s.labels("x").observe(2.0)
    for _ in range(2):
        text = exposition.generate_latest(registry).decode()
        assert 'cc_created{a="x"} 1.70000000025e+09\n' in text
        assert 'hh_created{a="x"} 1.7000000005e+09\n' in text
        assert 'ss_created{a="x"} 1.80000000075e+09\n' in text
        assert 'cc_created{a="x"} 1.70000000025e+09\n' in om_latest(registry).decode()
    c.labels("x").reset()
    text = exposition.generate_latest(registry).decode()
    assert 'cc_created{a="x"} 1.9e+09\n' in text and 'cc_total{a="x"} 0.0\n' in text
    assert 'cc_created{a="x"} 1.9e+09\n' in om_latest(registry).decode()
    assert 'hh_created{a="x"} 1.7000000005e+09\n' in om_latest(registry).decode()
