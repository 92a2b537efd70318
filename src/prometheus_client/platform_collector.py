"""The ``python_info`` metric: interpreter version and implementation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from . import _lazy
from .metrics_core import GaugeMetricFamily, Metric
from .registry import REGISTRY, Collector, CollectorRegistry

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Protocol

    class PlatformModule(Protocol):
        """What is read of the ``platform`` module (or of the stand-in given instead)."""

        def system(self) -> str: ...
        def python_version(self) -> str: ...
        def python_version_tuple(self) -> Tuple[str, str, str]: ...
        def python_implementation(self) -> str: ...
        def java_ver(self) -> Tuple[str, str, Tuple[str, str, str], Tuple[str, str, str]]: ...

# ``pf`` is the ``platform`` module (the reference module's name for it), imported on first
# access: the default collector reads it on its first collect, not at ``import
# prometheus_client`` (importing ``platform`` and parsing ``sys.version`` is slow).
__getattr__, __dir__ = _lazy.install(__name__, {"pf": "platform"})


def _describe() -> List[Metric]:
    return [GaugeMetricFamily("python_info", "Python platform information")]


class PlatformCollector(Collector):
    """Collector for python platform information"""

    def __init__(self, registry: Optional[CollectorRegistry] = REGISTRY, platform: Optional[PlatformModule] = None):
        self._platform: Any = platform  # None: the ``platform`` module, read on first collect
        self._metrics: Optional[List[Metric]] = None
        if platform is None and registry is REGISTRY and "pf" not in globals():
            # The default collector reads ``platform`` on its first collect (the same values,
            # later). The default registry describes collectors to check for duplicates: its
            # one metric name is known without ``platform``.
            self.__dict__["describe"] = _describe
            try:
                registry.register(self)
            finally:
                del self.__dict__["describe"]
            return
        self._build()
        if registry:
            registry.register(self)

    def _build(self) -> List[Metric]:
        if self._platform is None:
            # this module's ``pf`` as it is now (imported, or replaced by ``mock.patch``)
            self._platform = globals().get("pf") or __getattr__("pf")
        info = self._info()
        system = self._platform.system()
        if system == "Java":
            info.update(self._java())
        self._metrics = [self._add_metric("python_info", "Python platform information", info)]
        return self._metrics

    def collect(self) -> Iterable[Metric]:
        metrics = self._metrics
        return self._build() if metrics is None else metrics

    @staticmethod
    def _add_metric(name: str, documentation: str, data: Dict[str, str]) -> Metric:
        labels = list(data)
        values = [data[k] for k in labels]
        g = GaugeMetricFamily(name, documentation, labels=labels)
        g.add_metric(values, 1)
        return g

    def _info(self) -> Dict[str, str]:
        major, minor, patchlevel = self._platform.python_version_tuple()
        return {
            "version": self._platform.python_version(),
            "implementation": self._platform.python_implementation(),
            "major": major,
            "minor": minor,
            "patchlevel": patchlevel,
        }

    def _java(self) -> Dict[str, str]:
        java_version, _, vminfo, osinfo = self._platform.java_ver()
        vm_name, vm_release, vm_vendor = vminfo
        return {
            "jvm_version": java_version,
            "jvm_release": vm_release,
            "jvm_vendor": vm_vendor,
            "jvm_name": vm_name,
        }


PLATFORM_COLLECTOR = PlatformCollector()
