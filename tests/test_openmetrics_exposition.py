"""OpenMetrics encoder: worked example, quirks, exemplars, native histograms."""

from __future__ import annotations

import time
from typing import Any, List

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics import exposition as om
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from test_exposition_text import worked_registry

NOW = 1700000000.5


@pytest.fixture(autouse=True)
def fixed_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "time", lambda: NOW)


class _Fixed:
    def __init__(self, *metrics: Metric) -> None:
        self.metrics = list(metrics)

    def collect(self) -> List[Metric]:
        return self.metrics


def _reg(*metrics: Metric) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(_Fixed(*metrics))
    return registry


def om_text(registry: Any, escaping: str = "underscores", version: str = "1.0.0") -> str:
    return generate_latest(registry, escaping, version).decode("utf-8")


WORKED_OM = """\
# HELP ns_sub_req Requests \\"quoted\\" \\\\ back\\nnl
# TYPE ns_sub_req counter
ns_sub_req_total{method="GET"} 1.0
ns_sub_req_created{method="GET"} 1.7000000005e+09
ns_sub_req_total{method="a\\"b\\\\c\\nd"} 2.5
ns_sub_req_created{method="a\\"b\\\\c\\nd"} 1.7000000005e+09
# HELP temp_celsius Temp
# TYPE temp_celsius gauge
# UNIT temp_celsius celsius
temp_celsius 3.0
# HELP lat Latency
# TYPE lat summary
lat_count 1.0
lat_sum 1.5
lat_created 1.7000000005e+09
# HELP h Hist
# TYPE h histogram
h_bucket{le="0.1"} 0.0
h_bucket{le="1.0"} 1.0 # {trace="abc"} 0.5 1700000000.5
h_bucket{le="10.0"} 1.0
h_bucket{le="1e+10"} 1.0
h_bucket{le="+Inf"} 1.0
h_count 1.0
h_sum 0.5
h_created 1.7000000005e+09
# HELP build Build info
# TYPE build info
build_info{b="x",version="1.0"} 1.0
# HELP state State
# TYPE state stateset
state{state="a"} 0.0
state{state="b"} 1.0
# HELP gh GH
# TYPE gh gaugehistogram
gh_bucket{le="1.0"} 1.0
gh_bucket{le="+Inf"} 2.0
gh_gcount 2.0
gh_gsum 3.0
# HELP ss SS
# TYPE ss stateset
ss{ss="x"} 1.0
ss{ss="y"} 0.0
# HELP unk U
# TYPE unk unknown
unk 1.0
# EOF
"""


def test_worked_example() -> None:
    assert om_text(worked_registry()) == WORKED_OM
    assert om_text(_Fixed(*worked_registry().collect())) == WORKED_OM  # generic path


def test_constants() -> None:
    assert om.CONTENT_TYPE_LATEST == "application/openmetrics-text; version=1.0.0; charset=utf-8"
    assert om.CONTENT_TYPE_LATEST_2_0 == "application/openmetrics-text; version=2.0.0; charset=utf-8"
    assert (om.ESCAPING_HEADER_TAG, om.ALLOWUTF8, om.UNDERSCORES, om.DOTS, om.VALUES) == (
        "escaping", "allow-utf-8", "underscores", "dots", "values")


def test_empty_registry_and_target_info() -> None:
    assert generate_latest(CollectorRegistry()) == b"# EOF\n"
    assert om_text(CollectorRegistry(target_info={"env": "prod"})) == (
        '# HELP target Target metadata\n# TYPE target info\ntarget_info{env="prod"} 1.0\n# EOF\n')


def test_colon_is_escaped_in_sample_lines_only() -> None:
    r = CollectorRegistry()
    Gauge("a:b", "doc", registry=r).set(1)
    assert om_text(r) == "# HELP a:b doc\n# TYPE a:b gauge\na_b 1.0\n# EOF\n"
    assert om_text(r, "dots") == "# HELP a:b doc\n# TYPE a:b gauge\na__b 1.0\n# EOF\n"
    assert om_text(r, "values") == "# HELP a:b doc\n# TYPE a:b gauge\nU__a_3a_b 1.0\n# EOF\n"
    assert om_text(r, "allow-utf-8") == "# HELP a:b doc\n# TYPE a:b gauge\na:b 1.0\n# EOF\n"
    # under `values` every sample name is escaped, even a legacy one
    r = CollectorRegistry()
    Gauge("temp_celsius", "doc", registry=r).set(1)
    assert "\nU__temp__celsius 1.0\n" in om_text(r, "values")


def test_utf8_names() -> None:
    r = CollectorRegistry()
    Counter("my.metric", 'h"elp', ["a.b", "le"], registry=r).labels("x", "y").inc()
    assert om_text(r, "allow-utf-8") == (
        '# HELP "my.metric" h\\"elp\n# TYPE "my.metric" counter\n'
        '{"my.metric_total","a.b"="x",le="y"} 1.0\n{"my.metric_created","a.b"="x",le="y"} 1.7000000005e+09\n'
        "# EOF\n")
    assert '\nmy_metric_total{a_b="x",le="y"} 1.0\n' in om_text(r)


def test_timestamps_are_seconds_as_given() -> None:
    m = Metric("u", "d", "unknown")
    for q, ts in (("a", Timestamp(123, 456000)), ("b", -123.456), ("c", 12), ("d", 0), ("e", 1.5)):
        m.add_sample("u", {"q": q}, 2, timestamp=ts)
    assert om_text(_reg(m)) == (
        '# HELP u d\n# TYPE u unknown\nu{q="a"} 2.0 123.000456000\nu{q="b"} 2.0 -123.456\nu{q="c"} 2.0 12\n'
        'u{q="d"} 2.0 0\nu{q="e"} 2.0 1.5\n# EOF\n')


def test_unit_line_and_help_quotes() -> None:
    r = CollectorRegistry()
    Gauge("size", 'a "b"', unit="bytes", registry=r)
    assert om_text(r) == (
        '# HELP size_bytes a \\"b\\"\n# TYPE size_bytes gauge\n# UNIT size_bytes bytes\nsize_bytes 0.0\n# EOF\n')


def test_exemplars() -> None:
    fam = CounterMetricFamily("cc", "d", 1, exemplar=Exemplar({"a": "b"}, 1, 123.456))
    assert om_text(_reg(fam)) == '# HELP cc d\n# TYPE cc counter\ncc_total 1.0 # {a="b"} 1.0 123.456\n# EOF\n'
    ex = Exemplar({"z": 'a\nb"', "a": "q", "x.y": "é"}, float("nan"), Timestamp(1, 5))
    sample = Sample("h_bucket", {"le": "1"}, 1, None, ex)
    assert om._compose_exemplar_string(Metric("h", "d", "histogram"), sample, ex) == (
        ' # {a="q",x.y="é",z="a\\nb\\""} NaN 1.000000005')
    r = CollectorRegistry()
    Histogram("h", "d", buckets=[1, 2], registry=r).observe(1.5, {"t": "x"})
    assert '\nh_bucket{le="2.0"} 1.0 # {t="x"} 1.5 1700000000.5\n' in om_text(r)


@pytest.mark.parametrize(
    "typ,name,valid",
    [("counter", "x_total", True), ("counter", "c_totalx", False), ("histogram", "x_bucket", True),
     ("histogram", "c", True), ("histogram", "c_count", False), ("gaugehistogram", "x_bucket", True),
     ("gaugehistogram", "c", False), ("gauge", "c_total", False), ("unknown", "c_bucket", False)],
)
def test_exemplar_validity(typ: str, name: str, valid: bool) -> None:
    metric = Metric("c", "d", typ)
    sample = Sample(name, {}, 1, None, Exemplar({}, 1))
    assert om._is_valid_exemplar_metric(metric, sample) is valid
    metric.samples.append(sample)
    if valid:
        generate_latest(_reg(metric))
    else:
        with pytest.raises(ValueError) as info:
            generate_latest(_reg(metric))
        assert info.value.args == ("Metric c has exemplars, but is not a histogram bucket or counter", metric)


NH = NativeHistogram(22, 100, 0, 0.001, 4, (BucketSpan(0, 2), BucketSpan(1, 2)), (BucketSpan(0, 2), BucketSpan(1, 2)),
                     (2, 1, -3, 3), (2, 1, -2, 3), (Exemplar({"t": "x"}, 1.5, 3), Exemplar({"u": "y"}, 2.5, None)))


def _native_registry() -> CollectorRegistry:
    m = Metric("nh", "doc", "histogram")
    m.add_sample("nh", {}, 0, None, None, NH)
    m.add_sample("nh", {"a": "b"}, 0, None, None, NativeHistogram(3.0, 5.5, -1, 2.938735877055719e-39, 3.0))
    m.add_sample("nh_bucket", {"le": "+Inf"}, 3, 17, Exemplar({"a": "b"}, 1))
    m.add_sample("nh_count", {}, 3, 17)
    g = Metric("n.h", "doc", "gaugehistogram")
    g.add_sample("n.h", {"x": "y"}, 0, 12.5, None, NativeHistogram(3, 5, 1, 0, 3))
    return _reg(m, g)


def test_native_histograms_only_from_version_2() -> None:
    r = _native_registry()
    classic = ('# HELP nh doc\n# TYPE nh histogram\nnh_bucket{le="+Inf"} 3.0 17 # {a="b"} 1.0\nnh_count 3.0 17\n'
               "# HELP n_h doc\n# TYPE n_h gaugehistogram\n# EOF\n")
    assert om_text(r) == classic
    assert om_text(r, version="1.9.9") == classic
    # 2.0.0 (rc0, not the official client's pre-draft lines): the classic point at 17 has no
    # sum, which 2.0 requires.
    with pytest.raises(ValueError, match="requires a sum"):
        om_text(r, version="2.0.0")
    m = Metric("nh", "doc", "histogram")
    m.samples = [s for s in _native_registry().collect()][0].samples + [Sample("nh_sum", {}, 9.5, 17)]
    native = om_text(_reg(m), version="2.0.0")
    assert native == (
        "# TYPE nh histogram\n# HELP nh doc\n"
        "nh {count:22,sum:100.0,schema:0,zero_threshold:0.001,zero_count:4,negative_spans:[0:2,1:2],"
        "negative_buckets:[2,3,1,4],positive_spans:[0:2,1:2],positive_buckets:[2,3,0,3]} # {t=\"x\"} 1.5 3.0"
        f' # {{u="y"}} 2.5 {native.split(" 2.5 ")[1].split(chr(10))[0]}\n'
        'nh{a="b"} {count:3,sum:5.5,schema:-1,zero_threshold:2.938735877055719e-39,zero_count:3}\n'
        'nh {count:3,sum:9.5,bucket:[+Inf:3]} 17.0 # {a="b"} 1 '
        f'{native.split(" # {a=" + chr(34) + "b" + chr(34) + "} 1 ")[1].split(chr(10))[0]}\n# EOF\n')
    assert om_text(_reg(m), version="2") == native
    assert "_count" in om_text(_reg(m), version="3.1")  # other majors: 1.0 text, as before
    g = [s for s in _native_registry().collect()][1]
    assert '{"n.h",x="y"} {gcount:3,gsum:5.0,schema:1,zero_threshold:0.0,zero_count:3} 12.5\n' in om_text(
        _reg(g), "allow-utf-8", "2.0.0")


def test_native_histogram_exemplar_order_and_errors() -> None:
    m = Metric("nh", "d", "histogram")
    m.add_sample("nh", {}, 0, 5, Exemplar({"a": "b"}, 1, 2),
                 NativeHistogram(5, 2, 3, 4, 5, nh_exemplars=[Exemplar({"c": "d"}, 3)]))
    line = om_text(_reg(m), version="2.0.0").splitlines()[2]  # 2.0: exemplars get the scrape time
    assert line.startswith(
        'nh {count:5,sum:2.0,schema:3,zero_threshold:4.0,zero_count:5} 5.0 # {a="b"} 1 2.0 # {c="d"} 3 ')
    g = Metric("g", "d", "gauge")
    g.add_sample("g", {}, 0, None, None, NativeHistogram(5, 2, 3, 4, 5, nh_exemplars=[Exemplar({}, 3)]))
    with pytest.raises(ValueError):
        generate_latest(_reg(g), version="2.0.0")
    generate_latest(_reg(g))  # skipped before its exemplars are looked at
    # the sample's own exemplar is checked even when the sample is skipped
    gh = Metric("gh", "d", "gaugehistogram")
    gh.add_sample("gh", {}, 0, None, Exemplar({}, 1), NativeHistogram(5, 2, 3, 4, 5))
    with pytest.raises(ValueError):
        generate_latest(_reg(gh))


def test_value_none_renders_empty_and_errors_carry_the_metric() -> None:
    m = Metric("g", "d", "gauge")
    m.samples.append(Sample("g", {}, None))  # type: ignore[arg-type]
    assert om_text(_reg(m)) == "# HELP g d\n# TYPE g gauge\ng \n# EOF\n"
    bad = GaugeMetricFamily("g", "d", labels=["l"])
    bad.add_metric(["x"], "nope")  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        generate_latest(_reg(bad))
    assert info.value.args[-1] is bad


def test_private_escape_helpers() -> None:
    assert om._escape("a:b", "underscores", om._is_legacy_labelname_rune) == "a_b"
    assert om._escape("a:b", "underscores", om._is_legacy_metric_rune) == "a:b"
    assert om._escape("", "values", om._is_legacy_metric_rune) == "U__"
    assert om._escape("a.b", "allow-utf-8", om._is_legacy_metric_rune) == "a.b"
    assert om._is_legacy_metric_rune("0", 0) is False and om._is_legacy_metric_rune("0", 1) is True
    assert om._is_legacy_labelname_rune(":", 1) is False and om._is_legacy_metric_rune("é", 1) is False
    assert om._is_valid_utf8("a") is True and om._is_valid_utf8("\udfff") is False


def test_metric_objects_render_like_their_samples() -> None:
    """The encoders' fast path for metric objects matches rendering collect() sample by sample,
    including native histograms and Summary quantiles (which take the generic path)."""
    r = CollectorRegistry()
    Histogram("nh", "d", ["l"], registry=r, native_histogram_bucket_factor=1.1, buckets=()).labels("a").observe(1.5)
    Histogram("ch", "d", ["l"], buckets=[1, 2], registry=r).labels("b").observe(1.5, {"t": "x"})
    Counter("c", "d", ["l"], registry=r).labels("c").inc(2, {"t": "y"})
    Gauge("g", "d", registry=r).set(-1e10)
    for escaping in ("underscores", "allow-utf-8", "dots", "values"):
        for version in ("1.0.0", "2.0.0"):
            assert om_text(r, escaping, version) == om_text(_Fixed(*r.collect()), escaping, version)
    assert "nh{l=\"a\"} {count:1,sum:1.5,schema:3," in om_text(r, version="2.0.0")


def test_nan_observation_keeps_no_exemplar() -> None:
    r = CollectorRegistry()
    h = Histogram("h", "d", buckets=[1], registry=r)
    with pytest.raises(ValueError, match="Reserved label"):  # checked before anything moves (#12)
        h.observe(float("nan"), {"__bad": "x"})
    assert r.get_sample_value("h_sum") == 0.0
    h.observe(float("nan"), {"trace": "x"})  # NaN lands in no bucket: its exemplar is not kept
    assert "#" not in om_text(r).replace("# HELP", "").replace("# TYPE", "").replace("# EOF", "")
    assert 'h_bucket{le="1.0"} 0.0\n' in om_text(r) and "h_sum NaN\n" in om_text(r)
