"""Every name ``dir()`` shows on a module of the official 0.26.0 package (dunders aside, after
importing all its submodules) resolves on ours, except the few listed with their reason in
docs/compatibility.md ("Names not provided", at most 5).

The official names come from the side venv (subprocess). Its venv has no aiohttp, django or
twisted, so there those frameworks are replaced by stub modules for the import (the names the
official modules take from them still show up in ``dir()``); ours import the real frameworks.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set

import pytest

REPO = Path(__file__).resolve().parent.parent

DUMP = r'''
import importlib, importlib.abc, importlib.machinery, json, pkgutil, sys, types

STUB_ROOTS = {"aiohttp", "django", "twisted"}


class _StubLoader(importlib.abc.Loader):
    def create_module(self, spec):
        mod = types.ModuleType(spec.name)
        mod.__path__ = []

        def __getattr__(name, _cache={}):
            if name.startswith("__"):
                raise AttributeError(name)
            return _cache.setdefault(name, type(name, (), {"__init__": lambda self, *a, **k: None}))

        mod.__getattr__ = __getattr__
        return mod

    def exec_module(self, module):
        pass


class _StubFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path, target=None):
        if fullname.split(".")[0] not in STUB_ROOTS:
            return None
        if importlib.machinery.PathFinder.find_spec(fullname.split(".")[0]) is not None:
            return None  # really installed: use it
        return importlib.machinery.ModuleSpec(fullname, _StubLoader(), is_package=True)


sys.meta_path.append(_StubFinder())
import prometheus_client as root
if len(sys.argv) > 1:  # the modules to dump (ours: exactly the official's)
    names = sys.argv[1].split(",")
else:
    names = ["prometheus_client"] + [m.name for m in pkgutil.walk_packages(root.__path__, "prometheus_client.")]
for name in names:
    importlib.import_module(name)
out = {}
for name in names:
    mod = sys.modules[name]
    out[name] = sorted(n for n in dir(mod) if not (n.startswith("__") and n.endswith("__")))
print(json.dumps(out))
'''


def _allowed_missing() -> Dict[str, Set[str]]:
    """``module -> names`` from the table under "Names not provided" in docs/compatibility.md."""
    text = (REPO / "docs" / "compatibility.md").read_text()
    section = text.split("## Names not provided", 1)[1].split("\n## ", 1)[0]
    allowed: Dict[str, Set[str]] = {}
    for mod, name in re.findall(r"^\| `(prometheus_client[\w.]*)` \| `(\w+)` \|", section, re.M):
        allowed.setdefault(mod, set()).add(name)
    return allowed


@pytest.fixture(scope="module")
def official_names(run_official) -> Dict[str, List[str]]:  # type: ignore[no-untyped-def]
    return json.loads(run_official(DUMP))


@pytest.fixture(scope="module")
def our_names(official_names: Dict[str, List[str]]) -> Dict[str, List[str]]:
    proc = subprocess.run([sys.executable, "-c", DUMP, ",".join(official_names)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_every_official_module_exists(official_names: Dict[str, List[str]], our_names: Dict[str, List[str]]) -> None:
    assert sorted(set(official_names) - set(our_names)) == []


def test_every_official_name_resolves(official_names: Dict[str, List[str]], our_names: Dict[str, List[str]]) -> None:
    allowed = _allowed_missing()
    assert sum(len(v) for v in allowed.values()) <= 5, "at most 5 names may be documented as not provided"
    missing = {mod: sorted(set(names) - set(our_names.get(mod, [])) - allowed.get(mod, set()))
               for mod, names in official_names.items()}
    assert {m: n for m, n in missing.items() if n} == {}
    # A documented exception must really be missing (or the table is stale).
    present = {mod: sorted(names & set(our_names.get(mod, []))) for mod, names in allowed.items()}
    assert {m: n for m, n in present.items() if n} == {}


def test_dir_names_are_real_attributes(our_names: Dict[str, List[str]]) -> None:
    """What our ``dir()`` lists (lazy names included) resolves with getattr."""
    code = ("import importlib, json, sys\n"
            "names = json.loads(sys.stdin.read())\n"
            "for m in names:\n"
            "    importlib.import_module(m)\n"
            "bad = [(m, n) for m, ns in names.items() for n in ns if not hasattr(importlib.import_module(m), n)]\n"
            "print(json.dumps(bad))\n")
    proc = subprocess.run([sys.executable, "-c", code], input=json.dumps(our_names), capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_lazy_names_do_not_load_at_import() -> None:
    """``import prometheus_client`` does not pull in what only the lazy names need."""
    code = (f"import sys; sys.path.insert(0, {str(REPO / 'src')!r})\n"
            "import prometheus_client\n"
            "print(sorted(m for m in ('urllib.request', 'wsgiref.simple_server', 'http.server', 'glob',\n"
            "                         'prometheus_client.mmap_dict', 'prometheus_client._transport.push')\n"
            "             if m in sys.modules))")
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
