"""The official client is reachable only through its side venv, never in-process."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Callable

import pytest

from official_client import OfficialError

SRC = Path(__file__).resolve().parent.parent / "src"


def test_in_process_prometheus_client_is_ours() -> None:
    spec = importlib.util.find_spec("prometheus_client")
    assert spec is not None and spec.submodule_search_locations
    for loc in spec.submodule_search_locations:
        assert Path(loc).resolve() == SRC / "prometheus_client"


def test_run_official_imports_the_official_client(official_python: str,
                                                  run_official: Callable[..., bytes]) -> None:
    out = run_official(
        "import importlib.metadata as m, prometheus_client, sys\n"
        "sys.stdout.write(m.version('prometheus-client') + '\\n' + prometheus_client.__file__)\n"
    ).decode()
    version, path = out.split("\n")
    assert version == "0.26.0"
    assert SRC.resolve() not in Path(path).resolve().parents
    assert Path(official_python).is_file()


def test_run_official_passes_stdin_and_returns_bytes(run_official: Callable[..., bytes]) -> None:
    code = "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read()[::-1])"
    assert run_official(code, b"ab\x00\xff") == b"\xff\x00ba"


def test_run_official_raises_with_stderr(run_official: Callable[..., bytes]) -> None:
    with pytest.raises(OfficialError, match="ZeroDivisionError"):
        run_official("1 / 0")
