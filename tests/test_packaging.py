"""Packaging: the wheel carries the LICENSE, the PEP 639 licence expression, a classifier for
every supported Python and the whole package; ``pip install --no-build-isolation .`` works with
setuptools 77 (the first release that understands ``license = "Apache-2.0"``) in a fresh venv.

Builds run in a copy of the tree, so they never leave build/ or src/*.egg-info behind here."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SUPPORTED = ["3.9", "3.10", "3.11", "3.12", "3.13"]


def _copy_tree(dest: Path) -> Path:
    shutil.copytree(REPO / "src", dest / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(REPO / name, dest / name)
    return dest


def _run(*argv: str, cwd: Path) -> str:
    proc = subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


def test_license_file_is_the_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text()
    assert text.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in text and "END OF TERMS AND CONDITIONS" in text
    assert 'license = "Apache-2.0"' in (REPO / "pyproject.toml").read_text()


def test_wheel_contents(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path / "tree")
    _run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist", ".",
         cwd=tree)
    (wheel,) = (tree / "dist").glob("prometheus_client-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        (dist_info,) = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        assert f"{dist_info}/licenses/LICENSE" in names
        assert z.read(f"{dist_info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        meta = Parser().parsestr(z.read(f"{dist_info}/METADATA").decode())
    assert meta["Name"] == "prometheus-client"
    assert meta["License-Expression"] == "Apache-2.0"
    assert meta["Requires-Python"] == ">=3.9"
    assert meta.get_all("License-File") == ["LICENSE"]
    classifiers = meta.get_all("Classifier")
    versions = sorted((c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)),
                      key=lambda v: tuple(map(int, v.split("."))))
    assert versions == SUPPORTED
    assert meta.get_all("Requires-Dist") is None or all("extra ==" in r for r in meta.get_all("Requires-Dist"))
    src_files = sorted(str(p.relative_to(REPO / "src")) for p in (REPO / "src" / "prometheus_client").rglob("*")
                       if p.is_file() and "__pycache__" not in p.parts)
    assert sorted(n for n in names if n.startswith("prometheus_client/")) == src_files
    assert "prometheus_client/py.typed" in names


@pytest.mark.slow
def test_pip_install_no_build_isolation_with_setuptools_77(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path / "tree")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv), cwd=tmp_path)
    py = str(venv / "bin" / "python")
    _run(py, "-m", "pip", "install", "-q", "setuptools==77.0.3", cwd=tmp_path)
    _run(py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", ".", cwd=tree)
    out = _run(py, "-I", "-c", (
        "import importlib.metadata as m, prometheus_client, setuptools\n"
        "d = m.distribution('prometheus-client')\n"
        "print(setuptools.__version__, d.version, d.metadata['License-Expression'],\n"
        "      any(str(f).endswith('licenses/LICENSE') for f in d.files),\n"
        "      prometheus_client.__file__.startswith(%r))" % str(venv)), cwd=tmp_path)
    assert out.split() == ["77.0.3", d_version(), "Apache-2.0", "True", "True"]


def d_version() -> str:
    m = re.search(r'^version = "([^"]+)"', (REPO / "pyproject.toml").read_text(), re.M)
    assert m
    return m.group(1)
