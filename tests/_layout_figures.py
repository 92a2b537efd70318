"""Figures about the package's shape, computed from its source (AST), for tests/test_layout.py.

* module sizes (lines);
* the import graph between the package's modules, lazy (function-level) imports included,
  and its cycles (strongly connected components with more than one module);
* ``exec``/``eval`` calls, ``Any`` annotations, ``type: ignore`` comments;
* private accesses across subpackages: ``x._name`` where ``x`` is a module of the package
  that lives in another subpackage, or ``from mod import _name`` across subpackages
  (``from mod import _name as _name``, the re-export of a public module path, excepted).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path
from typing import Dict, List, Set, Tuple

PACKAGE = "prometheus_client"
ROOT = Path(__file__).resolve().parent.parent / "src" / PACKAGE


def modules() -> Dict[str, Path]:
    """``{dotted module name: path}`` for every module of the package."""
    out = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _is_package(name: str, mods: Dict[str, Path]) -> bool:
    return mods[name].name == "__init__.py"


def _resolve(module: str, node: ast.ImportFrom, mods: Dict[str, Path]) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".")
    if not _is_package(module, mods):
        base = base[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports(mods: Dict[str, Path]) -> Dict[str, Set[str]]:
    """``{module: {package modules it imports}}``, lazy (function-level) imports included
    (``from pkg import mod`` counts as importing ``mod``), and so do imports by name in modules
    that make them (``_lazy`` tables, ``import_module``); ``if TYPE_CHECKING:`` blocks, which
    never run, are not imports."""
    graph: Dict[str, Set[str]] = {}
    for name, path in mods.items():
        deps: Set[str] = set()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        text = path.read_text(encoding="utf-8")
        by_name = "import_module(" in text  # names like "_http" given to import_module
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and " " not in node.value:
                # imports by name: ``_lazy`` tables (".mod:attr"), ``import_module("." + "_mod")``
                spec = node.value.partition(":")[0]
                if spec.startswith("."):
                    spec = spec[1:]
                elif not by_name:
                    continue
                candidate = f"{PACKAGE}.{spec}"
                if spec and candidate in mods and candidate != name:
                    deps.add(candidate)
                continue
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(name, node, mods)
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            else:
                continue
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name and target.startswith(PACKAGE):
                    deps.add(target)
        graph[name] = deps
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    on_stack: Set[str] = set()
    result: List[List[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                result.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return result


def sizes(mods: Dict[str, Path]) -> Dict[str, int]:
    return {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in mods.items()}


def exec_eval_calls(mods: Dict[str, Path]) -> List[Tuple[str, int]]:
    found = []
    for name, path in mods.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("exec", "eval"):
                found.append((name, node.lineno))
    return found


def any_and_ignores(mods: Dict[str, Path]) -> Tuple[int, int]:
    """(number of ``Any`` names used, number of ``type: ignore`` comments)."""
    n_any = n_ignore = 0
    for path in mods.values():
        source = path.read_text(encoding="utf-8")
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.NAME and tok.string == "Any":
                n_any += 1
            elif tok.type == tokenize.COMMENT and "type: ignore" in tok.string:
                n_ignore += 1
        # ``from typing import Any`` is not a use
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and any(a.name == "Any" for a in node.names):
                n_any -= 1
    return n_any, n_ignore


def subpackage(module: str) -> str:
    """The unit private names may be shared in: the module's package."""
    return module.rpartition(".")[0]


def private_accesses(mods: Dict[str, Path]) -> List[Tuple[str, str, str]]:
    """``(module, other module, name)`` for each private name one module takes from another
    module of the package outside its own subpackage (``from m import _x`` or ``m._x``)."""
    found = []
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        aliases: Dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = _resolve(name, node, mods)
                for a in node.names:
                    full = f"{base}.{a.name}"
                    if full in mods:
                        aliases[a.asname or a.name] = full
                    elif a.asname == a.name:
                        continue  # ``from m import _x as _x``: a re-export (public module paths)
                    elif base in mods and a.name.startswith("_") and not a.name.startswith("__"):
                        if subpackage(base) != subpackage(name):
                            found.append((name, base, a.name))
            elif isinstance(node, ast.Import):
                for a in node.names:
                    if a.name in mods and a.asname:
                        aliases[a.asname] = a.name
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                    and node.value.id in aliases and node.attr.startswith("_")
                    and not node.attr.startswith("__")):
                other = aliases[node.value.id]
                if subpackage(other) != subpackage(name):
                    found.append((name, other, node.attr))
    return found


def private_member_uses(mods: Dict[str, Path]) -> int:
    """``x._name`` where ``x`` is neither ``self`` nor ``cls`` (another object's private member)."""
    n = 0
    for path in mods.values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                    and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
                n += 1
    return n


if __name__ == "__main__":  # pragma: no cover - a report for humans
    mods = modules()
    graph = imports(mods)
    size = sizes(mods)
    print("modules:", len(mods))
    print("over 600 lines:", {k: v for k, v in size.items() if v > 600})
    print("cycles:", cycles(graph))
    print("exec/eval:", exec_eval_calls(mods))
    print("Any, type: ignore:", any_and_ignores(mods))
    print("private accesses across subpackages:", len(private_accesses(mods)))
    print("private member uses (x._name, x not self/cls):", private_member_uses(mods))
