"""make_asgi_app renders a cheap scrape inline on the event loop (no thread hop), as the official
app does, and still renders off the loop when the registry is large or a render was slow.

Shown with ``asgiref.testing.ApplicationCommunicator`` (``receive_output(timeout=0)`` right
after the request must already have the response), and differentially: driving the app's
coroutine by hand with an always-ready ``receive`` must complete without suspending, for the
official app and ours alike.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any, Dict, List

import pytest
from asgiref.testing import ApplicationCommunicator

from prometheus_client import CollectorRegistry, Counter, Gauge, asgi, make_asgi_app
from prometheus_client.metrics_core import GaugeMetricFamily, Metric

SCOPE: Dict[str, Any] = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"",
                         "headers": [], "asgi": {"version": "3.0"}, "http_version": "1.1"}


def _small() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("inline_requests", "Requests", ["path"], registry=r).labels("/x").inc(3)
    Gauge("inline_gauge", "G", registry=r).set(1.5)
    return r


class ThreadSpy:
    """A collector recording the thread each collect() runs in (optionally slow)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.threads: List[int] = []
        self.delay = delay

    def collect(self) -> List[Metric]:
        self.threads.append(threading.get_ident())
        if self.delay:
            time.sleep(self.delay)
        return [GaugeMetricFamily("spy_gauge", "Spy", value=1)]


async def _scrape_timeout0(app: Any, scope: Dict[str, Any] = SCOPE) -> List[Dict[str, Any]]:
    comm = ApplicationCommunicator(app, dict(scope))
    await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
    # One turn of the loop runs the app task. (Without it the official app times out as well:
    # asyncio.timeout(0) expires in the very turn the task is first scheduled.) An app that
    # hops to a thread is still rendering at this point, so timeout=0 finds nothing.
    await asyncio.sleep(0)
    start = await comm.receive_output(timeout=0)
    body = await comm.receive_output(timeout=0)
    await comm.wait()
    return [start, body]


def test_communicator_timeout0_gets_response_start_then_body() -> None:
    start, body = asyncio.run(_scrape_timeout0(make_asgi_app(_small())))
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert (b"Content-Type", b"text/plain; version=0.0.4; charset=utf-8") in start["headers"]
    assert body["type"] == "http.response.body"
    assert b'inline_requests_total{path="/x"} 3.0' in body["body"]


def test_communicator_default_registry_and_favicon() -> None:
    start, body = asyncio.run(_scrape_timeout0(make_asgi_app()))
    assert start["status"] == 200 and b"python_info" in body["body"]
    start, body = asyncio.run(_scrape_timeout0(make_asgi_app(_small()), dict(SCOPE, path="/favicon.ico")))
    assert start["status"] == 200 and body["body"] == b""


def test_communicator_lifespan() -> None:
    async def run() -> List[Dict[str, Any]]:
        comm = ApplicationCommunicator(make_asgi_app(_small()), {"type": "lifespan"})
        await comm.send_input({"type": "lifespan.startup"})
        got = [await comm.receive_output(timeout=5)]
        await comm.send_input({"type": "lifespan.shutdown"})
        got.append(await comm.receive_output(timeout=5))
        await comm.wait(5)
        return got

    assert [m["type"] for m in asyncio.run(run())] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def _scrape(app: Any) -> bytes:
    async def run() -> bytes:
        comm = ApplicationCommunicator(app, dict(SCOPE))
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await comm.receive_output(timeout=30)
        assert start["status"] == 200
        body = await comm.receive_output(timeout=30)
        await comm.wait(30)
        return bytes(body["body"])

    return asyncio.run(run())


def test_small_registry_renders_on_the_loop_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    # The rule under test is "the last render was under the threshold": a generous threshold
    # keeps a loaded test machine from deciding the outcome.
    monkeypatch.setattr(asgi, "_INLINE_SECONDS", 5.0)
    r = _small()
    app = make_asgi_app(r)
    spy = ThreadSpy()
    # A collector of unknown cost: the first render goes to a worker thread...
    r.register(spy)
    assert b"spy_gauge 1.0" in _scrape(app)
    assert spy.threads[-1] != threading.get_ident()
    # ...it was fast, so the next renders run inline on the loop (this thread).
    _scrape(app)
    assert spy.threads[-1] == threading.get_ident()


def test_large_registry_renders_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # "The last render took longer than the threshold": a threshold no render beats makes the
    # outcome independent of the machine's speed.
    monkeypatch.setattr(asgi, "_INLINE_SECONDS", 1e-9)
    r = CollectorRegistry()
    g = Gauge("big_gauge", "Many series", ["i"], registry=r)
    for i in range(5000):
        g.labels(str(i)).set(i)
    spy = ThreadSpy()
    r.register(spy)
    app = make_asgi_app(r)
    for _ in range(2):
        body = _scrape(app)
        assert b'big_gauge{i="4999"} 4999.0' in body
        # Too many series to be known cheap, and no render beats the threshold: never on the loop.
        assert spy.threads[-1] != threading.get_ident()
    # A big registry of library metrics alone is not rendered inline the first time either.
    r.unregister(spy)
    app2 = make_asgi_app(r)

    async def first_is_not_inline() -> bool:
        comm = ApplicationCommunicator(app2, dict(SCOPE))
        await comm.send_input({"type": "http.request", "body": b"", "more_body": False})
        await asyncio.sleep(0)
        try:
            await comm.receive_output(timeout=0)
        except asyncio.TimeoutError:
            await comm.wait(30)
            return True
        await comm.wait(30)
        return False

    assert asyncio.run(first_is_not_inline())


def test_slow_render_moves_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A threshold far above what a small render takes even on a loaded machine (the first
    # scrape also loads the encoders), and a spy far slower than it.
    monkeypatch.setattr(asgi, "_INLINE_SECONDS", 0.25)
    r = _small()
    app = make_asgi_app(r)
    _scrape(app)  # small registry: inline
    spy = ThreadSpy(delay=0.5)
    r.register(spy)
    _scrape(app)  # last render was cheap: inline, and this one is slow (500 ms)
    assert spy.threads[-1] == threading.get_ident()
    _scrape(app)  # last render was slow: off the loop
    assert spy.threads[-1] != threading.get_ident()


# Drive the app coroutine by hand: with a receive() that never suspends, an inline render
# completes on the first send(None); a thread hop suspends on the executor's future.
_DRIVE = r'''
import json
from prometheus_client import CollectorRegistry, Gauge, make_asgi_app
r = CollectorRegistry()
Gauge("inline_gauge", "G", ["path"], registry=r).labels("/x").set(3)
sent = []
async def receive():
    return {"type": "http.request", "body": b"", "more_body": False}
async def send(m):
    sent.append(m)
scope = {"type": "http", "method": "GET", "path": "/metrics", "query_string": b"", "headers": []}
coro = make_asgi_app(r)(scope, receive, send)
try:
    coro.send(None)
    done = False
    coro.close()
except StopIteration:
    done = True
print(json.dumps({"done": done, "types": [m["type"] for m in sent],
                  "body": sent[-1]["body"].decode() if sent else None}))
'''


def test_inline_matches_official(run_official: Any) -> None:
    import subprocess
    import sys

    official = json.loads(run_official(_DRIVE))
    ours = json.loads(subprocess.run([sys.executable, "-c", _DRIVE], capture_output=True, check=True).stdout)
    assert official["done"] is True
    assert official["types"] == ["http.response.start", "http.response.body"]
    assert ours == official


def test_communicator_driven_step_by_step_from_sync_code() -> None:
    # How synchronous test suites drive an ASGI app: one run_until_complete per step, each
    # receive_output with timeout=0. The response must be ready by the first receive.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        comm = ApplicationCommunicator(make_asgi_app(_small()), dict(SCOPE))
        loop.run_until_complete(comm.send_input({"type": "http.request", "body": b"", "more_body": False}))
        start = loop.run_until_complete(comm.receive_output(0))
        body = loop.run_until_complete(comm.receive_output(0))
        loop.run_until_complete(comm.wait())
    finally:
        asyncio.set_event_loop(None)
        loop.close()
    assert start["type"] == "http.response.start" and start["status"] == 200
    assert body["type"] == "http.response.body"
    assert b'inline_requests_total{path="/x"} 3.0' in body["body"]
