"""Exposition formats (text, OpenMetrics, protobuf, remote write messages), negotiation and parsers."""
