"""A real Prometheus server scrapes this library every second; exact values via its HTTP API.

Two Prometheus servers per module, 2.42 (Debian stable) and 3.5 LTS (Debian unstable), both with
exemplar storage, scrape the same five targets on free ports (every test runs against each):

* ``http``: ``start_http_server`` in this process (OpenMetrics negotiated, gzip, keep-alive);
* ``gunicorn``: ``make_wsgi_app`` under gunicorn (subprocess);
* ``uvicorn``: ``make_asgi_app`` under uvicorn (subprocess);
* ``text``: ``make_wsgi_app`` behind middleware that drops ``Accept`` (text 0.0.4 ingested),
  served by ``ThreadingWSGIServer``;
* ``mtls``: ``start_http_server`` with TLS requiring a client certificate, which Prometheus
  presents (``scheme: https`` + ``tls_config``).

Also ``promtool check metrics`` on a registry with every metric type.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from e2e_app import WEIRD_PATH, build_registry, text_only
from peers import (
    PROMETHEUS_VERSIONS,
    Peer,
    clean_env,
    http_get,
    prom_api,
    prom_query,
    prom_value,
    prometheus_config,
    promtool_check_metrics,
    shared_certs,
    start_prometheus,
    wait_until,
)
from prometheus_client import REGISTRY, generate_latest, make_wsgi_app, start_http_server
from prometheus_client.exposition import ThreadingWSGIServer

TESTS = Path(__file__).resolve().parent
JOBS = ("http", "gunicorn", "uvicorn", "text", "mtls")
OM_JOBS = ("http", "gunicorn", "uvicorn", "mtls")


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def _spawn(argv: List[str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=TESTS,
                                env=clean_env())


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(15)


@pytest.fixture(scope="module")
def proms() -> Iterator[Dict[str, Peer]]:
    """Prometheus 2.42 and 3.5 scraping the same targets (started together: their ~5 s of
    target discovery overlap, the apps start meanwhile)."""
    from peers import free_ports

    ports = dict(zip(JOBS, free_ports(len(JOBS))))
    certs = shared_certs()
    mtls = {"scheme": "https", "tls_config": {"ca_file": certs["ca"], "cert_file": certs["client_cert"],
                                              "key_file": certs["client_key"]}}
    config = prometheus_config({job: [f"127.0.0.1:{port}"] for job, port in ports.items()},
                               job_options={"mtls": mtls})
    # Prometheus first: its target discovery takes ~5 s, the apps start meanwhile.
    peers: Dict[str, Peer] = {}
    for version, binary in PROMETHEUS_VERSIONS:
        try:
            peers[version] = start_prometheus(config, flags=["--enable-feature=exemplar-storage"], binary=binary)
        except BaseException:
            for started in peers.values():
                started.stop()
            raise
    logdir = Path(tempfile.mkdtemp(prefix="e2e-apps-"))
    procs: List[subprocess.Popen[bytes]] = []
    servers: List[Any] = []
    try:
        httpd, t = start_http_server(ports["http"], addr="127.0.0.1", registry=build_registry())
        servers.append((httpd, t))
        httpd, t = start_http_server(ports["mtls"], addr="127.0.0.1", registry=build_registry(),
                                     certfile=certs["server_cert"], keyfile=certs["server_key"],
                                     client_cafile=certs["ca"], client_auth_required=True)
        servers.append((httpd, t))
        text = make_server("127.0.0.1", ports["text"], text_only(make_wsgi_app(build_registry())),
                           ThreadingWSGIServer, handler_class=_QuietHandler)
        tt = threading.Thread(target=text.serve_forever, daemon=True)
        tt.start()
        servers.append((text, tt))
        procs.append(_spawn([sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{ports['gunicorn']}",
                             "--log-level", "warning", "e2e_app:wsgi_app"], logdir / "gunicorn.log"))
        procs.append(_spawn([sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port",
                             str(ports["uvicorn"]), "--log-level", "warning", "--lifespan", "on",
                             "e2e_app:asgi_app"], logdir / "uvicorn.log"))

        def all_ingested() -> bool:
            for peer in peers.values():
                for job in JOBS:
                    if prom_value(peer, f'e2e_temperature_celsius{{job="{job}"}}') is None:
                        return False
                    if prom_value(peer, f'up{{job="{job}"}}') != 1:
                        return False
            return True

        def logs() -> str:
            return "\n".join(f"{p.name}:\n{p.read_text(errors='replace')[-2000:]}" for p in logdir.iterdir())

        try:
            wait_until(all_ingested, "every target scraped by every Prometheus", timeout=90, interval=0.25)
        except AssertionError as exc:
            targets = {v: prom_api(p, "targets") for v, p in peers.items()}
            raise AssertionError(f"{exc}\ntargets: {targets}\n{logs()}\n"
                                 + "\n".join(p.log_text()[-2000:] for p in peers.values())) from None
        yield peers
    finally:
        for proc in procs:
            _stop(proc)
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(10)
        for peer in peers.values():
            peer.stop()
        import shutil

        shutil.rmtree(logdir, ignore_errors=True)


@pytest.fixture(scope="module", params=[v for v, _ in PROMETHEUS_VERSIONS])
def prom(request: pytest.FixtureRequest, proms: Dict[str, Peer]) -> Peer:
    """Each Prometheus version in turn."""
    return proms[request.param]


@pytest.mark.parametrize("job", JOBS)
def test_exact_values(prom: Peer, job: str) -> None:
    def v(expr: str) -> Any:
        return prom_value(prom, expr.replace("JOB", f'job="{job}"'))

    assert v('e2e_requests_total{JOB,path="/plain"}') == 2
    assert v("e2e_temperature_celsius{JOB}") == -3.25
    assert v("e2e_big{JOB}") == float(2**60)
    assert v('e2e_latency_seconds_bucket{JOB,le="0.1"}') == 1
    assert v('e2e_latency_seconds_bucket{JOB,le="0.5"}') == 2
    assert v('e2e_latency_seconds_bucket{JOB,le="1.0"}') == 3
    assert v('e2e_latency_seconds_bucket{JOB,le="+Inf"}') == 4
    assert v("e2e_latency_seconds_count{JOB}") == 4
    assert v("e2e_latency_seconds_sum{JOB}") == 3.95
    assert v("e2e_size_bytes_count{JOB}") == 2
    assert v("e2e_size_bytes_sum{JOB}") == 30.5
    assert v('e2e_build_info{JOB,version="1.2.3"}') == 1
    assert v('e2e_state{JOB,e2e_state="b"}') == 1
    assert v('e2e_state{JOB,e2e_state="a"}') == 0
    created = v('e2e_requests_created{JOB,path="/plain"}')
    assert created is not None and abs(created - time.time()) < 3600
    # A label value with backslash, quote, newline and non-ASCII arrives byte-exact.
    weird = [r for r in prom_query(prom, f'e2e_requests_total{{job="{job}"}}') if r["metric"]["path"] == WEIRD_PATH]
    assert len(weird) == 1 and float(weird[0]["value"][1]) == 7


def _metadata(prom: Peer, job: str) -> Dict[str, Dict[str, str]]:
    data = prom_api(prom, "targets/metadata", match_target=f'{{job="{job}"}}')
    return {m["metric"]: m for m in data}


@pytest.mark.parametrize("job", OM_JOBS)
def test_scraped_as_openmetrics(prom: Peer, job: str) -> None:
    meta = _metadata(prom, job)
    assert meta["e2e_requests"]["type"] == "counter"
    assert meta["e2e_requests"]["help"] == 'Requests "served" \\ here'
    assert meta["e2e_build"]["type"] == "info"
    assert meta["e2e_state"]["type"] == "stateset"
    assert meta["e2e_latency_seconds"]["type"] == "histogram"
    assert meta["e2e_size_bytes"]["type"] == "summary"


def test_text_job_scraped_as_text(prom: Peer) -> None:
    meta = _metadata(prom, "text")
    assert meta["e2e_requests_total"]["type"] == "counter"
    assert meta["e2e_requests_total"]["help"] == 'Requests "served" \\ here'
    assert meta["e2e_build_info"]["type"] == "gauge"
    assert "e2e_requests" not in meta


@pytest.mark.parametrize("job", OM_JOBS)
def test_exemplars_stored(prom: Peer, job: str) -> None:
    now = time.time()

    def exemplars(selector: str) -> List[Dict[str, Any]]:
        data = prom_api(prom, "query_exemplars", query=selector, start=str(now - 3600), end=str(now + 60))
        return [e for series in data for e in series["exemplars"]]

    counter = wait_until(lambda: exemplars(f'e2e_requests_total{{job="{job}",path="/plain"}}'),
                         "counter exemplar", timeout=30)
    assert counter[0]["labels"] == {"trace_id": "abc123"}
    assert float(counter[0]["value"]) == 2
    bucket = wait_until(lambda: exemplars(f'e2e_latency_seconds_bucket{{job="{job}",le="0.5"}}'),
                        "bucket exemplar", timeout=30)
    assert bucket[0]["labels"] == {"trace_id": "h1"}
    assert float(bucket[0]["value"]) == 0.2


def test_text_job_has_no_exemplars(prom: Peer) -> None:
    now = time.time()
    data = prom_api(prom, "query_exemplars", query='e2e_requests_total{job="text"}',
                    start=str(now - 3600), end=str(now + 60))
    assert all(not s["exemplars"] for s in data)


def test_scrapes_keep_succeeding(prom: Peer) -> None:
    # Several scrapes per target by now, all successful (gzip + keep-alive for "http").
    for job in JOBS:
        wait_until(lambda job=job: (prom_value(prom, f'count_over_time(up{{job="{job}"}}[1m])') or 0) >= 2,
                   f"two scrapes of {job}", timeout=30, interval=0.25)
        assert prom_value(prom, f'min_over_time(up{{job="{job}"}}[1m])') == 1
    targets = prom_api(prom, "targets")["activeTargets"]
    assert {t["labels"]["job"]: t["health"] for t in targets} == {job: "up" for job in JOBS}
    assert all(t["lastError"] == "" for t in targets)


# ------------------------------------------------------------------------------- promtool
def test_promtool_clean_on_every_metric_type() -> None:
    rc, out = promtool_check_metrics(generate_latest(build_registry()))
    assert (rc, out) == (0, "")


def test_promtool_clean_on_default_registry() -> None:
    rc, out = promtool_check_metrics(generate_latest(REGISTRY))
    assert (rc, out) == (0, "")


def test_promtool_reads_what_the_server_serves() -> None:
    httpd, t = start_http_server(0, addr="127.0.0.1", registry=build_registry())
    try:
        status, body = http_get(f"http://127.0.0.1:{httpd.server_address[1]}/metrics")
        assert status == 200
        rc, out = promtool_check_metrics(body)
        assert (rc, out) == (0, "")
    finally:
        httpd.shutdown()
        httpd.server_close()
        t.join(10)
