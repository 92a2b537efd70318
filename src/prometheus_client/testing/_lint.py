"""Metric linting with the rules of promlint (``promtool check metrics``).

Each family is looked at the way Prometheus sees it after a scrape of the Prometheus text
format: a counter is named with its ``_total`` suffix, an Info metric with ``_info``, and the
``_created`` series of a collector are not families of their own. Text input is taken
literally, as promtool reads it, families without samples left out as promtool does; a
collector's families are all linted, also a labelled metric that has no child yet.

Two rules are ours (promtool 2.42 has neither): label names starting with ``__`` and
families with more than ``max_labels`` label names.
"""

import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple, Union

from ..metrics_core import Metric
from ..registry import Collector

# Unit words promlint recognises and the base unit each should be expressed in.
_BASE_UNITS = ("amperes", "bytes", "celsius", "grams", "joules", "kelvin", "meters", "metres", "seconds", "volts")
_UNITS: Dict[str, str] = {u: u for u in _BASE_UNITS}
_UNITS.update({
    "minutes": "seconds", "hours": "seconds", "days": "seconds", "weeks": "seconds",
    "kelvins": "kelvin", "fahrenheit": "celsius", "rankine": "celsius",
    "inches": "meters", "yards": "meters", "miles": "meters",
    "bits": "bytes", "calories": "joules", "pounds": "grams", "ounces": "grams",
})
_UNIT_PREFIXES = (
    "pico", "nano", "micro", "milli", "centi", "deci", "deca", "hecto", "kilo", "kibi",
    "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi",
)
_ABBREVIATIONS = ("s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d")
# Type names as promlint spells them (the protobuf enum, lower-cased; untyped is exempt).
_TYPE_WORDS = ("counter", "gauge", "summary", "histogram", "gauge_histogram")
_CAMEL = re.compile("[a-z][A-Z]")

# Rule identifiers (stable; the CLI prints them).
HELP = "help"
BASE_UNIT = "base-unit"
COUNTER_TOTAL = "counter-total"
NON_COUNTER_TOTAL = "non-counter-total"
RESERVED_SUFFIX = "reserved-suffix"
RESERVED_LABEL = "reserved-label"
TYPE_IN_NAME = "type-in-name"
COLON = "colon"
CAMEL_CASE = "camel-case"
ABBREVIATED_UNIT = "abbreviated-unit"
LABEL_PREFIX = "label-prefix"
TOO_MANY_LABELS = "too-many-labels"

DEFAULT_MAX_LABELS = 10


class Finding(NamedTuple):
    """One lint problem: the family it concerns, the rule broken and promtool's wording."""

    metric: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.metric}: {self.message} [{self.rule}]"


class _Family(NamedTuple):
    name: str
    type: str  # counter, gauge, summary, histogram, gauge_histogram or untyped
    help: str
    labels: Set[str]  # label names of its series, structural ones (le, quantile) excepted


def _unit_problem(name: str) -> Optional[Tuple[str, str]]:
    """(unit word, base unit) of the first unit word in ``name`` that is not a base unit.

    promlint reports one unit per name; when a name holds several different unit words its
    choice depends on Go's map order, so here the first non-base one (in name order) wins.
    """
    for part in name.split("_"):
        base = _UNITS.get(part)
        if base is None:
            for prefix in _UNIT_PREFIXES:
                if part.startswith(prefix) and part[len(prefix):] in _UNITS:
                    base = _UNITS[part[len(prefix):]]
                    break
        if base is not None and base != part:
            return part, base
    return None


def _lint_family(fam: _Family, max_labels: Optional[int]) -> List[Finding]:
    out: List[Finding] = []
    name, typ = fam.name, fam.type

    def add(rule: str, message: str) -> None:
        out.append(Finding(name, rule, message))

    if not fam.help:
        add(HELP, "no help text")
    unit = _unit_problem(name)
    if unit is not None:
        add(BASE_UNIT, f'use base unit "{unit[1]}" instead of "{unit[0]}"')
    if typ == "counter" and not name.endswith("_total"):
        add(COUNTER_TOTAL, 'counter metrics should have "_total" suffix')
    if typ not in ("counter", "untyped") and name.endswith("_total"):
        add(NON_COUNTER_TOTAL, 'non-counter metrics should not have "_total" suffix')
    if typ != "untyped":
        histogram, summary = typ == "histogram", typ == "summary"
        if not histogram and name.endswith("_bucket"):
            add(RESERVED_SUFFIX, 'non-histogram metrics should not have "_bucket" suffix')
        if not histogram and not summary:
            for suffix in ("_count", "_sum"):
                if name.endswith(suffix):
                    add(RESERVED_SUFFIX, f'non-histogram and non-summary metrics should not have "{suffix}" suffix')
        if not histogram and "le" in fam.labels:
            add(RESERVED_LABEL, 'non-histogram metrics should not have "le" label')
        if not summary and "quantile" in fam.labels:
            add(RESERVED_LABEL, 'non-summary metrics should not have "quantile" label')
    lower = name.lower()
    for word in _TYPE_WORDS:
        if f"_{word}_" in lower or lower.endswith("_" + word):
            add(TYPE_IN_NAME, f"metric name should not include type '{word}'")
    if ":" in name:
        add(COLON, "metric names should not contain ':'")
    if _CAMEL.search(name):
        add(CAMEL_CASE, "metric names should be written in 'snake_case' not 'camelCase'")
    if any(_CAMEL.search(label) for label in fam.labels):
        add(CAMEL_CASE, "label names should be written in 'snake_case' not 'camelCase'")
    for abbr in _ABBREVIATIONS:
        if f"_{abbr}_" in lower or lower.endswith("_" + abbr):
            add(ABBREVIATED_UNIT, "metric names should not contain abbreviated units")
    reserved = sorted(label for label in fam.labels if label.startswith("__"))
    if reserved:
        add(LABEL_PREFIX, f"label names starting with \"__\" are reserved for Prometheus: {', '.join(reserved)}")
    if max_labels is not None and len(fam.labels) > max_labels:
        add(TOO_MANY_LABELS, f"{len(fam.labels)} label names, more than {max_labels}: {', '.join(sorted(fam.labels))}")
    return out


def _labels_of(metric: Metric, typ: str) -> Set[str]:
    labels: Set[str] = set()
    name = metric.name
    for s in metric.samples:
        names = set(s.labels)
        if typ in ("histogram", "gauge_histogram") and s.name == name + "_bucket":
            names.discard("le")
        elif typ == "summary" and s.name == name:
            names.discard("quantile")
        labels |= names
    return labels


# How a collected family is named and typed once scraped through the Prometheus text format.
_SCRAPED_TYPE = {
    "counter": "counter", "gauge": "gauge", "summary": "summary", "histogram": "histogram",
    "gaugehistogram": "gauge_histogram", "info": "gauge", "stateset": "gauge",
}


def _from_collected(metric: Metric) -> _Family:
    typ = _SCRAPED_TYPE.get(metric.type, "untyped")
    name = metric.name
    if metric.type == "counter":
        name += "_total"
    elif metric.type == "info":
        name += "_info"
    created = metric.name + "_created"
    samples = [s for s in metric.samples if s.name != created]
    probe = Metric(metric.name, metric.documentation, metric.type)
    probe.samples = samples
    return _Family(name, typ, metric.documentation, _labels_of(probe, typ))


def _text_families(text: str) -> List[_Family]:
    """Families of Prometheus text (or OpenMetrics, when it ends with ``# EOF``)."""
    stripped = text.rstrip()
    if stripped.endswith("# EOF") and (len(stripped) == 5 or stripped[-6] == "\n"):
        from .._formats.om_parser import text_string_to_metric_families as om_parse

        return _merge(_from_collected(m) for m in om_parse(text) if m.samples)
    from .._formats.text_parser import split_comment, text_string_to_metric_families

    # Our parser names a counter family without ``_total``; promtool keeps the TYPE line's name.
    declared_counters = set()
    for line in text.split("\n"):  # lines as the parser splits them (not at \x1e, \x85, ...)
        line = line.strip()
        if line.startswith("#"):
            try:
                parts = split_comment(line)
            except ValueError:
                continue  # the parser below reports it with the line number
            if parts is not None and parts[0] == "TYPE" and parts[2] == "counter":
                declared_counters.add(parts[1])
    families = []
    for m in text_string_to_metric_families(text):
        if not m.samples:
            continue  # promtool's parser drops a family without samples
        typ = {"unknown": "untyped", "gaugehistogram": "gauge_histogram"}.get(m.type, m.type)
        name = m.name
        if typ == "counter" and name + "_total" in declared_counters:
            name += "_total"
        families.append(_Family(name, typ, m.documentation, _labels_of(m, typ)))
    return _merge(families)


def _merge(families: Iterable[_Family]) -> List[_Family]:
    """One family per name (a sample without TYPE line forms a family of its own)."""
    merged: Dict[str, _Family] = {}
    for fam in families:
        seen = merged.get(fam.name)
        if seen is None:
            merged[fam.name] = fam
        else:
            seen.labels.update(fam.labels)
    return list(merged.values())


def lint(
    collector_or_text: Union[Collector, str, bytes], max_labels: Optional[int] = DEFAULT_MAX_LABELS
) -> List[Finding]:
    """Lint a collector (a registry, a metric, any object with ``collect()``) or exposition text.

    Returns the findings sorted by metric name, then message; empty when everything passes.
    ``max_labels=None`` turns the label-count rule off. Text that does not parse raises
    ``ValueError`` naming the line.
    """
    if isinstance(collector_or_text, bytes):
        collector_or_text = collector_or_text.decode("utf-8")
    if isinstance(collector_or_text, str):
        families = _text_families(collector_or_text)
    elif hasattr(collector_or_text, "collect"):
        families = _merge(_from_collected(m) for m in collector_or_text.collect())
    else:
        raise TypeError(
            f"lint() takes a collector (with collect()) or exposition text, got {type(collector_or_text).__name__}"
        )
    findings = [f for fam in families for f in _lint_family(fam, max_labels)]
    # Same order as promtool: metric name, then message.
    return sorted(findings, key=lambda f: (f.metric, f.message))
