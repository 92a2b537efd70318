"""A fast, drop-in Python client for Prometheus."""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import (  # noqa: F401 - submodules callers reach as attributes of the package
    _lazy,
    gc_collector,
    metrics,
    metrics_core,
    platform_collector,
    process_collector,
    registry,
)
from ._formats.skipped import SKIPPED_SAMPLES
from .gc_collector import GC_COLLECTOR, GCCollector
from .metrics import (
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    disable_created_metrics,
    enable_created_metrics,
)
from .metrics_core import Metric
from .platform_collector import PLATFORM_COLLECTOR, PlatformCollector
from .process_collector import PROCESS_COLLECTOR, ProcessCollector
from .registry import REGISTRY, CollectorRegistry

REGISTRY.register(SKIPPED_SAMPLES)  # shows only once a scrape had to leave a sample out

__all__ = (
    "CollectorRegistry",
    "REGISTRY",
    "Metric",
    "Counter",
    "Gauge",
    "Summary",
    "Histogram",
    "Info",
    "Enum",
    "enable_created_metrics",
    "disable_created_metrics",
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "generate_latest",
    "MetricsHandler",
    "make_wsgi_app",
    "make_asgi_app",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
    "push_to_gateway",
    "pushadd_to_gateway",
    "delete_from_gateway",
    "instance_ip_grouping_key",
    "ProcessCollector",
    "PROCESS_COLLECTOR",
    "PlatformCollector",
    "PLATFORM_COLLECTOR",
    "GCCollector",
    "GC_COLLECTOR",
)

# The exposition side (encoders, negotiation, transports) loads on first use: code that only
# instruments imports fast. The encoder names come from the encoder's module (the same objects
# ``exposition`` has), the transports through ``exposition``, which loads them on first use.
_TEXT = "._formats.text:"
__getattr__, __dir__ = _lazy.install(__name__, {
    "exposition": ".exposition",
    "openmetrics": ".openmetrics",
    "CONTENT_TYPE_LATEST": _TEXT + "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4": _TEXT + "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0": _TEXT + "CONTENT_TYPE_PLAIN_1_0_0",
    "generate_latest": _TEXT + "generate_latest",
    **{name: ".exposition:" + name for name in (
        "MetricsHandler", "delete_from_gateway", "instance_ip_grouping_key", "make_asgi_app", "make_wsgi_app",
        "push_to_gateway", "pushadd_to_gateway", "start_http_server", "start_wsgi_server", "write_to_textfile",
    )},
})

if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see
    from . import exposition as exposition
    from . import openmetrics as openmetrics
    from .exposition import (
        CONTENT_TYPE_LATEST,
        CONTENT_TYPE_PLAIN_0_0_4,
        CONTENT_TYPE_PLAIN_1_0_0,
        MetricsHandler,
        delete_from_gateway,
        generate_latest,
        instance_ip_grouping_key,
        make_asgi_app,
        make_wsgi_app,
        push_to_gateway,
        pushadd_to_gateway,
        start_http_server,
        start_wsgi_server,
        write_to_textfile,
    )


if __name__ == "__main__":  # pragma: no cover
    import random
    import time

    c = Counter("cc", "A counter")
    c.inc()
    g = Gauge("gg", "A gauge")
    g.set(17)
    s = Summary("ss", "A summary", ["a", "b"])
    s.labels("c", "d").observe(17)
    h = Histogram("hh", "A histogram")
    h.observe(0.6)
    __getattr__("start_wsgi_server")(8000)
    while True:
        time.sleep(1)
        h.observe(random.random())
