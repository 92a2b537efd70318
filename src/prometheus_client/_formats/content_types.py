"""Every content type the library writes or negotiates: the one place they are spelled."""

from __future__ import annotations

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the 0.0.4 text format (legacy names, underscores escaping)."""
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
"""Content type of the 1.0.0 text format (UTF-8 names; add ``; escaping=<scheme>``)."""
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0
"""Content type of the latest Prometheus text format."""

OPENMETRICS_MEDIA = "application/openmetrics-text"
CONTENT_TYPE_OPENMETRICS_1_0 = "application/openmetrics-text; version=1.0.0; charset=utf-8"
"""Content type of OpenMetrics 1.0.0."""
CONTENT_TYPE_OPENMETRICS_2_0 = "application/openmetrics-text; version=2.0.0; charset=utf-8"
"""Content type of OpenMetrics 2.0.0 (native histograms)."""


def openmetrics_content_type(version: str, escaping: str) -> str:
    """The OpenMetrics content type of ``version`` with an ``escaping`` parameter."""
    return f"{OPENMETRICS_MEDIA}; version={version}; charset=utf-8; escaping={escaping}"


PROTOBUF_MEDIA = "application/vnd.google.protobuf"
CONTENT_TYPE_PROTOBUF = f"{PROTOBUF_MEDIA}; proto=io.prometheus.client.MetricFamily; encoding=delimited"
"""Content type of the delimited protobuf exposition."""

CONTENT_TYPE_REMOTE_WRITE = "application/x-protobuf"
"""Content type of a remote-write request body."""

PLAIN_TEXT = "text/plain; charset=utf-8"
"""Plain text (error pages of the HTTP server)."""
