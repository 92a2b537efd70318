"""Issue #12: a bad call changes nothing, a bad value can never take the endpoint down.

Rows 1-3: every failed call leaves the metric exactly as it was (count, sum, buckets, and
an exposition that promtool and our parser still accept); values that cannot be encoded
are refused at the call; the scrape skips what slipped through, over HTTP, in every format.
"""

import logging
import math
import urllib.request
from decimal import Decimal
from fractions import Fraction
from typing import Any, Dict, Iterator, List

import numpy as np
import pytest

from peers import free_ports, promtool_check_metrics
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    generate_latest,
)
from prometheus_client._formats import skipped as _skipped
from prometheus_client.exposition import start_http_server
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest as om_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.protobuf import protobuf_to_metric_families
from prometheus_client.samples import Exemplar, Sample

LONE = "\ud800"
BUCKETS = [1.0, 2.0, 5.0]


def _state(registry: CollectorRegistry) -> Dict[str, float]:
    """Every sample except _created, by name and labels."""
    out = {}
    for family in registry.collect():
        for s in family.samples:
            if not s.name.endswith("_created"):
                out[s.name + repr(sorted(s.labels.items()))] = s.value
    return out


def _still_valid(registry: CollectorRegistry) -> None:
    text = generate_latest(registry)
    list(text_string_to_metric_families(text.decode()))
    list(om_parse(om_latest(registry).decode()))
    rc, msg = promtool_check_metrics(text)
    assert rc in (0, 3), msg  # 3 = lint findings only; 1 would be a parse error


def _metrics(registry: CollectorRegistry) -> Dict[str, Any]:
    return {
        "c": Counter("hc", "h", registry=registry),
        "g": Gauge("hg", "h", registry=registry),
        "s": Summary("hs", "h", registry=registry),
        "h": Histogram("hh", "h", buckets=BUCKETS, registry=registry),
    }


CALLS = [
    ("c", "inc"), ("g", "inc"), ("g", "dec"), ("g", "set"), ("s", "observe"), ("h", "observe"),
]

# -- row 1: numbers -----------------------------------------------------------------------

ACCEPTED = [
    3, True, 2.5, Fraction(1, 4), Decimal("1.5"), Decimal("NaN"),
    np.float64(1.5), np.float32(0.25), np.float16(2.0), np.int64(3), np.uint8(7), np.bool_(True),
]


@pytest.mark.parametrize("which,method", CALLS)
@pytest.mark.parametrize("amount", ACCEPTED, ids=lambda a: f"{type(a).__name__}({a})")
def test_every_real_number_is_accepted_and_stored_as_float(which: str, method: str, amount: Any) -> None:
    registry = CollectorRegistry()
    metric = _metrics(registry)[which]
    getattr(metric, method)(amount)
    expected = float(amount) * (-1 if method == "dec" else 1)
    for family in registry.collect():
        for s in family.samples:
            assert type(s.value) is float, (s, type(s.value))  # numpy types never leak in
    if which == "h":
        total = registry.get_sample_value("hh_sum")
        count = registry.get_sample_value("hh_count")
        assert count == (0 if math.isnan(expected) else 1) or (count == 0 and math.isnan(expected))
    elif which == "s":
        total = registry.get_sample_value("hs_sum")
        assert registry.get_sample_value("hs_count") == 1
    else:
        total = registry.get_sample_value("hc_total" if which == "c" else "hg")
    assert total == expected or (math.isnan(expected) and math.isnan(total))  # type: ignore[arg-type]


REFUSED = [
    ("1", TypeError), (b"1", TypeError), (None, TypeError), (1j, TypeError), (np.complex64(1), TypeError),
    (10**400, OverflowError), (Decimal("1e400"), OverflowError), (Fraction(10**400, 3), OverflowError),
    (Decimal("sNaN"), ValueError), (object(), TypeError),
]


@pytest.mark.parametrize("which,method", CALLS)
@pytest.mark.parametrize("amount,error", REFUSED, ids=lambda a: type(a).__name__)
def test_refused_amount_changes_nothing(which: str, method: str, amount: Any, error: type) -> None:
    registry = CollectorRegistry()
    metrics = _metrics(registry)
    metric = metrics[which]
    getattr(metric, method)(1)  # some state to keep
    if which == "h":
        metric.observe(3, exemplar={"t": "1"})
    before = _state(registry)
    if method == "set" and amount in ("1", b"1"):
        metric.set(amount)  # Gauge.set parses numeric strings, as the official client does
        assert registry.get_sample_value("hg") == 1.0
        return
    with pytest.raises(error, match=repr(metric._name)):
        getattr(metric, method)(amount)
    assert _state(registry) == before
    _still_valid(registry)


def test_histogram_overflow_leaves_buckets_count_and_sum() -> None:
    registry = CollectorRegistry()
    h = Histogram("ho", "h", buckets=BUCKETS, registry=registry)
    h.observe(1.5)
    for bad in (Decimal("1e400"), 10**400):
        with pytest.raises(OverflowError, match="'ho'"):
            h.observe(bad)
    assert registry.get_sample_value("ho_count") == 1
    assert registry.get_sample_value("ho_sum") == 1.5
    assert [registry.get_sample_value("ho_bucket", {"le": le}) for le in ("1.0", "2.0", "5.0", "+Inf")] == [
        0, 1, 1, 1]
    _still_valid(registry)


def test_summary_with_quantiles_and_native_histogram_refuse_atomically() -> None:
    registry = CollectorRegistry()
    s = Summary("sq", "h", objectives={0.5: 0.05}, registry=registry)
    h = Histogram("nh", "h", native_histogram_bucket_factor=1.1, registry=registry)
    s.observe(2)
    h.observe(2)
    for bad in ("1", None, Decimal("1e999")):
        with pytest.raises((TypeError, OverflowError)):
            s.observe(bad)
        with pytest.raises((TypeError, OverflowError)):
            h.observe(bad)
    assert registry.get_sample_value("sq_count") == 1 and registry.get_sample_value("sq", {"quantile": "0.5"}) == 2
    assert registry.get_sample_value("nh_count") == 1 and registry.get_sample_value("nh_sum") == 2


BAD_EXEMPLARS = [
    {"a": "x" * 128},  # too long
    {"": "x"},  # empty name
    {"__reserved": "x"},
    {"ok": LONE},  # unencodable value
    {LONE: "x"},  # unencodable name
    {"ok": 5},  # not a str
]


@pytest.mark.parametrize("exemplar", BAD_EXEMPLARS, ids=range(len(BAD_EXEMPLARS)))
def test_invalid_exemplar_rejected_before_the_value_moves(exemplar: Dict[str, Any]) -> None:
    registry = CollectorRegistry()
    c = Counter("ec", "h", registry=registry)
    h = Histogram("eh", "h", buckets=BUCKETS, registry=registry)
    c.inc(1, exemplar={"t": "a"})
    h.observe(1.5, exemplar={"t": "b"})
    before = _state(registry)
    ex_before = (c._value.get_exemplar(), list(h._exemplars or []))
    with pytest.raises((ValueError, TypeError)):
        c.inc(1, exemplar=exemplar)
    with pytest.raises((ValueError, TypeError)):
        h.observe(1.5, exemplar=exemplar)
    assert _state(registry) == before
    assert (c._value.get_exemplar(), list(h._exemplars or [])) == ex_before
    _still_valid(registry)


def test_locked_value_path_is_atomic_too(monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import values

    monkeypatch.setattr(values, "ValueClass", values._LockedValue)
    registry = CollectorRegistry()
    h = Histogram("lh", "h", buckets=BUCKETS, registry=registry)
    h.observe(1.5)
    with pytest.raises(TypeError):
        h.observe(1j)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        h.observe(1.0, exemplar={"": "x"})
    assert registry.get_sample_value("lh_count") == 1 and registry.get_sample_value("lh_sum") == 1.5


# -- row 2: values that cannot be encoded ---------------------------------------------------


def test_lone_surrogates_refused_at_the_call_naming_metric_and_position() -> None:
    registry = CollectorRegistry()
    c = Counter("uc", "h", ["method", "path"], registry=registry)
    c.labels("GET", "/").inc()
    with pytest.raises(ValueError, match=r"label value 1 \('path'\) of metric 'uc'.*index 2"):
        c.labels("GET", "/a" + LONE)
    with pytest.raises(ValueError, match=r"label value 0 \('method'\) of metric 'uc'"):
        c.labels(method=LONE, path="/")
    assert list(c._metrics) == [("GET", "/")]
    with pytest.raises(ValueError, match=r"HELP text of metric 'uh'.*index 4"):
        Gauge("uh", "help" + LONE, registry=registry)
    assert "uh" not in registry._names_to_collectors
    i = Info("ui", "h", registry=registry)
    i.info({"version": "1"})
    with pytest.raises(ValueError, match=r"Info label value for 'v' of metric 'ui'"):
        i.info({"v": LONE})
    with pytest.raises(ValueError, match=r"Info label name of metric 'ui'"):
        i.info({LONE: "x"})
    with pytest.raises(ValueError, match=r"name cannot be empty.*'ui'"):
        i.info({"": "x"})
    assert i._value == {"version": "1"}
    with pytest.raises(ValueError, match=r"Enum state 1 of metric 'ue'"):
        Enum("ue", "h", states=["a", "b" + LONE], registry=registry)
    with pytest.raises(ValueError, match=r"exemplar label value for 't' of metric 'uc'"):
        c.labels("GET", "/").inc(exemplar={"t": LONE})
    with pytest.raises(ValueError, match="lone surrogate"):
        Counter("bad" + LONE, "h", registry=registry)
    with pytest.raises(ValueError, match="lone surrogate"):
        Counter("lab", "h", ["a" + LONE], registry=registry)
    assert registry.get_sample_value("uc_total", {"method": "GET", "path": "/"}) == 1
    _still_valid(registry)


FAMILIES = [
    lambda: GaugeMetricFamily("f", "h", labels=["l"]).add_metric([LONE], 1),
    lambda: CounterMetricFamily("f", "h", labels=["l"]).add_metric([LONE], 1),
    lambda: CounterMetricFamily("f", "h", labels=["l"]).add_metric(["x"], 1, exemplar=Exemplar({"t": LONE}, 1)),
    lambda: UnknownMetricFamily("f", "h", labels=["l"]).add_metric([LONE], 1),
    lambda: SummaryMetricFamily("f", "h", labels=["l"]).add_metric([LONE], 1, 1),
    lambda: HistogramMetricFamily("f", "h", labels=["l"]).add_metric([LONE], [("+Inf", 1)], 1),
    lambda: HistogramMetricFamily("f", "h", labels=["l"]).add_metric(
        ["x"], [("+Inf", 1, Exemplar({"t": LONE}, 1))], 1),
    lambda: GaugeHistogramMetricFamily("f", "h", labels=["l"]).add_metric([LONE], [("+Inf", 1)], 1),
    lambda: InfoMetricFamily("f", "h", labels=["l"]).add_metric(["x"], {"k": LONE}),
    lambda: StateSetMetricFamily("f", "h", labels=["l"]).add_metric(["x"], {LONE: True}),
    lambda: StateSetMetricFamily("f", "h", labels=["l"]).add_metric([LONE], {"a": True}),
    lambda: GaugeMetricFamily("f", "h" + LONE),
    lambda: GaugeMetricFamily("f", "h", labels=[LONE]).add_metric(["x"], 1),
    lambda: GaugeMetricFamily("f", "h", labels=[""]).add_metric(["x"], 1),
    lambda: Metric("f", "h", "gauge").add_sample("f", {"l": LONE}, 1),
]


@pytest.mark.parametrize("build", FAMILIES, ids=range(len(FAMILIES)))
def test_custom_collector_families_refuse_unencodable_values(build: Any) -> None:
    with pytest.raises(ValueError, match="'f'"):
        build()


class _BadCollector:
    """A custom collector that bypasses add_metric: one unencodable series among good ones."""

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily("cc_gauge", "good and bad", labels=["l"])
        g.add_metric(["good"], 1)
        g.samples.append(Sample("cc_gauge", {"l": "bad" + LONE}, 2.0))
        g.add_metric(["also_good"], 3)
        yield g
        h = Metric("cc_badhelp", "help", "gauge")
        h.documentation += LONE  # set after the constructor's check
        h.samples.append(Sample("cc_badhelp", {}, 4.0))
        yield h
        yield GaugeMetricFamily("cc_after", "after", value=5)


@pytest.fixture
def bad_registry() -> CollectorRegistry:
    registry = CollectorRegistry()
    c = Counter("ok_requests", "fine", ["code"], registry=registry)
    c.labels("200").inc(7)
    # an unencodable child slipped past labels() (code that pokes at internals)
    c._metrics[(LONE,)] = c._new_child((LONE,))
    registry.register(_BadCollector())
    Gauge("ok_last", "fine", registry=registry).set(9)
    _skipped.reset()
    return registry


def _expect_good(families: List[Metric]) -> None:
    got = {(s.name, tuple(sorted(s.labels.items())), s.value) for f in families for s in f.samples
           if not s.name.endswith("_created")}
    assert ("ok_requests_total", (("code", "200"),), 7.0) in got
    assert ("cc_gauge", (("l", "good"),), 1.0) in got
    assert ("cc_gauge", (("l", "also_good"),), 3.0) in got
    assert ("cc_badhelp", (), 4.0) in got  # a bad HELP loses the HELP, not the series
    assert ("cc_after", (), 5.0) in got
    assert ("ok_last", (), 9.0) in got
    assert not any(LONE in repr(x) for x in got)


ACCEPTS = {
    "text": "text/plain; version=0.0.4",
    "openmetrics": "application/openmetrics-text; version=1.0.0",
    "openmetrics-2.0": "application/openmetrics-text; version=2.0.0",
    "protobuf": "application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited",
}


@pytest.fixture
def served(bad_registry: CollectorRegistry) -> Iterator[str]:
    port = free_ports(1)[0]
    server, thread = start_http_server(port, addr="127.0.0.1", registry=bad_registry)
    try:
        yield f"http://127.0.0.1:{port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


@pytest.mark.parametrize("fmt", sorted(ACCEPTS))
def test_scrape_over_http_skips_only_the_unencodable_series(
    served: str, fmt: str, caplog: pytest.LogCaptureFixture
) -> None:
    req = urllib.request.Request(served, headers={"Accept": ACCEPTS[fmt]})
    with caplog.at_level(logging.WARNING, logger="prometheus_client"):
        with urllib.request.urlopen(req, timeout=30) as resp:
            status, body, ctype = resp.status, resp.read(), resp.headers["Content-Type"]
    assert status == 200
    if fmt == "protobuf":
        assert ctype.startswith("application/vnd.google.protobuf")
        families = list(protobuf_to_metric_families(body))
    elif fmt == "openmetrics":
        assert ctype.startswith("application/openmetrics-text")
        families = list(om_parse(body.decode()))
    elif fmt == "openmetrics-2.0":
        assert "version=2.0.0" in ctype
        families = list(om_parse(body.decode(), version="2.0.0"))
    else:
        assert ctype.startswith("text/plain")
        families = list(text_string_to_metric_families(body.decode()))
        rc, msg = promtool_check_metrics(body)
        assert rc in (0, 3), msg
    _expect_good(families)
    # the child and the custom series: 2 samples (+ the child's _created where it is a sample)
    skipped = REGISTRY.get_sample_value(_skipped.NAME + "_total", {"format": fmt.split("-")[0]})
    assert skipped is not None and skipped >= 2
    assert any("cannot be encoded" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records)


def test_skipped_counter_absent_until_something_is_skipped() -> None:
    _skipped.reset()
    assert _skipped.NAME not in generate_latest(REGISTRY).decode()
    assert REGISTRY.get_sample_value(_skipped.NAME + "_total", {"format": "text"}) is None


# -- row 3: names and buckets --------------------------------------------------------------


def test_empty_label_name_rejected() -> None:
    registry = CollectorRegistry()
    for cls in (Counter, Gauge, Summary, Histogram, Info):
        with pytest.raises(ValueError, match="empty"):
            cls("m_" + cls.__name__.lower(), "h", ["ok", ""], registry=registry)
    assert list(registry.collect()) == []


@pytest.mark.parametrize("buckets,match", [
    ([1, 1, 2], r"distinct, \[1.0\] repeated"),
    ([1, 2, 2, 2, 3], r"\[2.0\] repeated"),
    ([1, float("inf"), float("inf")], r"\[inf\] repeated"),
    ([1, float("nan"), 2], "NaN"),
    (["nan"], "NaN"),
    ([2, 1], "not in sorted order"),
])
def test_bad_bucket_lists_rejected(buckets: List[Any], match: str) -> None:
    registry = CollectorRegistry()
    with pytest.raises(ValueError, match=match + ".*'hb'"):
        Histogram("hb", "h", buckets=buckets, registry=registry)
    assert list(registry.collect()) == []
