"""Round trip: any registry this library builds, rendered in every text format it writes,
parses back to equal families (with each format's documented renaming applied)."""

from __future__ import annotations

import math
import re
from decimal import Decimal
from typing import Any, Dict, Iterable, List, Optional, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import generate_latest as text_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    SummaryMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest as om_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse
from prometheus_client.samples import Exemplar, Sample, Timestamp
from prometheus_client.utils import floatToGoString

# ------------------------------------------------------------------------------- strategies

_name_chars = "abcdefghijklmnopqrstuvwxyz"
legacy_names = st.text(_name_chars, min_size=1, max_size=6).map(lambda s: "m" + s)
utf8_names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6)
label_names = st.text(_name_chars + "_", min_size=1, max_size=5).map(lambda s: "l" + s).filter(
    lambda s: s != "le")
label_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
docs = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
nonneg = st.floats(min_value=0, allow_nan=False, allow_infinity=True)
any_value = st.floats(allow_nan=True, allow_infinity=True)
# Timestamps with millisecond precision, so every format can carry them exactly.
timestamps = st.none() | st.integers(0, 4_000_000_000_000).map(lambda ms: ms / 1000)
exemplars = st.none() | st.builds(
    Exemplar,
    st.dictionaries(label_names, st.text("abc xyz01", max_size=6), max_size=2),
    finite,
    timestamps,
)


@st.composite
def labelsets(draw: Any, n_max: int = 3) -> Tuple[List[str], List[List[str]]]:
    names = draw(st.lists(label_names, max_size=3, unique=True))
    rows = draw(st.lists(st.tuples(*[label_values] * len(names)) if names else st.just(()),
                         min_size=1 if not names else 0, max_size=n_max, unique=True))
    return names, [list(r) for r in rows]


@st.composite
def family(draw: Any, name: str) -> Metric:
    kind = draw(st.sampled_from(["counter", "gauge", "summary", "histogram", "gaugehistogram",
                                 "info", "stateset", "unknown"]))
    doc = draw(docs)
    unit = draw(st.sampled_from(["", "", "seconds"])) if kind not in ("info", "stateset") else ""
    names, rows = draw(labelsets())
    m: Any
    if kind == "counter":
        m = CounterMetricFamily(name, doc, labels=names, unit=unit)
        for r in rows:
            m.add_metric(r, draw(nonneg), created=draw(st.none() | finite),
                         timestamp=draw(timestamps), exemplar=draw(exemplars))
    elif kind == "gauge":
        m = GaugeMetricFamily(name, doc, labels=names, unit=unit)
        for r in rows:
            m.add_metric(r, draw(any_value), timestamp=draw(timestamps))
    elif kind == "unknown":
        m = UnknownMetricFamily(name, doc, labels=names, unit=unit)
        for r in rows:
            m.add_metric(r, draw(any_value), timestamp=draw(timestamps))
    elif kind == "summary":
        m = SummaryMetricFamily(name, doc, labels=names, unit=unit)
        for r in rows:
            m.add_metric(r, draw(st.integers(0, 2 ** 53)), draw(nonneg.filter(math.isfinite)),
                         timestamp=draw(timestamps))
    elif kind in ("histogram", "gaugehistogram"):
        cls = HistogramMetricFamily if kind == "histogram" else GaugeHistogramMetricFamily
        m = cls(name, doc, labels=names, unit=unit)
        for r in rows:
            bounds = sorted(set(draw(st.lists(st.floats(0, 1e9), max_size=4))))
            counts = sorted(draw(st.lists(st.integers(0, 10 ** 6), min_size=len(bounds) + 1,
                                          max_size=len(bounds) + 1)))
            buckets: List[Any] = []
            for b, c in zip(bounds + [math.inf], counts):
                ex = draw(exemplars)
                le = floatToGoString(b)
                buckets.append((le, c, ex) if ex is not None else (le, c))
            m.add_metric(r, buckets, draw(st.floats(0, 1e12)), timestamp=draw(timestamps))
    elif kind == "info":
        m = InfoMetricFamily(name, doc, labels=names)
        for r in rows:
            extra = draw(st.dictionaries(label_names.map(lambda s: "i" + s), label_values,
                                         max_size=2))
            m.add_metric(r, extra, timestamp=draw(timestamps))
    else:
        m = StateSetMetricFamily(name, doc, labels=[n for n in names if n != name])
        for r in rows:
            states = draw(st.dictionaries(st.text("abcxyz", min_size=1, max_size=3), st.booleans(),
                                          min_size=1, max_size=3))
            m.add_metric(r[: len(m._labelnames)], states, timestamp=draw(timestamps))
    return m


class _Fixed:
    def __init__(self, metrics: List[Metric]) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return self.metrics


def _clash_free(names: List[str]) -> bool:
    # No family name may be a prefix of another (suffixes like _total/_created would clash).
    return all(not b.startswith(a) for a in names for b in names if a != b)


@st.composite
def registries(draw: Any, utf8: bool = False) -> CollectorRegistry:
    names = draw(st.lists(utf8_names if utf8 else legacy_names, min_size=0, max_size=4,
                          unique=True).filter(_clash_free))
    reg = CollectorRegistry()
    fams = [draw(family(n)) for n in names]
    reg.register(_Fixed(fams))  # type: ignore[arg-type]
    if draw(st.booleans()):
        # Instrumented metrics too (names outside the drawn ones' prefixes).
        c = Counter("zz_requests", "Requests", ["method"], registry=reg)
        c.labels("GET").inc(draw(st.floats(0, 1e6)))
        Gauge("zz_temp", "Temp", registry=reg).set(draw(finite))
        Summary("zz_lat", "Latency", registry=reg).observe(draw(st.floats(0, 100)))
        Histogram("zz_hist", "Hist", buckets=(0.1, 1, 10), registry=reg).observe(draw(st.floats(0, 20)))
        Info("zz_build", "Build", registry=reg).info({"version": draw(label_values)})
        Enum("zz_state", "State", states=["a", "b"], registry=reg).state("b")
    # Freeze one collection (instrumented metrics carry time-dependent _created values), so
    # the expectation and every rendering see the same samples.
    frozen = CollectorRegistry()
    frozen.register(_Fixed(list(reg.collect())))  # type: ignore[arg-type]
    return frozen


# ------------------------------------------------------------------------------- comparison


def _num(v: Any) -> Any:
    if v is None:
        return None
    f = float(v)
    return "NaN" if math.isnan(f) else f


def _ts(ts: Any) -> Optional[Decimal]:
    if ts is None:
        return None
    if isinstance(ts, Timestamp):
        return Decimal(ts.sec) + Decimal(ts.nsec) / Decimal(10 ** 9)
    return Decimal(repr(float(ts)))


def _norm_sample(s: Sample, *, ms: bool = False, exemplars: bool = True) -> Tuple[Any, ...]:
    ts = s.timestamp
    if ms and ts is not None:
        ts = int(float(ts) * 1000) / 1000
    ex = None
    if exemplars and s.exemplar is not None:
        ex = (tuple(sorted(s.exemplar.labels.items())), _num(s.exemplar.value), _ts(s.exemplar.timestamp))
    return (s.name, tuple(sorted((s.labels or {}).items())), _num(s.value), _ts(ts), ex)


def _norm(m: Metric, **kw: Any) -> Tuple[Any, ...]:
    return (m.name, m.documentation, m.type, m.unit, [_norm_sample(s, **kw) for s in m.samples])


def expected_om(reg: CollectorRegistry) -> List[Tuple[Any, ...]]:
    return [_norm(m) for m in reg.collect()]


def _text_doc(doc: str) -> str:
    """HELP text as the text format carries it: the line is stripped, so whitespace at the
    ends of the (escaped) text is lost, like with the reference parser."""
    escaped = doc.replace("\\", "\\\\").replace("\n", "\\n")
    kept = escaped.rstrip().lstrip(" \t\n\r\x0b\x0c")
    return re.sub(r"\\(.)", lambda m: {"\\": "\\", "n": "\n"}.get(m.group(1), m.group(0)), kept, flags=re.S)


_TEXT_TYPE = {"info": "gauge", "stateset": "gauge", "gaugehistogram": "histogram"}


def expected_text(reg: CollectorRegistry) -> List[Tuple[Any, ...]]:
    out: List[Tuple[Any, ...]] = []
    for m in reg.collect():
        name, typ = m.name, m.type
        held: Dict[str, List[Sample]] = {}
        main: List[Sample] = []
        for s in m.samples:
            for suffix in ("_created", "_gsum", "_gcount"):
                if s.name == name + suffix:
                    held.setdefault(suffix, []).append(s)
                    break
            else:
                main.append(s)
        fam_name = name + "_info" if typ == "info" else name
        doc = _text_doc(m.documentation)
        fam = Metric(fam_name, doc, _TEXT_TYPE.get(typ, typ))
        fam.samples = main
        out.append(_norm(fam, ms=True, exemplars=False))
        for suffix in sorted(held):
            extra = Metric(name + suffix, doc, "gauge")
            extra.samples = held[suffix]
            out.append(_norm(extra, ms=True, exemplars=False))
    return out


def parsed(fams: Iterable[Metric], **kw: Any) -> List[Tuple[Any, ...]]:
    return [_norm(m, **kw) for m in fams]


_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(registries())
def test_openmetrics_round_trip(reg: CollectorRegistry) -> None:
    expected = expected_om(reg)
    # (the "values" and "dots" schemes rename legacy names too, so they cannot round-trip)
    for escaping in ("underscores", "allow-utf-8"):
        text = om_latest(reg, escaping=escaping).decode("utf-8")
        assert parsed(om_parse(text)) == expected, text


@_SETTINGS
@given(registries())
def test_prometheus_text_round_trip(reg: CollectorRegistry) -> None:
    expected = expected_text(reg)
    for escaping in ("underscores", "allow-utf-8", "values"):
        text = text_latest(reg, escaping).decode("utf-8")
        assert parsed(text_parse(text), exemplars=False) == expected, text


@_SETTINGS
@given(registries(utf8=True))
def test_utf8_names_round_trip_with_allow_utf8(reg: CollectorRegistry) -> None:
    text = text_latest(reg, "allow-utf-8").decode("utf-8")
    assert parsed(text_parse(text), exemplars=False) == expected_text(reg), text
    om = om_latest(reg, escaping="allow-utf-8").decode("utf-8")
    assert parsed(om_parse(om)) == expected_om(reg), om
