"""Helpers for testing your instrumentation.

* :func:`to_float` — the value of one Counter/Gauge series;
* :func:`collect_and_count` — how many series a collector exposes;
* :func:`collect_and_compare` — assert a collector's output equals expected exposition text;
* :func:`lint` — promlint's naming rules (``promtool check metrics``) on a collector or text;
* :func:`fresh_registry` — an empty default ``REGISTRY`` for the duration of a test;
* :func:`get_or_create` — build a metric, or return the identical one already registered.

The pytest fixture ``prometheus_registry`` lives in ``prometheus_client.testing.pytest_plugin``;
enable it with ``pytest_plugins = ["prometheus_client.testing.pytest_plugin"]`` in a
``conftest.py`` (it is never loaded automatically).

This module is not imported by ``import prometheus_client``.
"""

import math
from contextlib import contextmanager
from typing import Dict, FrozenSet, Iterator, List, Optional, Set, Tuple, Union

from .._metrics.redefine import get_or_create
from ..metrics_core import Metric
from ..registry import REGISTRY, Collector, CollectorRegistry
from ..samples import Sample
from ..utils import floatToGoString
from ._lint import Finding, lint

__all__ = [
    "Finding",
    "collect_and_compare",
    "collect_and_count",
    "fresh_registry",
    "get_or_create",
    "lint",
    "to_float",
]

# Labels that tell the samples of one series apart rather than the series themselves.
_STRUCTURAL = {"histogram": ("le",), "gaugehistogram": ("le",), "summary": ("quantile",)}


def _describe(collector: object) -> str:
    name = getattr(collector, "_name", None)
    typ = getattr(collector, "_type", None)
    if name is not None and typ is not None:
        return f"{typ} {name!r}"
    return type(collector).__name__


def _collect(collector: Collector) -> List[Metric]:
    collect = getattr(collector, "collect", None)
    if collect is None:
        raise TypeError(f"expected a metric, registry or collector (with collect()), got {type(collector).__name__}")
    return list(collect())


def _escape(value: str) -> str:
    return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')


def _series_text(name: str, labels: Dict[str, str]) -> str:
    """``name{a="1",b="2"}`` with labels sorted and values escaped as in the text format."""
    if not labels:
        return name
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
    return f"{name}{{{inner}}}"


def to_float(metric: Collector) -> float:
    """The value of the single series of a Counter or Gauge (a child, or an unlabelled metric).

    ``_created`` samples are ignored. Raises ``ValueError`` when the collector does not expose
    exactly one value (a labelled parent with several children, a histogram, ...).
    """
    values: List[Sample] = []
    for family in _collect(metric):
        created = family.name + "_created"
        values.extend(s for s in family.samples if s.name != created)
    if len(values) != 1:
        shown = ", ".join(_series_text(s.name, s.labels) for s in values[:5])
        more = f", ... ({len(values)} in all)" if len(values) > 5 else ""
        raise ValueError(
            f"to_float() needs exactly one series, {_describe(metric)} exposes {len(values)}"
            + (f": {shown}{more}" if values else "")
            + " (pick a child with .labels(...))" * (len(values) > 1)
        )
    return float(values[0].value)


def _wanted(family: Metric, names: Tuple[str, ...]) -> bool:
    """Whether ``family`` is one of ``names``; a counter matches with or without ``_total``."""

    if not names:
        return True
    aliases = {family.name}
    if family.type == "counter":
        aliases.add(family.name + "_total")
    if family.name.endswith("_total"):
        aliases.add(family.name[:-6])
    if family.type == "info":
        aliases.add(family.name + "_info")
    # Sample lines without a TYPE line (``x_bucket{le="1"} 2``) belong to the family they name.
    if family.type in ("unknown", "untyped", "gauge"):
        suffixes = _SUFFIXES if family.type != "gauge" else ("_created",)
        aliases.update(family.name[: -len(x)] for x in suffixes if family.name.endswith(x))
    return not aliases.isdisjoint(names)


_SUFFIXES = ("_bucket", "_sum", "_count", "_created", "_total", "_info", "_gsum", "_gcount")


def _check_names(families: List[Metric], names: Tuple[str, ...], collector: object) -> None:
    for n in names:
        if not any(_wanted(f, (n,)) for f in families):
            available = ", ".join(sorted(f.name for f in families)) or "none"
            raise ValueError(f"no metric named {n!r} in {_describe(collector)} (metrics: {available})")


def collect_and_count(collector: Collector, *metric_names: str) -> int:
    """The number of series ``collector`` exposes, in all families or in those named.

    A series is one child: a histogram's buckets, sum and count are one series, and
    ``_created`` does not count. A counter may be named with or without ``_total``. Naming a
    metric the collector does not have raises ``ValueError`` (a typo would otherwise count 0).
    """
    families = _collect(collector)
    _check_names(families, metric_names, collector)
    total = 0
    for family in families:
        if not _wanted(family, metric_names):
            continue
        drop = _STRUCTURAL.get(family.type, ())
        if family.type == "stateset":
            drop = (family.name,)
        created = family.name + "_created"
        series = {
            frozenset((k, v) for k, v in s.labels.items() if k not in drop)
            for s in family.samples if s.name != created
        }
        total += len(series)
    return total


class _Only:
    """Presents a collector to the encoders as a registry holding just it."""

    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    def collect(self) -> List[Metric]:
        return _collect(self._collector)


def _parse(text: str, openmetrics: bool) -> List[Metric]:
    if openmetrics:
        from ..openmetrics.parser import text_string_to_metric_families as om_parse

        return list(om_parse(text))
    from ..parser import text_string_to_metric_families

    return list(text_string_to_metric_families(text))


_Key = Tuple[str, FrozenSet[Tuple[str, str]]]


def _created_names(families: List[Metric]) -> Set[str]:
    """Names of ``_created`` series: inside their family (OpenMetrics) or a gauge of their own (text)."""
    return {f.name + "_created" for f in families if f.type in ("counter", "histogram", "summary", "gaugehistogram")}


def _flatten(families: List[Metric], skip: Set[str]) -> Tuple[Dict[_Key, float], Dict[str, Metric]]:
    """Samples keyed by (name, labels), and families by name; names in ``skip`` left out."""
    samples: Dict[_Key, float] = {}
    by_name: Dict[str, Metric] = {}
    for f in families:
        if f.name in skip:
            continue
        by_name[f.name] = f
        for s in f.samples:
            if s.name not in skip:
                samples[(s.name, frozenset(s.labels.items()))] = s.value
    return samples, by_name


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def collect_and_compare(
    collector: Collector, expected_text: Union[str, bytes], *metric_names: str, include_created: bool = False
) -> None:
    """Assert that ``collector`` exposes exactly the samples of ``expected_text``.

    ``expected_text`` is Prometheus text (OpenMetrics when it ends with ``# EOF``); the order of
    families and samples does not matter, and ``# HELP`` / ``# TYPE`` lines are checked only
    where the expected text has them. ``metric_names`` restricts both sides to those families.
    ``_created`` series are ignored unless ``include_created=True``. Timestamps and exemplars
    are not compared. On a mismatch raises ``AssertionError`` listing each differing series.
    """
    if isinstance(expected_text, bytes):
        expected_text = expected_text.decode("utf-8")
    stripped = expected_text.rstrip()
    openmetrics = stripped == "# EOF" or stripped.endswith("\n# EOF")
    if openmetrics:
        from ..openmetrics.exposition import generate_latest as render_om

        rendered = render_om(_Only(collector)).decode("utf-8")
    else:
        from ..exposition import generate_latest as render_text

        rendered = render_text(_Only(collector)).decode("utf-8")
    try:
        expected_families = _parse(expected_text, openmetrics)
    except ValueError as e:
        raise ValueError(f"collect_and_compare(): the expected text does not parse: {e}") from None
    actual_families = _parse(rendered, openmetrics)
    if metric_names:
        _check_names(actual_families + expected_families, metric_names, collector)
        expected_families = [f for f in expected_families if _wanted(f, metric_names)]
        actual_families = [f for f in actual_families if _wanted(f, metric_names)]
    # Bare ``x_created`` lines in the expected text are known as such from the collector's types.
    skip = set() if include_created else _created_names(actual_families + expected_families)
    want, want_meta = _flatten(expected_families, skip)
    got, got_meta = _flatten(actual_families, skip)

    problems: List[str] = []
    # A family is matched by the samples it holds (a counter's family name depends on the format).
    owner = {s.name: f for f in got_meta.values() for s in f.samples}
    for name, fam in sorted(want_meta.items()):
        other = owner.get(fam.samples[0].name) if fam.samples else got_meta.get(name)
        if other is None:
            continue
        if fam.type not in ("unknown", "untyped") and other.type != fam.type:
            problems.append(f"{name}: TYPE expected {fam.type}, got {other.type}")
        if fam.documentation and other.documentation != fam.documentation:
            problems.append(f"{name}: HELP expected {fam.documentation!r}, got {other.documentation!r}")
    keys = sorted(set(want) | set(got), key=lambda k: (k[0], sorted(k[1])))
    for key in keys:
        series = _series_text(key[0], dict(key[1]))
        w: Optional[float] = want.get(key)
        g: Optional[float] = got.get(key)
        if w is None and g is not None:
            problems.append(f"{series}: not expected, got {floatToGoString(g)}")
        elif g is None and w is not None:
            problems.append(f"{series}: missing, expected {floatToGoString(w)}")
        elif w is not None and g is not None and not _same(w, g):
            problems.append(f"{series}: expected {floatToGoString(w)}, got {floatToGoString(g)}")
    if problems:
        head = f"{_describe(collector)} differs from the expected text in {len(problems)} place(s):"
        raise AssertionError("\n".join([head] + ["  " + p for p in problems]))


@contextmanager
def fresh_registry(registry: CollectorRegistry = REGISTRY) -> Iterator[CollectorRegistry]:
    """Empty ``registry`` (the default ``REGISTRY``) for the block, then restore it.

    The registry object stays the same, so metrics constructed with the default
    ``registry=REGISTRY`` and ``generate_latest()`` without arguments use the empty one.
    Everything registered inside the block is dropped at exit and everything registered
    before is back. Its settings (``auto_describe``, ``get_or_create``) are kept.
    """
    with registry._lock:
        saved = {k: v for k, v in vars(registry).items() if k != "_lock"}
        empty = CollectorRegistry(
            auto_describe=registry._auto_describe,
            support_collectors_without_names=registry._support_collectors_without_names,
        )
        for k, v in vars(empty).items():
            if k != "_lock" and k not in _SETTINGS:
                setattr(registry, k, v)
    try:
        yield registry
    finally:
        with registry._lock:
            for k in list(vars(registry)):
                if k != "_lock" and k not in saved:
                    delattr(registry, k)
            for k, v in saved.items():
                setattr(registry, k, v)


# Attributes of a registry that are configuration, not contents.
_SETTINGS = frozenset(("_auto_describe", "_support_collectors_without_names", "_get_or_create"))
