"""make_asgi_app: called directly, and served by a real uvicorn (alone, mounted in Starlette/FastAPI).

Shows that rendering happens off the event loop (a scrape blocked in a collector does not
stop other requests), that lifespan events are answered, and the usual negotiation/gzip/
name[]/favicon behaviour.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import json
import threading
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from peers import free_ports, wait_until
from prometheus_client import CollectorRegistry, Counter, Gauge, exposition, make_asgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

OM = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("asgi_requests", "Requests", ["path"], registry=r).labels("/x").inc(4)
    Gauge("asgi_gauge", "G", registry=r).set(2.5)
    return r


def _call(app: Any, scope: Dict[str, Any], messages: Optional[List[Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
    inbox = list(messages if messages is not None else [{"type": "http.request", "body": b"", "more_body": False}])
    sent: List[Dict[str, Any]] = []

    async def receive() -> Dict[str, Any]:
        if inbox:
            return inbox.pop(0)
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def send(message: Dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(asyncio.wait_for(app(scope, receive, send), 30))
    return sent


def _http_scope(path: str = "/metrics", query: bytes = b"", headers: Optional[List[Tuple[bytes, bytes]]] = None,
                method: str = "GET") -> Dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers or []}


def test_direct_call_matches_bake_output() -> None:
    r = _registry()
    app = make_asgi_app(r)
    headers = [(b"Accept", b"application/openmetrics-text;version=1.0.0"), (b"accept", b"text/plain"),
               (b"Accept-Encoding", b"gzip")]
    start, body = _call(app, _http_scope(query=b"name[]=asgi_gauge&name[]=asgi_requests_total", headers=headers))
    status, hdrs, expected = exposition._bake_output(
        r, "application/openmetrics-text;version=1.0.0,text/plain", "gzip",
        {"name[]": ["asgi_gauge", "asgi_requests_total"]}, False)
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert start["headers"] == [(k.encode(), v.encode()) for k, v in hdrs]
    assert dict(start["headers"])[b"Content-Encoding"] == b"gzip"
    assert body["type"] == "http.response.body"
    assert gzip.decompress(body["body"]) == gzip.decompress(expected)


def test_disable_compression_and_default_text() -> None:
    r = _registry()
    start, body = _call(make_asgi_app(r, disable_compression=True),
                        _http_scope(headers=[(b"accept-encoding", b"gzip")]))
    assert b"Content-Encoding" not in dict(start["headers"])
    assert body["body"] == exposition.generate_latest(r)


def test_favicon() -> None:
    start, body = _call(make_asgi_app(_registry()), _http_scope(path="/favicon.ico"))
    assert start["status"] == 200 and body["body"] == b""


def test_lifespan() -> None:
    sent = _call(make_asgi_app(_registry()), {"type": "lifespan"},
                 [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    assert sent == [{"type": "lifespan.startup.complete"}, {"type": "lifespan.shutdown.complete"}]


def test_websocket_refused() -> None:
    sent = _call(make_asgi_app(_registry()), {"type": "websocket", "path": "/"}, [{"type": "websocket.connect"}])
    assert sent == [{"type": "websocket.close", "code": 1000}]


def test_disconnect_before_request_sends_nothing() -> None:
    assert _call(make_asgi_app(_registry()), _http_scope(), [{"type": "http.disconnect"}]) == []


def test_chunked_request_body_is_drained() -> None:
    sent = _call(make_asgi_app(_registry()), _http_scope(),
                 [{"type": "http.request", "body": b"a", "more_body": True},
                  {"type": "http.request", "body": b"b", "more_body": False}])
    assert sent[0]["status"] == 200


def test_patched_bake_output_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exposition, "_bake_output", lambda *a: ("200 OK", [("Content-Type", "x/y")], b"patched"))
    start, body = _call(make_asgi_app(_registry()), _http_scope())
    assert body["body"] == b"patched"


# ------------------------------------------------------------------------------- real uvicorn
class Gate:
    """A collector that blocks scrapes until released."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def collect(self) -> List[Metric]:
        self.entered.set()
        assert self.release.wait(30)
        return [GaugeMetricFamily("gate_gauge", "Blocks until released", value=1)]


class Uvicorn:
    def __init__(self, app: Any) -> None:
        import uvicorn

        self.port = free_ports(1)[0]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on",
                                ws="none", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        wait_until(lambda: self.server.started, "uvicorn started", timeout=30)

    def get(self, path: str, headers: Optional[Dict[str, str]] = None, method: str = "GET"
            ) -> Tuple[int, Dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.release.set()


def _other_requests_while_scrape_blocked(server: Uvicorn, gate: Gate, metrics_path: str, other_path: str) -> None:
    result: List[Any] = []
    t = threading.Thread(target=lambda: result.append(server.get(metrics_path)))
    t.start()
    assert gate.entered.wait(30)
    # The scrape is stuck in collect(); the event loop must still answer.
    for _ in range(3):
        status, _, body = server.get(other_path)
        assert status == 200, body
    gate.release.set()
    t.join(30)
    assert result and result[0][0] == 200 and b"gate_gauge 1.0" in result[0][2]


def test_uvicorn_plain_app_not_blocked(gate: Gate) -> None:
    r = _registry()
    r.register(gate)
    app = make_asgi_app(r)
    server = Uvicorn(app)
    try:
        # favicon is answered without rendering, so it must get through while a scrape blocks.
        _other_requests_while_scrape_blocked(server, gate, "/metrics", "/favicon.ico")
        status, headers, body = server.get("/metrics", headers={"Accept": OM, "Accept-Encoding": "gzip"})
        assert status == 200
        assert headers["content-type"].startswith("application/openmetrics-text")
        assert headers["content-encoding"] == "gzip"
        assert gzip.decompress(body).endswith(b"# EOF\n")
    finally:
        server.stop()


def test_starlette_mount_not_blocked(gate: Gate) -> None:
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Mount, Route

    async def ping(request: Any) -> PlainTextResponse:
        return PlainTextResponse("pong")

    r = _registry()
    r.register(gate)
    app = Starlette(routes=[Route("/ping", ping), Mount("/metrics", app=make_asgi_app(r))])
    server = Uvicorn(app)
    try:
        _other_requests_while_scrape_blocked(server, gate, "/metrics/", "/ping")
        status, _, body = server.get("/metrics/?name[]=asgi_gauge")
        assert status == 200 and b"asgi_gauge 2.5" in body and b"asgi_requests" not in body
    finally:
        server.stop()


def test_fastapi_mount_with_lifespan() -> None:
    from fastapi import FastAPI

    r = _registry()
    app = FastAPI()
    app.mount("/metrics", make_asgi_app(r))

    @app.get("/ping")
    def ping() -> Dict[str, str]:
        return {"ok": "yes"}

    server = Uvicorn(app)
    try:
        status, headers, body = server.get("/metrics/")
        assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
        assert b'asgi_requests_total{path="/x"} 4.0' in body
        assert server.get("/ping")[0] == 200
    finally:
        server.stop()


def test_uvicorn_lifespan_on_with_bare_app() -> None:
    # lifespan="on" makes uvicorn fail at startup if the app does not answer lifespan events.
    server = Uvicorn(make_asgi_app(_registry()))
    try:
        assert server.get("/")[0] == 200
    finally:
        server.stop()


def test_http_messages_match_official(run_official: Any) -> None:
    scopes = [
        _http_scope(),
        _http_scope(query=b"name[]=x", headers=[(b"accept", b"application/openmetrics-text;version=1.0.0")]),
        _http_scope(headers=[(b"Accept", b"text/plain;version=1.0.0;escaping=dots"), (b"accept-encoding", b"br")]),
        _http_scope(method="POST"),
    ]
    wire = [{**s, "query_string": s["query_string"].decode(), "headers": [[k.decode(), v.decode()] for k, v in
                                                                         s["headers"]]} for s in scopes]
    code = (
        "import asyncio, json, sys\n"
        "from prometheus_client import CollectorRegistry, make_asgi_app\n"
        "app = make_asgi_app(CollectorRegistry())\n"
        "out = []\n"
        "for s in json.loads(sys.stdin.read()):\n"
        "    s['query_string'] = s['query_string'].encode()\n"
        "    s['headers'] = [(k.encode(), v.encode()) for k, v in s['headers']]\n"
        "    sent = []\n"
        "    async def receive():\n"
        "        return {'type': 'http.request', 'body': b'', 'more_body': False}\n"
        "    async def send(m):\n"
        "        sent.append(m)\n"
        "    asyncio.run(app(s, receive, send))\n"
        "    out.append([{k: (v.decode('latin-1') if isinstance(v, bytes) else\n"
        "                 [[a.decode(), b.decode()] for a, b in v] if k == 'headers' else v)\n"
        "                 for k, v in m.items()} for m in sent])\n"
        "print(json.dumps(out))\n"
    )
    official = json.loads(run_official(code, stdin=json.dumps(wire).encode()))
    app = make_asgi_app(CollectorRegistry())
    ours = []
    for s in scopes:
        sent = _call(app, s)
        ours.append([{k: (v.decode("latin-1") if isinstance(v, bytes) else
                          [[a.decode(), b.decode()] for a, b in v] if k == "headers" else v)
                      for k, v in m.items()} for m in sent])
    assert ours == official
