"""The official client's private names that integrations and users' tests reach into."""

import copy
import time
from unittest import mock

import pytest

import prometheus_client
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    ProcessCollector,
    Summary,
    exposition,
    generate_latest,
    metrics,
    values,
)
from prometheus_client.bridge.graphite import GraphiteBridge
from prometheus_client.decorator import getargspec
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.metrics_core import Metric
from prometheus_client.mmap_dict import _INITIAL_MMAP_SIZE, MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector


def test_registry_internals():
    assert "python_info" in REGISTRY._names_to_collectors
    assert REGISTRY._auto_describe is True
    r = CollectorRegistry()
    c = Counter("c", "h", registry=r)
    assert r._collector_to_names[c] == ["c", "c_total", "c_created"]
    assert r._names_to_collectors["c_created"] is c
    with r._lock:
        pass
    assert r._get_names(c) == ["c", "c_total", "c_created"]
    assert r._target_info == {} or r._target_info is None
    assert r._collectors_without_names == []


def test_metric_wrapper_internals():
    r = CollectorRegistry()
    c = Counter("c", "doc", ["a", "b"], registry=r)
    got = (c._name, c._documentation, c._labelnames, c._labelvalues, c._type)
    assert got == ("c", "doc", ("a", "b"), (), "counter")
    assert c._kwargs == {}
    child = c.labels("1", "2")
    assert c._metrics == {("1", "2"): child}
    with c._lock:
        pass
    assert child._is_observable() and not child._is_parent() and c._is_parent() and not c._is_observable()
    with pytest.raises(ValueError):
        c._raise_if_not_observable()
    child._value.set(5)
    assert child._value.get() == 5
    assert isinstance(child._created, float)
    assert [s.name for s in c._samples()] == ["_total", "_created"]
    assert [s.labels for s in c._multi_samples()] == [{"a": "1", "b": "2"}] * 2
    assert [s.name for s in child._child_samples()] == ["_total", "_created"]
    s = Summary("s", "h", registry=r)
    s.observe(2)
    assert (s._count.get(), s._sum.get()) == (1, 2)
    h = Histogram("h", "h", buckets=[1, 2], registry=r)
    h.observe(1.5)
    assert h._upper_bounds == [1.0, 2.0, float("inf")]
    assert [b.get() for b in h._buckets] == [0, 1, 0]
    assert h._sum.get() == 1.5
    assert Histogram.DEFAULT_BUCKETS[-1] == float("inf")
    g = Gauge("g", "h", registry=r, multiprocess_mode="livesum")
    assert g._kwargs == {"multiprocess_mode": "livesum"}
    assert Histogram("hk", "h", buckets=[1], registry=r)._kwargs == {"buckets": [1]}
    assert Enum("e", "h", states=["x"], registry=r)._kwargs == {"states": ["x"]}
    for cls in (Counter, Gauge, Summary, Histogram, Info, Enum):
        assert issubclass(cls, MetricWrapperBase)
        assert cls.__module__ == "prometheus_client.metrics"


def test_metric_init_can_be_rerun_and_child_samples_replaced():
    r = CollectorRegistry()
    c = Counter("c", "h", registry=r)
    c.inc(3)
    c._metric_init()
    assert c._value.get() == 0
    g = Gauge("g", "h", registry=r)
    g._child_samples = lambda: [metrics.Sample("", {}, 42.0)]
    assert r.get_sample_value("g") == 42.0


def test_use_created_global_and_env(monkeypatch):
    r = CollectorRegistry()
    Counter("c", "h", registry=r)
    monkeypatch.setattr(metrics, "_use_created", False)
    assert r.get_sample_value("c_created") is None
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "True")
    assert metrics._get_use_created() is False
    monkeypatch.setenv("PROMETHEUS_DISABLE_CREATED_SERIES", "no")
    assert metrics._get_use_created() is True


def test_time_time_is_looked_up_at_call(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 1234.5)
    r = CollectorRegistry()
    c = Counter("c", "h", registry=r)
    c.inc(exemplar={"t": "1"})
    assert c._created == 1234.5
    assert c._value.get_exemplar().timestamp == 1234.5


def test_value_class_is_swappable_and_module_level():
    assert values.ValueClass is values.MutexValue
    assert callable(values.get_value_class) and callable(values.close_all_multiprocess_files)
    assert callable(values.MultiProcessValue)


def test_decorator_getargspec():
    r = CollectorRegistry()
    h = Histogram("h", "h", registry=r)

    @h.time()
    def f(r):
        return r

    assert getargspec(f) == (["r"], None, None, None)


def test_bake_output_is_called_through_the_module_global():
    r = CollectorRegistry()
    app = prometheus_client.make_wsgi_app(r)
    calls = []

    def fake(registry, accept, accept_encoding, params, disable_compression):
        calls.append((registry, accept, accept_encoding, params, disable_compression))
        return "200 OK", [("Content-Type", "text/plain")], b"patched"

    started = []
    with mock.patch.object(exposition, "_bake_output", fake):
        body = app({"REQUEST_METHOD": "GET", "PATH_INFO": "/", "QUERY_STRING": "", "HTTP_ACCEPT": "x"},
                   lambda status, headers: started.append(status))
    assert b"".join(body) == b"patched" and started == ["200 OK"]
    assert calls[0][0] is r and calls[0][1] == "x"
    encoder, content_type = exposition.choose_encoder("text/plain")
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"


def test_exposition_error_path_appends_metric():
    r = CollectorRegistry()

    class Bad:
        def collect(self):
            m = Metric("bad", "h", "gauge")
            m.add_sample("bad", {}, None)
            yield m

    r.register(Bad())
    with pytest.raises(TypeError) as e:
        generate_latest(r)
    assert isinstance(e.value.args[-1], Metric) and e.value.args[-1].name == "bad"


def test_duplicate_message_prefix():
    r = CollectorRegistry()
    Counter("d", "h", registry=r)
    with pytest.raises(ValueError, match=r"^Duplicated timeseries in CollectorRegistry:"):
        Counter("d", "h", registry=r)


def test_mmap_dict_and_multiprocess_names(tmp_path):
    assert _INITIAL_MMAP_SIZE == 1 << 16
    key = mmap_key("c", "c_total", ("l",), ("x",), "C help")
    assert key == '["c", "c_total", {"l": "x"}, "C help"]'
    d = MmapedDict(str(tmp_path / "counter_123.db"))
    d.write_value(key, 3.0, 0.0)
    assert d.read_value(key) == (3.0, 0.0)
    assert list(d.read_all_values()) == [(key, 3.0, 0.0)]
    d.close()
    d.close()
    merged = list(MultiProcessCollector.merge([str(tmp_path / "counter_123.db")], accumulate=True))
    assert merged[0].samples[0].name == "c_total" and merged[0].samples[0].value == 3.0


def test_process_collector_and_graphite_knobs():
    pc = ProcessCollector(registry=None)
    pc._ticks, pc._pagesize = 100, 4096
    gb = GraphiteBridge(("127.0.0.1", 1), timeout_seconds=1, _timer=lambda: 1)
    assert gb is not None


def test_collect_results_survive_deepcopy():
    r = CollectorRegistry()
    Histogram("h", "h", ["a"], registry=r).labels("x").observe(1, {"t": "y"})
    ms = list(r.collect())
    assert copy.deepcopy(ms) == ms
