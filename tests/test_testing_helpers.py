"""prometheus_client.testing: to_float, collect_and_count, collect_and_compare, fresh_registry,
the opt-in pytest plugin, and that ``import prometheus_client`` does not load any of it."""

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.testing import collect_and_compare, collect_and_count, fresh_registry, to_float
from strategies import expo_floats, expo_label_values

REPO = Path(__file__).resolve().parent.parent


# -- to_float ---------------------------------------------------------------------------------
def test_to_float_of_unlabelled_metrics_and_children() -> None:
    r = CollectorRegistry()
    c = Counter("jobs", "Jobs.", registry=r)
    c.inc(3)
    g = Gauge("temp_celsius", "T.", ["room"], registry=r)
    g.labels("kitchen").set(-1.5)
    g.labels("hall").set(20)
    assert to_float(c) == 3.0
    assert to_float(g.labels("kitchen")) == -1.5
    assert to_float(g.labels(room="hall")) == 20.0
    g.labels("kitchen").set(float("nan"))
    assert math.isnan(to_float(g.labels("kitchen")))
    assert to_float(Info("build", "B.", registry=r)) == 1.0


def test_to_float_of_a_labelled_parent_with_one_child() -> None:
    c = Counter("jobs", "Jobs.", ["kind"], registry=None)
    with pytest.raises(ValueError, match="exposes 0"):
        to_float(c)
    c.labels("a").inc(2)
    assert to_float(c) == 2.0


def test_to_float_names_the_series_when_there_are_several() -> None:
    c = Counter("jobs", "Jobs.", ["kind"], registry=None)
    c.labels("a").inc()
    c.labels("b").inc()
    with pytest.raises(ValueError, match=r"counter 'jobs' exposes 2: jobs_total\{kind=\"a\"\}, "
                                         r"jobs_total\{kind=\"b\"\} \(pick a child with \.labels"):
        to_float(c)
    h = Histogram("lat_seconds", "L.", buckets=[1], registry=None)
    with pytest.raises(ValueError, match="histogram 'lat_seconds' exposes 4"):
        to_float(h)
    with pytest.raises(TypeError, match="collect"):
        to_float(3)  # type: ignore[arg-type]


# -- collect_and_count ------------------------------------------------------------------------
def test_collect_and_count_counts_series_not_samples() -> None:
    r = CollectorRegistry()
    h = Histogram("lat_seconds", "L.", ["path"], registry=r)
    s = Summary("size_bytes", "S.", registry=r)
    c = Counter("jobs", "J.", ["kind"], registry=r)
    e = Enum("state", "S.", states=["a", "b", "c"], registry=r)
    assert collect_and_count(h) == 0
    h.labels("/a").observe(1)
    h.labels("/b").observe(1)
    s.observe(1)
    c.labels("x").inc()
    assert collect_and_count(h) == 2
    assert collect_and_count(s) == 1
    assert collect_and_count(e) == 1
    assert collect_and_count(r) == 5
    assert collect_and_count(r, "jobs") == collect_and_count(r, "jobs_total") == 1
    assert collect_and_count(r, "lat_seconds", "jobs_total") == 3


def test_collect_and_count_rejects_unknown_names() -> None:
    r = CollectorRegistry()
    Counter("jobs", "J.", registry=r)
    with pytest.raises(ValueError, match=r"no metric named 'jbos' in CollectorRegistry \(metrics: jobs\)"):
        collect_and_count(r, "jbos")


# -- collect_and_compare ----------------------------------------------------------------------
@pytest.fixture
def requests_registry() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("http_requests", "Requests handled.", ["method", "code"], registry=r)
    c.labels("get", "200").inc(3)
    c.labels("post", "500").inc()
    g = Gauge("in_flight", "In flight.", registry=r)
    g.set(2)
    return r


def test_compare_passes_order_insensitive_ignoring_created(requests_registry: CollectorRegistry) -> None:
    collect_and_compare(requests_registry, """
        # HELP in_flight In flight.
        # TYPE in_flight gauge
        in_flight 2
        http_requests_total{code="500",method="post"} 1
        # TYPE http_requests_total counter
        http_requests_total{method="get",code="200"} 3.0
    """.replace("\n        ", "\n"))
    # only the families named, which may be given with or without _total
    collect_and_compare(requests_registry, 'http_requests_total{method="get",code="200"} 3\n'
                        'http_requests_total{method="post",code="500"} 1\n', "http_requests")
    collect_and_compare(requests_registry, "in_flight 2\n", "in_flight")
    collect_and_compare(requests_registry, b"in_flight 2\n", "in_flight")


def test_compare_reports_each_differing_series(requests_registry: CollectorRegistry) -> None:
    expected = (
        "# HELP http_requests_total Requests served.\n"
        "# TYPE http_requests_total counter\n"
        'http_requests_total{method="get",code="200"} 4\n'
        'http_requests_total{method="put",code="200"} 1\n'
        "# TYPE in_flight counter\n"
    )
    with pytest.raises(AssertionError) as info:
        collect_and_compare(requests_registry, expected)
    assert str(info.value) == "\n".join([
        "CollectorRegistry differs from the expected text in 6 place(s):",
        "  http_requests: HELP expected 'Requests served.', got 'Requests handled.'",
        "  in_flight: TYPE expected counter, got gauge",
        '  http_requests_total{code="200",method="get"}: expected 4.0, got 3.0',
        '  http_requests_total{code="200",method="put"}: missing, expected 1.0',
        '  http_requests_total{code="500",method="post"}: not expected, got 1.0',
        "  in_flight: not expected, got 2.0",
    ])


def test_compare_created_only_when_asked() -> None:
    c = Counter("jobs", "J.", registry=None)
    c.inc()
    created = c._created  # type: ignore[attr-defined]
    collect_and_compare(c, "jobs_total 1\n")
    with pytest.raises(AssertionError, match="jobs_created: not expected"):
        collect_and_compare(c, "jobs_total 1\n", include_created=True)
    collect_and_compare(c, f"jobs_total 1\njobs_created {created!r}\n", include_created=True)
    # a gauge that merely ends in _created is an ordinary family
    g = Gauge("items_created", "Items.", registry=None)
    with pytest.raises(AssertionError, match="items_created: not expected, got 0.0"):
        collect_and_compare(g, "")


def test_compare_histograms_and_nan() -> None:
    h = Histogram("lat_seconds", "L.", buckets=[0.5, 1], registry=None)
    h.observe(0.7)
    collect_and_compare(h, """# TYPE lat_seconds histogram
lat_seconds_bucket{le="0.5"} 0
lat_seconds_bucket{le="1.0"} 1
lat_seconds_bucket{le="+Inf"} 1
lat_seconds_sum 0.7
lat_seconds_count 1
""")
    with pytest.raises(AssertionError, match=r'lat_seconds_bucket\{le="0.5"\}: expected 1.0, got 0.0'):
        collect_and_compare(h, 'lat_seconds_bucket{le="0.5"} 1\n', "lat_seconds")
    g = Gauge("g", "G.", registry=None)
    g.set(float("nan"))
    collect_and_compare(g, "g NaN\n")


def test_compare_openmetrics_expected_text(requests_registry: CollectorRegistry) -> None:
    collect_and_compare(requests_registry, """# TYPE http_requests counter
# HELP http_requests Requests handled.
http_requests_total{method="get",code="200"} 3
http_requests_total{method="post",code="500"} 1
# EOF
""", "http_requests")
    with pytest.raises(AssertionError, match="TYPE expected gauge, got counter"):
        collect_and_compare(requests_registry, "# TYPE http_requests gauge\n# EOF\n", "http_requests")


def test_compare_custom_collector_and_bad_expected_text() -> None:
    class Custom:
        def collect(self):  # type: ignore[no-untyped-def]
            yield GaugeMetricFamily("custom", "C.", value=7)

    collect_and_compare(Custom(), "custom 7\n")
    with pytest.raises(AssertionError, match="Custom differs"):
        collect_and_compare(Custom(), "custom 8\n")
    with pytest.raises(ValueError, match="expected text does not parse.*line 1"):
        collect_and_compare(Custom(), "custom{ 8\n")


# -- fresh_registry ---------------------------------------------------------------------------
def test_fresh_registry_swaps_the_default_registry_and_restores_it() -> None:
    before = generate_latest()
    names_before = dict(REGISTRY._names_to_collectors)
    with fresh_registry() as registry:
        assert registry is REGISTRY
        assert generate_latest() == b""
        c = Counter("fresh_jobs", "Jobs.")  # default registry=REGISTRY: lands in the empty one
        c.inc()
        assert REGISTRY.get_sample_value("fresh_jobs_total") == 1.0
        with fresh_registry():  # nests
            assert REGISTRY.get_sample_value("fresh_jobs_total") is None
            Counter("fresh_jobs", "Jobs.")  # no clash with the outer block
        assert REGISTRY.get_sample_value("fresh_jobs_total") == 1.0
    assert REGISTRY._names_to_collectors == names_before
    assert "fresh_jobs" not in REGISTRY._names_to_collectors
    assert generate_latest().count(b"\n# TYPE") == before.count(b"\n# TYPE")


def test_fresh_registry_restores_after_an_exception_and_keeps_settings() -> None:
    r = CollectorRegistry(auto_describe=True, get_or_create=True)
    r.set_target_info({"env": "prod"})
    Gauge("kept", "K.", registry=r)
    with pytest.raises(RuntimeError):
        with fresh_registry(r):
            assert r.get_or_create and r._auto_describe
            assert r.get_target_info() in ({}, None)
            assert list(r.collect()) == []
            raise RuntimeError("boom")
    assert r.get_target_info() == {"env": "prod"}
    assert "kept" in r._names_to_collectors


# -- the opt-in pytest plugin -----------------------------------------------------------------
PLUGIN_TEST = """
    from prometheus_client import Counter, REGISTRY
    from prometheus_client.testing import to_float

    def test_one(prometheus_registry):
        assert prometheus_registry is REGISTRY
        c = Counter("plugin_jobs", "Jobs.")
        c.inc()
        assert to_float(c) == 1.0

    def test_two(prometheus_registry):
        Counter("plugin_jobs", "Jobs.")  # would clash without a fresh registry per test
"""


def _run_pytest(tmp_path: Path, *args: str) -> "subprocess.CompletedProcess[str]":
    (tmp_path / "test_plugin_use.py").write_text(textwrap.dedent(PLUGIN_TEST))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args, str(tmp_path)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
    )


def test_plugin_fixture_when_enabled(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text('pytest_plugins = ["prometheus_client.testing.pytest_plugin"]\n')
    p = _run_pytest(tmp_path)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "2 passed" in p.stdout


def test_plugin_is_never_auto_loaded(tmp_path: Path) -> None:
    p = _run_pytest(tmp_path)
    assert p.returncode != 0
    assert "fixture 'prometheus_registry' not found" in p.stdout
    assert "pytest11" not in (REPO / "pyproject.toml").read_text()


def test_import_prometheus_client_does_not_load_testing() -> None:
    code = "import sys, prometheus_client; print(sorted(m for m in sys.modules if 'testing' in m or 'pytest' in m))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_public_surface() -> None:
    import prometheus_client.testing as testing

    assert testing.__all__ == [
        "Finding", "collect_and_compare", "collect_and_count", "fresh_registry", "get_or_create", "lint", "to_float",
    ]
    for name in testing.__all__:
        assert getattr(testing, name).__module__.startswith("prometheus_client.")


# -- property: a collector equals its own exposition; a changed value is named ---------------
@settings(max_examples=60, deadline=None)
@given(
    st.dictionaries(expo_label_values, expo_floats, min_size=1, max_size=4),
    st.lists(st.floats(0, 10), max_size=5),
    st.booleans(),
    st.data(),
)
def test_compare_against_own_exposition_and_a_changed_value(
    gauge_values: Dict[str, float], observations: List[float], openmetrics: bool, data: st.DataObject,
) -> None:
    from prometheus_client.openmetrics.exposition import generate_latest as generate_om
    from prometheus_client.parser import text_string_to_metric_families
    from prometheus_client.utils import floatToGoString

    r = CollectorRegistry()
    g = Gauge("things", "Things.", ["name"], registry=r)
    for name, value in gauge_values.items():
        g.labels(name).set(value)
    h = Histogram("lat_seconds", "Latency.", buckets=[1, 5], registry=r)
    for o in observations:
        h.observe(o)
    text = (generate_om(r) if openmetrics else generate_latest(r)).decode()
    collect_and_compare(r, text)
    collect_and_compare(r, text, "things")

    # change one gauge sample of the text-format rendering; the message names that series
    name = data.draw(st.sampled_from(sorted(gauge_values)))
    old = g.labels(name)._value.get()
    new = 1.0 if old != 1.0 else 2.0
    lines = []
    for fam in text_string_to_metric_families(generate_latest(r).decode()):
        for s in fam.samples:
            value = new if (s.name == "things" and s.labels == {"name": name}) else s.value
            escaped = {k: v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for k, v in s.labels.items()}
            labels = ",".join(f'{k}="{v}"' for k, v in escaped.items())
            lines.append(f"{s.name}{{{labels}}} {floatToGoString(value)}")
    escaped_name = name.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
    with pytest.raises(AssertionError) as info:
        collect_and_compare(r, "\n".join(lines) + "\n")
    assert str(info.value).split("\n")[1:] == [
        f'  things{{name="{escaped_name}"}}: expected {floatToGoString(new)}, got {floatToGoString(old)}'
    ]


def test_compare_message_escapes_odd_label_values() -> None:
    g = Gauge("things", "T.", ["name"], registry=None)
    g.labels('a"\n\x1e\\').set(1)
    with pytest.raises(AssertionError) as info:
        collect_and_compare(g, "")
    assert str(info.value).split("\n")[1:] == ['  things{name="a\\"\\n\x1e\\\\"}: not expected, got 1.0']
