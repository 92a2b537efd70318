"""OpenMetrics 2.0 negotiation over real HTTP (built-in server on 127.0.0.1) and ASGI:
served only for ``application/openmetrics-text; version=2.0.0``; 1.0.0 stays the default."""

from __future__ import annotations

import gzip
import http.client
from typing import Dict, Iterator, Tuple

import pytest

from prometheus_client import CollectorRegistry, Counter, Histogram, make_asgi_app, start_http_server
from prometheus_client.metrics_core import GaugeMetricFamily
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from test_asgi import _call, _http_scope

OM2 = "application/openmetrics-text; version=2.0.0"
OM2_TYPE = "application/openmetrics-text; version=2.0.0; charset=utf-8; escaping=underscores"
# What Prometheus 3 sends by default: no 2.0 in it, so it keeps getting 1.0.
PROMETHEUS_3 = ("application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,"
                "application/openmetrics-text;version=0.0.1;q=0.5,"
                "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2")


class _Utf8:
    def collect(self) -> Iterator[GaugeMetricFamily]:
        g = GaugeMetricFamily("node.load", "Load", labels=["host.name"])
        g.add_metric(["db-1"], 0.42)
        yield g


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("reqs", "Requests", ["code"], registry=r).labels("200").inc(3)
    Histogram("lat", "Latency", buckets=[0.5, 1], registry=r).observe(0.25, {"trace_id": "a1"})
    r.register(_Utf8())  # type: ignore[arg-type]
    return r


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    httpd, thread = start_http_server(0, addr="127.0.0.1", registry=_registry())
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()
    thread.join(10)


def _get(port: int, accept: str, encoding: str = "") -> Tuple[Dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        headers = {"Accept": accept}
        if encoding:
            headers["Accept-Encoding"] = encoding
        conn.request("GET", "/metrics", headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        return {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def test_version_2_is_served_when_asked(port: int) -> None:
    headers, body = _get(port, OM2)
    assert headers["content-type"] == OM2_TYPE
    text = body.decode()
    assert 'reqs_total{code="200"} 3 st@' in text and "_created" not in text
    assert "lat {count:1,sum:0.25,bucket:[0.5:1,1.0:1,+Inf:1]} st@" in text and '# {trace_id="a1"} 0.25 ' in text
    assert "# TYPE node_load gauge\n" in text  # underscores: the default escaping
    names = [m.name for m in text_string_to_metric_families(text, version="2.0.0")]
    assert names == ["reqs", "lat", "node_load"]


def test_version_2_with_utf8_names_and_gzip(port: int) -> None:
    headers, body = _get(port, OM2 + "; escaping=allow-utf-8", "gzip")
    assert headers["content-type"] == OM2_TYPE.replace("underscores", "allow-utf-8")
    assert headers["content-encoding"] == "gzip"
    text = gzip.decompress(body).decode()
    assert '# TYPE "node.load" gauge\n' in text and '{"node.load","host.name"="db-1"} 0.42\n' in text
    [load] = [m for m in text_string_to_metric_families(text, version="2.0.0") if m.type == "gauge"]
    assert load.samples[0].labels == {"host.name": "db-1"}


@pytest.mark.parametrize("accept", [
    "application/openmetrics-text",
    "application/openmetrics-text; version=1.0.0",
    PROMETHEUS_3,
    "text/plain;version=1.0.0;q=0.5," + OM2,  # the first acceptable entry wins, as before
])
def test_other_requests_keep_version_1(port: int, accept: str) -> None:
    headers, body = _get(port, accept)
    assert "version=2.0.0" not in headers["content-type"]
    assert b"st@" not in body
    if headers["content-type"].startswith("application/openmetrics-text"):
        assert b"reqs_created" in body


def test_asgi_negotiates_version_2() -> None:
    app = make_asgi_app(_registry())
    start, body = _call(app, _http_scope(headers=[(b"accept", OM2.encode())]))
    assert dict(start["headers"])[b"Content-Type"] == OM2_TYPE.encode()
    assert b"st@" in body["body"]
    start, body = _call(app, _http_scope(headers=[(b"accept", b"application/openmetrics-text")]))
    assert dict(start["headers"])[b"Content-Type"].startswith(b"application/openmetrics-text; version=1.0.0")
    assert b"st@" not in body["body"]
