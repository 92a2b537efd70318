"""Framework integrations: aiohttp handler, Django view, Twisted MetricsResource (real servers)."""

from __future__ import annotations

import asyncio
import gzip
import http.client
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from peers import clean_env, free_ports, http_get, wait_until
from prometheus_client import CollectorRegistry, Counter, Gauge, exposition
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

OM = "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5"


def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("int_requests", "Requests", ["path"], registry=r).labels("/x").inc(4)
    Gauge("int_gauge", "G", registry=r).set(2.5)
    return r


def _get(port: int, path: str, headers: Optional[Dict[str, str]] = None, method: str = "GET"
         ) -> Tuple[int, Dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


# ------------------------------------------------------------------------------- aiohttp
class Gate:
    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def collect(self) -> List[Metric]:
        self.entered.set()
        assert self.release.wait(30)
        return [GaugeMetricFamily("gate_gauge", "Blocks until released", value=1)]


class AiohttpServer:
    def __init__(self, registry: Any, disable_compression: bool = False) -> None:
        from aiohttp import web

        from prometheus_client.aiohttp import make_aiohttp_handler

        async def ping(request: web.Request) -> web.Response:
            return web.Response(text="pong")

        self.app = web.Application()
        self.app.router.add_get("/metrics", make_aiohttp_handler(registry, disable_compression))
        self.app.router.add_get("/favicon.ico", make_aiohttp_handler(registry))
        self.app.router.add_get("/ping", ping)
        self.port = free_ports(1)[0]
        self.loop = asyncio.new_event_loop()
        self.runner = web.AppRunner(self.app)
        started = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.run_until_complete(self.runner.setup())
            site = web.TCPSite(self.runner, "127.0.0.1", self.port)
            self.loop.run_until_complete(site.start())
            started.set()
            self.loop.run_forever()
            self.loop.run_until_complete(self.runner.cleanup())
            self.loop.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert started.wait(30)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)
        assert not self.thread.is_alive()


def test_aiohttp_handler() -> None:
    from prometheus_client.aiohttp import make_aiohttp_handler  # noqa: F401 - importable

    r = _registry()
    server = AiohttpServer(r)
    try:
        status, headers, body = server_get = _get(server.port, "/metrics")
        assert status == 200, server_get
        assert headers["content-type"].startswith("text/plain; version=0.0.4")
        assert body == exposition.generate_latest(r)
        status, headers, body = _get(server.port, "/metrics?name[]=int_gauge&name[]=int_requests_total",
                                     headers={"Accept": OM, "Accept-Encoding": "gzip"})
        assert headers["content-type"].startswith("application/openmetrics-text")
        assert headers["content-encoding"] == "gzip"
        _, _, expected = exposition._bake_output(r, OM, None, {"name[]": ["int_gauge", "int_requests_total"]}, True)
        assert gzip.decompress(body) == expected
        status, _, body = _get(server.port, "/favicon.ico")
        assert (status, body) == (200, b"")
    finally:
        server.stop()


def test_aiohttp_disable_compression() -> None:
    r = _registry()
    server = AiohttpServer(r, disable_compression=True)
    try:
        _, headers, body = _get(server.port, "/metrics", headers={"Accept-Encoding": "gzip"})
        assert "content-encoding" not in headers
        assert body == exposition.generate_latest(r)
    finally:
        server.stop()


def test_aiohttp_render_does_not_block_the_loop() -> None:
    r = _registry()
    gate = Gate()
    r.register(gate)
    server = AiohttpServer(r)
    result: List[Any] = []
    try:
        t = threading.Thread(target=lambda: result.append(_get(server.port, "/metrics")))
        t.start()
        assert gate.entered.wait(30)
        for _ in range(3):
            assert _get(server.port, "/ping")[2] == b"pong"
        gate.release.set()
        t.join(30)
        assert result and result[0][0] == 200 and b"gate_gauge 1.0" in result[0][2]
    finally:
        gate.release.set()
        server.stop()


# ------------------------------------------------------------------------------- Django
@pytest.fixture(scope="module")
def django_client() -> Any:
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            DEBUG=False,
            ALLOWED_HOSTS=["*"],
            ROOT_URLCONF=__name__,
            SECRET_KEY="test-only",
            MIDDLEWARE=[],
            INSTALLED_APPS=[],
            DEFAULT_CHARSET="utf-8",
        )
        django.setup()
    from django.test import Client

    return Client()


DJANGO_REGISTRY = _registry()


def _urlpatterns() -> List[Any]:
    from django.urls import path

    from prometheus_client.django import PrometheusDjangoView

    return [
        path("metrics", PrometheusDjangoView.as_view(registry=DJANGO_REGISTRY)),
        path("default", PrometheusDjangoView.as_view()),
    ]


def __getattr__(name: str) -> Any:  # Django reads ROOT_URLCONF's urlpatterns lazily.
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


def test_django_view(django_client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client.django import PrometheusDjangoView

    # Another test may have left PROMETHEUS_MULTIPROC_DIR set when the module was imported.
    monkeypatch.setattr(PrometheusDjangoView, "multiprocess_mode", False)
    resp = django_client.get("/metrics")
    assert resp.status_code == 200
    assert resp["Content-Type"].startswith("text/plain; version=0.0.4")
    assert resp.content == exposition.generate_latest(DJANGO_REGISTRY)

    resp = django_client.get("/metrics", {"name[]": ["int_gauge", "int_requests_total"]},
                             HTTP_ACCEPT=OM, HTTP_ACCEPT_ENCODING="gzip")
    assert resp["Content-Type"].startswith("application/openmetrics-text")
    assert resp["Content-Encoding"] == "gzip"
    text = gzip.decompress(resp.content)
    assert b"int_gauge 2.5" in text and b"int_requests_total" in text

    # A single name[] value selects that name (not the set of its characters).
    resp = django_client.get("/metrics", {"name[]": "int_gauge"})
    assert resp.content.startswith(b"# HELP int_gauge")

    resp = django_client.options("/metrics")
    assert resp.status_code == 200 and resp["Allow"] == "OPTIONS,GET"
    assert django_client.post("/metrics").status_code == 405
    head = django_client.head("/metrics")
    assert head.status_code == 200

    resp = django_client.get("/default")
    assert resp.status_code == 200 and b"python_info" in resp.content


# ------------------------------------------------------------------------------- Twisted
TWISTED_APP = textwrap.dedent(
    """
    import sys
    from twisted.internet import reactor
    from twisted.web.resource import Resource
    from twisted.web.server import Site
    from prometheus_client import CollectorRegistry, Counter, Gauge
    from prometheus_client.twisted import MetricsResource

    r = CollectorRegistry()
    Counter("tw_requests", "Requests", ["path"], registry=r).labels("/x").inc(4)
    Gauge("tw_gauge", "G", registry=r).set(2.5)
    root = Resource()
    root.putChild(b"metrics", MetricsResource(registry=r))
    reactor.listenTCP(int(sys.argv[1]), Site(root), interface="127.0.0.1")
    reactor.run()
    """
)


def test_twisted_metrics_resource(tmp_path: Path) -> None:
    script = tmp_path / "tw.py"
    script.write_text(TWISTED_APP)
    port = free_ports(1)[0]
    log = tmp_path / "tw.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-W", "ignore::DeprecationWarning", str(script), str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=clean_env())
    try:
        wait_until(lambda: http_get(f"http://127.0.0.1:{port}/metrics")[0] == 200, "twisted serving",
                   proc=proc, log=log)
        status, headers, body = _get(port, "/metrics")
        assert headers["content-type"].startswith("text/plain; version=0.0.4")
        assert b'tw_requests_total{path="/x"} 4.0' in body and b"tw_gauge 2.5" in body
        status, headers, body = _get(port, "/metrics?name[]=tw_gauge", headers={"Accept": OM,
                                                                                 "Accept-Encoding": "gzip"})
        assert headers["content-type"].startswith("application/openmetrics-text")
        assert gzip.decompress(body) == b"# HELP tw_gauge G\n# TYPE tw_gauge gauge\ntw_gauge 2.5\n# EOF\n"
        assert _get(port, "/metrics", method="POST")[0] == 405
        # Parallel scrapes (WSGI in the reactor's thread pool).
        results: List[int] = []
        threads = [threading.Thread(target=lambda: results.append(_get(port, "/metrics")[0])) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert results == [200] * 8
    finally:
        proc.terminate()
        proc.wait(30)


DJANGO_MP = textwrap.dedent(
    """
    import django
    from django.conf import settings
    settings.configure(ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__, SECRET_KEY="x", MIDDLEWARE=[],
                       INSTALLED_APPS=[])
    django.setup()
    from django.test import Client
    from django.urls import path
    from prometheus_client import Counter
    from prometheus_client.django import PrometheusDjangoView
    urlpatterns = [path("metrics", PrometheusDjangoView.as_view())]
    assert PrometheusDjangoView.multiprocess_mode is True
    Counter("mp_django_hits", "Hits").inc(3)
    resp = Client().get("/metrics")
    assert resp.status_code == 200, resp.status_code
    print(resp.content.decode())
    """
)


def test_django_view_multiprocess(tmp_path: Path) -> None:
    mp = tmp_path / "mp"
    mp.mkdir()
    out = subprocess.run([sys.executable, "-c", DJANGO_MP], capture_output=True, timeout=120,
                         env=clean_env(PROMETHEUS_MULTIPROC_DIR=str(mp)), cwd=tmp_path)
    assert out.returncode == 0, out.stderr.decode()
    body = out.stdout.decode()
    assert "mp_django_hits_total 3.0" in body
    assert "python_info" not in body  # a multiprocess registry, not the default one
