"""The ``python_info`` metric: interpreter version and implementation."""

from __future__ import annotations

import platform as pf
from typing import TYPE_CHECKING, Dict, Iterable, Optional, Tuple
from typing import Any as Any  # noqa: F401  (the reference module has it)

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


class PlatformCollector(Collector):
    """Collector for python platform information"""

    def __init__(self, registry: Optional[CollectorRegistry] = REGISTRY, platform: Optional[PlatformModule] = None):
        self._platform = pf if platform is None else platform
        info = self._info()
        system = self._platform.system()
        if system == "Java":
            info.update(self._java())
        self._metrics = [self._add_metric("python_info", "Python platform information", info)]
        if registry:
            registry.register(self)

    def collect(self) -> Iterable[Metric]:
        return self._metrics

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
