"""GraphiteBridge: exact lines on a local TCP listener, and a real carbon-cache + whisper files."""

from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from typing import Iterator, List

import pytest

from peers import Peer, free_ports, start_carbon, wait_until, whisper_points
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.bridge.graphite import GraphiteBridge

FIXED_TIME = 1434898897.5


class LineServer:
    """Accepts connections and collects everything sent, per connection."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = self.sock.getsockname()
        self.received: List[bytes] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                chunks = []
                while True:
                    data = conn.recv(65536)
                    if not data:
                        break
                    chunks.append(data)
            with self._cond:
                self.received.append(b"".join(chunks))
                self._cond.notify_all()

    def wait_for(self, n: int, timeout: float = 20) -> List[bytes]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.received) >= n, timeout), self.received
            return list(self.received)

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() on Linux
        except OSError:
            pass
        self.sock.close()
        self._thread.join(10)


@pytest.fixture
def line_server() -> Iterator[LineServer]:
    s = LineServer()
    yield s
    s.close()


def _bridge(server: LineServer, registry: CollectorRegistry, tags: bool = False) -> GraphiteBridge:
    return GraphiteBridge(server.address, registry=registry, _timer=lambda: FIXED_TIME, tags=tags)


def test_plain_gauge(line_server: LineServer) -> None:
    r = CollectorRegistry()
    Gauge("g", "help", registry=r).set(1)
    _bridge(line_server, r).push()
    assert line_server.wait_for(1) == [b"g 1.0 1434898897\n"]


def test_labels_sorted_and_sanitised(line_server: LineServer) -> None:
    r = CollectorRegistry()
    Gauge("labels", "help", ["a", "b"], registry=r).labels("c", "d").set(1)
    Gauge("odd", "help", ["z", "a"], registry=r).labels("c.:8", "kitchen/1 é").set(2.5)
    _bridge(line_server, r).push(prefix="pre.fix")
    (data,) = line_server.wait_for(1)
    assert data == (
        b"pre.fix.labels.a.c.b.d 1.0 1434898897\n"
        b"pre.fix.odd.a.kitchen_1__.z.c__8 2.5 1434898897\n"
    )


def test_tags_mode(line_server: LineServer) -> None:
    r = CollectorRegistry()
    Gauge("labels", "help", ["b", "a"], registry=r).labels("d", "c").set(1)
    _bridge(line_server, r, tags=True).push()
    assert line_server.wait_for(1) == [b"labels;a=c;b=d 1.0 1434898897\n"]


def test_histogram_and_counter_samples(line_server: LineServer) -> None:
    r = CollectorRegistry()
    h = Histogram("h", "help", buckets=(1.0, 2.0), registry=r)
    h.observe(1.5)
    Counter("c", "help", registry=r).inc(3)
    _bridge(line_server, r).push()
    (data,) = line_server.wait_for(1)
    lines = data.decode().splitlines()
    assert "h_bucket.le.1_0 0.0 1434898897" in lines
    assert "h_bucket.le.2_0 1.0 1434898897" in lines
    assert "h_bucket.le._Inf 1.0 1434898897" in lines
    assert "h_count 1.0 1434898897" in lines and "h_sum 1.5 1434898897" in lines
    assert "c_total 3.0 1434898897" in lines


def test_start_pushes_periodically(line_server: LineServer) -> None:
    r = CollectorRegistry()
    Gauge("g", "help", registry=r).set(1)
    gb = _bridge(line_server, r)
    gb.start(interval=0.05, prefix="p")
    try:
        received = line_server.wait_for(3)
    finally:
        gb.stop()
    assert all(d == b"p.g 1.0 1434898897\n" for d in received[:3])


def test_push_to_closed_port_raises_and_start_logs(caplog: pytest.LogCaptureFixture) -> None:
    port = free_ports(1)[0]
    r = CollectorRegistry()
    Gauge("g", "help", registry=r).set(1)
    gb = GraphiteBridge(("127.0.0.1", port), registry=r, timeout_seconds=2)
    with pytest.raises(OSError):
        gb.push()
    with caplog.at_level(logging.ERROR):
        gb.start(interval=0.05)
        try:
            wait_until(lambda: "Push failed" in caplog.text, "a logged push failure", timeout=20)
        finally:
            gb.stop()


# ------------------------------------------------------------------------------- real carbon
@pytest.fixture(scope="module")
def carbon() -> Iterator[Peer]:
    with start_carbon() as peer:
        yield peer


def test_real_carbon_receives_values(carbon: Peer) -> None:
    r = CollectorRegistry()
    Gauge("gb_temp", "Temperature", ["room"], registry=r).labels("kitchen/1").set(21.25)
    Counter("gb_hits", "Hits", registry=r).inc(7)
    now = int(time.time())
    GraphiteBridge(("127.0.0.1", carbon.port), registry=r, _timer=lambda: float(now)).push(prefix="e2e")
    root = carbon.extra["whisper_dir"]
    temp = root / "e2e" / "gb_temp" / "room" / "kitchen_1.wsp"
    hits = root / "e2e" / "gb_hits_total.wsp"
    wait_until(lambda: temp.exists() and hits.exists() and whisper_points(hits) and whisper_points(temp),
               "whisper files with data", timeout=60, interval=0.2, proc=carbon.proc, log=carbon.log)
    assert whisper_points(temp) == [(now, 21.25)]
    assert whisper_points(hits) == [(now, 7.0)]


def test_real_carbon_tagged_and_periodic(carbon: Peer) -> None:
    r = CollectorRegistry()
    Gauge("gbt_temp", "Temperature", ["room", "floor"], registry=r).labels("kitchen/1", "2").set(-3.5)
    gb = GraphiteBridge(("127.0.0.1", carbon.port), registry=r, tags=True)
    gb.start(interval=0.5, prefix="tagged")
    h = hashlib.sha256(b"tagged.gbt_temp;floor=2;room=kitchen_1").hexdigest()
    path = carbon.extra["whisper_dir"] / "_tagged" / h[0:3] / h[3:6] / f"{h}.wsp"
    try:
        points = wait_until(lambda: path.exists() and len(whisper_points(path)) >= 2 and whisper_points(path),
                            "two periodic tagged points", timeout=60, interval=0.2, proc=carbon.proc,
                            log=carbon.log)
    finally:
        gb.stop()
    assert {v for _, v in points} == {-3.5}
