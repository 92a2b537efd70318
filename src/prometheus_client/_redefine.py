"""Get-or-create: defining a metric again returns the one already registered.

Off by default (a second definition raises ``DuplicateTimeseries``, as in the official
client). It applies to a registry created with ``CollectorRegistry(get_or_create=True)`` (or
switched on with ``registry.get_or_create = True``), and to any registry through the
explicit :func:`get_or_create` helper. A definition that differs from the registered one
(type, labels, buckets, help, ...) still raises, saying what differs.

Only constructing a top-level metric goes through here; label children never do.
"""

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Set, Tuple, Type, TypeVar

from . import registry as _registry
from .registry import Collector, CollectorRegistry, DuplicateTimeseries

if TYPE_CHECKING:  # pragma: no cover
    import inspect

M = TypeVar("M")

_SIGNATURES: Dict[type, "inspect.Signature"] = {}


class MetricRedefinitionError(DuplicateTimeseries):
    """A metric defined again differently from the one registered under its name."""

    def __init__(self, duplicates: Set[str], message: str) -> None:
        super().__init__(duplicates)
        self.args = (message,)


def _definition(metric: Any) -> Dict[str, Any]:
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


def differences(existing: Any, new: Any) -> List[str]:
    """How ``new`` differs from ``existing`` ("labelnames: ('a',) registered, ('b',) now")."""
    if not hasattr(existing, "_type") or not hasattr(existing, "_name"):
        return [f"the name is taken by a collector that is not a metric ({existing!r})"]
    old, cur = _definition(existing), _definition(new)
    if old["type"] != cur["type"]:
        return [f"type: {existing._type} ({old['type']}) registered, {new._type} ({cur['type']}) now"]
    out = []
    for key in list(old) + [k for k in cur if k not in old]:
        if old.get(key) != cur.get(key):
            out.append(f"{key}: {old.get(key)!r} registered, {cur.get(key)!r} now")
    return out


def conflict(registry: CollectorRegistry, collector: Any, duplicates: Set[str]) -> DuplicateTimeseries:
    """The error for a registration whose names are taken, saying by what and how it differs."""
    taken = registry._names_to_collectors
    owners: List[Any] = []
    for name in sorted(duplicates):
        owner = taken.get(name)
        if owner is not None and owner not in owners:
            owners.append(owner)
    what = f"{collector._type} {collector._name!r}" if hasattr(collector, "_name") else repr(collector)
    parts = []
    for owner in owners:
        diff = differences(owner, collector) if hasattr(collector, "_name") else []
        if hasattr(owner, "_name"):
            label = f"{owner._type} {owner._name!r}"
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


def _bind(cls: type, args: Tuple[Any, ...], kwargs: Dict[str, Any]) -> Optional["inspect.BoundArguments"]:
    sig = _SIGNATURES.get(cls)
    if sig is None:
        import inspect  # only once get-or-create is in use: keeps ``import prometheus_client`` lean

        sig = _SIGNATURES[cls] = inspect.signature(cls.__init__)  # type: ignore[misc]
    try:
        bound = sig.bind(None, *args, **kwargs)
    except TypeError:
        return None  # the constructor itself reports the mistake
    bound.apply_defaults()
    return bound


def _find(registry: CollectorRegistry, name: str) -> Any:
    with registry._lock:
        return registry._names_to_collectors.get(name)


def construct(meta_call: Any, cls: type, args: Tuple[Any, ...], kwargs: Dict[str, Any], force: bool) -> Any:
    """Build ``cls(*args, **kwargs)``, or return the identical metric already registered.

    ``meta_call`` builds an instance the ordinary way. Without ``force`` this applies only
    when the target registry opted in.
    """
    bound = _bind(cls, args, kwargs)
    if bound is None or bound.arguments.get("_labelvalues"):
        return meta_call(*args, **kwargs)
    registry = bound.arguments.get("registry")
    if registry is None or not (force or getattr(registry, "_get_or_create", False)):
        return meta_call(*args, **kwargs)
    bound.arguments["registry"] = None
    candidate = meta_call(*bound.args[1:], **bound.kwargs)
    for _attempt in range(3):  # a racing thread may register the same metric in between
        existing = _find(registry, candidate._name)
        if existing is not None:
            diff = differences(existing, candidate)
            if diff:
                raise conflict(registry, candidate, {candidate._name})
            return existing
        try:
            registry.register(candidate)
            return candidate
        except MetricRedefinitionError:
            raise
        except DuplicateTimeseries as e:
            if _find(registry, candidate._name) is None:
                raise conflict(registry, candidate, e.duplicates) from None
    raise RuntimeError(f"could not register {candidate._name!r}: registry keeps changing")  # pragma: no cover


class MetricType(type(Collector)):  # type: ignore[misc]
    """Metaclass of the metric classes: hands construction to get-or-create when in use."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if _registry._get_or_create_used:
            return construct(super().__call__, cls, args, kwargs, force=False)
        return super().__call__(*args, **kwargs)


def get_or_create(metric_class: Type[M], *args: Any, **kwargs: Any) -> M:
    """``metric_class(*args, **kwargs)``, or the identical metric already in its registry.

    Works with any registry, opted in or not. A registered metric of that name with a
    different definition raises ``DuplicateTimeseries`` (``MetricRedefinitionError``)
    naming the differences. ``registry=None`` just constructs.
    """
    call = type.__call__.__get__(metric_class)  # ordinary construction, bypassing the metaclass
    return construct(call, metric_class, args, kwargs, force=True)  # type: ignore[no-any-return]
