"""The contract between metric objects and encoders (``_family``, ``CollectorRegistry.families``)."""

from __future__ import annotations

import gc
import weakref
from typing import Iterator, List

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, Summary
from prometheus_client._formats import render as _render
from prometheus_client._metrics.family import Family, SeriesCache
from prometheus_client.exposition import generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.openmetrics.exposition import generate_latest as generate_om
from prometheus_client.protobuf import encode_registry
from prometheus_client.remote_write import write_request_from_registry


def _scrape_everything(r: CollectorRegistry) -> None:
    for escaping in ("underscores", "allow-utf-8"):
        generate_latest(r, escaping)
        generate_om(r, escaping)
        encode_registry(r, escaping)
    write_request_from_registry(r, job="j", timestamp=1.0)


def _populate(r: CollectorRegistry) -> List[object]:
    c = Counter("fam_c", "c", ["a"], registry=r)
    c.labels("x").inc()
    g = Gauge("fam_g", "g", registry=r)
    g.set(2)
    h = Histogram("fam_h", "h", ["le_after"], buckets=[1], registry=r)
    h.labels("y").observe(0.5)
    s = Summary("fam_s", "s", ["a"], registry=r)
    s.labels("z").observe(1)
    return [c, c.labels("x"), g, h, h.labels("y"), s, s.labels("z")]


def _state(obj: object) -> dict:
    state = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for slot in getattr(cls, "__slots__", ()):
            if slot not in ("__dict__", "__weakref__") and hasattr(obj, slot):
                state[slot] = getattr(obj, slot)
    return state


def test_families_answers_for_metric_objects_and_metrics_for_the_rest() -> None:
    r = CollectorRegistry(target_info={"env": "x"})
    _populate(r)
    Info("fam_i", "i", registry=r).info({"v": "1"})

    class Custom:
        def collect(self) -> Iterator[Metric]:
            yield GaugeMetricFamily("fam_custom", "c", value=1)

    r.register(Custom())
    items = list(r.families(quantiles=True))
    kinds = [(type(i).__name__, i.info.name if type(i) is Family else i.name) for i in items]
    assert kinds == [
        ("Metric", "target"), ("Family", "fam_c"), ("Family", "fam_g"), ("Family", "fam_h"),
        ("Family", "fam_s"), ("Metric", "fam_i"), ("GaugeMetricFamily", "fam_custom"),
    ]
    counter = items[1]
    assert type(counter) is Family
    assert counter.info.type == "counter" and counter.info.labelnames == ("a",)
    [child] = counter.series
    assert counter.info.labelvalues(child) == ("x",) and counter.info.numbers(child)[0] == 1.0
    hist = items[3]
    assert type(hist) is Family and hist.info.upper_bounds == (1.0, float("inf"))


def test_a_registry_with_its_own_collect_gives_metrics() -> None:
    class Mine(CollectorRegistry):
        def collect(self) -> Iterator[Metric]:
            yield from super().collect()

    r = Mine()
    _populate(r)
    assert all(type(i) is not Family for i in r.families())


def test_encoders_store_nothing_on_metric_objects() -> None:
    r = CollectorRegistry()
    objects = _populate(r)
    before = [_state(o) for o in objects]
    _scrape_everything(r)
    _scrape_everything(r)
    assert [_state(o) for o in objects] == before


def test_encoder_caches_die_with_the_metric() -> None:
    r = CollectorRegistry()
    objects = _populate(r)
    _scrape_everything(r)
    refs = [weakref.ref(o) for o in objects]
    for o in objects[::-1]:
        if o in r._collector_to_names:
            r.unregister(o)  # type: ignore[arg-type]
    del objects, o
    gc.collect()
    assert [ref() for ref in refs] == [None] * len(refs)


def test_removed_series_leave_the_cache() -> None:
    r = CollectorRegistry()
    g = Gauge("fam_many", "g", ["i"], registry=r)
    for i in range(3000):
        g.labels(str(i)).set(i)
    generate_latest(r)
    [info] = [f.info for f in r.families() if type(f) is Family]
    assert _render._LABELS.size(info) == 3000
    g.clear()
    g.labels("only").set(1)
    generate_latest(r)
    assert _render._LABELS.size(info) == 1


def test_series_cache_keeps_one_setting_per_family() -> None:
    r = CollectorRegistry()
    c = Counter("fam_one", "c", registry=r)
    [family] = [f for f in r.families() if type(f) is Family]
    cache: SeriesCache[str] = SeriesCache(slack=0)
    cache.get(family.info, "a", 1)[c] = "1"
    assert cache.get(family.info, "a", 1) == {c: "1"}
    assert cache.get(family.info, "b", 1) == {}
    assert cache.get(family.info, "a", 1) == {}
    held = cache.get(family.info, "a", 1)
    held.update({1: "", 2: "", 3: ""})
    assert cache.get(family.info, "a", 1) == {}  # more than 2 * series: removed series
    assert cache.size(family.info) == 0
    other: SeriesCache[str] = SeriesCache()
    assert other.get(family.info, "a", 1) == {} and other.size(family.info) == 0
    del c
