"""The instrumented app used by the real-Prometheus tests (imported by gunicorn/uvicorn too).

``build_registry()`` sets known values on every metric type; ``wsgi_app``/``asgi_app`` serve
one such registry; ``text_only(app)`` is WSGI middleware that drops the ``Accept`` header so a
Prometheus 2.42 (which always prefers OpenMetrics) ingests the text format.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Enum,
    Gauge,
    Histogram,
    Info,
    Summary,
    make_asgi_app,
    make_wsgi_app,
)

WEIRD_PATH = '/a\\b"c\né☃'


def build_registry() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("e2e_requests", "Requests \"served\" \\ here", ["path"], registry=r)
    c.labels(WEIRD_PATH).inc(7)
    c.labels("/plain").inc(2, exemplar={"trace_id": "abc123"})
    Gauge("e2e_temperature_celsius", "Temperature", registry=r).set(-3.25)
    Gauge("e2e_big", "A big value", registry=r).set(2**60)
    h = Histogram("e2e_latency_seconds", "Latency", buckets=(0.1, 0.5, 1.0), registry=r)
    h.observe(0.05)
    h.observe(0.2, exemplar={"trace_id": "h1"})
    h.observe(0.7)
    h.observe(3)
    s = Summary("e2e_size_bytes", "Sizes", registry=r)
    s.observe(10)
    s.observe(20.5)
    Info("e2e_build", "Build", registry=r).info({"version": "1.2.3"})
    Enum("e2e_state", "State", states=["a", "b"], registry=r).state("b")
    return r


def text_only(app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    def middleware(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        environ.pop("HTTP_ACCEPT", None)
        return app(environ, start_response)

    return middleware


E2E_REGISTRY = build_registry()
wsgi_app = make_wsgi_app(E2E_REGISTRY)
asgi_app = make_asgi_app(E2E_REGISTRY)
