"""A Twisted web resource serving metrics (the WSGI app run in the reactor's thread pool)."""

from __future__ import annotations

from twisted.internet import reactor
from twisted.web.wsgi import WSGIResource

from .. import exposition as exposition  # noqa: F401  (the reference module has it)
from .._transport.http import make_wsgi_app
from ..registry import REGISTRY, Collector

__all__ = ["MetricsResource"]


def MetricsResource(registry: Collector = REGISTRY) -> WSGIResource:
    """A ``twisted.web`` resource serving the metrics of ``registry``.

    It wraps ``make_wsgi_app(registry)`` in a ``WSGIResource`` running in the reactor's
    thread pool, so rendering never blocks the reactor.
    """
    return WSGIResource(  # type: ignore[no-untyped-call,unused-ignore]
        reactor, reactor.getThreadPool(), make_wsgi_app(registry)
    )
