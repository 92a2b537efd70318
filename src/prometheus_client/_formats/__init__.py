"""Exposition formats (text, OpenMetrics, protobuf, remote write messages), negotiation and parsers."""

from __future__ import annotations
