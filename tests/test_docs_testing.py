"""Every Python example of docs/testing.md, run verbatim in a fresh interpreter (they touch the
default REGISTRY), and the pytest one through pytest with the plugin enabled."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "testing.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
CONFTEST = next(b for b in BLOCKS if b.startswith("pytest_plugins"))
PYTEST_EXAMPLE = next(b for b in BLOCKS if "def test_" in b)
SCRIPTS = [b for b in BLOCKS if b not in (CONFTEST, PYTEST_EXAMPLE)]


def test_the_page_has_the_examples() -> None:
    assert len(SCRIPTS) >= 8


@pytest.mark.parametrize("index", range(len(SCRIPTS)))
def test_example_runs(index: int, tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-c", SCRIPTS[index]], capture_output=True, text=True, timeout=60,
                       cwd=tmp_path)
    assert p.returncode == 0, SCRIPTS[index] + p.stderr


def test_pytest_example_runs_with_the_plugin(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_example.py").write_text(PYTEST_EXAMPLE)
    p = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                       capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert p.returncode == 0 and "1 passed" in p.stdout, p.stdout + p.stderr
