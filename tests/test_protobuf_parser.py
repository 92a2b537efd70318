"""Protobuf exposition round trip through this project's protobuf parser."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary
from prometheus_client.metrics_core import GaugeHistogramMetricFamily, UnknownMetricFamily
from prometheus_client.protobuf import encode_registry, protobuf_to_metric_families

names = st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True).filter(lambda n: not n.endswith(("_total", "_created")))
label_values = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=6)
values = st.floats(min_value=0, max_value=1e12, allow_nan=False)


def _normalise(metrics):
    out = []
    for m in metrics:
        samples = []
        for s in m.samples:
            value = s.value
            if s.name.endswith("_created"):
                value = round(value, 5)  # Timestamp carries nanoseconds: compare to 10 µs
            elif isinstance(value, float) and math.isnan(value):
                value = "NaN"  # NaN != NaN
            exemplar = s.exemplar and (s.exemplar.labels, s.exemplar.value, round(float(s.exemplar.timestamp), 5))
            samples.append((s.name, s.labels, value, s.timestamp, exemplar, s.native_histogram))
        out.append((m.name, m.documentation, m.type, m.unit, samples))
    return out


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    counters=st.lists(st.tuples(label_values, values), max_size=4),
    gauges=st.lists(st.tuples(label_values, st.floats(allow_nan=False)), max_size=4),
    observations=st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), max_size=30),
    name=names,
)
def test_round_trip_of_every_metric_type(counters, gauges, observations, name):
    r = CollectorRegistry()
    c = Counter(name + "_c", "counter help", ["l"], registry=r)
    for lv, v in counters:
        c.labels(lv).inc(v, exemplar={"trace": "t1"} if v > 1 else None)
    g = Gauge(name + "_g", "gauge help", ["l"], registry=r, unit="bytes")
    for lv, v in gauges:
        g.labels(lv).set(v)
    h = Histogram(name + "_h", "hist", ["l"], buckets=[-1, 0, 1.5, 100], registry=r)
    n = Histogram(name + "_n", "native", native_histogram_bucket_factor=1.1, registry=r)
    s = Summary(name + "_s", "summary", registry=r)
    q = Summary(name + "_q", "quantiles", objectives={0.5: 0.05, 0.9: 0.01}, registry=r)
    for v in observations:
        h.labels("x").observe(v)
        n.observe(v)
        s.observe(v)
        q.observe(v)
    expected = _normalise(r.collect())
    got = _normalise(protobuf_to_metric_families(encode_registry(r)))
    assert got == expected


def test_custom_families_round_trip():
    class Custom:
        def collect(self):
            yield GaugeHistogramMetricFamily("gh", "gauge histogram", buckets=[("1.0", 3), ("+Inf", 5)], gsum_value=7)
            yield UnknownMetricFamily("u", "untyped", value=2)

    r = CollectorRegistry()
    r.register(Custom())
    assert _normalise(protobuf_to_metric_families(encode_registry(r))) == _normalise(r.collect())


def test_nan_and_infinities_survive():
    r = CollectorRegistry()
    Gauge("nan", "h", registry=r).set(float("nan"))
    Gauge("inf", "h", registry=r).set(float("-inf"))
    got = {m.name: m.samples[0].value for m in protobuf_to_metric_families(encode_registry(r))}
    assert math.isnan(got["nan"]) and got["inf"] == float("-inf")


def test_garbage_is_a_value_error():
    with pytest.raises(ValueError):
        list(protobuf_to_metric_families(b"\x05\x0a\x99\x99"))
