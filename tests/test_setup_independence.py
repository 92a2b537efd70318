"""The test setup does not depend on leftovers: a copy of the tree with a stale
``src/*.egg-info`` (metadata of an old install) runs its tests without ``PYTHONPATH`` set, and
child Python processes started by tests still import this checkout's package."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_child.py"],
                          cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
