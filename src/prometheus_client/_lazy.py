"""PEP 562 helpers: names a module offers without importing what they come from up front.

The reference client's modules import a good part of the standard library (and each other) at
their top level, so those names are attributes of its modules and real code reaches for them
(``mock.patch("prometheus_client.exposition.build_opener")``, ``multiprocess.MmapedDict``...).
Ours provide the same names, resolved on first access, so ``import prometheus_client`` stays
cheap. ``dir()`` lists them.
"""

from __future__ import annotations

import sys
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

# name -> "module" (the module itself) or "module:attribute"; a leading "." is relative to
# the package ``prometheus_client``.
Table = Dict[str, str]


def resolve(spec: str) -> Any:
    modname, _, attr = spec.partition(":")
    if modname.startswith("."):
        modname = "prometheus_client" + modname
    __import__(modname)  # ``importlib.import_module`` without importing ``importlib``
    module = sys.modules[modname]
    return getattr(module, attr) if attr else module


def install(
    module_name: str, table: Table, uncached: Iterable[str] = (), fallback: Optional[Callable[[str], Any]] = None
) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """``(__getattr__, __dir__)`` for ``module_name`` serving ``table``.

    A resolved name is stored in the module's globals (later lookups are plain attribute
    reads, and ``mock.patch`` restores it cleanly), except the ``uncached`` ones: those are
    resolved at every access (names the module's own code also looks up at call time, where
    patching either place must work). ``fallback(name)`` handles names not in the table.
    """
    keep_fresh = frozenset(uncached)

    def __getattr__(name: str) -> Any:
        spec = table.get(name)
        if spec is None:
            if fallback is not None:
                return fallback(name)
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        value = resolve(spec)
        if name not in keep_fresh:
            setattr(sys.modules[module_name], name, value)
        return value

    def __dir__() -> List[str]:
        return sorted(set(vars(sys.modules[module_name])) | set(table))

    return __getattr__, __dir__
