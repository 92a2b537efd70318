"""Real peers for integration tests: Prometheus, promtool, Pushgateway, node_exporter, carbon.

Every peer runs on 127.0.0.1 on a free port, in a fresh temp directory, is started by the test
(``start_*``) and stopped by PID (``Peer.stop()``: SIGTERM, then SIGKILL after a grace period).
Readiness is always awaited by polling (``wait_until``), never by sleeping a fixed time.
Flags and quirks of each peer are noted next to the code that starts it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar

T = TypeVar("T")

PROMETHEUS = "/usr/bin/prometheus"
PROMTOOL = "/usr/bin/promtool"
PUSHGATEWAY = "/usr/bin/prometheus-pushgateway"
NODE_EXPORTER = "/usr/bin/prometheus-node-exporter"
CARBON_CACHE = "/usr/bin/carbon-cache"
DEBIAN_PYTHON = "/usr/bin/python3"  # the only interpreter that can import carbon/whisper/bcrypt

# Prometheus 3.5 and Pushgateway 1.11 from Debian unstable, unpacked (not installed) by
# scripts/fetch-peers3, which scripts/test runs and exports as PROMETHEUS3 / PUSHGATEWAY3.
_PEERS3_CACHE = Path(os.environ.get("PEERS3_CACHE") or
                     Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "prometheus-client-peers")
PROMETHEUS3 = os.environ.get("PROMETHEUS3") or str(_PEERS3_CACHE / "prometheus-3" / "prometheus")
PUSHGATEWAY3 = os.environ.get("PUSHGATEWAY3") or str(_PEERS3_CACHE / "pushgateway-1.11" / "pushgateway")

#: The Prometheus servers every real-peer test runs against: (id, binary).
PROMETHEUS_VERSIONS = (("prom2", PROMETHEUS), ("prom3", PROMETHEUS3))
PUSHGATEWAY_VERSIONS = (("pgw1.5", PUSHGATEWAY), ("pgw1.11", PUSHGATEWAY3))


def require_binary(path: str) -> str:
    """``path`` if it is an executable, else fail (never skip) saying how to get it."""
    if not os.access(path, os.X_OK):
        raise AssertionError(f"peer binary {path} is missing: run `bash scripts/fetch-peers3` (or "
                             "scripts/test, which does) and/or set PROMETHEUS3 / PUSHGATEWAY3")
    return path


def binary_version(path: str) -> Tuple[int, ...]:
    """(major, minor, patch) from ``<binary> --version``."""
    import re

    out = subprocess.run([require_binary(path), "--version"], capture_output=True, timeout=60)
    m = re.search(r"version (\d+)\.(\d+)\.(\d+)", (out.stdout + out.stderr).decode(errors="replace"))
    assert m, out
    return tuple(int(x) for x in m.groups())


def clean_env(**extra: str) -> Dict[str, str]:
    """This process's environment for a child Python, without multiprocess-mode variables
    (another test may have left them set), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if k not in ("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")}
    env.update(extra)
    return env


def free_ports(n: int = 1) -> List[int]:
    """``n`` distinct TCP ports that were free on 127.0.0.1 a moment ago."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def wait_until(
    check: Callable[[], Optional[T]],
    what: str,
    timeout: float = 60.0,
    interval: float = 0.05,
    proc: Optional[subprocess.Popen[bytes]] = None,
    log: Optional[Path] = None,
) -> T:
    """Poll ``check()`` until it returns something truthy; fail with ``what`` on timeout.

    Exceptions raised by ``check`` count as "not yet". If ``proc`` exits meanwhile, fail at
    once, showing the tail of ``log``.
    """
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as exc:  # noqa: BLE001 - any failure means "not ready yet"
            last = exc
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: process exited with {proc.returncode}\n{_tail(log)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what} (last: {last!r})\n{_tail(log)}")
        time.sleep(interval)


def _tail(log: Optional[Path], n: int = 4000) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-n:]


def http_get(url: str, headers: Optional[Dict[str, str]] = None, timeout: float = 10.0) -> Tuple[int, bytes]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def tcp_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(1.0)
        try:
            s.connect((host, port))
            return True
        except OSError:
            return False


class Peer:
    """A started peer process with its temp dir; ``stop()`` ends it by PID."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], workdir: Path, log: Path, port: int) -> None:
        self.name = name
        self.proc = proc
        self.dir = workdir
        self.log = log
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.extra: Dict[str, Any] = {}

    def stop(self, grace: float = 8.0) -> None:
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_text(self) -> str:
        return _tail(self.log, 20000)

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _spawn(name: str, argv: Sequence[str], workdir: Path, port: int, env: Optional[Dict[str, str]] = None) -> Peer:
    log = workdir / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(argv), stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=workdir, env=env
        )
    return Peer(name, proc, workdir, log, port)


def _ready(peer: Peer, path: str, what: str, timeout: float = 60.0,
           headers: Optional[Dict[str, str]] = None) -> None:
    def check() -> bool:
        status, _ = http_get(peer.url + path, headers=headers, timeout=2.0)
        return status == 200

    try:
        wait_until(check, what, timeout=timeout, proc=peer.proc, log=peer.log)
    except BaseException:
        peer.stop()
        raise


# ------------------------------------------------------------------------------- Prometheus
def prometheus_config(jobs: Dict[str, Sequence[str]], interval: str = "1s",
                      honor_labels: Sequence[str] = (),
                      job_options: Optional[Dict[str, Dict[str, Any]]] = None) -> str:
    """A prometheus.yml scraping each job's targets (``host:port`` strings) every ``interval``.

    ``job_options[job]`` adds keys to that job's scrape config (values written as JSON, which
    YAML reads), e.g. ``{"scheme": "https", "tls_config": {"ca_file": ...}}``.
    """
    lines = [
        "global:",
        f"  scrape_interval: {interval}",
        f"  scrape_timeout: {interval}",
        f"  evaluation_interval: {interval}",
        "scrape_configs:",
    ]
    for job, targets in jobs.items():
        lines.append(f"  - job_name: {job}")
        if job in honor_labels:
            lines.append("    honor_labels: true")
        for key, value in ((job_options or {}).get(job) or {}).items():
            lines.append(f"    {key}: {json.dumps(value)}")
        lines.append(f"    static_configs: [{{targets: {json.dumps(list(targets))}}}]")
    return "\n".join(lines) + "\n"


def start_prometheus(config: str, flags: Sequence[str] = (), port: Optional[int] = None,
                     binary: str = PROMETHEUS) -> Peer:
    """Start Prometheus (``binary``: 2.42 by default, or ``PROMETHEUS3``) with ``config`` (YAML
    text) and extra ``flags``; wait for /-/ready."""
    workdir = Path(tempfile.mkdtemp(prefix="prom-e2e-"))
    (workdir / "prometheus.yml").write_text(config)
    port = port or free_ports(1)[0]
    argv = [
        require_binary(binary),
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
        *flags,
    ]
    peer = _spawn("prometheus", argv, workdir, port)
    _ready(peer, "/-/ready", "Prometheus /-/ready")
    return peer


def prom_api(peer: Peer, path: str, **params: Any) -> Any:
    url = f"{peer.url}/api/v1/{path}"
    if params:
        url += "?" + urllib.parse.urlencode(params)
    status, body = http_get(url)
    data = json.loads(body)
    if status != 200 or data.get("status") != "success":
        raise AssertionError(f"Prometheus API {url} -> {status}: {body[:500]!r}")
    return data["data"]


def prom_query(peer: Peer, expr: str) -> List[Dict[str, Any]]:
    """Instant query; returns ``data.result``."""
    result: List[Dict[str, Any]] = prom_api(peer, "query", query=expr)["result"]
    return result


def prom_value(peer: Peer, expr: str) -> Optional[float]:
    """The single value of an instant query, or None when it has no result."""
    result = prom_query(peer, expr)
    if not result:
        return None
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def promtool_check_metrics(text: bytes) -> Tuple[int, str]:
    """``promtool check metrics`` on ``text``: (exit code, stderr+stdout)."""
    proc = subprocess.run([PROMTOOL, "check", "metrics"], input=text, capture_output=True, timeout=60)
    return proc.returncode, (proc.stderr + proc.stdout).decode(errors="replace")


# ------------------------------------------------------------------------------- Pushgateway
def bcrypt_hash(password: str) -> str:
    out = subprocess.run(
        [DEBIAN_PYTHON, "-c",
         "import bcrypt,sys; print(bcrypt.hashpw(sys.argv[1].encode(), bcrypt.gensalt(rounds=4)).decode())",
         password],
        check=True, capture_output=True, timeout=60,
    )
    return out.stdout.decode().strip()


def start_pushgateway(web_config: Optional[str] = None, admin_api: bool = True,
                      ready_headers: Optional[Dict[str, str]] = None, scheme: str = "http",
                      binary: str = PUSHGATEWAY) -> Peer:
    """Start a memory-only Pushgateway (``binary``: 1.5 by default, or ``PUSHGATEWAY3`` =
    1.11); ``web_config`` is the YAML of ``--web.config.file``."""
    workdir = Path(tempfile.mkdtemp(prefix="pgw-e2e-"))
    port = free_ports(1)[0]
    argv = [require_binary(binary), f"--web.listen-address=127.0.0.1:{port}", "--persistence.file=", "--log.level=warn"]
    if admin_api:
        argv.append("--web.enable-admin-api")
    if web_config is not None:
        (workdir / "web.yml").write_text(web_config)
        argv.append(f"--web.config.file={workdir / 'web.yml'}")
    peer = _spawn("pushgateway", argv, workdir, port)
    if scheme == "https":
        peer.url = f"https://127.0.0.1:{port}"
        wait_until(lambda: tcp_open(port), "Pushgateway TLS port", proc=peer.proc, log=peer.log)
    else:
        _ready(peer, "/-/ready", "Pushgateway /-/ready", headers=ready_headers)
    return peer


def pushgateway_groups(peer: Peer, headers: Optional[Dict[str, str]] = None) -> List[Dict[str, Any]]:
    status, body = http_get(peer.url + "/api/v1/metrics", headers=headers)
    assert status == 200, (status, body)
    groups: List[Dict[str, Any]] = json.loads(body)["data"]
    return groups


# ------------------------------------------------------------------------------- node_exporter
def start_node_exporter(textfile_dir: Path) -> Peer:
    """node_exporter with only the textfile collector, reading ``textfile_dir``."""
    workdir = Path(tempfile.mkdtemp(prefix="nodeexp-e2e-"))
    port = free_ports(1)[0]
    argv = [
        NODE_EXPORTER,
        f"--web.listen-address=127.0.0.1:{port}",
        "--collector.disable-defaults",
        "--collector.textfile",
        f"--collector.textfile.directory={textfile_dir}",
        "--log.level=warn",
    ]
    peer = _spawn("node_exporter", argv, workdir, port)
    _ready(peer, "/metrics", "node_exporter /metrics")
    return peer


# ------------------------------------------------------------------------------- carbon
def start_carbon() -> Peer:
    """carbon-cache in the foreground with 1 s whisper resolution; wait for its line port."""
    workdir = Path(tempfile.mkdtemp(prefix="carbon-e2e-"))
    line_port, pickle_port, query_port = free_ports(3)
    storage = workdir / "storage"
    conf = workdir / "conf"
    conf.mkdir()
    (storage / "whisper").mkdir(parents=True)
    (storage / "lists").mkdir()
    (storage / "log").mkdir()
    (conf / "carbon.conf").write_text(
        "[cache]\n"
        f"STORAGE_DIR = {storage}/\n"
        f"LOCAL_DATA_DIR = {storage}/whisper/\n"
        f"WHITELISTS_DIR = {storage}/lists/\n"
        f"LOG_DIR = {storage}/log/\n"
        f"PID_DIR = {storage}/\n"
        "USER =\n"
        "DATABASE = whisper\n"
        "ENABLE_TAGS = False\n"
        "CARBON_METRIC_INTERVAL = 0\n"
        "MAX_CACHE_SIZE = inf\n"
        "MAX_UPDATES_PER_SECOND = inf\n"
        "MAX_CREATES_PER_MINUTE = inf\n"
        "WHISPER_AUTOFLUSH = True\n"
        "LINE_RECEIVER_INTERFACE = 127.0.0.1\n"
        f"LINE_RECEIVER_PORT = {line_port}\n"
        "ENABLE_UDP_LISTENER = False\n"
        "PICKLE_RECEIVER_INTERFACE = 127.0.0.1\n"
        f"PICKLE_RECEIVER_PORT = {pickle_port}\n"
        "CACHE_QUERY_INTERFACE = 127.0.0.1\n"
        f"CACHE_QUERY_PORT = {query_port}\n"
        "LOG_UPDATES = True\n"
        "LOG_CREATES = True\n"
    )
    (conf / "storage-schemas.conf").write_text("[default]\npattern = .*\nretentions = 1s:1h\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    peer = _spawn(
        "carbon", [DEBIAN_PYTHON, CARBON_CACHE, f"--config={conf / 'carbon.conf'}", "--debug", "start"],
        workdir, line_port, env=env,
    )
    peer.extra["whisper_dir"] = storage / "whisper"
    try:
        wait_until(lambda: tcp_open(line_port), "carbon line receiver", proc=peer.proc, log=peer.log)
    except BaseException:
        peer.stop()
        raise
    return peer


def whisper_points(path: Path) -> List[Tuple[int, float]]:
    """The non-empty (timestamp, value) points of a whisper file (read with Debian's python)."""
    code = (
        "import whisper,time,json,sys\n"
        "(s,e,st),v=whisper.fetch(sys.argv[1], time.time()-3000, time.time()+60)\n"
        "print(json.dumps([(s+i*st,x) for i,x in enumerate(v) if x is not None]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    out = subprocess.run([DEBIAN_PYTHON, "-c", code, str(path)], check=True, capture_output=True,
                         timeout=60, env=env)
    return [(int(t), float(v)) for t, v in json.loads(out.stdout)]


# ------------------------------------------------------------------------------- TLS material
def make_certs(workdir: Path) -> Dict[str, str]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate (openssl).

    Returns paths: ca, server_cert, server_key, client_cert, client_key, other_ca (an
    unrelated CA), other_client_cert/other_client_key (signed by other_ca).
    """
    workdir.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=workdir, timeout=60)

    EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")

    def ca(name: str) -> None:
        run("req", "-x509", *EC, "-days", "2", "-subj", f"/CN={name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout", f"{name}.key", "-out", f"{name}.pem")

    def leaf(name: str, ca_name: str, san: str, usage: str) -> None:
        run("req", *EC, "-subj", f"/CN={name}", "-keyout", f"{name}.key",
            "-out", f"{name}.csr")
        (workdir / f"{name}.ext").write_text(
            f"subjectAltName={san}\nextendedKeyUsage={usage}\nbasicConstraints=CA:FALSE\n"
            "keyUsage=critical,digitalSignature\n"
            "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n"
        )
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem", "-CAkey", f"{ca_name}.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{name}.ext", "-out", f"{name}.pem")

    ca("ca")
    ca("otherca")
    leaf("server", "ca", "IP:127.0.0.1,DNS:localhost", "serverAuth")
    leaf("client", "ca", "DNS:client", "clientAuth")
    leaf("otherclient", "otherca", "DNS:client", "clientAuth")
    p = {k: str(workdir / v) for k, v in {
        "ca": "ca.pem", "server_cert": "server.pem", "server_key": "server.key",
        "client_cert": "client.pem", "client_key": "client.key", "other_ca": "otherca.pem",
        "other_client_cert": "otherclient.pem", "other_client_key": "otherclient.key",
    }.items()}
    return p


_CERTS: Dict[str, str] = {}


def shared_certs() -> Dict[str, str]:
    """``make_certs`` once per test process (in a temp dir removed at exit)."""
    if not _CERTS:
        import atexit

        workdir = Path(tempfile.mkdtemp(prefix="prom-certs-"))
        atexit.register(shutil.rmtree, workdir, True)
        _CERTS.update(make_certs(workdir))
    return dict(_CERTS)
