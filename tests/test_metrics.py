"""Metric objects: behaviour, labels, the official client's private names."""

import asyncio
import inspect
import time

import pytest

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
    metrics,
    values,
)
from prometheus_client.decorator import getargspec
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.samples import Exemplar, Sample


@pytest.fixture
def registry() -> CollectorRegistry:
    return CollectorRegistry()


def test_counter_basics(registry):
    c = Counter("c_total", "help", registry=registry)
    assert registry.get_sample_value("c_total") == 0
    c.inc()
    c.inc(1.6)
    assert registry.get_sample_value("c_total") == 2.6
    assert c._value.get() == 2.6
    assert isinstance(registry.get_sample_value("c_created"), float)
    c.reset()
    assert registry.get_sample_value("c_total") == 0
    assert repr(c) == "prometheus_client.metrics.Counter(c)"
    assert str(c) == "counter:c"
    assert isinstance(c, MetricWrapperBase)


def test_counter_unit_and_names(registry):
    Counter("requests", "h", unit="total", registry=registry)
    names = set(registry._names_to_collectors)
    assert {"requests_total", "requests_total_total", "requests_total_created"} <= names
    c = Counter("x", "h", namespace="ns", subsystem="sub", unit="bytes", registry=registry)
    assert c._name == "ns_sub_x_bytes"


def test_counter_exemplar(registry, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 123.0)
    c = Counter("ce", "h", registry=registry)
    c.inc(2, exemplar={"trace_id": "abc"})
    metric = list(registry.collect())[0]
    assert metric.samples[0] == Sample("ce_total", {}, 2.0, None, Exemplar({"trace_id": "abc"}, 2, 123.0))
    assert metric.samples[1] == Sample("ce_created", {}, 123.0, None, None)


def test_count_exceptions(registry):
    c = Counter("exc", "h", registry=registry)

    @c.count_exceptions(ValueError)
    def f(x, y=2):
        raise ValueError

    with pytest.raises(ValueError):
        f(1)
    with pytest.raises(TypeError):
        with c.count_exceptions(ValueError):
            raise TypeError
    with c.count_exceptions():
        pass
    assert c._value.get() == 1
    assert getargspec(f) == (["x", "y"], None, None, (2,))


def test_gauge(registry):
    g = Gauge("g", "help", registry=registry)
    g.inc()
    g.dec(10)
    g.set(4.2)
    assert registry.get_sample_value("g") == 4.2
    g.set_to_current_time()
    assert abs(registry.get_sample_value("g") - time.time()) < 60

    @g.track_inprogress()
    def f():
        assert g._value.get() == 1
        return 7

    g.set(0)
    assert f() == 7
    with g.track_inprogress():
        assert g._value.get() == 1
    assert g._value.get() == 0
    with g.time():
        pass
    assert g._value.get() >= 0
    d = {}
    g.set_function(lambda: len(d))
    d["a"] = 1
    assert registry.get_sample_value("g") == 1


def test_gauge_mostrecent_modes(registry):
    g = Gauge("gm", "h", registry=registry, multiprocess_mode="mostrecent")
    with pytest.raises(RuntimeError, match="inc must not be used with the mostrecent mode"):
        g.inc()
    with pytest.raises(RuntimeError, match="dec must not be used with the mostrecent mode"):
        g.dec()
    g.set(3)
    assert g._value.get() == 3
    with pytest.raises(ValueError, match="Invalid multiprocess mode: bogus"):
        Gauge("gb", "h", registry=registry, multiprocess_mode="bogus")
    assert "gb" not in registry._names_to_collectors


def test_summary(registry):
    s = Summary("s", "help", registry=registry)
    s.observe(4.7)
    s.observe(-1)
    assert registry.get_sample_value("s_count") == 2
    assert registry.get_sample_value("s_sum") == 3.7
    assert s._count.get() == 2 and s._sum.get() == 3.7

    @s.time()
    def f():
        pass

    f()
    with s.time() as t:
        pass
    assert t.duration is not None and t.duration >= 0
    assert registry.get_sample_value("s_count") == 4


def test_histogram(registry):
    h = Histogram("h", "help", registry=registry)
    assert h._upper_bounds == list(Histogram.DEFAULT_BUCKETS)
    h.observe(0.3)
    h.observe(4.7)
    h.observe(100)
    assert registry.get_sample_value("h_bucket", {"le": "0.25"}) == 0
    assert registry.get_sample_value("h_bucket", {"le": "0.5"}) == 1
    assert registry.get_sample_value("h_bucket", {"le": "5.0"}) == 2
    assert registry.get_sample_value("h_bucket", {"le": "+Inf"}) == 3
    assert registry.get_sample_value("h_count") == 3
    assert registry.get_sample_value("h_sum") == 105.0
    assert [b.get() for b in h._buckets][-1] == 1
    assert h._sum.get() == 105.0


def test_histogram_buckets_strings_and_negative(registry):
    h = Histogram("hn", "help", buckets=["-1", "0", "1"], registry=registry)
    h.observe(-5)
    assert h._upper_bounds == [-1.0, 0.0, 1.0, float("inf")]
    assert registry.get_sample_value("hn_count") == 1
    assert registry.get_sample_value("hn_sum") is None
    h2 = Histogram("h1", "help", buckets=[1], registry=registry)
    assert h2._upper_bounds == [1.0, float("inf")]


def test_histogram_exemplar(registry, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: 5.0)
    h = Histogram("he", "help", buckets=[1, 2], registry=registry)
    h.observe(1.5, {"trace": "x"})
    bucket = [s for s in list(registry.collect())[0].samples if s.labels.get("le") == "2.0"][0]
    assert bucket.exemplar == Exemplar({"trace": "x"}, 1.5, 5.0)


def test_histogram_nan_counts_in_sum_only(registry):
    h = Histogram("hnan", "help", buckets=[1], registry=registry)
    h.observe(float("nan"))
    assert registry.get_sample_value("hnan_count") == 0


def test_info_and_enum(registry):
    i = Info("build", "help", registry=registry)
    i.info({"version": "1.2.3", "buildhost": "foo@bar"})
    assert registry.get_sample_value("build_info", {"version": "1.2.3", "buildhost": "foo@bar"}) == 1
    e = Enum("state", "help", states=["starting", "running", "stopped"], registry=registry)
    assert registry.get_sample_value("state", {"state": "starting"}) == 1
    e.state("running")
    assert registry.get_sample_value("state", {"state": "running"}) == 1
    assert registry.get_sample_value("state", {"state": "starting"}) == 0
    il = Info("il", "h", ["l"], registry=registry)
    il.labels("a").info({"x": "y"})
    assert registry.get_sample_value("il_info", {"l": "a", "x": "y"}) == 1
    with pytest.raises(AttributeError):
        il.info({"x": "y"})


def test_labels_positional_keyword_and_caching(registry):
    c = Counter("req", "h", ["method", "endpoint"], registry=registry)
    a = c.labels("get", "/")
    assert c.labels(method="get", endpoint="/") is a
    assert c.labels(endpoint="/", method="get") is a
    a.inc()
    c.labels("post", "/submit").inc(2)
    assert registry.get_sample_value("req_total", {"method": "get", "endpoint": "/"}) == 1
    assert set(c._metrics) == {("get", "/"), ("post", "/submit")}
    assert a._labelvalues == ("get", "/")
    assert a._labelnames == ("method", "endpoint")
    n = Counter("n", "h", ["x"], registry=registry)
    assert n.labels(200) is n.labels("200")
    assert n.labels(None) is n.labels("None")


def test_remove_and_clear(registry):
    c = Counter("rm", "h", ["a", "b"], registry=registry)
    c.labels("x", "y").inc()
    c.labels("x", "z").inc()
    c.labels("w", "z").inc()
    c.remove("x", "y")
    c.remove("not", "there")
    assert set(c._metrics) == {("x", "z"), ("w", "z")}
    c.remove_by_labels({"b": "z", "a": "x"})
    assert set(c._metrics) == {("w", "z")}
    c.remove_by_labels({})
    c.clear()
    assert c._metrics == {}
    plain = Counter("plain", "h", registry=registry)
    plain.clear()


def test_created_toggle(registry):
    Counter("cr", "h", registry=registry)
    disable_created_metrics()
    try:
        assert registry.get_sample_value("cr_created") is None
        assert metrics._use_created is False
    finally:
        enable_created_metrics()
    assert registry.get_sample_value("cr_created") is not None


def test_time_decorator_preserves_signature_and_nests(registry):
    h = Histogram("t", "h", registry=registry)
    s = Summary("t2", "h", registry=registry)

    @s.time()
    def inner(r):
        return r * 2

    @h.time()
    def outer(r, *args, key=1, **kw):
        return inner(r)

    assert outer(2) == 4
    assert getargspec(inner) == (["r"], None, None, None)
    assert inspect.signature(outer) == inspect.signature(outer.__wrapped__)
    assert registry.get_sample_value("t_count") == 1
    assert registry.get_sample_value("t2_count") == 1


def test_decorators_on_async_functions(registry):
    h = Histogram("at", "h", registry=registry)
    g = Gauge("ag", "h", registry=registry)
    c = Counter("ac", "h", registry=registry)

    @h.time()
    @g.track_inprogress()
    @c.count_exceptions()
    async def work(delay, fail=False):
        assert g._value.get() == 1
        await asyncio.sleep(delay)
        if fail:
            raise ValueError("boom")
        return "ok"

    assert inspect.iscoroutinefunction(work)
    assert asyncio.run(work(0.05)) == "ok"
    with pytest.raises(ValueError):
        asyncio.run(work(0, fail=True))
    assert g._value.get() == 0
    assert c._value.get() == 1
    assert registry.get_sample_value("at_count") == 2
    # The time spans the awaited call, not just coroutine creation.
    assert registry.get_sample_value("at_sum") >= 0.05


def test_timer_labels(registry):
    h = Histogram("tl", "h", ["x"], registry=registry)
    with h.time() as t:
        t.labels("a")
    assert registry.get_sample_value("tl_count", {"x": "a"}) == 1


def test_value_class_swap(registry, monkeypatch):
    class Recording(values.MutexValue):  # type: ignore[misc,valid-type]
        __slots__ = ()
        created = []

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            Recording.created.append(args[2])

    monkeypatch.setattr(values, "ValueClass", Recording)
    h = Histogram("sw", "h", buckets=[1], registry=registry)
    h.observe(0.5)
    assert Recording.created == ["sw_sum", "sw_bucket", "sw_bucket"]
    assert registry.get_sample_value("sw_bucket", {"le": "1.0"}) == 1
    assert registry.get_sample_value("sw_sum") == 0.5


def test_subclass_with_own_init_gets_children_the_documented_way(registry):
    class MyCounter(Counter):
        def __init__(self, *args, **kwargs):
            self.extra = kwargs.pop("extra", "default")
            super().__init__(*args, **kwargs)

    c = MyCounter("sub", "h", ["a"], registry=registry, extra="x")
    child = c.labels("v")
    assert type(child) is MyCounter and child.extra == "default"
    child.inc()
    assert registry.get_sample_value("sub_total", {"a": "v"}) == 1


def test_samples_are_tuples_and_deepcopyable(registry):
    import copy

    c = Counter("dc", "h", ["a"], registry=registry)
    c.labels("x").inc()
    metrics_ = list(registry.collect())
    assert copy.deepcopy(metrics_) == metrics_
    s = metrics_[0].samples[0]
    assert (s[0], s[1], s[2]) == ("dc_total", {"a": "x"}, 1.0)


def test_mutation_through_patch_object(registry):
    from unittest import mock

    c = Counter("po", "h", registry=registry)
    with mock.patch.object(c, "inc") as m:
        c.inc(3)
    m.assert_called_once_with(3)
    assert c._value.get() == 0


def test_inline_decorators_match_the_with_form(registry, monkeypatch):
    """The decorator forms inline their context manager's work; they must do exactly what the
    ``with`` form does: failures counted by type, in-progress balanced, durations clamped at 0."""
    from prometheus_client import context_managers

    c = Counter("ie", "h", registry=registry)
    g = Gauge("ig", "h", registry=registry)

    @c.count_exceptions((KeyError, ValueError))
    @g.track_inprogress()
    def f(kind, *args, key=None, **kw):
        assert g._value.get() == 1
        if kind:
            raise kind("x")
        return args, key, kw

    assert f(None, 1, key=2, z=3) == ((1,), 2, {"z": 3})
    for kind in (KeyError, ValueError, TypeError):
        with pytest.raises(kind):
            f(kind)
    assert c._value.get() == 2 and g._value.get() == 0
    assert getargspec(f) == (["kind"], "args", "kw", None)

    # A clock going backwards observes 0, like max(elapsed, 0) in Timer.__exit__.
    ticks = iter([5.0, 3.0])
    monkeypatch.setattr(context_managers, "default_timer", lambda: next(ticks))
    gt = Gauge("igt", "h", registry=registry)
    timed = gt.time()(lambda: None)
    gt.set(7)
    timed()
    assert gt._value.get() == 0


def test_decorators_with_clashing_names_fall_back(registry):
    """Parameters named like the inline wrapper's helpers get the generic wrapper."""
    h = Histogram("cl", "h", registry=registry)
    c = Counter("clc", "h", registry=registry)

    @h.time()
    def a(_pc_start_, isinstance=3):
        return _pc_start_ + isinstance

    @c.count_exceptions()
    def _pc_func_(_pc_e_):
        raise ValueError(_pc_e_)

    assert a(1) == 4
    assert getargspec(a) == (["_pc_start_", "isinstance"], None, None, (3,))
    with pytest.raises(ValueError):
        _pc_func_(1)
    assert registry.get_sample_value("cl_count") == 1
    assert c._value.get() == 1


def test_label_less_metrics_keep_no_instance_dict(registry):
    """Construction and scrapes leave a label-less metric without an instance __dict__: once
    created, CPython's fast method lookup for inc/observe no longer applies to the object."""
    import gc

    from prometheus_client import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as om_latest

    metrics = [
        Counter("nd_c", "h", registry=registry), Gauge("nd_g", "h", registry=registry),
        Histogram("nd_h", "h", registry=registry), Summary("nd_s", "h", registry=registry),
    ]
    if not values._GIL_ATOMIC_ADD:
        metrics.pop(2)  # a Histogram without atomic += sets its observe() on the instance
    generate_latest(registry)
    om_latest(registry)
    for m in metrics:
        assert not any(type(x) is dict for x in gc.get_referents(m)), m
    metrics[0].__dict__  # noqa: B018 - the check above does see a created dict
    assert any(type(x) is dict for x in gc.get_referents(metrics[0]))
