"""HTTP request limits as the official server's: request lines and header lines up to 64 KiB
(line ending included), at most 100 header lines. A ``name[]`` filter of several hundred names
works over the real server (start_http_server), over make_wsgi_app served the way a library's
fixture builds it (make_server + ThreadingWSGIServer + _SilentHandler), and the status codes at
and past each limit are the official server's (run from the side venv).
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from typing import Any, Iterator, List, Tuple
from urllib.parse import urlencode

import pytest

from prometheus_client import CollectorRegistry, Gauge, exposition, start_http_server
from prometheus_client.exposition import ThreadingWSGIServer, _SilentHandler, make_server, make_wsgi_app

N = 400
LIMIT = 65536


def _fill(r: Any) -> None:
    for i in range(N):
        Gauge(f"limit_metric_with_a_longish_name_{i:04d}", "h", registry=r).set(i)


SETUP = (
    "r = CollectorRegistry()\n"
    f"for i in range({N}):\n"
    "    Gauge(f'limit_metric_with_a_longish_name_{i:04d}', 'h', registry=r).set(i)\n"
)


def _raw(port: int, data: bytes) -> Tuple[int, bytes]:
    """Send ``data``, return (status, body) of the response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(data)
        chunks: List[bytes] = []
        while True:
            try:
                chunk = s.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _filter_target(names: List[str]) -> str:
    return "/metrics?" + urlencode([("name[]", n) for n in names])


def _request(target: str, header_value_len: int = 0) -> bytes:
    req = f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".encode()
    if header_value_len:
        req += b"X-Big: " + b"a" * header_value_len + b"\r\n"
    return req + b"\r\n"


def _padded_target(total: int) -> str:
    """A target making the request line exactly ``total`` bytes including CRLF."""
    base = "/metrics?x="
    fixed = len("GET ") + len(base) + len(" HTTP/1.1\r\n")
    return base + "a" * (total - fixed)


def _cases() -> List[Tuple[str, bytes]]:
    header_fixed = len(b"X-Big: \r\n")
    return [
        ("filter", _request(_filter_target([f"limit_metric_with_a_longish_name_{i:04d}" for i in range(0, N, 2)]))),
        ("line_at_limit", _request(_padded_target(LIMIT))),
        ("line_over_limit", _request(_padded_target(LIMIT + 1))),
        ("header_at_limit", _request("/metrics", LIMIT - header_fixed)),
        ("header_over_limit", _request("/metrics", LIMIT + 1 - header_fixed)),
    ]


def _check(results: List[Tuple[str, int, bytes]]) -> None:
    got = {name: (status, body) for name, status, body in results}
    status, body = got["filter"]
    assert status == 200
    lines = [ln for ln in body.decode().splitlines() if not ln.startswith("#")]
    assert len(lines) == N // 2 and "limit_metric_with_a_longish_name_0398 398.0" in lines
    assert got["line_at_limit"][0] == 200
    assert got["line_over_limit"][0] == 414
    assert got["header_at_limit"][0] == 200
    assert got["header_over_limit"][0] == 431


def _run_cases(port: int) -> List[Tuple[str, int, bytes]]:
    return [(name, *_raw(port, data)) for name, data in _cases()]


@pytest.fixture
def registry() -> CollectorRegistry:
    r = CollectorRegistry()
    _fill(r)
    return r


def test_start_http_server(registry: CollectorRegistry) -> None:
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        _check(_run_cases(server.server_address[1]))
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def test_library_fixture_style_wsgi_server(registry: CollectorRegistry) -> None:
    """Built as the official start_wsgi_server does, from the module's own names."""
    app = make_wsgi_app(registry)
    httpd = make_server("127.0.0.1", 0, app, ThreadingWSGIServer, handler_class=_SilentHandler)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    try:
        assert issubclass(_SilentHandler, exposition.WSGIRequestHandler)
        _check(_run_cases(httpd.server_address[1]))
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(10)


_OFFICIAL_SERVER = "import sys\nfrom prometheus_client import *\n" + SETUP + """
server, t = start_http_server(0, addr='127.0.0.1', registry=r)
print(server.server_address[1], flush=True)
sys.stdin.read()
"""


@pytest.fixture
def official_port(official_python: str, tmp_path: Any) -> Iterator[int]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.Popen([official_python, "-I", "-c", _OFFICIAL_SERVER], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, cwd=str(tmp_path))
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield port
    finally:
        proc.kill()
        proc.communicate(timeout=10)


def test_official_server_same_statuses(official_port: int, registry: CollectorRegistry) -> None:
    official = _run_cases(official_port)
    _check(official)  # the limits above are the official's
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        ours = _run_cases(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    assert [(n, s) for n, s, _ in ours] == [(n, s) for n, s, _ in official]
    # The filtered output has the same metric families (the official's order follows a set).
    assert sorted(ours[0][2].split(b"# HELP")) == sorted(official[0][2].split(b"# HELP"))

