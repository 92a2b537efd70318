"""Access to the official ``prometheus-client==0.26.0`` for differential tests.

The official client lives only in a side virtualenv outside the repository and is driven
through a subprocess; it is never importable in the project's own test environment.

* ``official_python_path()`` returns that venv's interpreter: ``$OFFICIAL_PYTHON`` when it is
  set and works (``scripts/test`` exports it), else ``${TMPDIR:-/tmp}/official-prom-venv``,
  created on first use (``python -m venv`` + ``pip install prometheus-client==0.26.0``).
* ``run_official(code, stdin=None)`` runs ``code`` in that interpreter (``python -I -c``, in an
  empty temp dir, no ``PYTHONPATH``) and returns its stdout as bytes; a non-zero exit raises
  ``OfficialError`` carrying stderr.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

OFFICIAL_VERSION = "0.26.0"

_CHECK = (
    "import importlib.metadata as m, prometheus_client, sys\n"
    f"assert m.version('prometheus-client') == {OFFICIAL_VERSION!r}, m.version('prometheus-client')\n"
    "print(prometheus_client.__file__)\n"
)

_cached: Optional[str] = None


class OfficialError(RuntimeError):
    """The code run in the official client's interpreter failed."""


def _default_venv() -> Path:
    return Path(os.environ.get("TMPDIR") or "/tmp") / "official-prom-venv"


def _works(python: str) -> bool:
    if not python or not os.access(python, os.X_OK):
        return False
    proc = subprocess.run(
        [python, "-I", "-c", _CHECK], capture_output=True, env=_clean_env(), cwd=tempfile.gettempdir()
    )
    return proc.returncode == 0


def _clean_env() -> dict[str, str]:
    env = dict(os.environ)
    for key in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP",
                "PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir"):
        env.pop(key, None)
    return env


def _create(venv: Path) -> str:
    """Create (under a file lock) the side venv with the official client; return its python."""
    venv.parent.mkdir(parents=True, exist_ok=True)
    python = str(venv / "bin" / "python")
    with open(str(venv) + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _works(python):
            return python
        subprocess.run(["rm", "-rf", str(venv)], check=True)
        # Build from the base interpreter, not from the project venv.
        base = getattr(sys, "_base_executable", None) or sys.executable
        subprocess.run([base, "-m", "venv", str(venv)], check=True, env=_clean_env())
        subprocess.run(
            [python, "-m", "pip", "install", "-q", "--disable-pip-version-check",
             f"prometheus-client=={OFFICIAL_VERSION}"],
            check=True,
            env=_clean_env(),
        )
        if not _works(python):
            raise OfficialError(f"could not set up prometheus-client=={OFFICIAL_VERSION} in {venv}")
    return python


def official_python_path() -> str:
    """Path of a Python interpreter that imports the official client 0.26.0."""
    global _cached
    if _cached is None:
        env_python = os.environ.get("OFFICIAL_PYTHON", "")
        if env_python and _works(env_python):
            _cached = env_python
        else:
            _cached = _create(_default_venv())
    return _cached


def run_official(code: str, stdin: Optional[bytes] = None, timeout: float = 300.0) -> bytes:
    """Run ``code`` with the official client's interpreter; return its stdout."""
    python = official_python_path()
    with tempfile.TemporaryDirectory(prefix="official-run-") as cwd:
        proc = subprocess.run(
            [python, "-I", "-c", code],
            input=stdin if stdin is not None else b"",
            capture_output=True,
            env=_clean_env(),
            cwd=cwd,
            timeout=timeout,
        )
    if proc.returncode != 0:
        raise OfficialError(
            f"official client code exited {proc.returncode}\n--- code ---\n{code}\n"
            f"--- stderr ---\n{proc.stderr.decode(errors='replace')}"
        )
    return proc.stdout
