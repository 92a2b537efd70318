"""Round trip for OpenMetrics 2.0: any family this library can hold, rendered with
``generate_latest(..., version="2.0.0")``, parses back (``version="2.0.0"``) to equal families.

Every metric type: counter (with start time, timestamp, exemplar), gauge, histogram (classic,
native, classic + native, with exemplars in their buckets), gauge histogram (classic and native),
summary (with quantiles), info, stateset, unknown; legacy and UTF-8 names.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, List, Optional, Tuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
    Metric,
    StateSetMetricFamily,
    UnknownMetricFamily,
)
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample
from prometheus_client.utils import floatToGoString
from test_parser_roundtrip import (
    _clash_free,
    _Fixed,
    _num,
    _ts,
    any_value,
    docs,
    finite,
    label_names,
    label_values,
    labelsets,
    legacy_names,
    nonneg,
    timestamps,
    utf8_names,
)

KINDS = ["counter", "gauge", "summary", "histogram", "native", "classic+native", "gaugehistogram",
         "native gaugehistogram", "info", "stateset", "unknown"]
exemplar_labels = st.dictionaries(label_names, st.text("abc xyz01", max_size=6), max_size=2)


def _exemplar(draw: Any, value: float) -> Optional[Exemplar]:
    if not draw(st.booleans()):
        return None
    return Exemplar(draw(exemplar_labels), value, draw(timestamps))


@st.composite
def natives(draw: Any, gauge: bool = False) -> Tuple[NativeHistogram, float]:
    """A native histogram (deltas) whose count covers its buckets; returns (nh, count)."""
    sides: List[Any] = []
    total = 0
    for _ in range(2):
        if not draw(st.booleans()):
            sides.append((None, None))
            continue
        lengths = draw(st.lists(st.integers(0, 4), min_size=1, max_size=3))
        spans = tuple(BucketSpan(draw(st.integers(-20, 20)) if i == 0 else draw(st.integers(0, 3)), n)
                      for i, n in enumerate(lengths))
        counts = draw(st.lists(st.integers(0, 1000), min_size=sum(lengths), max_size=sum(lengths)))
        total += sum(counts)
        sides.append((spans, tuple(c - p for p, c in zip([0, *counts], counts))))
    zc = draw(st.integers(0, 100))
    count = zc + total + draw(st.integers(0, 3))  # NaN observations are counted in no bucket
    nh = NativeHistogram(count, draw(finite), draw(st.integers(-4, 8)), draw(st.floats(0, 1e-3)), zc,
                         sides[1][0], sides[0][0], sides[1][1], sides[0][1])
    return nh, count


def _classic(draw: Any, name: str, labels: dict, count: Optional[int] = None,
             low: float = -1e9) -> Tuple[List[Sample], int]:
    bounds = sorted(set(draw(st.lists(st.floats(low, 1e9), max_size=4))))
    n = len(bounds) + 1
    counts = sorted(draw(st.lists(st.integers(0, 10 ** 6), min_size=n, max_size=n)))
    if count is not None:
        counts = [min(c, count) for c in counts[:-1]] + [count]
    samples = []
    prev = -math.inf
    for b, c in zip(bounds + [math.inf], counts):
        value = b if b != math.inf else (prev + 1 if prev != -math.inf else 1.0)
        samples.append(Sample(name + "_bucket", {**labels, "le": floatToGoString(b)}, c, None, _exemplar(draw, value)))
        prev = b
    return samples, counts[-1]


@st.composite
def family(draw: Any, name: str) -> Metric:
    kind = draw(st.sampled_from(KINDS))
    doc = draw(docs)
    names, rows = draw(labelsets())
    m: Any
    if kind == "counter":
        m = CounterMetricFamily(name, doc, labels=names, unit=draw(st.sampled_from(["", "seconds"])))
        for r in rows:
            m.add_metric(r, draw(nonneg), created=draw(st.none() | finite),
                         timestamp=draw(timestamps), exemplar=_exemplar(draw, draw(finite)))
    elif kind in ("gauge", "unknown"):
        cls = GaugeMetricFamily if kind == "gauge" else UnknownMetricFamily
        m = cls(name, doc, labels=names)
        for r in rows:
            m.add_metric(r, draw(any_value), timestamp=draw(timestamps))
    elif kind == "info":
        m = InfoMetricFamily(name, doc, labels=names)
        for r in rows:
            m.add_metric(r, draw(st.dictionaries(label_names.map(lambda s: "i" + s), label_values, max_size=2)))
    elif kind == "stateset":
        m = StateSetMetricFamily(name, doc, labels=[n for n in names if n != name])
        for r in rows:
            states = draw(st.dictionaries(st.text("abcxyz", min_size=1, max_size=3), st.booleans(),
                                          min_size=1, max_size=3))
            m.add_metric(r[: len(m._labelnames)], states, timestamp=draw(timestamps))
    elif kind == "summary":
        m = Metric(name, doc, "summary")
        for r in rows:
            labels = dict(zip(names, r))
            qs = sorted(set(draw(st.lists(st.floats(0, 1), max_size=3))))
            for q in qs:
                value = draw(st.floats(0, 1e9) | st.just(math.nan))
                m.samples.append(Sample(name, {**labels, "quantile": floatToGoString(q)}, value))
            m.samples += [Sample(name + "_count", labels, draw(st.integers(0, 2 ** 53))),
                          Sample(name + "_sum", labels, draw(st.floats(0, 1e12)))]
            created = draw(st.none() | finite)
            if created is not None:
                m.samples.append(Sample(name + "_created", labels, created))
    elif kind in ("histogram", "gaugehistogram"):
        cls = HistogramMetricFamily if kind == "histogram" else GaugeHistogramMetricFamily
        m = cls(name, doc, labels=names)
        for r in rows:
            # (a 1.0 histogram family with a negative bucket has no sum: 2.0 cannot carry it)
            samples, _ = _classic(draw, name, dict(zip(names, r)), low=0 if kind == "histogram" else -1e9)
            buckets = [(s.labels["le"], s.value, s.exemplar) if s.exemplar else (s.labels["le"], s.value)
                       for s in samples]
            m.add_metric(r, buckets, draw(st.floats(-1e12, 1e12)), timestamp=draw(timestamps))
    else:  # native / classic+native histograms, native gauge histograms
        gauge = kind == "native gaugehistogram"
        m = Metric(name, doc, "gaugehistogram" if gauge else "histogram")
        for r in rows:
            labels = dict(zip(names, r))
            nh, count = draw(natives(gauge))
            if kind == "classic+native":
                samples, _ = _classic(draw, name, labels, count)
                m.samples += samples + [Sample(name + "_count", labels, count),
                                        Sample(name + "_sum", labels, nh.sum_value)]
            elif draw(st.booleans()):
                exs = [Exemplar(draw(exemplar_labels), draw(finite), draw(timestamps))
                       for _ in range(draw(st.integers(1, 3)))]
                nh = nh._replace(nh_exemplars=tuple(exs))
            m.samples.append(Sample(name, labels, None, None, None, nh))  # type: ignore[arg-type]
            created = None if gauge else draw(st.none() | finite)
            if created is not None:
                m.samples.append(Sample(name + "_created", labels, created))
    return m  # type: ignore[no-any-return]


@st.composite
def registries(draw: Any, utf8: bool = False) -> CollectorRegistry:
    names = draw(st.lists(utf8_names if utf8 else legacy_names, max_size=4, unique=True).filter(_clash_free))
    reg = CollectorRegistry()
    reg.register(_Fixed([draw(family(n)) for n in names]))  # type: ignore[arg-type]
    if draw(st.booleans()):
        c = Counter("zz_requests", "Requests", ["method"], registry=reg)
        c.labels("GET").inc(draw(st.floats(0, 1e6)), {"trace_id": "t"})
        Gauge("zz_temp", "Temp", registry=reg).set(draw(finite))
        Summary("zz_lat", "Latency", registry=reg).observe(draw(st.floats(0, 100)))
        h = Histogram("zz_hist", "Hist", buckets=(0.1, 1, 10), registry=reg)
        h.observe(draw(st.floats(0, 20)), {"span_id": "s"})
        Info("zz_build", "Build", registry=reg).info({"version": draw(label_values)})
        Enum("zz_state", "State", states=["a", "b"], registry=reg).state("b")
    frozen = CollectorRegistry()
    frozen.register(_Fixed(list(reg.collect())))  # type: ignore[arg-type]
    return frozen


# -- comparison -----------------------------------------------------------------------------


def _ex(e: Optional[Exemplar], stamped: bool) -> Any:
    if e is None:
        return None
    # An exemplar without a timestamp is given the scrape time (any value is fine here).
    ts = "stamped" if stamped and e.timestamp is None else _ts(e.timestamp)
    return (tuple(sorted(e.labels.items())), _num(e.value), ts)


def _nh(nh: Optional[NativeHistogram], stamped: bool) -> Any:
    if nh is None:
        return None
    return (_num(nh.count_value), _num(nh.sum_value), nh.schema, nh.zero_threshold, _num(nh.zero_count),
            tuple(nh.pos_spans or ()), tuple(nh.neg_spans or ()), tuple(nh.pos_deltas or ()),
            tuple(nh.neg_deltas or ()), tuple(_ex(e, stamped) for e in nh.nh_exemplars or ()))


def _sample(s: Sample, stamped: bool) -> Tuple[Any, ...]:
    return (s.name, tuple(sorted((s.labels or {}).items())), _num(s.value), _ts(s.timestamp),
            _ex(s.exemplar, stamped), _nh(s.native_histogram, stamped))


def _norm(fams: Iterable[Metric], stamped: bool) -> List[Tuple[Any, ...]]:
    return [(m.name, m.documentation, m.type, m.unit, [_sample(s, stamped) for s in m.samples]) for m in fams]


def _restamp(expected: List[Any], got: List[Any]) -> List[Any]:
    """Put the parsed timestamps where the expectation says "stamped" (checked to exist)."""
    def fix(e: Any, g: Any) -> Any:
        if isinstance(e, tuple) and isinstance(g, tuple) and len(e) == len(g):
            return tuple(fix(a, b) for a, b in zip(e, g))
        if isinstance(e, list) and isinstance(g, list) and len(e) == len(g):
            return [fix(a, b) for a, b in zip(e, g)]
        return g if e == "stamped" and g is not None else e

    return fix(expected, got)  # type: ignore[no-any-return]


_SETTINGS = settings(max_examples=200, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def _round_trip(reg: CollectorRegistry, escaping: str) -> None:
    text = generate_latest(reg, escaping=escaping, version="2.0.0").decode("utf-8")
    got = _norm(text_string_to_metric_families(text, version="2.0.0"), False)
    expected = _restamp(_norm(reg.collect(), True), got)
    assert got == expected, text


@_SETTINGS
@given(registries())
def test_openmetrics_2_round_trip(reg: CollectorRegistry) -> None:
    for escaping in ("underscores", "allow-utf-8"):
        _round_trip(reg, escaping)


@_SETTINGS
@given(registries(utf8=True))
def test_openmetrics_2_round_trip_utf8_names(reg: CollectorRegistry) -> None:
    _round_trip(reg, "allow-utf-8")


def test_every_kind_is_drawn() -> None:
    # The strategy covers each kind (a guard against a silently narrowed strategy).
    seen = set()

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(family("mx"))
    def draw(m: Metric) -> None:
        kind = m.type
        if any(s.native_histogram is not None for s in m.samples):
            classic = any(s.name.endswith("_bucket") for s in m.samples)
            gauge = " gaugehistogram" if m.type == "gaugehistogram" else ""
            kind = ("classic+" if classic else "") + "native" + gauge
        elif m.type == "summary" and any("quantile" in s.labels for s in m.samples):
            kind = "summary"
        seen.add(kind)

    draw()
    assert seen >= set(KINDS), set(KINDS) - seen
