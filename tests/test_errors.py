"""Every error the official client raises on bad input: the type, the official wording, and the
metric/label it concerns. A failed call leaves the registry unchanged."""

import pytest

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, validation
from prometheus_client.metrics_core import (
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
    SummaryMetricFamily,
)
from prometheus_client.registry import DuplicateTimeseries
from prometheus_client.samples import Timestamp


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


@pytest.fixture
def legacy():
    validation.enable_legacy_validation()
    yield
    validation.disable_legacy_validation()


def _names(registry):
    return dict(registry._names_to_collectors)


def test_duplicate_registration(registry):
    Counter("c", "h", registry=registry)
    before = _names(registry)
    with pytest.raises(DuplicateTimeseries) as e:
        Counter("c", "h", registry=registry)
    assert isinstance(e.value, ValueError)
    assert str(e.value).startswith("Duplicated timeseries in CollectorRegistry:")
    assert e.value.duplicates == {"c", "c_total", "c_created"}
    assert _names(registry) == before


def test_info_named_target_clashes_with_target_info(registry):
    registry.set_target_info({"env": "prod"})
    with pytest.raises(DuplicateTimeseries, match="target_info"):
        Info("target", "h", registry=registry)


def test_set_target_info_when_taken(registry):
    Gauge("target_info", "h", registry=registry)
    with pytest.raises(ValueError, match="CollectorRegistry already contains a target_info metric"):
        registry.set_target_info({"a": "b"})
    assert registry.get_target_info() is None


def test_empty_names(registry):
    with pytest.raises(ValueError, match="Metric name should not be empty"):
        Counter("", "h", registry=registry)
    with pytest.raises(ValueError, match="metric name cannot be empty"):
        Metric("", "h", "gauge")
    assert _names(registry) == {}


def test_legacy_bad_metric_name(registry, legacy):
    with pytest.raises(ValueError, match="invalid metric name my.metric"):
        Counter("my.metric", "h", registry=registry)
    assert _names(registry) == {}


def test_utf8_metric_name_accepted_by_default(registry):
    Counter("my.metric", "h", registry=registry).inc()
    assert registry.get_sample_value("my.metric_total") == 1


def test_legacy_bad_label_name(registry, legacy):
    with pytest.raises(ValueError, match=r"Invalid label metric name: a\.b.*metric 'lm'"):
        Counter("lm", "h", ["a.b"], registry=registry)
    assert _names(registry) == {}


def test_reserved_label_prefix(registry):
    with pytest.raises(ValueError, match=r"Reserved label metric name: __x.*metric 'rl'"):
        Gauge("rl", "h", ["__x"], registry=registry)
    assert _names(registry) == {}


@pytest.mark.parametrize("cls,label", [(Histogram, "le"), (Summary, "quantile")])
def test_reserved_label_per_type(registry, cls, label):
    with pytest.raises(ValueError, match=rf"Reserved label methe fric name: {label}.*metric 'rt'"):
        cls("rt", "h", [label], registry=registry)
    assert _names(registry) == {}
    # Other types may use those names.
    Gauge("ok_" + label, "h", [label], registry=registry)


@pytest.mark.parametrize("cls,kwargs", [(Info, {}), (Enum, {"states": ["a"]})])
def test_unit_not_allowed(registry, cls, kwargs):
    with pytest.raises(ValueError, match="Metric name is of a type that cannot have a unit: u_seconds"):
        cls("u", "h", unit="seconds", registry=registry, **kwargs)
    assert _names(registry) == {}


def test_bad_metric_type():
    with pytest.raises(ValueError, match="Invalid metric type: bogus .*'m'"):
        Metric("m", "h", "bogus")


def test_labels_errors(registry):
    c = Counter("c", "h", registry=registry)
    with pytest.raises(ValueError, match="No label names were set when constructing counter:c"):
        c.labels("x")
    cl = Counter("cl", "h", ["a", "b"], registry=registry)
    with pytest.raises(
        ValueError,
        match=r"counter:cl already has labels set \(\{'a': 'x', 'b': 'y'\}\); can not chain calls to .labels\(\)",
    ):
        cl.labels("x", "y").labels("x", "y")
    with pytest.raises(ValueError, match=r"Can't pass both \*args and \*\*kwargs.*'cl'"):
        cl.labels("x", b="y")
    with pytest.raises(ValueError, match=r"Incorrect label names.*'cl'.*\['a', 'b'\]"):
        cl.labels(a="x", c="y")
    with pytest.raises(ValueError, match=r"Incorrect label count.*'cl'.*expects 2"):
        cl.labels("x")
    assert cl._metrics == {("x", "y"): cl.labels("x", "y")}


def test_remove_errors(registry):
    cl = Counter("cl", "h", ["a", "b"], registry=registry)
    with pytest.raises(ValueError, match=r"Incorrect label count \(expected 2, got \('x',\)\).*'cl'"):
        cl.remove("x")
    with pytest.raises(TypeError, match=r"labels must be a dict of \{label_name: label_value\}.*'cl'"):
        cl.remove_by_labels(["a"])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Unknown label names: \['z'\]; expected \('a', 'b'\).*'cl'"):
        cl.remove_by_labels({"z": "1"})


@pytest.mark.parametrize(
    "factory,call,typ",
    [
        (lambda r: Counter("p", "h", ["l"], registry=r), lambda m: m.inc(), "counter"),
        (lambda r: Gauge("p", "h", ["l"], registry=r), lambda m: m.set(1), "gauge"),
        (lambda r: Summary("p", "h", ["l"], registry=r), lambda m: m.observe(1), "summary"),
        (lambda r: Histogram("p", "h", ["l"], registry=r), lambda m: m.observe(1), "histogram"),
        (lambda r: Enum("p", "h", ["l"], states=["a"], registry=r), lambda m: m.state("a"), "stateset"),
        (lambda r: Counter("p", "h", ["l"], registry=r), lambda m: m.count_exceptions(), "counter"),
        (lambda r: Gauge("p", "h", ["l"], registry=r), lambda m: m.track_inprogress(), "gauge"),
    ],
)
def test_mutating_a_parent(registry, factory, call, typ):
    m = factory(registry)
    with pytest.raises(ValueError, match=rf"{typ} metric is missing label values.*'p'.*\('l',\)"):
        call(m)
    assert m._metrics == {}


def test_negative_counter_increment(registry):
    c = Counter("neg", "h", registry=registry)
    with pytest.raises(ValueError, match=r"Counters can only be incremented by non-negative amounts.*'neg'.*-1"):
        c.inc(-1)
    assert c._value.get() == 0


def test_mostrecent_inc_dec(registry):
    g = Gauge("mr", "h", registry=registry, multiprocess_mode="livemostrecent")
    with pytest.raises(RuntimeError, match=r"inc must not be used with the mostrecent mode.*'mr'"):
        g.inc()
    with pytest.raises(RuntimeError, match=r"dec must not be used with the mostrecent mode.*'mr'"):
        g.dec()


def test_bad_multiprocess_mode(registry):
    with pytest.raises(ValueError, match=r"Invalid multiprocess mode: nope.*'bm'"):
        Gauge("bm", "h", registry=registry, multiprocess_mode="nope")  # type: ignore[arg-type]
    assert _names(registry) == {}


def test_buckets(registry):
    with pytest.raises(ValueError, match=r"Buckets not in sorted order.*'hb'"):
        Histogram("hb", "h", buckets=[2, 1], registry=registry)
    for bad in ([], [float("inf")]):
        with pytest.raises(ValueError, match=r"Must have at least two buckets.*'hb'"):
            Histogram("hb", "h", buckets=bad, registry=registry)
    assert _names(registry) == {}


def test_enum_errors(registry):
    with pytest.raises(ValueError, match="No states provided for Enum metric: e"):
        Enum("e", "h", registry=registry)
    with pytest.raises(ValueError, match="Overlapping labels for Enum metric: e"):
        Enum("e", "h", ["e"], states=["a"], registry=registry)
    assert _names(registry) == {}
    e = Enum("e", "h", states=["a", "b"], registry=registry)
    with pytest.raises(ValueError, match=r"'z' is not in list.*'e'"):
        e.state("z")
    assert registry.get_sample_value("e", {"e": "a"}) == 1


def test_info_errors(registry):
    i = Info("inf", "h", ["l"], registry=registry)
    with pytest.raises(
        ValueError, match=r"Overlapping labels for Info metric, metric: \('l',\) child: \{'l': 'x'\}.*'inf'"
    ):
        i.labels("a").info({"l": "x"})
    with pytest.raises(ValueError, match=r"Label value cannot be None.*'inf'"):
        i.labels("a").info({"k": None})  # type: ignore[dict-item]
    assert i.labels("a")._value == {}


def test_exemplar_too_long(registry):
    c = Counter("ex", "h", registry=registry)
    with pytest.raises(
        ValueError, match=r"Exemplar labels have %d UTF-8 characters, exceeding the limit of 128.*'ex'.*129"
    ):
        c.inc(exemplar={"a": "x" * 128})
    assert c._value.get() == 0  # a failed call changes nothing (the official client keeps the +1)
    h = Histogram("hx", "h", registry=registry)
    with pytest.raises(ValueError, match="exceeding the limit of 128"):
        h.observe(1, exemplar={"a": "x" * 128})
    assert registry.get_sample_value("hx_count") == 0


def test_bad_timestamp():
    with pytest.raises(ValueError, match="Invalid value for nanoseconds in Timestamp: 1000000000"):
        Timestamp(1, 1_000_000_000)
    with pytest.raises(ValueError, match="Invalid value for nanoseconds in Timestamp: -1"):
        Timestamp(1, -1)


def test_label_value_with_failing_str(registry):
    class Bad:
        def __str__(self):
            raise TypeError("no str for you")

    c = Counter("bs", "h", ["a"], registry=registry)
    with pytest.raises(TypeError, match="no str for you"):
        c.labels(Bad())
    assert c._metrics == {}


def test_family_value_and_labels():
    with pytest.raises(ValueError, match=r"Can only specify at most one of value and labels.*'g'"):
        GaugeMetricFamily("g", "h", value=1, labels=["a"])
    with pytest.raises(ValueError, match=r"Can only specify at most one of buckets and labels.*'hf'"):
        HistogramMetricFamily("hf", "h", buckets=[("+Inf", 1)], labels=["a"])
    with pytest.raises(ValueError, match=r"count_value and sum_value must be provided together.*'s'"):
        SummaryMetricFamily("s", "h", count_value=1)
    with pytest.raises(ValueError, match=r"sum value cannot be provided without buckets.*'hf'"):
        HistogramMetricFamily("hf", "h", sum_value=1)
    with pytest.raises(KeyError):
        HistogramMetricFamily("hf", "h", buckets={}, sum_value=1)  # type: ignore[arg-type]
