"""Real servers in multiprocess mode: gunicorn (4 sync workers, restarted every few hundred
requests, the README's ``child_exit`` hook) and uvicorn (``--workers 4`` with
``--limit-max-requests``, dead workers compacted at scrape time). After a bounded load of N
requests the scraped counter and the histogram's count equal N exactly, and the directory
holds a bounded number of files however many workers were replaced.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Dict, List, Optional, Set, Tuple

import pytest

from prometheus_client.parser import text_string_to_metric_families

N = 20_000
N_UVICORN = 12_000  # a new connection per request is slower through uvicorn: keep the test < 60 s
THREADS = 16

APP = '''
import os
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

REQUESTS = Counter("app_requests", "Requests handled", ["path"])
LATENCY = Histogram("app_latency_seconds", "Request latency", buckets=[0.001, 0.01, 0.1, 1.0])
IN_PROGRESS = Gauge("app_inprogress", "Requests in progress", multiprocess_mode="livesum")
COMPACT = os.environ.get("TEST_COMPACT_ON_SCRAPE") == "1"


def metrics_body():
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, compact=COMPACT)
    return generate_latest(registry)


def handle(path):
    if path == "/metrics":
        return metrics_body()
    with IN_PROGRESS.track_inprogress():
        REQUESTS.labels(path).inc()
        LATENCY.observe(0.005)
    return str(os.getpid()).encode()


def wsgi(environ, start_response):
    body = handle(environ["PATH_INFO"])
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi(scope, receive, send):
    if scope["type"] != "http":
        return
    body = handle(scope["path"])
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
'''

GUNICORN_CONF = '''
from prometheus_client import multiprocess


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
'''


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(port: int, path: str, timeout: float = 30.0) -> Tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Connection": "close"})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class Server:
    def __init__(self, args: List[str], cwd: Path, mpdir: Path, port: int, extra_env: Optional[Dict[str, str]] = None):
        env = dict(os.environ)
        env["PROMETHEUS_MULTIPROC_DIR"] = str(mpdir)
        env.update(extra_env or {})
        self.port = port
        self.log = cwd / "server.log"
        self._log_f = open(self.log, "wb")
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=self._log_f, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                raise AssertionError("server exited:\n" + self.log.read_text()[-3000:])
            try:
                if _get(port, "/metrics", timeout=5)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server not ready:\n" + self.log.read_text()[-3000:])
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log_f.close()


def _load(port: int, n: int, retry_resets: bool = False) -> Tuple[int, List[str], Set[str]]:
    """Send ``n`` requests from a thread pool; return (successes, failures, worker pids seen).

    ``retry_resets``: a connection the server reset before answering is tried again. uvicorn
    does that to connections it accepted but had not read yet when a worker reaches
    ``--limit-max-requests`` (a request it has started is always answered), so the request
    was not handled; if it had been, the exact count at the end would show it.
    """

    def worker(count: int) -> Tuple[int, List[str], Set[str]]:
        ok = 0
        failures: List[str] = []
        pids: Set[str] = set()
        done = 0
        while done < count:
            try:
                status, body = _get(port, "/work")
            except (ConnectionResetError, http.client.RemoteDisconnected) as e:
                if retry_resets:
                    continue
                failures.append(repr(e))
                done += 1
                continue
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(repr(e))
                done += 1
                continue
            done += 1
            if status == 200:
                ok += 1
                pids.add(body.decode())
            else:
                failures.append(f"HTTP {status}")
        return ok, failures, pids

    shares = [n // THREADS + (1 if i < n % THREADS else 0) for i in range(THREADS)]
    ok = 0
    failures: List[str] = []
    pids: Set[str] = set()
    with ThreadPoolExecutor(THREADS) as pool:
        for o, f, p in pool.map(worker, shares):
            ok += o
            failures += f
            pids |= p
    return ok, failures, pids


def _scrape(port: int) -> Dict[str, float]:
    status, body = _get(port, "/metrics")
    assert status == 200
    out: Dict[str, float] = {}
    for family in text_string_to_metric_families(body.decode()):
        for s in family.samples:
            out[s.name + str(sorted(s.labels.items()))] = s.value
    return out


def _check(port: int, mpdir: Path, n: int, pids: Set[str]) -> None:
    got = _scrape(port)
    assert got["app_requests_total[('path', '/work')]"] == n
    assert got["app_latency_seconds_count[]"] == n
    assert got["app_latency_seconds_bucket[('le', '0.01')]"] == n
    assert got["app_latency_seconds_sum[]"] == pytest.approx(0.005 * n)
    assert len(pids) > 12, f"workers were not restarted often enough: {len(pids)} pids"
    # Bounded: 4 live workers (3 files each) and the archive, once the server has reaped and
    # compacted the workers that exited with the last requests (polled: a loaded machine
    # may take a moment).
    deadline = time.monotonic() + 60
    while True:
        files = [f for f in os.listdir(mpdir) if not f.startswith(".")]
        if len(files) <= 4 * 3 + 1:
            break
        assert time.monotonic() < deadline, sorted(files)
        time.sleep(0.2)
        _scrape(port)  # lets a scrape-time compaction run (uvicorn)


@pytest.mark.slow
def test_gunicorn_sync_workers_with_restarts_count_exactly(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "gunicorn_conf.py").write_text(textwrap.dedent(GUNICORN_CONF))
    mpdir = tmp_path / "mp"
    mpdir.mkdir()
    port = _free_port()
    server = Server(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn_conf.py", "-w", "4", "-k", "sync",
         "--max-requests", "600", "--max-requests-jitter", "200", "-b", f"127.0.0.1:{port}",
         "--log-level", "warning", "app:wsgi"],
        tmp_path, mpdir, port,
    )
    try:
        ok, failures, pids = _load(port, N)
        assert failures == []
        assert ok == N
        _check(port, mpdir, N, pids)
        assert _scrape(port)["app_inprogress[]"] == 0.0
    finally:
        server.stop()


@pytest.mark.slow
def test_uvicorn_workers_with_restarts_count_exactly(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    mpdir = tmp_path / "mp"
    mpdir.mkdir()
    port = _free_port()
    server = Server(
        [sys.executable, "-m", "uvicorn", "app:asgi", "--workers", "4", "--limit-max-requests", "500",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        tmp_path, mpdir, port, extra_env={"TEST_COMPACT_ON_SCRAPE": "1"},
    )
    try:
        ok, failures, pids = _load(port, N_UVICORN, retry_resets=True)
        assert failures == []
        assert ok == N_UVICORN
        _check(port, mpdir, N_UVICORN, pids)
        assert _scrape(port)["app_inprogress[]"] == 0.0
    finally:
        server.stop()
