"""Twisted integration: ``MetricsResource`` (importing this package imports the reactor)."""

from ._exposition import MetricsResource

__all__ = ["MetricsResource"]
