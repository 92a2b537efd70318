"""``python -m prometheus_client``: --help and ``lint FILE|URL|-`` with its exit codes."""

import subprocess
import sys
from pathlib import Path
from typing import Optional

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

CLEAN = "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3\n"
DIRTY = "# TYPE jobs counter\njobs 3\n# HELP latency_ms L.\n# TYPE latency_ms gauge\nlatency_ms 1\n"


def run(*args: str, stdin: Optional[str] = None) -> "subprocess.CompletedProcess[str]":
    return subprocess.run(
        [sys.executable, "-m", "prometheus_client", *args],
        input=stdin, capture_output=True, text=True, timeout=60,
    )


def test_help_lists_the_commands() -> None:
    p = run("--help")
    assert p.returncode == 0
    assert "lint" in p.stdout and "COMMAND" in p.stdout
    p = run("lint", "--help")
    assert p.returncode == 0 and "FILE|URL|-" in p.stdout and "--max-labels" in p.stdout
    p = run()
    assert p.returncode == 2 and "lint" in p.stdout


def test_lint_file_exit_codes(tmp_path: Path) -> None:
    clean, dirty = tmp_path / "clean.prom", tmp_path / "dirty.prom"
    clean.write_text(CLEAN)
    dirty.write_text(DIRTY)
    p = run("lint", str(clean))
    assert (p.returncode, p.stdout, p.stderr) == (0, "", "")
    p = run("lint", str(dirty))
    assert p.returncode == 1
    assert p.stdout.splitlines() == [
        'jobs: counter metrics should have "_total" suffix [counter-total]',
        "jobs: no help text [help]",
        "latency_ms: metric names should not contain abbreviated units [abbreviated-unit]",
    ]


def test_lint_stdin() -> None:
    assert run("lint", "-", stdin=CLEAN).returncode == 0
    p = run("lint", "-", stdin=DIRTY)
    assert p.returncode == 1 and len(p.stdout.splitlines()) == 3


def test_lint_max_labels_option() -> None:
    text = "# HELP wide W.\n# TYPE wide gauge\nwide{a=\"1\",b=\"2\",c=\"3\"} 1\n"
    assert run("lint", "-", stdin=text).returncode == 0
    p = run("lint", "--max-labels", "2", "-", stdin=text)
    assert p.returncode == 1 and "[too-many-labels]" in p.stdout
    assert run("lint", "--max-labels", "0", "-", stdin=text).returncode == 0


def test_lint_unreadable_or_unparsable_input_exits_2(tmp_path: Path) -> None:
    p = run("lint", str(tmp_path / "missing.prom"))
    assert p.returncode == 2 and "cannot read" in p.stderr and p.stdout == ""
    p = run("lint", "-", stdin="# TYPE x gauge\nx{ 1\n")
    assert p.returncode == 2 and "line 2" in p.stderr


def test_lint_url_scrapes_a_real_server() -> None:
    registry = CollectorRegistry()
    Counter("served", "Requests served.", registry=registry).inc()
    Gauge("queueLength", "Queue.", registry=registry).set(1)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        port = server.server_address[1]
        p = run("lint", f"http://127.0.0.1:{port}/metrics")
        assert p.returncode == 1, p.stderr
        assert p.stdout.splitlines() == [
            "queueLength: metric names should be written in 'snake_case' not 'camelCase' [camel-case]"
        ]
        p = run("lint", f"http://127.0.0.1:{port}/metrics?name[]=served_total&name[]=served_created")
        assert (p.returncode, p.stdout) == (0, "")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    p = run("lint", "--timeout", "2", f"http://127.0.0.1:{port}/metrics")
    assert p.returncode == 2 and "cannot read" in p.stderr
