"""Public modules that re-export an implementation module keep behaving like that module.

``forward_assignments(__name__, impl)`` makes reads of the public module's names see
``impl``'s current values, and every assignment to (or deletion of) a name of the public
module also happen in ``impl`` when ``impl`` has that name, so that
``mock.patch.object(prometheus_client.metrics, "_use_created", False)`` or
``monkeypatch.setattr(values, "ValueClass", X)`` reaches the code that reads the name.
"""

from __future__ import annotations

import sys
from types import FunctionType, ModuleType
from typing import Any, Tuple

_MISSING = object()


class _Forwarding(ModuleType):
    _forward_to: Tuple[ModuleType, ...] = ()

    def __getattribute__(self, name: str) -> Any:
        # Reads see the implementation's current value (e.g. ``metrics._use_created`` after
        # ``disable_created_metrics()``), not the copy taken at import.
        if name[:2] != "__":
            for impl in type(self)._forward_to:
                found = impl.__dict__.get(name, _MISSING)
                if found is not _MISSING:
                    return found
        return super().__getattribute__(name)

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        for impl in type(self)._forward_to:
            if name in vars(impl):
                setattr(impl, name, value)

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        for impl in type(self)._forward_to:
            if name in vars(impl):
                delattr(impl, name)


def forward_assignments(name: str, *impls: ModuleType) -> None:
    """Install the forwarding on the module ``name`` (called at the end of its body).

    Classes and functions of ``impls`` also take ``name`` as their ``__module__``: they are
    shown, pickled and documented under the public path."""
    module = sys.modules[name]
    for impl in impls:
        for value in list(vars(impl).values()):
            if isinstance(value, (type, FunctionType)) and value.__module__ == impl.__name__:
                value.__module__ = name
    cls = type(f"{name}:module", (_Forwarding,), {"_forward_to": impls, "__slots__": ()})
    module.__class__ = cls
