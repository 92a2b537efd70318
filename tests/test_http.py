"""The built-in HTTP server, the WSGI app and MetricsHandler, over real sockets on 127.0.0.1.

Covers: negotiation/gzip/name[] passed through to ``_bake_output``, favicon, OPTIONS/405/HEAD,
keep-alive, concurrent scrapes in parallel, clean shutdown (thread ends, port freed, idle
connections closed), bad input (malformed request line/headers/Accept, unknown escaping, bad
``name[]``, huge headers, a slow client that never finishes) while others are still served,
TLS and mutual TLS, IPv6, MetricsHandler.factory, and a few differential checks against the
official client's WSGI app.
"""

from __future__ import annotations

import gzip
import http.client
import json
import re
import select
import socket
import ssl
import threading
import urllib.request
from http.server import HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple
from wsgiref.simple_server import make_server

import pytest
from hypothesis import HealthCheck, given, settings

from peers import shared_certs, wait_until
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    MetricsHandler,
    exposition,
    make_wsgi_app,
    start_http_server,
    start_wsgi_server,
)
from prometheus_client._transport import http as _http
from prometheus_client.exposition import ThreadingWSGIServer
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from strategies import http_requests

OM_ACCEPT = (
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"
)


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    c = Counter("http_requests", "Requests served", ["path"], registry=r)
    c.labels("/a").inc(3)
    c.labels("/b").inc()
    Gauge("http_temperature_celsius", "Temperature", registry=r).set(21.5)
    h = Histogram("http_latency_seconds", "Latency", buckets=(0.1, 1.0), registry=r)
    h.observe(0.05)
    h.observe(0.5)
    return r


class Server:
    def __init__(self, httpd: Any, thread: threading.Thread) -> None:
        self.httpd = httpd
        self.thread = thread
        self.port: int = httpd.server_address[1]
        self.host = "127.0.0.1"

    def get(self, path: str = "/metrics", headers: Optional[Dict[str, str]] = None,
            method: str = "GET") -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(10)
        assert not self.thread.is_alive()


@pytest.fixture
def registry() -> CollectorRegistry:
    return _registry()


@pytest.fixture
def server(registry: CollectorRegistry) -> Iterator[Server]:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    s = Server(httpd, t)
    yield s
    s.stop()


def _baked(registry: Any, accept: Optional[str] = None, encoding: Optional[str] = None,
           params: Optional[Dict[str, List[str]]] = None) -> Tuple[str, List[Tuple[str, str]], bytes]:
    result: Tuple[str, List[Tuple[str, str]], bytes] = exposition._bake_output(
        registry, accept, encoding, params or {}, False
    )
    return result


def _raw(port: int, data: bytes, timeout: float = 20.0) -> bytes:
    """Send raw bytes, read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks)


# ------------------------------------------------------------------------------- basics
def test_start_http_server_is_start_wsgi_server() -> None:
    assert start_http_server is start_wsgi_server
    assert exposition.start_http_server is start_wsgi_server
    assert exposition.make_wsgi_app is make_wsgi_app
    from socketserver import ThreadingMixIn
    from wsgiref.simple_server import WSGIServer

    assert ThreadingWSGIServer.__mro__[1:3] == (ThreadingMixIn, WSGIServer)
    assert ThreadingWSGIServer.daemon_threads is True


def test_default_scrape_is_text_0_0_4(server: Server, registry: CollectorRegistry) -> None:
    status, headers, body = server.get("/metrics")
    assert status == 200
    st, hdrs, expected = _baked(registry)
    assert headers["content-type"] == dict(hdrs)["Content-Type"]
    assert headers["content-type"].startswith("text/plain; version=0.0.4")
    assert body == expected
    assert int(headers["content-length"]) == len(body)
    assert b'http_requests_total{path="/a"} 3.0' in body
    # Any path serves the metrics.
    assert server.get("/")[2] == expected
    assert server.get("/anything/else")[2] == expected


@pytest.mark.parametrize(
    "accept",
    [
        OM_ACCEPT,
        "application/openmetrics-text; version=1.0.0; escaping=allow-utf-8",
        "text/plain;version=1.0.0;escaping=dots",
        "text/plain;version=1.0.0;escaping=values",
        "text/plain; version=0.0.4",
        "application/openmetrics-text; version=0.0.1",
    ],
)
def test_negotiation_matches_bake_output(server: Server, registry: CollectorRegistry, accept: str) -> None:
    status, headers, body = server.get("/metrics", headers={"Accept": accept})
    _, hdrs, expected = _baked(registry, accept)
    assert status == 200
    assert headers["content-type"] == dict(hdrs)["Content-Type"]
    assert body == expected


def test_openmetrics_negotiated(server: Server) -> None:
    _, headers, body = server.get("/metrics", headers={"Accept": OM_ACCEPT})
    assert headers["content-type"].startswith("application/openmetrics-text; version=1.0.0")
    assert body.endswith(b"# EOF\n")
    _, headers, _ = server.get("/metrics", headers={"Accept": "text/plain;version=1.0.0;escaping=dots"})
    assert headers["content-type"].startswith("text/plain; version=1.0.0")
    assert "escaping=dots" in headers["content-type"]


def test_gzip_when_accepted(server: Server, registry: CollectorRegistry) -> None:
    status, headers, body = server.get("/metrics", headers={"Accept-Encoding": "br;q=1.0, gzip;q=0.8"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert gzip.decompress(body) == _baked(registry)[2]
    _, headers, body = server.get("/metrics", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in headers
    assert body == _baked(registry)[2]


def test_wsgi_disable_compression(registry: CollectorRegistry) -> None:
    app = make_wsgi_app(registry, disable_compression=True)
    httpd = make_server("127.0.0.1", 0, app, ThreadingWSGIServer, handler_class=_http._SilentWSGIRequestHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    s = Server(httpd, t)
    try:
        _, headers, body = s.get("/metrics", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in headers
        assert body == _baked(registry)[2]
    finally:
        s.stop()


def test_name_filter(server: Server, registry: CollectorRegistry) -> None:
    _, _, body = server.get("/metrics?name[]=http_temperature_celsius&name[]=http_latency_seconds_count")
    assert body == _baked(registry, params={"name[]": ["http_temperature_celsius", "http_latency_seconds_count"]})[2]
    assert b"http_temperature_celsius 21.5" in body
    assert b"http_requests_total" not in body
    # URL-encoded brackets work the same.
    _, _, body2 = server.get("/metrics?name%5B%5D=http_temperature_celsius&name%5B%5D=http_latency_seconds_count")
    assert body2 == body


def test_favicon_options_405_head(server: Server) -> None:
    status, headers, body = server.get("/favicon.ico")
    assert (status, body) == (200, b"")
    status, headers, body = server.get("/metrics", method="OPTIONS")
    assert (status, headers["allow"], body) == (200, "OPTIONS,GET", b"")
    status, headers, body = server.get("/metrics", method="POST")
    assert status == 405
    assert headers["allow"] == "OPTIONS,GET"
    assert body == b"# HTTP 405 Method Not Allowed: POST; use OPTIONS or GET\n"
    status, headers, body = server.get("/metrics", method="HEAD")
    assert status == 405 and body == b""
    # The connection stays usable after a HEAD (no stray body on the wire).
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.request("HEAD", "/metrics")
        r = conn.getresponse()
        r.read()
        conn.request("GET", "/metrics")
        r = conn.getresponse()
        assert r.status == 200 and b"http_requests_total" in r.read()
    finally:
        conn.close()


def test_keep_alive_many_requests_one_connection(server: Server, registry: CollectorRegistry) -> None:
    expected = _baked(registry)[2]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=20)
    try:
        conn.connect()
        sock = conn.sock
        for _ in range(20):
            conn.request("GET", "/metrics")
            resp = conn.getresponse()
            assert resp.status == 200
            assert resp.read() == expected
        assert conn.sock is sock  # never reconnected
    finally:
        conn.close()


def test_http_1_0_closes_unless_keep_alive(server: Server) -> None:
    out = _raw(server.port, b"GET /metrics HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")
    assert b"\r\nConnection: close\r\n" in out
    assert b"http_requests_total" in out
    out = _raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")


def test_big_body_to_a_slow_reader_arrives_whole() -> None:
    r = CollectorRegistry()
    g = Gauge("big_gauge", "Many children", ["i"], registry=r)
    for i in range(20000):
        g.labels(f"value-{i:06d}").set(i)
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=r)
    s = Server(httpd, t)
    try:
        expected = _baked(r)[2]
        assert len(expected) > 500_000
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(30)
        sock.connect(("127.0.0.1", s.port))
        with sock:
            for _ in range(2):  # twice on one connection: framing must stay right
                sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                select.select([], [], [], 0.3)  # let the server fill every buffer first
                reader = sock.makefile("rb")
                status = reader.readline()
                assert status == b"HTTP/1.1 200 OK\r\n"
                length = None
                while True:
                    line = reader.readline()
                    if line == b"\r\n":
                        break
                    name, _, value = line.decode().partition(":")
                    if name.lower() == "content-length":
                        length = int(value)
                assert length == len(expected)
                body = b""
                while len(body) < length:
                    chunk = reader.read(min(8192, length - len(body)))
                    assert chunk
                    body += chunk
                assert body == expected
                reader.close()
    finally:
        s.stop()


def test_two_pipelined_requests(server: Server) -> None:
    out = _raw(server.port, b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\n\r\n"
                            b"GET /favicon.ico HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert out.count(b"HTTP/1.1 200 OK\r\n") == 2


def test_absolute_form_and_expect_continue(server: Server) -> None:
    out = _raw(server.port, f"GET http://127.0.0.1:{server.port}/favicon.ico HTTP/1.1\r\nHost: x\r\n"
                            "Connection: close\r\n\r\n".encode())
    assert out.startswith(b"HTTP/1.1 200 OK\r\n") and out.endswith(b"\r\n\r\n")
    out = _raw(server.port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n"
                            b"Expect: 100-continue\r\nConnection: close\r\n\r\nabc")
    assert out.startswith(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\n")


# ------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET /metrics\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/1.1 extra\r\n\r\n", b"400"),
        (b"GET /metrics FOO/1.1\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /metrics HTTP/1.1\r\nno colon here\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/1.1\r\nBad Name: x\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/1.1\r\nX: a\r\n folded\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/1.1\r\nContent-Length: abc\r\n\r\n", b"400"),
        (b"GET /metrics HTTP/1.1\r\nContent-Length: 99999999999\r\n\r\n", b"413"),
        (b"GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", b"501"),
        # Limits as the standard library server's: 64 KiB lines, 100 header lines.
        (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", b"414"),
        (b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * 70000 + b"\r\n\r\n", b"431"),
        (b"GET /metrics HTTP/1.1\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(200)) + b"\r\n", b"431"),
    ],
)
def test_malformed_requests_get_an_error_and_server_keeps_serving(
    server: Server, request_bytes: bytes, status: bytes
) -> None:
    out = _raw(server.port, request_bytes)
    assert out.startswith(b"HTTP/1.1 " + status), out[:200]
    assert b"Connection: close" in out
    assert server.get("/metrics")[0] == 200


def test_bad_header_values_still_answer(server: Server, registry: CollectorRegistry) -> None:
    for accept in ["", ";;;", "application/openmetrics-text; version=abc", "text/plain;version=1.0.0;escaping=bogus",
                   "application/openmetrics-text; version=1.0.0; escaping=nope", "\x7f\xff garbage, ,,",
                   "a" * 7000]:
        status, headers, body = server.get("/metrics", headers={"Accept": accept})
        try:
            expected = _baked(registry, accept)[2]
        except Exception:  # noqa: BLE001 - the encoder refuses it: the server says 500
            assert status == 500, accept
        else:
            assert status == 200, accept
            assert body == expected, accept
        assert server.get("/metrics")[0] == 200
    for query in ["name[]=", "name[]=does_not_exist", "name[]=%ff%fe", "name[]=a&name[]=b&&&=", "%%%", "name[=x"]:
        status, _, body = server.get("/metrics?" + query)
        assert status == 200, query
    assert server.get("/metrics?name[]=does_not_exist")[2] == b""


def test_unknown_escaping_falls_back_to_underscores(server: Server) -> None:
    _, headers, _ = server.get("/metrics", headers={"Accept": "text/plain;version=1.0.0;escaping=bogus"})
    assert headers["content-type"].endswith("escaping=underscores")


def test_raw_non_ascii_bytes_in_request(server: Server) -> None:
    out = _raw(server.port, b"GET /metrics?name[]=\xff HTTP/1.1\r\nX-Weird: \xe9\xff\r\nConnection: close\r\n\r\n")
    assert out.startswith(b"HTTP/1.1 200 OK\r\n")


def test_dripping_headers_hit_the_request_deadline(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http._WSGIConnectionHandler, "timeout", 0.5)
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    s = Server(httpd, t)
    try:
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=30)
        sock.sendall(b"GET /metrics HTTP/1.1\r\n")
        closed = False
        for i in range(200):  # one header line every 0.1 s: each read is in time, the request is not
            try:
                sock.sendall(b"X-Drip-%d: x\r\n" % i)
            except OSError:
                closed = True
                break
            if select.select([sock], [], [], 0.1)[0]:
                try:
                    assert sock.recv(100) == b""
                except ConnectionResetError:
                    pass  # closed with unread input: a reset is a close too
                closed = True
                break
        assert closed
        sock.close()
        assert s.get("/metrics")[0] == 200
    finally:
        s.stop()


def test_keep_alive_survives_a_pause_longer_than_the_request_timeout(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http._WSGIConnectionHandler, "timeout", 0.2)
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    s = Server(httpd, t)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        conn.request("GET", "/favicon.ico")
        conn.getresponse().read()
        sock = conn.sock
        assert sock is not None
        assert not select.select([sock], [], [], 0.6)[0]  # not closed by the server meanwhile
        conn.request("GET", "/favicon.ico")
        assert conn.getresponse().status == 200
        assert conn.sock is sock
        conn.close()
    finally:
        s.stop()


def test_port_in_use_raises(registry: CollectorRegistry) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(OSError):
            start_http_server(busy.getsockname()[1], addr="127.0.0.1", registry=registry)


def test_slow_client_times_out_and_others_are_served(
    registry: CollectorRegistry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_http._WSGIConnectionHandler, "timeout", 0.5)
    monkeypatch.setattr(_http._WSGIConnectionHandler, "keep_alive_timeout", 0.5)
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    s = Server(httpd, t)
    try:
        slow = [socket.create_connection(("127.0.0.1", s.port), timeout=30) for _ in range(5)]
        for i, sock in enumerate(slow):
            sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n" if i % 2 else b"GE")
        # Everyone else is served meanwhile.
        for _ in range(5):
            assert s.get("/metrics")[0] == 200
        # The slow ones are dropped by the server (EOF), not left hanging.
        for sock in slow:
            assert sock.recv(100) == b""
            sock.close()
        # An idle keep-alive connection is dropped the same way.
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
        conn.request("GET", "/favicon.ico")
        conn.getresponse().read()
        assert conn.sock is not None
        assert conn.sock.recv(10) == b""
        conn.close()
        assert s.get("/metrics")[0] == 200
    finally:
        s.stop()


class _BlockingCollector:
    """collect() waits on a barrier: only parallel scrapes can get through it."""

    def __init__(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)

    def collect(self) -> List[Metric]:
        self.barrier.wait()
        return [GaugeMetricFamily("blocking_gauge", "Waits for its peers", value=1)]


def test_concurrent_scrapes_are_served_in_parallel() -> None:
    n = 4
    r = CollectorRegistry()
    r.register(_BlockingCollector(n))
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=r)
    s = Server(httpd, t)
    results: List[Any] = []

    def scrape() -> None:
        try:
            results.append(s.get("/metrics"))
        except Exception as exc:  # noqa: BLE001
            results.append(exc)

    try:
        threads = [threading.Thread(target=scrape) for _ in range(n)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(30)
        assert len(results) == n
        for res in results:
            assert not isinstance(res, Exception), res
            assert res[0] == 200 and b"blocking_gauge 1.0" in res[2]
    finally:
        s.stop()


def test_many_clients_at_once_then_no_thread_left(registry: CollectorRegistry) -> None:
    expected = _baked(registry)[2]
    before = threading.active_count()
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    s = Server(httpd, t)
    errors: List[str] = []

    def client(keep_alive: bool) -> None:
        try:
            if keep_alive:
                conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=30)
                for _ in range(10):
                    conn.request("GET", "/metrics")
                    resp = conn.getresponse()
                    if resp.status != 200 or resp.read() != expected:
                        errors.append("bad keep-alive response")
                conn.close()
            else:
                for _ in range(10):
                    status, _, body = s.get("/metrics")
                    if status != 200 or body != expected:
                        errors.append("bad response")
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))

    try:
        threads = [threading.Thread(target=client, args=(i % 2 == 0,)) for i in range(40)]
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
        assert errors == []
    finally:
        s.stop()
    wait_until(lambda: threading.active_count() <= before, "connection threads to end", timeout=30)


def test_app_error_is_a_500_and_server_survives(server: Server, monkeypatch: pytest.MonkeyPatch,
                                                caplog: pytest.LogCaptureFixture) -> None:
    def boom(*args: Any) -> Any:
        raise RuntimeError("collector exploded")

    monkeypatch.setattr(exposition, "_bake_output", boom)
    status, _, _ = server.get("/metrics")
    assert status == 500
    assert "collector exploded" in caplog.text
    monkeypatch.undo()
    assert server.get("/metrics")[0] == 200


# ------------------------------------------------------------------------------- shutdown
def test_clean_shutdown_frees_port_and_closes_idle_connections(registry: CollectorRegistry) -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry)
    port = httpd.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/metrics")
    assert conn.getresponse().read()
    assert conn.sock is not None
    httpd.shutdown()
    httpd.server_close()
    t.join(10)
    assert not t.is_alive()
    # The idle keep-alive connection was closed by the server.
    assert conn.sock.recv(10) == b""
    conn.close()
    # The port is free again: a new server can bind it, and nothing answers there meanwhile.
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    httpd2, t2 = start_http_server(port, addr="127.0.0.1", registry=registry)
    Server(httpd2, t2).stop()
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))


def test_ipv6(registry: CollectorRegistry) -> None:
    if not socket.has_ipv6:
        pytest.fail("IPv6 sockets unavailable")
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no ::1 on this machine")
    httpd, t = start_http_server(0, addr="::1", registry=registry)
    try:
        conn = http.client.HTTPConnection("::1", httpd.server_address[1], timeout=20)
        conn.request("GET", "/metrics")
        assert b"http_requests_total" in conn.getresponse().read()
        conn.close()
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(10)


# ------------------------------------------------------------------------------- TLS
@pytest.fixture(scope="module")
def certs() -> Dict[str, str]:
    return shared_certs()


def _https_get(port: int, ctx: ssl.SSLContext) -> bytes:
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", context=ctx, timeout=20) as resp:
        body: bytes = resp.read()
        return body


def test_tls(registry: CollectorRegistry, certs: Dict[str, str]) -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry,
                                 certfile=certs["server_cert"], keyfile=certs["server_key"])
    s = Server(httpd, t)
    try:
        ctx = ssl.create_default_context(cafile=certs["ca"])
        assert b"http_requests_total" in _https_get(s.port, ctx)
        # Plain HTTP on the TLS port does not get metrics, and the server keeps serving.
        with pytest.raises((OSError, http.client.HTTPException)):
            s.get("/metrics")
        # A client that connects and never starts the handshake does not block others.
        idle = socket.create_connection(("127.0.0.1", s.port))
        try:
            assert b"http_requests_total" in _https_get(s.port, ctx)
        finally:
            idle.close()
    finally:
        s.stop()


def test_tls_shutdown_closes_idle_keep_alive(registry: CollectorRegistry, certs: Dict[str, str]) -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry,
                                 certfile=certs["server_cert"], keyfile=certs["server_key"])
    ctx = ssl.create_default_context(cafile=certs["ca"])
    conn = http.client.HTTPSConnection("127.0.0.1", httpd.server_address[1], context=ctx, timeout=30)
    try:
        conn.request("GET", "/metrics")
        assert b"http_requests_total" in conn.getresponse().read()
        Server(httpd, t).stop()
        assert conn.sock is not None
        try:
            assert conn.sock.recv(10) == b""
        except (ssl.SSLError, ConnectionError):
            pass  # closed without a TLS close_notify: also an end of the connection
    finally:
        conn.close()


def test_tls_versions(registry: CollectorRegistry, certs: Dict[str, str]) -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry,
                                 certfile=certs["server_cert"], keyfile=certs["server_key"],
                                 tls_min_version=ssl.TLSVersion.TLSv1_3)
    s = Server(httpd, t)
    try:
        ctx = ssl.create_default_context(cafile=certs["ca"])
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(OSError):
            _https_get(s.port, ctx)
        ctx = ssl.create_default_context(cafile=certs["ca"])
        assert b"http_requests_total" in _https_get(s.port, ctx)
    finally:
        s.stop()


def test_mutual_tls(registry: CollectorRegistry, certs: Dict[str, str]) -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry,
                                 certfile=certs["server_cert"], keyfile=certs["server_key"],
                                 client_cafile=certs["ca"], client_auth_required=True)
    s = Server(httpd, t)
    try:
        ctx = ssl.create_default_context(cafile=certs["ca"])
        with pytest.raises(OSError):  # no client certificate
            _https_get(s.port, ctx)
        bad = ssl.create_default_context(cafile=certs["ca"])
        bad.load_cert_chain(certs["other_client_cert"], certs["other_client_key"])
        with pytest.raises(OSError):  # client certificate from an unknown CA
            _https_get(s.port, bad)
        good = ssl.create_default_context(cafile=certs["ca"])
        good.load_cert_chain(certs["client_cert"], certs["client_key"])
        assert b"http_requests_total" in _https_get(s.port, good)
    finally:
        s.stop()


def test_mutual_tls_with_client_capath(registry: CollectorRegistry, certs: Dict[str, str], tmp_path: Path) -> None:
    import shutil
    import subprocess

    capath = tmp_path / "capath"
    capath.mkdir()
    shutil.copy(certs["ca"], capath / "ca.pem")
    subprocess.run(["openssl", "rehash", str(capath)], check=True, capture_output=True, timeout=60)
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=registry,
                                 certfile=certs["server_cert"], keyfile=certs["server_key"],
                                 client_capath=str(capath), client_auth_required=True)
    s = Server(httpd, t)
    try:
        good = ssl.create_default_context(cafile=certs["ca"])
        good.load_cert_chain(certs["client_cert"], certs["client_key"])
        assert b"http_requests_total" in _https_get(s.port, good)
        bad = ssl.create_default_context(cafile=certs["ca"])
        bad.load_cert_chain(certs["other_client_cert"], certs["other_client_key"])
        with pytest.raises(OSError):
            _https_get(s.port, bad)
    finally:
        s.stop()


def test_tls_load_errors_are_clear(registry: CollectorRegistry, certs: Dict[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.pem")
    with pytest.raises(OSError, match="Cannot load CA certificate chain from file"):
        start_http_server(0, addr="127.0.0.1", registry=registry, certfile=certs["server_cert"],
                          keyfile=certs["server_key"], client_cafile=missing)
    with pytest.raises(OSError, match="Cannot load server certificate file"):
        start_http_server(0, addr="127.0.0.1", registry=registry, certfile=missing, keyfile=missing)


# ------------------------------------------------------------------------------- MetricsHandler
def test_metrics_handler_factory(registry: CollectorRegistry) -> None:
    handler = MetricsHandler.factory(registry)
    assert issubclass(handler, MetricsHandler)
    assert handler.__name__ == "MetricsHandler"
    assert handler.registry is registry
    assert MetricsHandler.registry is not registry

    class MyHandler(MetricsHandler):
        pass

    sub = MyHandler.factory(registry)
    assert issubclass(sub, MyHandler) and sub.__name__ == "MyHandler"

    httpd = HTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    s = Server(httpd, t)
    try:
        status, headers, body = s.get("/metrics?name[]=http_temperature_celsius",
                                      headers={"Accept": OM_ACCEPT, "Accept-Encoding": "gzip"})
        _, hdrs, expected = _baked(registry, OM_ACCEPT, "gzip", {"name[]": ["http_temperature_celsius"]})
        assert status == 200
        assert headers["content-type"] == dict(hdrs)["Content-Type"]
        assert headers["content-encoding"] == "gzip"
        assert gzip.decompress(body) == gzip.decompress(expected)
    finally:
        s.stop()


# ------------------------------------------------------------------------------- WSGI app
def _call(app: Any, **environ: Any) -> Tuple[str, List[Tuple[str, str]], bytes]:
    seen: Dict[str, Any] = {}

    def start_response(status: str, headers: List[Tuple[str, str]], exc_info: Any = None) -> None:
        seen["status"], seen["headers"] = status, headers

    env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "QUERY_STRING": ""}
    env.update(environ)
    body = b"".join(app(env, start_response))
    return seen["status"], seen["headers"], body


def test_wsgi_app_calls_bake_output_through_module_global(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: List[Tuple[Any, ...]] = []

    def fake(*args: Any) -> Tuple[str, List[Tuple[str, str]], bytes]:
        calls.append(args)
        return "200 OK", [("Content-Type", "x/y")], b"patched"

    r = CollectorRegistry()
    app = make_wsgi_app(r, disable_compression=True)
    monkeypatch.setattr(exposition, "_bake_output", fake)
    out = _call(app, HTTP_ACCEPT="a/b", HTTP_ACCEPT_ENCODING="gzip", QUERY_STRING="name[]=x&name[]=y")
    assert out == ("200 OK", [("Content-Type", "x/y")], b"patched")
    assert calls == [(r, "a/b", "gzip", {"name[]": ["x", "y"]}, True)]
    # Favicon does not render.
    assert _call(app, PATH_INFO="/favicon.ico") == ("200 OK", [], b"")
    assert len(calls) == 1


def test_wsgi_app_matches_official(run_official: Any) -> None:
    cases: List[Dict[str, str]] = [
        {"REQUEST_METHOD": "OPTIONS"},
        {"REQUEST_METHOD": "POST"},
        {"REQUEST_METHOD": "HEAD"},
        {"REQUEST_METHOD": "DELETE"},
        {"PATH_INFO": "/favicon.ico"},
        {"QUERY_STRING": "name[]=nothing_here"},
        {"QUERY_STRING": "name[]=nothing_here", "HTTP_ACCEPT": OM_ACCEPT},
        {"QUERY_STRING": "name[]=nothing_here", "HTTP_ACCEPT": "text/plain;version=1.0.0;escaping=dots"},
        {"QUERY_STRING": "name[]=nothing_here", "HTTP_ACCEPT": "application/openmetrics-text; version=0.0.1"},
    ]
    code = (
        "import json, sys\n"
        "from prometheus_client import CollectorRegistry, make_wsgi_app\n"
        "app = make_wsgi_app(CollectorRegistry())\n"
        "out = []\n"
        "for case in json.loads(sys.stdin.read()):\n"
        "    env = {'REQUEST_METHOD': 'GET', 'PATH_INFO': '/metrics', 'QUERY_STRING': ''}\n"
        "    env.update(case)\n"
        "    seen = {}\n"
        "    def sr(status, headers, exc_info=None):\n"
        "        seen['s'] = status; seen['h'] = headers\n"
        "    body = b''.join(app(env, sr))\n"
        "    out.append([seen['s'], [list(h) for h in seen['h']], body.decode('latin-1')])\n"
        "print(json.dumps(out))\n"
    )
    official = json.loads(run_official(code, stdin=json.dumps(cases).encode()))
    app = make_wsgi_app(CollectorRegistry())
    ours = []
    for case in cases:
        status, headers, body = _call(app, **case)
        ours.append([status, [list(h) for h in headers], body.decode("latin-1")])
    assert ours == official


# ------------------------------------------------------------------------------- fuzz
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=http_requests())
def test_any_request_bytes_get_an_answer_or_a_close(data: bytes) -> None:
    """Whatever a client sends (then half-closes), the answer is well-formed HTTP or nothing,
    and the server keeps serving."""
    s = _fuzz_server()
    with socket.create_connection(("127.0.0.1", s.port), timeout=20) as sock:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except ConnectionResetError:
            pass
    out = b"".join(chunks)
    if out:
        assert re.match(rb"HTTP/1\.1 [1-5]\d\d [^\r\n]*\r\n", out), out[:200]
    status, _, body = s.get("/metrics?name[]=http_temperature_celsius")
    assert status == 200 and b"http_temperature_celsius 21.5" in body


_FUZZ: List[Server] = []


def _fuzz_server() -> Server:
    """One server for all examples (started on first use, stopped at exit)."""
    if not _FUZZ:
        import atexit

        httpd, t = start_http_server(0, addr="127.0.0.1", registry=_registry())
        _FUZZ.append(Server(httpd, t))
        atexit.register(_FUZZ[0].stop)
    return _FUZZ[0]
