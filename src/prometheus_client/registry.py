"""The collector registry: who is registered, name clashes, and collection order."""

from __future__ import annotations

from _thread import allocate_lock
from typing import Dict, Iterable, Iterator, List, Optional, Tuple, Union
from typing import Protocol as Protocol  # noqa: F401  (the reference module's names)
from typing import Set as Set

from . import _lazy
from ._metrics import collector as _collector
from ._metrics.collector import Collector as Collector
from ._metrics.collector import DuplicateTimeseries as DuplicateTimeseries
from ._metrics.family import Family
from .metrics_core import Metric
from .values import fork_safe_lock

# Suffixes each type's samples may carry; used to detect clashing registrations.
_TYPE_SUFFIXES: Dict[str, Tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "summary": ("_sum", "_count", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gaugehistogram": ("_bucket", "_gsum", "_gcount"),
    "info": ("_info",),
}

# The reference module imports ``copy`` and ``threading.Lock``; offered on first access (import
# stays cheap: the registry's own lock comes from ``_thread``, where ``threading`` takes it).
__getattr__, __dir__ = _lazy.install(__name__, {"copy": "copy", "Lock": "threading:Lock"})


class _EmptyCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        return []


class CollectorRegistry(Collector):
    """Holds collectors and gathers their metrics for exposition.

    Use a fresh ``CollectorRegistry()`` when you don't want the default
    process/platform/gc collectors (tests, textfile, Pushgateway).

    ``get_or_create=True``: constructing a metric that is already registered here with the
    same definition returns the registered one instead of raising (module reloads,
    notebook re-runs); a different definition raises, saying what differs.
    """

    def __init__(
        self,
        auto_describe: bool = False,
        target_info: Optional[Dict[str, str]] = None,
        support_collectors_without_names: bool = False,
        *,
        get_or_create: bool = False,
    ) -> None:
        self._collector_to_names: Dict[Collector, List[str]] = {}
        self._names_to_collectors: Dict[str, Collector] = {}
        self._auto_describe = auto_describe
        self._lock = fork_safe_lock(self, allocate_lock)
        self._target_info: Optional[Dict[str, str]] = {}
        self._support_collectors_without_names = support_collectors_without_names
        self._collectors_without_names: List[Collector] = []
        self.set_target_info(target_info)
        self._get_or_create = False
        if get_or_create:
            self.get_or_create = True

    @property
    def get_or_create(self) -> bool:
        """Whether re-defining an identical metric returns the registered one (off by default)."""
        return self._get_or_create

    @get_or_create.setter
    def get_or_create(self, enabled: bool) -> None:
        if enabled:
            _collector.get_or_create_used = True
        self._get_or_create = bool(enabled)

    def register(self, collector: Collector) -> None:
        """Add a collector; raises DuplicateTimeseries if any of its names is taken."""
        with self._lock:
            names = self._get_names(collector)
            duplicates = set(self._names_to_collectors).intersection(names)
            if duplicates:
                if _collector.get_or_create_used:
                    from ._metrics.redefine import resolve

                    resolve(self, collector, duplicates)  # hands back an identical twin, or explains
                raise DuplicateTimeseries(duplicates)
            for name in names:
                self._names_to_collectors[name] = collector
            self._collector_to_names[collector] = names
            if self._support_collectors_without_names and not names:
                self._collectors_without_names.append(collector)

    def unregister(self, collector: Collector) -> None:
        """Remove a collector (KeyError if it was never registered)."""
        with self._lock:
            for name in self._collector_to_names[collector]:
                del self._names_to_collectors[name]
            del self._collector_to_names[collector]
            if collector in self._collectors_without_names:
                self._collectors_without_names.remove(collector)

    def _get_names(self, collector: Collector) -> List[str]:
        """The time series names a collector will expose (empty if unknown)."""
        desc_func = getattr(collector, "describe", None)
        if not desc_func and self._auto_describe:
            desc_func = collector.collect
        if not desc_func:
            return []
        result = []
        for metric in desc_func():
            result.append(metric.name)
            for suffix in _TYPE_SUFFIXES.get(metric.type, ()):
                result.append(metric.name + suffix)
        return result

    def collect(self) -> Iterable[Metric]:
        """Yield metrics from every registered collector, in registration order."""
        with self._lock:
            collectors = list(self._collector_to_names)
            target_info_metric = self._target_info_metric() if self._target_info else None
        if target_info_metric is not None:
            yield target_info_metric
        for collector in collectors:
            yield from collector.collect()

    def restricted_registry(self, names: Iterable[str]) -> RestrictedRegistry:
        """A view of this registry that collects only the given sample names.

        Experimental, as in the official client.
        """
        return RestrictedRegistry(names, self)

    def set_target_info(self, labels: Optional[Dict[str, str]]) -> None:
        with self._lock:
            if labels:
                if not self._target_info and "target_info" in self._names_to_collectors:
                    raise ValueError("CollectorRegistry already contains a target_info metric")
                self._names_to_collectors["target_info"] = _EmptyCollector()
            elif self._target_info:
                self._names_to_collectors.pop("target_info", None)
            self._target_info = labels

    def get_target_info(self) -> Optional[Dict[str, str]]:
        with self._lock:
            return self._target_info

    def _target_info_metric(self) -> Metric:
        m = Metric("target", "Target metadata", "info")
        m.add_sample("target_info", self._target_info or {}, 1)
        return m

    def families(self, quantiles: bool = False) -> Iterator[Union[Metric, Family]]:
        """What ``collect()`` yields, for the encoders: a ``Family`` answer (``_family``) for
        each metric object of this library whose collection is not customised, the
        ``Metric``s of ``collect()`` for every other collector.

        ``quantiles``: the encoder renders summary quantiles from the answer. A registry whose
        ``collect`` is overridden yields its ``collect()``.
        """
        if type(self).collect is not CollectorRegistry.collect or "collect" in vars(self):
            yield from self.collect()
            return
        with self._lock:
            collectors = list(self._collector_to_names)
            target_info = self._target_info_metric() if self._target_info else None
        if target_info is not None:
            yield target_info
        for collector in collectors:
            answer = getattr(collector, "_expo_family", None)
            family = answer(quantiles) if answer is not None else None
            if family is not None:
                yield family
            else:
                yield from collector.collect()

    def get_sample_value(self, name: str, labels: Optional[Dict[str, str]] = None) -> Optional[float]:
        """The value of one sample, or None. Meant for unit tests, not for hot paths."""
        if labels is None:
            labels = {}
        for metric in self.collect():
            for s in metric.samples:
                if s.name == name and s.labels == labels:
                    return s.value
        return None


class RestrictedRegistry:
    """Collects only the requested sample names from a registry."""

    def __init__(self, names: Iterable[str], registry: CollectorRegistry) -> None:
        self._name_set = set(names)
        self._registry = registry

    def collect(self) -> Iterable[Metric]:
        collectors = set()
        target_info_metric = None
        with self._registry._lock:
            if "target_info" in self._name_set and self._registry._target_info:
                target_info_metric = self._registry._target_info_metric()
            for name in self._name_set:
                if name != "target_info" and name in self._registry._names_to_collectors:
                    collectors.add(self._registry._names_to_collectors[name])
            collectors.update(self._registry._collectors_without_names)
            ordered = [c for c in self._registry._collector_to_names if c in collectors]
        if target_info_metric is not None:
            yield target_info_metric
        for collector in ordered:
            for metric in collector.collect():
                m = metric._restricted_metric(self._name_set)
                if m is not None:
                    yield m


REGISTRY = CollectorRegistry(auto_describe=True)

__all__ = ["Collector", "CollectorRegistry", "DuplicateTimeseries", "REGISTRY", "RestrictedRegistry"]
