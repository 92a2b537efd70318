"""Garbage-collector statistics per generation (CPython only)."""

from __future__ import annotations

import gc
import sys
from typing import Iterable

from . import _lazy
from .metrics_core import CounterMetricFamily, Metric
from .registry import REGISTRY, Collector, CollectorRegistry

# ``platform`` (the reference module imports it) loads on first access: importing it and
# parsing ``sys.version`` costs more than the rest of this module.
__getattr__, __dir__ = _lazy.install(__name__, {"platform": "platform"})


def _implementation() -> str:
    """``platform.python_implementation()``: from ``sys.implementation`` unless this module's
    ``platform`` was accessed or replaced (``mock.patch``), then from that."""
    platform = globals().get("platform")
    if platform is not None:
        return str(platform.python_implementation())
    return "CPython" if sys.implementation.name == "cpython" else sys.implementation.name


class GCCollector(Collector):
    """Collector for Garbage collection statistics."""

    def __init__(self, registry: CollectorRegistry = REGISTRY):
        if not hasattr(gc, "get_stats") or _implementation() != "CPython":
            return
        registry.register(self)

    def collect(self) -> Iterable[Metric]:
        collected = CounterMetricFamily("python_gc_objects_collected", "Objects collected during gc",
                                        labels=["generation"])
        uncollectable = CounterMetricFamily("python_gc_objects_uncollectable",
                                            "Uncollectable objects found during GC", labels=["generation"])
        collections = CounterMetricFamily("python_gc_collections",
                                          "Number of times this generation was collected", labels=["generation"])
        for gen, stat in enumerate(gc.get_stats()):
            generation = str(gen)
            collected.add_metric([generation], value=stat["collected"])
            uncollectable.add_metric([generation], value=stat["uncollectable"])
            collections.add_metric([generation], value=stat["collections"])
        return [collected, uncollectable, collections]


GC_COLLECTOR = GCCollector()
