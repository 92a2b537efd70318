"""Pushgateway client: URL/grouping-key encoding, handlers, errors, and a real Pushgateway.

The real Pushgateway (memory only, admin API on) is started once for the module; each test
wipes it first. Basic auth and TLS use their own short-lived gateways.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import urllib.error
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from peers import (
    PUSHGATEWAY_VERSIONS,
    Peer,
    bcrypt_hash,
    http_get,
    pushgateway_groups,
    shared_certs,
    start_pushgateway,
    wait_until,
)
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Summary,
    delete_from_gateway,
    exposition,
    instance_ip_grouping_key,
    push_to_gateway,
    pushadd_to_gateway,
)
from prometheus_client.exposition import (
    PushGatewayError,
    basic_auth_handler,
    default_handler,
    passthrough_redirect_handler,
    tls_auth_handler,
)

CT = "text/plain; version=0.0.4; charset=utf-8"


# ------------------------------------------------------------------------------- unit
class Recorder:
    def __init__(self) -> None:
        self.calls: List[Dict[str, Any]] = []

    def __call__(self, url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, Any]],
                 data: bytes) -> Any:
        self.calls.append({"url": url, "method": method, "timeout": timeout, "headers": list(headers), "data": data})
        return lambda: None


def _reg(value: float = 7) -> CollectorRegistry:
    r = CollectorRegistry()
    Gauge("push_g", "A gauge", registry=r).set(value)
    return r


@pytest.mark.parametrize(
    "gateway, job, key, url",
    [
        ("localhost:9091", "j", None, "http://localhost:9091/metrics/job/j"),
        ("http://gw:1/", "j", None, "http://gw:1/metrics/job/j"),
        ("https://gw:1/base/", "j", None, "https://gw:1/base/metrics/job/j"),
        ("gw", "my/job", None, "http://gw/metrics/job@base64/bXkvam9i"),
        ("gw", "j", {"b": "a/ z", "a": "x"}, "http://gw/metrics/job/j/a/x/b@base64/YS8geg=="),
        ("gw", "j", {"label": "value with spaces"}, "http://gw/metrics/job/j/label@base64/dmFsdWUgd2l0aCBzcGFjZXM="),
        ("gw", "j", {"e": ""}, "http://gw/metrics/job/j/e@base64/="),
        ("gw", "..", {"d": ".", "e": "x."}, "http://gw/metrics/job@base64/Li4=/d@base64/Lg==/e/x."),
        ("gw", "j", {"u": "été", "n": 5, "q": "a+b&c"}, "http://gw/metrics/job/j/n/5/q/a%2Bb%26c/u/%C3%A9t%C3%A9"),
    ],
)
def test_url_building(gateway: str, job: str, key: Optional[Dict[str, Any]], url: str) -> None:
    rec = Recorder()
    push_to_gateway(gateway, job, _reg(), grouping_key=key, handler=rec)
    assert rec.calls[0]["url"] == url
    assert rec.calls[0]["method"] == "PUT"


def test_methods_bodies_headers_timeout() -> None:
    rec = Recorder()
    reg = _reg()
    push_to_gateway("gw", "j", reg, handler=rec)
    pushadd_to_gateway("gw", "j", reg, timeout=3.5, handler=rec)
    delete_from_gateway("gw", "j", timeout=None, handler=rec)
    put, post, delete = rec.calls
    assert (put["method"], post["method"], delete["method"]) == ("PUT", "POST", "DELETE")
    assert put["data"] == exposition.generate_latest(reg) == post["data"]
    assert delete["data"] == b""
    assert put["headers"] == [("Content-Type", CT)] == delete["headers"]
    assert (put["timeout"], post["timeout"], delete["timeout"]) == (30, 3.5, None)


def test_gzip_compression_and_errors() -> None:
    rec = Recorder()
    reg = _reg()
    push_to_gateway("gw", "j", reg, handler=rec, compression="GZIP")
    call = rec.calls[0]
    assert ("Content-Encoding", "gzip") in call["headers"]
    assert gzip.decompress(call["data"]) == exposition.generate_latest(reg)
    with pytest.raises(ValueError, match="Unsupported compression type: brotli"):
        push_to_gateway("gw", "j", reg, handler=rec, compression="brotli")
    assert len(rec.calls) == 1  # nothing sent


def test_snappy_compression_framed() -> None:
    import cramjam

    rec = Recorder()
    reg = _reg()
    push_to_gateway("gw", "j", reg, handler=rec, compression="snappy")
    call = rec.calls[0]
    assert ("Content-Encoding", "snappy") in call["headers"]
    assert call["data"].startswith(b"\xff\x06\x00\x00sNaPpY")
    assert bytes(cramjam.snappy.decompress(call["data"])) == exposition.generate_latest(reg)
    assert isinstance(exposition.SNAPPY_AVAILABLE, bool)


def test_pushadd_none_registry_uses_default() -> None:
    rec = Recorder()
    pushadd_to_gateway("gw", "j", None, handler=rec)
    assert b"python_info" in rec.calls[0]["data"] or rec.calls[0]["data"] == exposition.generate_latest()


def test_instance_ip_grouping_key() -> None:
    key = instance_ip_grouping_key()
    assert list(key) == ["instance"]
    assert key["instance"].count(".") == 3 or ":" in key["instance"]


# ------------------------------------------------------------------------------- fake servers
class _Capture(BaseHTTPRequestHandler):
    """Records requests; answers per the server's ``script`` (path -> (status, headers, body))."""

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        srv: Any = self.server
        srv.seen.append((self.command, self.path, dict(self.headers), body))
        status, headers, out = srv.script.get(self.path, (200, {}, b""))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v.replace("{port}", str(srv.server_address[1])))
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_PUT = do_POST = do_DELETE = _any

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[Any]:
    srv: Any = HTTPServer(("127.0.0.1", 0), _Capture)
    srv.seen = []
    srv.script = {}
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield srv
    srv.shutdown()
    srv.server_close()
    t.join(10)


def test_error_carries_status_and_body(fake: Any) -> None:
    fake.script["/metrics/job/j"] = (503, {}, b"gateway is sad")
    gw = f"127.0.0.1:{fake.server_address[1]}"
    with pytest.raises(PushGatewayError) as info:
        push_to_gateway(gw, "j", _reg())
    err = info.value
    assert isinstance(err, urllib.error.HTTPError) and isinstance(err, OSError)
    assert err.code == 503 and err.status == 503
    assert err.body == b"gateway is sad"
    assert "503" in str(err) and "gateway is sad" in str(err)
    fake.script["/metrics/job/j"] = (302, {"Location": "/elsewhere"}, b"moved")
    with pytest.raises(PushGatewayError) as info:  # PUT is not redirected by default
        push_to_gateway(gw, "j", _reg())
    assert info.value.code == 302


def test_non_error_2xx_is_fine(fake: Any) -> None:
    fake.script["/metrics/job/j"] = (204, {}, b"")
    push_to_gateway(f"127.0.0.1:{fake.server_address[1]}", "j", _reg())


def test_passthrough_redirect_handler_keeps_method_and_body(fake: Any) -> None:
    fake.script["/metrics/job/j"] = (307, {"Location": "http://127.0.0.1:{port}/moved/metrics/job/j"}, b"")
    gw = f"127.0.0.1:{fake.server_address[1]}"
    reg = _reg(3)
    push_to_gateway(gw, "j", reg, handler=passthrough_redirect_handler)
    pushadd_to_gateway(gw, "j", reg, handler=passthrough_redirect_handler)
    methods = [(m, p, b) for m, p, _, b in fake.seen]
    body = exposition.generate_latest(reg)
    assert methods == [("PUT", "/metrics/job/j", body), ("PUT", "/moved/metrics/job/j", body),
                       ("POST", "/metrics/job/j", body), ("POST", "/moved/metrics/job/j", body)]
    assert fake.seen[1][2]["Content-Type"] == CT


def test_basic_auth_handler_header(fake: Any) -> None:
    gw = f"127.0.0.1:{fake.server_address[1]}"

    def handler(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, "user", "pässword")

    push_to_gateway(gw, "j", _reg(), handler=handler)
    assert fake.seen[0][2]["Authorization"] == "Basic " + base64.b64encode("user:pässword".encode()).decode()
    push_to_gateway(gw, "j", _reg(), handler=basic_auth_handler)  # no credentials: no header
    assert "Authorization" not in fake.seen[1][2]


def test_connection_refused_is_oserror() -> None:
    from peers import free_ports

    with pytest.raises(OSError):
        push_to_gateway(f"127.0.0.1:{free_ports(1)[0]}", "j", _reg(), timeout=5)


# ------------------------------------------------------------------------------- real Pushgateway
@pytest.fixture(scope="module", params=[b for _, b in PUSHGATEWAY_VERSIONS], ids=[v for v, _ in PUSHGATEWAY_VERSIONS])
def pgw(request: pytest.FixtureRequest) -> Iterator[Peer]:
    """Pushgateway 1.5 (Debian stable) and 1.11 (Debian unstable), in turn."""
    with start_pushgateway(binary=request.param) as peer:
        yield peer


@pytest.fixture
def gateway(pgw: Peer) -> str:
    import urllib.request

    req = urllib.request.Request(pgw.url + "/api/v1/admin/wipe", method="PUT")
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 202
    return pgw.url


def _group(groups: List[Dict[str, Any]], labels: Dict[str, str]) -> Dict[str, Any]:
    for g in groups:
        if g["labels"] == labels:
            return g
    raise AssertionError(f"no group {labels} in {[g['labels'] for g in groups]}")


def _values(group: Dict[str, Any], metric: str) -> List[Tuple[Dict[str, str], float]]:
    return [(m["labels"], float(m["value"])) for m in group[metric]["metrics"]]


def test_real_push_pushadd_delete(pgw: Peer, gateway: str) -> None:
    key = {"path": "a/b c", "empty": "", "plain": "x", "uni": "été ☃"}
    labels = {"job": "batch/job", "path": "a/b c", "empty": "", "plain": "x", "uni": "été ☃"}
    r1 = CollectorRegistry()
    Gauge("pg_a", "A", registry=r1).set(1.5)
    Gauge("pg_b", "B", ["l"], registry=r1).labels("v/é").set(2)
    push_to_gateway(gateway, "batch/job", r1, grouping_key=key)
    g = _group(pushgateway_groups(pgw), labels)
    assert g["last_push_successful"] is True
    assert _values(g, "pg_a") == [({**labels, "instance": ""}, 1.5)]
    assert _values(g, "pg_b") == [({**labels, "instance": "", "l": "v/é"}, 2.0)]

    # pushadd replaces only the names it sends.
    r2 = CollectorRegistry()
    Gauge("pg_a", "A", registry=r2).set(10)
    Gauge("pg_c", "C", registry=r2).set(3)
    pushadd_to_gateway(gateway, "batch/job", r2, grouping_key=key, compression="gzip")
    g = _group(pushgateway_groups(pgw), labels)
    assert _values(g, "pg_a")[0][1] == 10 and _values(g, "pg_b")[0][1] == 2 and _values(g, "pg_c")[0][1] == 3

    # push replaces the whole group.
    r3 = CollectorRegistry()
    Gauge("pg_c", "C", registry=r3).set(4)
    push_to_gateway(gateway, "batch/job", r3, grouping_key=key)
    g = _group(pushgateway_groups(pgw), labels)
    assert "pg_a" not in g and "pg_b" not in g and _values(g, "pg_c")[0][1] == 4

    # Another group is independent; delete removes only the given group.
    push_to_gateway(gateway, "batch/job", r1, grouping_key={"plain": "y"})
    delete_from_gateway(gateway, "batch/job", grouping_key=key)
    # The Pushgateway answers a DELETE with 202 Accepted and applies it asynchronously.
    wait_until(lambda: [gr["labels"] for gr in pushgateway_groups(pgw)] == [{"job": "batch/job", "plain": "y"}],
               "the deleted group to disappear, the other to stay", timeout=30)
    groups = pushgateway_groups(pgw)
    assert [gr["labels"] for gr in groups] == [{"job": "batch/job", "plain": "y"}]

    # What Prometheus would scrape from the gateway carries the pushed values.
    status, body = http_get(pgw.url + "/metrics")
    assert status == 200 and b'pg_a{instance="",job="batch/job",plain="y"} 1.5' in body


GROUPING_VALUES = ["a/b", "", "ü", "a b", ".", "..", "+", "%", "a?b#c", "x\ty", "été/☃ z"]


@pytest.mark.parametrize("job", ["a/b", "ü", "..", "plain"])
def test_real_grouping_keys_read_back_exactly(pgw: Peer, gateway: str, job: str) -> None:
    key = {f"k{i}": v for i, v in enumerate(GROUPING_VALUES)}
    r = CollectorRegistry()
    Gauge("pg_key", "K", registry=r).set(7)
    push_to_gateway(gateway, job, r, grouping_key=key)
    g = _group(pushgateway_groups(pgw), {"job": job, **key})  # exact labels, via the API
    assert _values(g, "pg_key") == [({"job": job, **key, "instance": ""}, 7.0)]
    # and via the gateway's own /metrics, parsed with our parser
    from prometheus_client.parser import text_string_to_metric_families

    status, body = http_get(pgw.url + "/metrics")
    assert status == 200
    pushed = [s for f in text_string_to_metric_families(body.decode()) for s in f.samples if s.name == "pg_key"]
    assert [(s.labels, s.value) for s in pushed] == [({"job": job, **key, "instance": ""}, 7.0)]
    delete_from_gateway(gateway, job, grouping_key=key)
    wait_until(lambda: pushgateway_groups(pgw) == [], "the deleted group to disappear (DELETE is asynchronous)",
               timeout=30)


@pytest.mark.parametrize("key,match", [
    ({"a/b": "x"}, "'a/b' is not a valid label name"),
    ({"a b": "x"}, "'a b'"),
    ({"ü": "x"}, "'ü'"),
    ({"": "x"}, "''"),
    ({"__x": "x"}, "'__x'"),
    ({"k": "\ud800"}, "grouping key 'k'.*lone surrogate at index 0"),
])
def test_grouping_key_names_the_gateway_refuses_fail_before_sending(key: Dict[str, str], match: str) -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match=match):
        push_to_gateway("gw", "j", _reg(), grouping_key=key, handler=rec)
    with pytest.raises(ValueError, match="job name cannot be empty"):
        delete_from_gateway("gw", "", handler=rec)
    assert rec.calls == []


def test_real_counter_summary_types(pgw: Peer, gateway: str) -> None:
    r = CollectorRegistry()
    Counter("pg_events", "Events", registry=r).inc(5)
    s = Summary("pg_size_bytes", "Sizes", registry=r)
    s.observe(3)
    s.observe(4)
    push_to_gateway(gateway, "types", r)
    g = _group(pushgateway_groups(pgw), {"job": "types"})
    assert g["pg_events_total"]["type"] == "COUNTER"
    assert float(g["pg_events_total"]["metrics"][0]["value"]) == 5
    assert g["pg_size_bytes"]["type"] == "SUMMARY"
    m = g["pg_size_bytes"]["metrics"][0]
    assert float(m["count"]) == 2 and float(m["sum"]) == 7


def test_real_http_error_is_clear(pgw: Peer, gateway: str) -> None:
    r1 = CollectorRegistry()
    Gauge("pg_conflict", "X", registry=r1).set(1)
    push_to_gateway(gateway, "one", r1)
    r2 = CollectorRegistry()
    Summary("pg_conflict", "X", registry=r2).observe(1)
    with pytest.raises(PushGatewayError) as info:
        push_to_gateway(gateway, "two", r2)
    assert info.value.code == 400
    assert b"pg_conflict" in info.value.body
    assert "400" in str(info.value) and "pg_conflict" in str(info.value)


@pytest.fixture(scope="module", params=[b for _, b in PUSHGATEWAY_VERSIONS], ids=[v for v, _ in PUSHGATEWAY_VERSIONS])
def auth_pgw(request: pytest.FixtureRequest) -> Iterator[Tuple[Peer, str, str]]:
    user, password = "e2euser", "s3cret pässword"
    config = f"basic_auth_users:\n  {user}: {bcrypt_hash(password)}\n"
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    with start_pushgateway(web_config=config, ready_headers={"Authorization": auth},
                           binary=request.param) as peer:
        yield peer, user, password


def test_real_basic_auth(auth_pgw: Tuple[Peer, str, str]) -> None:
    peer, user, password = auth_pgw

    def good(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, user, password)

    def bad(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
        return basic_auth_handler(url, method, timeout, headers, data, user, "wrong")

    push_to_gateway(peer.url, "authjob", _reg(42), handler=good)
    auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    g = _group(pushgateway_groups(peer, headers={"Authorization": auth}), {"job": "authjob"})
    assert _values(g, "push_g")[0][1] == 42
    for handler in (bad, default_handler):
        with pytest.raises(PushGatewayError) as info:
            push_to_gateway(peer.url, "authjob", _reg(1), handler=handler)
        assert info.value.code == 401
    delete_from_gateway(peer.url, "authjob", handler=good)
    wait_until(lambda: pushgateway_groups(peer, headers={"Authorization": auth}) == [],
               "the deleted group to disappear (DELETE is asynchronous)", timeout=30)


@pytest.mark.parametrize("binary", [b for _, b in PUSHGATEWAY_VERSIONS], ids=[v for v, _ in PUSHGATEWAY_VERSIONS])
def test_real_tls_client_certificate(tmp_path: Path, binary: str) -> None:
    certs = shared_certs()
    config = (
        "tls_server_config:\n"
        f"  cert_file: {certs['server_cert']}\n"
        f"  key_file: {certs['server_key']}\n"
        f"  client_ca_file: {certs['ca']}\n"
        "  client_auth_type: RequireAndVerifyClientCert\n"
    )
    with start_pushgateway(web_config=config, scheme="https", binary=binary) as peer:

        def handler(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
            return tls_auth_handler(url, method, timeout, headers, data, certs["client_cert"],
                                    certs["client_key"], cafile=certs["ca"])

        def other(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
            return tls_auth_handler(url, method, timeout, headers, data, certs["other_client_cert"],
                                    certs["other_client_key"], cafile=certs["ca"])

        def insecure(url: str, method: str, timeout: Optional[float], headers: Any, data: bytes) -> Any:
            return tls_auth_handler(url, method, timeout, headers, data, certs["client_cert"],
                                    certs["client_key"], insecure_skip_verify=True)

        push_to_gateway(peer.url, "tlsjob", _reg(5), handler=handler)
        pushadd_to_gateway(peer.url, "tlsjob", _reg(6), handler=insecure)
        with pytest.raises(OSError):
            push_to_gateway(peer.url, "tlsjob", _reg(7), handler=other)
        with pytest.raises(OSError):
            push_to_gateway(peer.url, "tlsjob", _reg(7))  # no client certificate, unknown CA
        import ssl
        import urllib.request

        ctx = ssl.create_default_context(cafile=certs["ca"])
        ctx.load_cert_chain(certs["client_cert"], certs["client_key"])
        with urllib.request.urlopen(peer.url + "/api/v1/metrics", context=ctx, timeout=10) as resp:
            data = json.loads(resp.read())["data"]
        g = _group(data, {"job": "tlsjob"})
        assert float(g["push_g"]["metrics"][0]["value"]) == 6


def test_requests_match_official(run_official: Any) -> None:
    cases = [
        ["push", "gw:9091", "j", None, None],
        ["pushadd", "http://gw:1/", "my/job", {"path": "a/b c", "empty": "", "uni": "été", "n": "5"}, "gzip"],
        ["delete", "https://gw/base", "j", {"q": "a+b&c", "s": "x y"}, None],
        ["push", "gw", "j2", {"e": ""}, None],
    ]
    code = (
        "import json, sys, gzip\n"
        "from prometheus_client import CollectorRegistry, push_to_gateway, pushadd_to_gateway, delete_from_gateway\n"
        "out = []\n"
        "def rec(url, method, timeout, headers, data):\n"
        "    out.append([url, method, timeout, [list(h) for h in headers], data.decode('latin-1')])\n"
        "    return lambda: None\n"
        "for kind, gw, job, key, comp in json.loads(sys.stdin.read()):\n"
        "    if kind == 'delete':\n"
        "        delete_from_gateway(gw, job, grouping_key=key, handler=rec)\n"
        "    else:\n"
        "        f = push_to_gateway if kind == 'push' else pushadd_to_gateway\n"
        "        f(gw, job, CollectorRegistry(), grouping_key=key, handler=rec, compression=comp)\n"
        "print(json.dumps(out))\n"
    )
    official = json.loads(run_official(code, stdin=json.dumps(cases).encode()))
    ours: List[Any] = []

    def rec(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, Any]], data: bytes) -> Any:
        ours.append([url, method, timeout, [list(h) for h in headers], data.decode("latin-1")])
        return lambda: None

    for kind, gw, job, key, comp in cases:
        if kind == "delete":
            delete_from_gateway(gw, job, grouping_key=key, handler=rec)
        else:
            f = push_to_gateway if kind == "push" else pushadd_to_gateway
            f(gw, job, CollectorRegistry(), grouping_key=key, handler=rec, compression=comp)
    # gzip bytes of an empty body may differ in header fields; compare everything else.
    for o, theirs in zip(ours, official):
        if ["Content-Encoding", "gzip"] in o[3]:
            assert gzip.decompress(o[4].encode("latin-1")) == gzip.decompress(theirs[4].encode("latin-1"))
            o[4] = theirs[4] = "<gzip>"
    assert ours == official
