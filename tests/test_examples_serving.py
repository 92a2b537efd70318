"""The Flask and gunicorn (multiprocess) examples of examples/, served by real gunicorn."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest

from peers import clean_env, free_ports, http_get, wait_until

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


class Gunicorn:
    def __init__(self, args: List[str], chdir: Path, tmp: Path, env: Optional[Dict[str, str]] = None) -> None:
        self.port = free_ports(1)[0]
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tmp / "gunicorn.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "--chdir", str(chdir), "-b", f"127.0.0.1:{self.port}",
                 "--log-level", "warning", *args],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=clean_env(**(env or {})),
            )
        wait_until(lambda: http_get(self.url + "/metrics")[0] == 200, "gunicorn serving", proc=self.proc,
                   log=self.log)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            self.proc.wait(30)


def _value(body: bytes, name: str) -> float:
    m = re.search(rb"^" + re.escape(name.encode()) + rb" (\S+)$", body, re.MULTILINE)
    assert m, body.decode()
    return float(m.group(1))


@pytest.fixture
def flask_server(tmp_path: Path) -> Iterator[Gunicorn]:
    g = Gunicorn(["flask_app:app_dispatch"], EXAMPLES, tmp_path)
    yield g
    g.stop()


def test_flask_example(flask_server: Gunicorn) -> None:
    for _ in range(3):
        status, body = http_get(flask_server.url + "/")
        assert (status, body) == (200, b"Hello from Flask\n")
    status, body = http_get(flask_server.url + "/metrics")
    assert status == 200
    assert _value(body, "flask_hello_requests_total") == 3
    assert b"python_info" in body  # the default registry


def test_gunicorn_multiprocess_example(tmp_path: Path) -> None:
    mp = tmp_path / "mp"
    mp.mkdir()
    g = Gunicorn(["-c", str(EXAMPLES / "gunicorn" / "gunicorn.conf.py"), "-w", "3", "app:app"],
                 EXAMPLES / "gunicorn", tmp_path, env={"PROMETHEUS_MULTIPROC_DIR": str(mp)})
    try:
        for _ in range(30):
            assert http_get(g.url + "/")[0] == 200
        status, body = http_get(g.url + "/")
        # 1 readiness probe + 30 + this one, whichever worker answered each.
        assert _value(body, "example_requests_total") == 32
        # This request is the only one in progress, whatever the number of live workers.
        assert _value(body, "inprogress_requests") == 1
    finally:
        g.stop()
