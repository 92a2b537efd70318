"""CollectorRegistry: registration, clashes, restricted views, target info, public surface."""

import importlib.metadata

import pytest

import prometheus_client
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary, core
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import DuplicateTimeseries


def test_names_of_every_type():
    r = CollectorRegistry()
    Counter("c", "h", registry=r)
    Summary("s", "h", registry=r)
    Histogram("hi", "h", registry=r)
    Info("i", "h", registry=r)
    Gauge("g", "h", registry=r)
    assert set(r._names_to_collectors) == {
        "c", "c_total", "c_created",
        "s", "s_sum", "s_count", "s_created",
        "hi", "hi_bucket", "hi_sum", "hi_count", "hi_created",
        "i", "i_info",
        "g",
    }


def test_unregister_and_reregister():
    r = CollectorRegistry()
    c = Counter("c", "h", registry=r)
    r.unregister(c)
    assert r._names_to_collectors == {} and r._collector_to_names == {}
    Counter("c", "h", registry=r)
    with pytest.raises(KeyError):
        r.unregister(c)


def test_collectors_without_describe():
    class NoDescribe:
        def collect(self):
            yield GaugeMetricFamily("nd", "h", value=1)

    plain = CollectorRegistry()
    plain.register(NoDescribe())
    plain.register(NoDescribe())  # not tracked for clashes without auto_describe
    auto = CollectorRegistry(auto_describe=True)
    auto.register(NoDescribe())
    with pytest.raises(DuplicateTimeseries):
        auto.register(NoDescribe())

    class EmptyDescribe(NoDescribe):
        def describe(self):
            return []

    auto.register(EmptyDescribe())
    assert [m.name for m in auto.collect()] == ["nd", "nd"]


def test_restricted_registry_filters_by_sample_name():
    r = CollectorRegistry(support_collectors_without_names=True)
    c = Counter("a", "h", ["l"], registry=r, unit="seconds")
    c.labels("x").inc()
    Gauge("b", "h", registry=r).set(2)
    calls = []

    class Nameless:
        def collect(self):
            calls.append(1)
            yield GaugeMetricFamily("nameless", "h", value=3)

    nameless = Nameless()
    r.register(nameless)
    restricted = list(r.restricted_registry(["a_seconds_total", "nameless"]).collect())
    assert [(m.name, m.unit, [s.name for s in m.samples]) for m in restricted] == [
        ("a_seconds", "", ["a_seconds_total"]),
        ("nameless", "", ["nameless"]),
    ]
    assert list(r.restricted_registry(["a_seconds"]).collect()) == []
    r.unregister(nameless)
    assert r._collectors_without_names == []


def test_restricted_registry_does_not_hold_lock_while_collecting():
    r = CollectorRegistry()

    class Reentrant:
        def collect(self):
            # Would deadlock if the registry lock were held while yielding.
            Gauge("made_in_collect", "h", registry=r)
            yield GaugeMetricFamily("re", "h", value=1)

        def describe(self):
            return [GaugeMetricFamily("re", "h")]

    r.register(Reentrant())
    assert [m.name for m in r.restricted_registry(["re"]).collect()] == ["re"]


def test_target_info():
    r = CollectorRegistry(target_info={"env": "prod"})
    assert r.get_target_info() == {"env": "prod"}
    metrics = list(r.collect())
    assert metrics[0].name == "target" and metrics[0].type == "info"
    assert r.get_sample_value("target_info", {"env": "prod"}) == 1
    assert [m.name for m in r.restricted_registry(["target_info"]).collect()] == ["target"]
    r.set_target_info(None)
    assert list(r.collect()) == []
    Gauge("target_info", "h", registry=r)


def test_get_sample_value_missing():
    r = CollectorRegistry()
    assert r.get_sample_value("nothing") is None


def test_public_surface_is_pinned():
    assert prometheus_client.__all__ == (
        "CollectorRegistry", "REGISTRY", "Metric", "Counter", "Gauge", "Summary", "Histogram", "Info", "Enum",
        "enable_created_metrics", "disable_created_metrics", "CONTENT_TYPE_LATEST", "CONTENT_TYPE_PLAIN_0_0_4",
        "CONTENT_TYPE_PLAIN_1_0_0", "generate_latest", "MetricsHandler", "make_wsgi_app", "make_asgi_app",
        "start_http_server", "start_wsgi_server", "write_to_textfile", "push_to_gateway", "pushadd_to_gateway",
        "delete_from_gateway", "instance_ip_grouping_key", "ProcessCollector", "PROCESS_COLLECTOR",
        "PlatformCollector", "PLATFORM_COLLECTOR", "GCCollector", "GC_COLLECTOR",
    )
    for name in prometheus_client.__all__:
        assert hasattr(prometheus_client, name), name
    assert sorted(core.__all__) == list(core.__all__)
    for name in core.__all__:
        assert hasattr(core, name), name
    for sub in ("exposition", "gc_collector", "metrics", "metrics_core", "platform_collector",
                "process_collector", "registry"):
        assert hasattr(prometheus_client, sub)


def test_distribution_metadata():
    """The version is 0.27.0.dev0; a pip install of this checkout reports it. Metadata that
    pip did not install (a stale ``src/*.egg-info`` found through ``pythonpath``) is ignored:
    the tests behave the same with or without it (the wheel's metadata: test_packaging)."""
    import re
    from pathlib import Path

    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert re.search(r'^version = "([^"]+)"', pyproject, re.M).group(1) == "0.27.0.dev0"
    try:
        dist = importlib.metadata.distribution("prometheus-client")
    except importlib.metadata.PackageNotFoundError:
        return  # run from src/ without an install
    if dist.read_text("direct_url.json") is not None:  # installed by pip (editable in scripts/test)
        assert dist.version == "0.27.0.dev0"


def test_metric_equality_and_repr():
    a = Metric("m", "h", "untyped")
    assert a.type == "unknown"
    a.add_sample("m", {}, 1)
    b = Metric("m", "h", "unknown")
    b.add_sample("m", {}, 1)
    assert a == b
    assert repr(a).startswith("Metric(m, h, unknown, , [Sample(name='m'")


def test_import_is_lean():
    """Instrumenting code pays for no transport: they load on first use (PEP 562)."""
    import subprocess
    import sys

    code = (
        "import sys, prometheus_client\n"
        "heavy = ('asyncio', 'http.server', 'urllib.request', 'ssl', 'inspect', 'gzip')\n"
        "heavy = [m for m in heavy if m in sys.modules]\n"
        "print(','.join(heavy))\n"
        "prometheus_client.start_http_server\n"
        "from prometheus_client.exposition import push_to_gateway, MetricsHandler\n"
        "print('http.server' in sys.modules, 'urllib.request' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["", "True True"]
