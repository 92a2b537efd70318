"""Custom collectors' ``Metric`` families through the per-type renderers (``_formats/adapt.py``).

(a) For random families of every type, canonical or not, every encoder gives the same bytes
(or the same error) with the adapter as on the sample-by-sample path alone.
(b) Canonical families really take the per-type renderers; other shapes do not.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry
from prometheus_client._formats import adapt as adapt_mod
from prometheus_client._formats import openmetrics, openmetrics2, protobuf, remote_write, remote_write_v2, text
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.remote_write import write_request_from_registry
from prometheus_client.samples import Exemplar, Timestamp

V2 = "io.prometheus.write.v2.Request"


class _Collector:
    def __init__(self, metrics: List[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> List[Metric]:
        return self.metrics


def _registry(metrics: List[Metric]) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(_Collector(metrics))
    return reg


ENCODERS: Dict[str, Callable[[CollectorRegistry], bytes]] = {
    "text": lambda r: text.generate_latest(r),
    "text-utf8": lambda r: text.generate_latest(r, "allow-utf-8"),
    "om1": lambda r: openmetrics.generate_latest(r),
    "om1-values": lambda r: openmetrics.generate_latest(r, "values"),
    "om2": lambda r: openmetrics.generate_latest(r, version="2.0.0"),
    "protobuf": lambda r: protobuf.encode_registry(r),
    "protobuf-utf8": lambda r: protobuf.encode_registry(r, "allow-utf-8"),
    "rw1": lambda r: write_request_from_registry(r, job="j", instance="i", timestamp=1.5),
    "rw2": lambda r: write_request_from_registry(r, job="j", timestamp=1.5, protobuf_message=V2),
}


def _outcome(encode: Callable[[CollectorRegistry], bytes], reg: CollectorRegistry) -> Tuple[str, object]:
    try:
        return "ok", encode(reg)
    except Exception as e:  # the same error on both paths
        return type(e).__name__, repr(e.args)


def _both(metrics: List[Metric], name: str) -> Tuple[object, object]:
    reg = _registry(metrics)
    with mock.patch("time.time", return_value=1767225600.25):  # exemplars without a timestamp
        adapted = _outcome(ENCODERS[name], reg)
        adapt_mod.ENABLED = False
        try:
            sampled = _outcome(ENCODERS[name], reg)
        finally:
            adapt_mod.ENABLED = True
    return adapted, sampled


# -- strategies ---------------------------------------------------------------------------

_names = st.sampled_from(["a", "code", "path", "zz", "le", "quantile", "a.b", "é", "__name__"])
_plain_names = st.sampled_from(["a", "code", "path", "zz", "a.b", "é"])
_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=6)
_label_values = st.one_of(st.sampled_from(["", "x", "GET", 'q"\\\n', "/a/b", "ü", "a\x00", "\x00b"]), _text)
_numbers = st.one_of(
    st.integers(0, 1000),
    st.sampled_from([0.0, -0.0, 1.5, 2.0**53, 2**53 + 1, 1e21, -3.0, math.inf, -math.inf, math.nan, 1700000000.5]),
    st.floats(allow_nan=True, allow_infinity=True),
)
_plain_numbers = st.one_of(st.integers(0, 1000), st.floats(0, 1e7), st.sampled_from([0.0, 0.25, 1e21, 2.0**53]))
_plain_created = st.one_of(st.none(), st.sampled_from([1700000000.5, 0.0, 12]), st.floats(0, 2e9))
_created = st.one_of(st.none(), st.sampled_from([1700000000.5, 0.0, 12, math.inf, math.nan]), st.floats(0, 2e9))
_exemplars = st.one_of(
    st.none(),
    st.builds(Exemplar, st.dictionaries(st.sampled_from(["trace_id", "span"]), _label_values, max_size=2),
              _numbers, st.one_of(st.none(), st.sampled_from([1.5, 1700000000.25]),
                                  st.sampled_from([math.inf, math.nan, -1e300, 10**30, Timestamp(5, 10)]))),
)


@st.composite
def _series_labels(draw: Any, n: int, plain: bool) -> Tuple[Tuple[str, ...], List[Tuple[str, ...]]]:
    names = tuple(draw(st.lists(_plain_names if plain else _names, unique=True, max_size=3)))
    if plain and not names:
        n = min(n, 1)
    values = draw(st.lists(st.tuples(*[_label_values] * len(names)), min_size=n, max_size=n))
    if plain and names:  # distinct series
        values = [(lv[0] + str(i),) + lv[1:] for i, lv in enumerate(values)]
    return names, values


@st.composite
def _family(draw: Any) -> Metric:
    typ = draw(st.sampled_from(["counter", "gauge", "summary", "histogram", "info", "stateset", "gaugehistogram",
                                "unknown"]))
    plain = draw(st.booleans())  # values and names that the canonical shapes allow
    numbers = _plain_numbers if plain else _numbers
    created_times = _plain_created if plain else _created
    n = draw(st.integers(0 if not plain else 1, 3))
    names, values = draw(_series_labels(n, plain))
    name = draw(st.sampled_from(["fam", "fam_x", "fam.dotted"]))
    doc = draw(st.sampled_from(["", "Help", 'a "b"\n\\']))
    unit = draw(st.sampled_from(["", "seconds"]))
    m = Metric(name, doc, typ, unit)
    if plain:
        name = m.name  # with the unit appended
    family_qs = draw(st.sampled_from([[], ["0.5", "0.99"], ["0.50"], ["1"]]))
    family_les = draw(st.sampled_from([["+Inf"], ["0.5", "1.0", "+Inf"], ["1", "+Inf"], ["1.0", "1.0", "+Inf"],
                                       ["-1.0", "+Inf"], ["2.5"]]))
    for lv in values:
        labels = dict(zip(names, lv))
        if typ == "counter":
            m.add_sample(name + "_total", labels, draw(numbers), None, draw(_exemplars))
            created = draw(created_times)
            if created is not None:
                m.add_sample(name + "_created", labels, created)
        elif typ == "summary":
            for q in family_qs if plain else draw(st.sampled_from([[], ["0.5", "0.99"], ["0.50"], ["1"]])):
                m.add_sample(name, {**labels, "quantile": q}, draw(numbers))
            m.add_sample(name + "_count", labels, draw(numbers))
            m.add_sample(name + "_sum", labels, draw(numbers))
            created = draw(created_times)
            if created is not None:
                m.add_sample(name + "_created", labels, created)
        elif typ in ("histogram", "gaugehistogram"):
            les = family_les if plain else draw(st.sampled_from(
                [["+Inf"], ["0.5", "1.0", "+Inf"], ["1", "+Inf"], ["1.0", "1.0", "+Inf"], ["-1.0", "+Inf"], ["2.5"]]))
            acc: Any = 0
            for le in les:
                odd = [0.1] if plain else [0.1, math.nan]
                step = draw(st.one_of(st.integers(0, 3), st.floats(0, 10), st.sampled_from(odd)))
                acc = acc + step
                m.add_sample(name + "_bucket", {**labels, "le": le}, acc, None, draw(_exemplars))
            suffix = "_g" if typ == "gaugehistogram" else "_"
            if plain or draw(st.booleans()):
                m.add_sample(name + suffix + "count", labels, draw(st.sampled_from([acc, acc, float(acc), 7])))
            if plain or draw(st.booleans()):
                m.add_sample(name + suffix + "sum", labels, draw(numbers))
            created = draw(created_times)
            if created is not None:
                m.add_sample(name + "_created", labels, created)
        elif typ == "info":
            m.add_sample(name + "_info", labels, 1.0)
        else:
            m.add_sample(name, labels, draw(numbers))
    samples = m.samples
    mutation = draw(st.sampled_from(["none"] * 10 + ["timestamp", "swap", "drop", "dup", "extra_label"]))
    if samples and mutation != "none" and not (plain and draw(st.booleans())):
        i = draw(st.integers(0, len(samples) - 1))
        s = samples[i]
        if mutation == "timestamp":
            samples[i] = s._replace(timestamp=draw(st.sampled_from([1.5, 1700000000])))
        elif mutation == "swap" and len(samples) > 1:
            j = draw(st.integers(0, len(samples) - 1))
            samples[i], samples[j] = samples[j], samples[i]
        elif mutation == "drop":
            del samples[i]
        elif mutation == "dup":
            samples.append(s)
        elif mutation == "extra_label":
            samples[i] = s._replace(labels={**s.labels, "extra": "1"})
    return m


@pytest.mark.parametrize("encoder", sorted(ENCODERS))
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(metrics=st.lists(_family(), min_size=1, max_size=3))
@example(metrics=[CounterMetricFamily("c", "h", 1.0, created=5.0)])
def test_adapter_gives_the_sample_path_bytes(encoder: str, metrics: List[Metric]) -> None:
    adapted, sampled = _both(metrics, encoder)
    assert adapted == sampled


# -- (b) which path a family takes --------------------------------------------------------


def _canonical() -> List[Metric]:
    c = CounterMetricFamily("requests", "Requests.", labels=["path", "code"])
    c.add_metric(["/a", "200"], 3.0, created=1700000000.5)
    c.add_metric(["/b", "500"], 1)
    g = GaugeMetricFamily("temperature", "T.", labels=["room"])
    g.add_metric(["kitchen"], 21.5)
    s = SummaryMetricFamily("latency", "L.", labels=["path"])
    s.add_metric(["/a"], 4, 1.25)
    h = HistogramMetricFamily("size", "S.", labels=["path"])
    h.add_metric(["/a"], [("0.5", 1.0), ("1.0", 2.0), ("+Inf", 3.0)], 2.5)
    return [c, g, s, h]


def _non_canonical() -> List[Metric]:
    c = CounterMetricFamily("stamped", "Stamped.", labels=["x"])
    c.add_metric(["1"], 3.0, timestamp=1700000000)
    h = HistogramMetricFamily("nosum", "No sum.", buckets=[("1.0", 1.0), ("+Inf", 2.0)])  # no _count/_sum
    raw = Metric("mixed", "Mixed label sets.", "gauge")
    raw.add_sample("mixed", {"a": "1"}, 1.0)
    raw.add_sample("mixed", {"b": "1"}, 2.0)
    i = InfoMetricFamily("build", "B.", value={"version": "1"})
    st_ = StateSetMetricFamily("state", "S.", value={"on": True})
    gh = GaugeHistogramMetricFamily("queue", "Q.", buckets=[("+Inf", 1.0)], gsum_value=1.0)
    u = Metric("untyped_thing", "U.", "unknown")
    u.add_sample("untyped_thing", {}, 1.0)
    return [c, h, raw, i, st_, gh, u]


# encoder -> (module whose _FAST maps type -> per-type renderer, how to run it)
_PER_TYPE: Dict[str, Tuple[Any, Callable[[CollectorRegistry], bytes]]] = {
    "text": (text, ENCODERS["text"]),
    "om1": (openmetrics, ENCODERS["om1"]),
    "om2": (openmetrics2, ENCODERS["om2"]),
    "protobuf": (protobuf, ENCODERS["protobuf"]),
    "rw1": (remote_write, ENCODERS["rw1"]),
    "rw2": (remote_write_v2, ENCODERS["rw2"]),
}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], List[Tuple[str, str]]]]:
    """Run an encoder with its per-type renderers wrapped: -> [(type, family name)] rendered."""

    def run(encoder: str, metrics: Optional[List[Metric]] = None) -> List[Tuple[str, str]]:
        module, encode = _PER_TYPE[encoder]
        seen: List[Tuple[str, str]] = []
        for typ, fn in list(module._FAST.items()):
            def wrapped(*args: Any, _fn: Any = fn, _typ: str = typ) -> None:
                fam = next(a for a in args if type(a).__name__ == "Family")
                seen.append((_typ, fam.info.name))
                _fn(*args)
            monkeypatch.setitem(module._FAST, typ, wrapped)
        try:
            encode(_registry(metrics or []))
        except ValueError:  # (OpenMetrics 2.0 refuses a histogram without a sum)
            pass
        return seen

    yield run  # type: ignore[misc]


@pytest.mark.parametrize("encoder", sorted(_PER_TYPE))
def test_canonical_families_take_the_per_type_renderers(encoder: str, calls: Any) -> None:
    seen = calls(encoder, _canonical())
    expected = [("counter", "requests"), ("gauge", "temperature"), ("summary", "latency"), ("histogram", "size")]
    assert seen == expected


@pytest.mark.parametrize("encoder", sorted(_PER_TYPE))
def test_other_shapes_stay_on_the_sample_path(encoder: str, calls: Any) -> None:
    assert calls(encoder, _non_canonical()) == []
    adapt_mod.ENABLED = False
    try:
        assert calls(encoder, _canonical()) == []
    finally:
        adapt_mod.ENABLED = True


def test_summary_quantiles_only_where_the_encoder_renders_them(calls: Any) -> None:
    s = Metric("lat", "L.", "summary")
    s.add_sample("lat", {"quantile": "0.5"}, 1.0)
    s.add_sample("lat_count", {}, 2)
    s.add_sample("lat_sum", {}, 3.0)
    assert calls("text", [s]) == [("summary", "lat")]
    assert calls("om2", [s]) == [("summary", "lat")]
    assert calls("protobuf", [s]) == []  # its summary renderer has no quantiles
    assert calls("rw1", [s]) == []


def test_exemplars_and_units_only_where_the_renderers_place_them_alike(calls: Any) -> None:
    c = CounterMetricFamily("ex", "E.", labels=["k"])
    c.add_metric(["1"], 1, exemplar=Exemplar({"trace_id": "t"}, 1.0))
    assert calls("om1", [c]) == [("counter", "ex")]
    assert calls("rw1", [c]) == [("counter", "ex")]
    assert calls("rw2", [c]) == []  # exemplar before the metadata on its sample path
    g = GaugeMetricFamily("temp", "T.", 1.0, unit="celsius")
    assert calls("text", [g]) == [("gauge", "temp_celsius")]
    assert calls("protobuf", [g]) == []  # unit after the Metric messages on its sample path


def test_label_caches_persist_across_scrapes_of_rebuilt_families() -> None:
    from prometheus_client._formats.render import _LABELS

    def build() -> Metric:
        c = CounterMetricFamily("rebuilt", "R.", labels=["k"])
        for i in range(5):
            c.add_metric([str(i)], float(i))
        return c

    reg = CollectorRegistry()

    class Rebuilding:
        def collect(self) -> List[Metric]:
            return [build()]

    reg.register(Rebuilding())
    first = text.generate_latest(reg)
    fam = adapt_mod.adapt(build())
    assert fam is not None and _LABELS.size(fam.info) == 5  # filled by the first scrape
    assert text.generate_latest(reg) == first


def test_one_shot_encoders_leave_no_caches_behind() -> None:
    """Each ``write_request_from_registry`` call has encoders of its own: the caches they put
    in a family's scratch go with them (library metric and adapted custom family alike)."""
    from prometheus_client import Counter

    reg = CollectorRegistry()
    c = Counter("oneshot", "O.", ["a"], registry=reg)
    c.labels("1").inc()
    custom = CounterMetricFamily("oneshot_custom", "C.", labels=["a"])
    custom.add_metric(["1"], 1.0)
    reg.register(_Collector([custom]))
    for _ in range(20):
        ENCODERS["rw1"](reg)
        ENCODERS["rw2"](reg)
    adapted = adapt_mod.adapt(custom)
    assert adapted is not None
    assert len(c._fam.info.scratch) <= 2
    assert len(adapted.info.scratch) <= 2


def test_label_values_holding_the_key_separator() -> None:
    c = CounterMetricFamily("sep", "S.", labels=["a", "b"])
    c.add_metric(["x\x00", "y"], 1.0)
    c.add_metric(["x", "\x00y"], 2.0)  # the same NUL-joined key as the first
    assert adapt_mod.adapt(c) is None
    g = GaugeMetricFamily("sep1", "S.", labels=["a"])
    g.add_metric(["x\x00y"], 1.0)  # one label: its value is the key
    assert adapt_mod.adapt(g) is not None
    for name in ENCODERS:
        adapted, sampled = _both([c, g], name)
        assert adapted == sampled
