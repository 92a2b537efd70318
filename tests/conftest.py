"""Session-wide test setup.

* Checks once per session that ``prometheus_client`` is OUR package (``src/prometheus_client``)
  and that no other ``prometheus_client`` (e.g. the official one) is reachable on ``sys.path``
  or installed as a distribution in this environment.
* Fixtures for differential tests against the official client 0.26.0, which lives only in a
  side venv driven by subprocess (see ``tests/official_client.py``):
  ``official_python`` -> path of that interpreter (``$OFFICIAL_PYTHON`` or created lazily);
  ``run_official`` -> ``run_official(code: str, stdin: bytes | None = None) -> bytes``.
  The same helpers can be imported directly: ``from official_client import run_official``.
* ``free_port`` -> a TCP port that was free on 127.0.0.1 a moment ago.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import Callable, List, Optional
from urllib.parse import unquote, urlparse

import pytest
from hypothesis import settings as hypothesis_settings

from official_client import official_python_path
from official_client import run_official as _run_official

# Property tests: CI (scripts/test exports HYPOTHESIS_PROFILE=ci) runs a fixed, reproducible
# set of examples so a run on main is deterministic; "explore" draws fresh random examples
# (HYPOTHESIS_PROFILE=explore bash scripts/test) to hunt for new counterexamples.
hypothesis_settings.register_profile("ci", derandomize=True, print_blob=True)
hypothesis_settings.register_profile("explore", derandomize=False, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "explore"))

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"
PKG = SRC / "prometheus_client"

# A stray multiprocess dir in the caller's environment would switch the library's mode.
os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
os.environ.pop("prometheus_multiproc_dir", None)

# Child Python processes started by tests import the package from this checkout's src/, as
# pytest itself does (`pythonpath = ["src"]`): always, whatever is installed. (Deciding from
# installed metadata was wrong: a stale src/*.egg-info is "installed" metadata found through
# pythonpath, which left children without the package.) An editable install of this checkout
# points at the same directory, so this changes nothing for it.
os.environ["PYTHONPATH"] = os.pathsep.join(
    dict.fromkeys(p for p in (str(SRC), *os.environ.get("PYTHONPATH", "").split(os.pathsep)) if p)
)


def _inside(path: Path, root: Path) -> bool:
    path = path.resolve()
    return path == root or root in path.parents


def _package_problems() -> list[str]:
    problems: list[str] = []
    spec = importlib.util.find_spec("prometheus_client")
    if spec is None:
        return ["prometheus_client is not importable at all"]
    locations = list(spec.submodule_search_locations or [])
    if not locations and spec.origin:
        locations = [os.path.dirname(spec.origin)]
    for loc in locations:
        if not _inside(Path(loc), PKG):
            problems.append(f"prometheus_client resolves to {loc}, not to {PKG}")

    # Any other prometheus_client directory reachable through sys.path?
    for entry in sys.path:
        candidate = Path(entry or ".") / "prometheus_client"
        if candidate.is_dir() and not _inside(candidate, PKG):
            problems.append(f"another prometheus_client package is on sys.path: {candidate}")

    # Installed distributions named prometheus-client must be our editable install.
    for dist in importlib.metadata.distributions():
        name = re.sub(r"[-_.]+", "-", (dist.metadata["Name"] or "")).lower()
        if name != "prometheus-client":
            continue
        if _inside(Path(str(dist.locate_file(""))), REPO):
            continue  # build metadata of this checkout itself (src/*.egg-info from the editable install)
        for f in dist.files or []:
            text = str(f)
            if text.startswith("prometheus_client/") or "/prometheus_client/" in text:
                located = Path(str(dist.locate_file(f)))
                if not _inside(located, PKG):
                    problems.append(f"distribution file {located} (version {dist.version}) is outside src/")
                    break
        direct = dist.read_text("direct_url.json")
        if direct:
            info = json.loads(direct)
            url = urlparse(info.get("url", ""))
            where = Path(unquote(url.path)) if url.scheme == "file" else None
            if where is None or not _inside(where, REPO) or not info.get("dir_info", {}).get("editable"):
                problems.append(f"prometheus-client {dist.version} is installed from {info.get('url')}, "
                                f"not as an editable install of {REPO}")
        elif dist.files is not None:
            problems.append(f"prometheus-client {dist.version} is installed but not from this repository")
    return problems


# The "fast" subset (scripts/test runs it on Python 3.10, 3.11 and 3.12): unit, namespace and
# differential tests that need no real server process and no long property runs. Every test
# of these modules is marked ``fast``; `-m "fast and not slow"` selects them.
FAST_MODULES = frozenset({
    "test_asgi", "test_asgi_inline", "test_collectors", "test_concurrency", "test_errors", "test_exposition_text",
    "test_http_limits", "test_metrics", "test_mmap_dict", "test_multiprocess_liveness", "test_namespace_parity",
    "test_native_histogram_metric", "test_official_sidecar", "test_openmetrics_exposition", "test_parser",
    "test_private_helpers_differential", "test_private_names", "test_protobuf_exposition", "test_protobuf_parser",
    "test_push", "test_quantile_summary", "test_quantiles", "test_registry",
})


def pytest_collection_modifyitems(config: pytest.Config, items: List[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in FAST_MODULES:
            item.add_marker(pytest.mark.fast)


@pytest.fixture(scope="session", autouse=True)
def _only_our_prometheus_client() -> None:
    """The official client must never be importable in the project's test environment."""
    problems = _package_problems()
    assert not problems, "wrong prometheus_client in the test environment:\n  " + "\n  ".join(problems)


@pytest.fixture(scope="session")
def official_python() -> str:
    """Interpreter of the side venv that has the official prometheus-client==0.26.0."""
    return official_python_path()


@pytest.fixture(scope="session")
def run_official(official_python: str) -> Callable[..., bytes]:
    """``run_official(code, stdin=None) -> stdout bytes``, run with the official client."""

    def run(code: str, stdin: Optional[bytes] = None, timeout: float = 300.0) -> bytes:
        return _run_official(code, stdin, timeout)

    return run


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free when asked for."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
