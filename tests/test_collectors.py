"""Built-in collectors: process (from a /proc fixture), platform, gc, and the default REGISTRY."""

import os
import platform as stdlib_platform

import pytest

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    REGISTRY,
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

FIXTURE_PROC = os.path.join(os.path.dirname(__file__), "fixtures", "proc")


def test_process_collector_from_fixture():
    registry = CollectorRegistry()
    collector = ProcessCollector(proc=FIXTURE_PROC, pid=lambda: 26231, registry=registry)
    collector._ticks = 100
    collector._pagesize = 4096
    get = registry.get_sample_value
    assert get("process_cpu_seconds_total") == pytest.approx(17.21)
    assert get("process_virtual_memory_bytes") == 56274944.0
    assert get("process_resident_memory_bytes") == 8114176
    assert get("process_start_time_seconds") == pytest.approx(1418184099.75)
    assert get("process_max_fds") == 2048.0
    assert get("process_open_fds") == 5
    names = [m.name for m in registry.collect()]
    assert names == [
        "process_virtual_memory_bytes",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_cpu_seconds",
        "process_open_fds",
        "process_max_fds",
    ]


def test_process_collector_namespace_and_pid_string():
    registry = CollectorRegistry()
    ProcessCollector(proc=FIXTURE_PROC, pid=lambda: "26231\n", namespace="n", registry=registry)
    assert registry.get_sample_value("n_process_max_fds") == 2048.0


def test_process_collector_missing_proc_returns_nothing(tmp_path):
    registry = CollectorRegistry()
    ProcessCollector(proc=str(tmp_path), registry=registry)
    assert generate_latest(registry) == b""


def test_process_collector_on_this_process():
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    assert registry.get_sample_value("process_open_fds") > 0
    assert registry.get_sample_value("process_resident_memory_bytes") > 0


class _FakePlatform:
    def python_version_tuple(self):
        return ("2", "7", "1")

    def python_version(self):
        return "2.7.1"

    def python_implementation(self):
        return "CPython"

    def system(self):
        return "Java"

    def java_ver(self):
        return ("1.7.0_79", "Oracle Corporation", ("OpenJDK 64-Bit Server VM", "24.79-b02", "Oracle Corporation"),
                ("x", "y", "z"))


def test_platform_collector():
    registry = CollectorRegistry()
    PlatformCollector(registry=registry, platform=_FakePlatform())
    assert registry.get_sample_value("python_info", {
        "version": "2.7.1", "implementation": "CPython", "major": "2", "minor": "7", "patchlevel": "1",
        "jvm_version": "1.7.0_79", "jvm_release": "24.79-b02", "jvm_vendor": "Oracle Corporation",
        "jvm_name": "OpenJDK 64-Bit Server VM",
    }) == 1
    registry = CollectorRegistry()
    PlatformCollector(registry=registry)
    major, minor, patch = stdlib_platform.python_version_tuple()
    assert registry.get_sample_value("python_info", {
        "version": stdlib_platform.python_version(), "implementation": stdlib_platform.python_implementation(),
        "major": major, "minor": minor, "patchlevel": patch,
    }) == 1


def test_gc_collector():
    registry = CollectorRegistry()
    GCCollector(registry=registry)
    for gen in "012":
        assert registry.get_sample_value("python_gc_collections_total", {"generation": gen}) is not None
        assert registry.get_sample_value("python_gc_objects_collected_total", {"generation": gen}) is not None
        assert registry.get_sample_value("python_gc_objects_uncollectable_total", {"generation": gen}) is not None


def test_default_registry_order():
    collectors = list(REGISTRY._collector_to_names)
    assert collectors[:3] == [GC_COLLECTOR, PLATFORM_COLLECTOR, PROCESS_COLLECTOR]
    text = generate_latest(REGISTRY).decode()
    assert text.index("python_gc_objects_collected_total") < text.index("python_info") < text.index("process_")
