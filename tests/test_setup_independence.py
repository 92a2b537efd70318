"""The test setup does not depend on leftovers: a copy of the tree with a stale
``src/*.egg-info`` (metadata of an old install) runs its tests without ``PYTHONPATH`` set, and
child Python processes started by tests still import this checkout's package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD_TEST = '''
import os, subprocess, sys
import prometheus_client

def test_child_imports_this_checkout():
    out = subprocess.run([sys.executable, "-c", "import prometheus_client; print(prometheus_client.__file__)"],
                         capture_output=True, text=True, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == prometheus_client.__file__
'''


def _interpreter_without_this_project(tmp_path: Path) -> str:
    """A throwaway venv that sees this environment's packages (pytest, ...) but not an install of
    prometheus-client: CI's venvs have this checkout installed (editable), which the copy's
    conftest guard would rightly report as another prometheus_client."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    deps = tmp_path / "deps"
    deps.mkdir()
    purelib = Path(sysconfig.get_paths()["purelib"])
    for entry in sorted(purelib.iterdir()):
        name = entry.name.lower().replace("-", "_")
        if name.startswith(("prometheus_client", "__editable__", "_prometheus_client")) or name.endswith(".pth"):
            continue
        (deps / entry.name).symlink_to(entry)
    py = venv / "bin" / "python"
    child_site = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                capture_output=True, text=True, check=True).stdout.strip()
    Path(child_site, "deps.pth").write_text(str(deps) + "\n")
    return str(py)


def test_stale_egg_info_in_a_copy_of_the_tree(tmp_path: Path) -> None:
    copy = tmp_path / "tree"
    shutil.copytree(REPO / "src", copy / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    (copy / "tests").mkdir()
    for name in ("conftest.py", "official_client.py"):
        shutil.copy(REPO / "tests" / name, copy / "tests" / name)
    shutil.copy(REPO / "pyproject.toml", copy / "pyproject.toml")
    (copy / "tests" / "test_child.py").write_text(CHILD_TEST)
    stale = copy / "src" / "prometheus_client.egg-info"
    stale.mkdir()
    (stale / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: prometheus-client\nVersion: 0.0.1\n")
    (stale / "SOURCES.txt").write_text("prometheus_client/__init__.py\n")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    python = _interpreter_without_this_project(tmp_path)
    proc = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_child.py"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
