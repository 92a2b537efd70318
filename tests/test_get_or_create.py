"""Opt-in get-or-create: an identical re-definition returns the registered metric, a different
one raises saying what differs, and the default stays the official DuplicateTimeseries."""

import importlib
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.registry import DuplicateTimeseries
from prometheus_client.testing import fresh_registry, get_or_create, to_float


def test_default_registry_behaviour_is_unchanged() -> None:
    r = CollectorRegistry()
    assert r.get_or_create is False
    Counter("jobs", "Jobs.", registry=r)
    with pytest.raises(DuplicateTimeseries) as info:
        Counter("jobs", "Jobs.", registry=r)
    assert type(info.value) is DuplicateTimeseries
    assert str(info.value).startswith("Duplicated timeseries in CollectorRegistry: {")


@pytest.mark.parametrize("make", [
    lambda r: Counter("jobs", "Jobs.", ["kind"], registry=r),
    lambda r: Counter("jobs_total", "Jobs.", labelnames=("kind",), registry=r),
    lambda r: Gauge("temp", "T.", registry=r, multiprocess_mode="max"),
    lambda r: Summary("size", "S.", namespace="app", unit="bytes", registry=r),
    lambda r: Histogram("lat_seconds", "L.", registry=r, buckets=[0.1, 1]),
    lambda r: Info("build", "B.", registry=r),
    lambda r: Enum("state", "S.", states=["a", "b"], registry=r),
])
def test_identical_definition_returns_the_registered_metric(make: Any) -> None:
    r = CollectorRegistry(get_or_create=True)
    first = make(r)
    assert make(r) is first
    assert len(r._collector_to_names) == 1


def test_equivalent_spellings_are_the_same_definition() -> None:
    r = CollectorRegistry(get_or_create=True)
    h = Histogram("lat_seconds", "L.", ["path"], registry=r, buckets=[0.1, 1])
    assert Histogram("lat_seconds", "L.", "path", registry=r, buckets=(0.1, 1.0, float("inf"))) is h
    c = Counter("jobs", "J.", registry=r)
    assert Counter("jobs_total", "J.", registry=r) is c
    assert Counter("total", "J.", namespace="jobs", registry=r) is c
    e = Enum("state", "S.", states=["a", "b"], registry=r)
    assert Enum("state", "S.", states=("a", "b"), registry=r) is e


CONFLICTS: Dict[str, Any] = {
    "labelnames: ('kind',) registered, ('kind', 'queue') now":
        lambda r: Counter("jobs", "Jobs.", ["kind", "queue"], registry=r),
    "documentation: 'Jobs.' registered, 'Jobs done.' now":
        lambda r: Counter("jobs", "Jobs done.", ["kind"], registry=r),
    "type: counter (prometheus_client.metrics.Counter) registered, gauge (prometheus_client.metrics.Gauge) now":
        lambda r: Gauge("jobs", "Jobs.", ["kind"], registry=r),
    "buckets: (0.1, 1.0, inf) registered, (0.5, inf) now":
        lambda r: Histogram("lat_seconds", "L.", registry=r, buckets=[0.5]),
    "multiprocess_mode: 'all' registered, 'max' now":
        lambda r: Gauge("temp", "T.", registry=r, multiprocess_mode="max"),
    "states: ('a', 'b') registered, ('a', 'c') now":
        lambda r: Enum("state", "S.", states=["a", "c"], registry=r),
}


@pytest.mark.parametrize("expected", sorted(CONFLICTS))
def test_conflicting_definition_raises_saying_what_differs(expected: str) -> None:
    r = CollectorRegistry(get_or_create=True)
    Counter("jobs", "Jobs.", ["kind"], registry=r)
    Histogram("lat_seconds", "L.", registry=r, buckets=[0.1, 1])
    Gauge("temp", "T.", registry=r)
    Enum("state", "S.", states=["a", "b"], registry=r)
    before = dict(r._names_to_collectors)
    with pytest.raises(DuplicateTimeseries) as info:
        CONFLICTS[expected](r)
    assert expected in str(info.value)
    assert "registered with a different definition" in str(info.value)
    assert r._names_to_collectors == before  # a failed call changes nothing


def test_clash_on_a_derived_name_is_explained() -> None:
    r = CollectorRegistry(get_or_create=True)
    Counter("jobs", "Jobs.", registry=r)
    with pytest.raises(DuplicateTimeseries, match=r"defining gauge 'jobs_created': counter 'jobs' is registered"
                                                  r" with a different definition: type"):
        Gauge("jobs_created", "J.", registry=r)
    r.set_target_info({"env": "prod"})
    with pytest.raises(DuplicateTimeseries, match="not a metric"):
        Info("target", "T.", registry=r)


def test_registering_another_identical_instance_by_hand_still_raises() -> None:
    r = CollectorRegistry(get_or_create=True)
    Counter("jobs", "Jobs.", registry=r)
    other = Counter("jobs", "Jobs.", registry=None)
    with pytest.raises(DuplicateTimeseries, match="an identical counter 'jobs' is already registered"):
        r.register(other)


def test_explicit_helper_works_on_any_registry() -> None:
    r = CollectorRegistry()
    c = get_or_create(Counter, "jobs", "Jobs.", ["kind"], registry=r)
    c.labels("a").inc()
    assert get_or_create(Counter, "jobs", "Jobs.", ["kind"], registry=r) is c
    with pytest.raises(DuplicateTimeseries, match="labelnames"):
        get_or_create(Counter, "jobs", "Jobs.", ["queue"], registry=r)
    with pytest.raises(DuplicateTimeseries, match="defining gauge 'jobs_total'"):
        get_or_create(Gauge, "jobs_total", "Jobs.", registry=r)
    with pytest.raises(DuplicateTimeseries):  # the registry itself did not opt in
        Counter("jobs", "Jobs.", ["kind"], registry=r)
    assert get_or_create(Counter, "jobs", "Jobs.", registry=None) is not c
    with pytest.raises(ValueError, match="should not be empty"):
        get_or_create(Gauge, "", "Jobs.", registry=r)


def test_opt_in_by_attribute_and_children_keep_working() -> None:
    r = CollectorRegistry()
    r.get_or_create = True
    c = Counter("jobs", "Jobs.", ["kind"], registry=r)
    child = c.labels("a")
    child.inc(2)
    again = Counter("jobs", "Jobs.", ["kind"], registry=r)
    assert again.labels("a") is child and to_float(again.labels("a")) == 2.0
    r.get_or_create = False
    with pytest.raises(DuplicateTimeseries):
        Counter("jobs", "Jobs.", ["kind"], registry=r)


def test_subclass_with_its_own_constructor() -> None:
    class Jobs(Counter):
        def __init__(self, kind: str = "", **kwargs: Any) -> None:
            super().__init__("jobs" + kind, "Jobs.", **kwargs)

    r = CollectorRegistry(get_or_create=True)
    j = Jobs(registry=r)
    assert Jobs(registry=r) is j
    with pytest.raises(DuplicateTimeseries, match="type: counter"):
        Counter("jobs", "Jobs.", registry=r)


def test_concurrent_identical_definitions_share_one_metric() -> None:
    r = CollectorRegistry(get_or_create=True)
    got = []
    barrier = threading.Barrier(8)

    def define() -> None:
        barrier.wait()
        got.append(Counter("jobs", "Jobs.", ["kind"], registry=r))

    threads = [threading.Thread(target=define) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(got) == 8 and all(m is got[0] for m in got)


# -- importlib.reload of a module that defines metrics ----------------------------------------
MODULE = '''
from prometheus_client import Counter, Histogram

REQUESTS = Counter("reload_requests", "Requests.", ["method"])
LATENCY = Histogram("reload_latency_seconds", "Latency.", buckets={buckets})
'''


@pytest.fixture
def module_dir(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        with fresh_registry():
            yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("instrumented_mod", None)
        REGISTRY.get_or_create = False


def test_reload_under_get_or_create_keeps_the_metrics(module_dir: Path) -> None:
    (module_dir / "instrumented_mod.py").write_text(MODULE.format(buckets="[0.1, 1]"))
    import instrumented_mod  # type: ignore[import-not-found]

    with pytest.raises(DuplicateTimeseries):  # the default: a reload clashes
        importlib.reload(instrumented_mod)

    REGISTRY.get_or_create = True
    mod = importlib.import_module("instrumented_mod")
    requests = mod.REQUESTS
    requests.labels("get").inc(5)
    mod = importlib.reload(mod)
    assert mod.REQUESTS is requests
    assert REGISTRY.get_sample_value("reload_requests_total", {"method": "get"}) == 5.0
    mod.REQUESTS.labels("get").inc()
    assert to_float(requests.labels("get")) == 6.0

    # editing the module to a different definition is refused, naming the difference
    (module_dir / "instrumented_mod.py").write_text(MODULE.format(buckets="[0.5, 5]"))
    importlib.invalidate_caches()
    with pytest.raises(DuplicateTimeseries, match=r"buckets: \(0.1, 1.0, inf\) registered, \(0.5, 5.0, inf\) now"):
        importlib.reload(mod)
    assert REGISTRY.get_sample_value("reload_requests_total", {"method": "get"}) == 6.0


def _definitions(r: CollectorRegistry) -> Dict[str, Any]:
    return {n: type(c).__name__ for n, c in r._names_to_collectors.items()}


def test_fresh_registry_and_get_or_create_together() -> None:
    with fresh_registry() as r:
        r.get_or_create = True
        c = Counter("together", "T.")
        assert Counter("together", "T.") is c
        assert _definitions(r) == {"together": "Counter", "together_total": "Counter", "together_created": "Counter"}
    assert REGISTRY.get_or_create is False  # the setting is restored with the rest
