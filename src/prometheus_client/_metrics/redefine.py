"""Get-or-create: defining a metric again returns the one already registered.

Off by default (a second definition raises ``DuplicateTimeseries``, as in the official
client). It applies to a registry created with ``CollectorRegistry(get_or_create=True)`` (or
switched on with ``registry.get_or_create = True``), and to any registry through the
explicit :func:`get_or_create` helper. A definition that differs from the registered one
(type, labels, buckets, help, ...) still raises, saying what differs.

How: while a metric is constructed, the registry's ``register()`` (where clashes are found
anyway) compares the new definition with the registered one; an identical one is handed back
and becomes the constructor's result. Label children never get here.
"""

from __future__ import annotations

import functools
from _thread import _local  # what ``threading.local`` is, without importing ``threading``
from typing import TYPE_CHECKING, Callable, Dict, List, Set, Tuple, Type, TypeVar, cast

from . import collector as _collector
from .collector import Collector, DuplicateTimeseries

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ..registry import CollectorRegistry

M = TypeVar("M")


class MetricRedefinitionError(DuplicateTimeseries):
    """A metric defined again differently from the one registered under its name."""

    def __init__(self, duplicates: Set[str], message: str) -> None:
        super().__init__(duplicates)
        self.args = (message,)


def _definition(metric: object) -> Dict[str, object]:
    """What must match for two definitions to be the same metric."""
    cls = type(metric)
    settings = dict(getattr(metric, "_kwargs", None) or {})
    if hasattr(metric, "_upper_bounds"):
        settings["buckets"] = tuple(metric._upper_bounds)
    if hasattr(metric, "_states"):
        settings["states"] = tuple(metric._states)
    for k, v in settings.items():
        if isinstance(v, list):
            settings[k] = tuple(v)
    return {
        "type": f"{cls.__module__}.{cls.__qualname__}",
        "documentation": getattr(metric, "_documentation", None),
        "labelnames": tuple(getattr(metric, "_labelnames", ())),
        "unit": getattr(metric, "_unit", None),
        **{k: settings[k] for k in sorted(settings)},
    }


def differences(existing: Collector, new: Collector) -> List[str]:
    """How ``new`` differs from ``existing`` ("labelnames: ('a',) registered, ('b',) now")."""
    if not hasattr(existing, "_type") or not hasattr(existing, "_name"):
        return [f"the name is taken by a collector that is not a metric ({existing!r})"]
    old, cur = _definition(existing), _definition(new)
    if old["type"] != cur["type"]:
        return [f"type: {existing._type} ({old['type']}) registered, {getattr(new, '_type', None)} ({cur['type']}) now"]
    out = []
    for key in list(old) + [k for k in cur if k not in old]:
        if old.get(key) != cur.get(key):
            out.append(f"{key}: {old.get(key)!r} registered, {cur.get(key)!r} now")
    return out


def conflict(registry: CollectorRegistry, collector: Collector, duplicates: Set[str]) -> DuplicateTimeseries:
    """The error for a registration whose names are taken, saying by what and how it differs."""
    taken = registry._names_to_collectors
    owners: List[Collector] = []
    for name in sorted(duplicates):
        owner = taken.get(name)
        if owner is not None and owner not in owners:
            owners.append(owner)
    if hasattr(collector, "_name"):
        what = f"{getattr(collector, '_type', None)} {collector._name!r}"
    else:
        what = repr(collector)
    parts = []
    for owner in owners:
        diff = differences(owner, collector) if hasattr(collector, "_name") else []
        if hasattr(owner, "_name"):
            label = f"{getattr(owner, '_type', None)} {owner._name!r}"
        else:
            label = repr(owner)
        if diff:
            parts.append(f"{label} is registered with a different definition: " + "; ".join(diff))
        else:
            parts.append(
                f"an identical {label} is already registered (get-or-create returns it when the metric"
                " is constructed, not when another instance is registered)"
            )
    message = f"Duplicated timeseries in CollectorRegistry: {duplicates}: defining {what}: " + " / ".join(parts)
    return MetricRedefinitionError(duplicates, message)


class _Existing(Exception):
    """Raised by ``register()`` inside a get-or-create construction: use this metric instead."""

    def __init__(self, metric: Collector) -> None:
        super().__init__(metric)
        self.metric = metric


_constructing = _local()  # .stack: [(class, forced), ...] of the constructions in progress


def resolve(registry: CollectorRegistry, collector: Collector, duplicates: Set[str]) -> None:
    """Called by ``register()`` (under its lock) when names are taken and get-or-create is in use.

    Raises ``_Existing`` when ``collector`` is being constructed and an identical metric owns
    its names, an explaining ``MetricRedefinitionError`` when the definitions differ, and
    returns (the caller raises the plain error) when get-or-create does not apply.
    """
    stack = getattr(_constructing, "stack", None)
    top = stack[-1] if stack else None
    building = top is not None and isinstance(collector, top[0])
    if not (registry._get_or_create or (building and top is not None and top[1])):
        return
    existing = registry._names_to_collectors.get(collector._name) if hasattr(collector, "_name") else None
    if (
        building and existing is not None
        and all(registry._names_to_collectors.get(n) is existing for n in duplicates)
        and not differences(existing, collector)
    ):
        raise _Existing(existing)
    raise conflict(registry, collector, duplicates)


def construct(
    make: Callable[..., M], cls: Type[M], args: Tuple[object, ...], kwargs: Dict[str, object], force: bool
) -> M:
    """``make(*args, **kwargs)``, or the identical metric its registration finds registered."""
    stack = getattr(_constructing, "stack", None)
    if stack is None:
        stack = _constructing.stack = []
    stack.append((cls, force))
    try:
        return make(*args, **kwargs)
    except _Existing as e:  # an identical metric: of the same class
        return cast(M, e.metric)
    finally:
        stack.pop()


class MetricType(type(Collector)):  # type: ignore[misc]
    """Metaclass of the metric classes: hands construction to get-or-create when in use."""

    def __call__(cls: Type[M], *args: object, **kwargs: object) -> M:
        # (``type.__call__``: the only ``__call__`` above this one; ``super()`` would not type-check
        # with ``cls`` typed as the class it builds)
        if _collector.get_or_create_used:
            return construct(functools.partial(type.__call__, cls), cls, args, kwargs, force=False)
        metric: M = type.__call__(cls, *args, **kwargs)
        return metric


def get_or_create(metric_class: Type[M], *args: object, **kwargs: object) -> M:
    """``metric_class(*args, **kwargs)``, or the identical metric already in its registry.

    Works with any registry, opted in or not. A registered metric of that name with a
    different definition raises ``DuplicateTimeseries`` (``MetricRedefinitionError``)
    naming the differences. ``registry=None`` just constructs.
    """
    _collector.get_or_create_used = True
    call = functools.partial(type.__call__, metric_class)  # ordinary construction, bypassing the metaclass
    return construct(call, metric_class, args, kwargs, force=True)
