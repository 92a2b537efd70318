"""Custom collectors' ``Metric`` families as ``Family`` answers, when their samples have the
canonical shape of their type (what the per-type renderers reproduce byte for byte).

A custom collector (``CounterMetricFamily``, ``GaugeMetricFamily``... or a raw ``Metric`` with
``add_sample``) answers a scrape with samples. :func:`adapt` reads them once; when they are in
the canonical shape of the family's type it returns the same ``Family`` answer a metric object
of this library gives, so every encoder renders them with its one function per type. Anything
else returns None and stays on the encoder's sample-by-sample renderer (the renderer of the
"unknown" shape). The shapes (docs/design.md, "Custom collectors"):

* counter: per series ``<name>_total`` (exemplar allowed), then optionally its
  ``<name>_created`` with the same labels;
* gauge: one ``<name>`` sample per series;
* summary: per series the ``<name>{quantile="q"}`` samples (``q`` written canonically, the
  same quantiles in every series; only for encoders that render quantiles), ``<name>_count``,
  ``<name>_sum``, optionally ``<name>_created``;
* histogram: per series ``<name>_bucket`` with ``le`` (canonical spellings, the same bounds in
  every series, ending at ``+Inf``; exemplars allowed unless the encoder says otherwise),
  ``<name>_count`` equal to the ``+Inf`` bucket, ``<name>_sum``, optionally ``<name>_created``.

In every shape: no timestamps, no native histograms, values ``int``/``float`` (counter values
not negative nor NaN; created times finite), every sample of a series with the same label
names in the same order (and those of the first series), label names and values ``str`` (no
label named ``le`` or ``quantile``), no
two series with the same label values, and nothing else (no other sample names, no exemplar
elsewhere; exemplar timestamps none or finite).

A series is its label values joined by NUL (counters and gauges; a string hashes once and is
no work for the garbage collector) or its tuple of label values (summaries, histograms, other
orders), so the encoders' ``SeriesCache``s are keyed by content;
the ``FamilyInfo.scratch`` holding them is kept per (name, type, help, unit, label names,
bounds) in a
bounded store, so the caches survive between scrapes of a collector that rebuilds its
``Metric`` objects every time.
"""

from __future__ import annotations

from itertools import chain, repeat
from math import copysign, isfinite
from operator import itemgetter
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, cast

from .._metrics.family import Family, FamilyInfo
from ..metrics_core import Metric
from ..samples import Timestamp
from ..utils import floatToGoString

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.family import CounterNumbers, HistogramNumbers, LabelValues, Quantiles, SummaryNumbers
    from ..samples import Exemplar

# False: every Metric takes the sample-by-sample path (tests compare both paths).
ENABLED = True

_INF = float("inf")
_MAX_EXACT = 2**53
_NUMBER = (int, float)
_NUMBER_TYPES = frozenset(_NUMBER)
_DICT = frozenset((dict,))
_NAME, _LABELS, _VALUE, _TS, _EX, _NH = (itemgetter(i) for i in range(6))
_NOT_NEGATIVE = (0.0).__le__  # False for NaN
_TS_LIMIT = 1e15  # seconds (some 30 million years)
_SCRATCH: Dict[Tuple[object, ...], Dict[object, object]] = {}
_SCRATCH_LIMIT = 4096


def _scratch(key: Tuple[object, ...]) -> Dict[object, object]:
    held = _SCRATCH.get(key)
    if held is None:
        if len(_SCRATCH) >= _SCRATCH_LIMIT:
            _SCRATCH.clear()
        held = _SCRATCH[key] = {}
    return held


def _same(series: object) -> LabelValues:
    return cast("LabelValues", series)


_SEP = "\x00"


def _split_values(series: object) -> LabelValues:
    return tuple(cast(str, series).split(_SEP))


def _one_value(series: object) -> LabelValues:
    return (cast(str, series),)


def _no_values(series: object) -> LabelValues:
    return ()


def _family(metric: Metric, labelnames: Tuple[str, ...], numbers: Callable[[object], object],
            series: Sequence[object], bounds: Tuple[str, ...] = (),
            quantiles: Optional[Callable[[object], Optional[Quantiles]]] = None,
            labelvalues: Callable[[object], LabelValues] = _same) -> Family:
    info: FamilyInfo[object] = FamilyInfo(
        metric.name, metric.type, metric.documentation, metric.unit, labelnames,
        labelvalues, numbers, tuple([float(le) for le in bounds]), quantiles,
    )
    # (help and unit too: remote write 2.0 caches records whose lengths include the metadata)
    info.scratch = _scratch((metric.name, metric.type, metric.documentation, metric.unit, labelnames, bounds))
    return Family(info, cast("List[object]", series), lambda: [metric])


def _names_ok(keys: Tuple[str, ...]) -> bool:
    """Label names are ``str``, and neither ``le`` nor ``quantile`` (the remote write 2.0 sample
    path leaves those out when it pairs a series with its ``_created``)."""
    return all(type(k) is str for k in keys) and "le" not in keys and "quantile" not in keys


def _values_ok(series: List[LabelValues]) -> bool:
    """Label values are strings (``str.join`` refuses anything else; a subclass of ``str``
    goes through the same escaping function on both paths)."""
    try:
        "".join(chain.from_iterable(series))
    except TypeError:
        return False
    return True


def _exemplar_ok(exemplar: Exemplar) -> bool:
    """An exemplar timestamp that every renderer writes as its sample path does: none, or a
    finite time (protobuf's sample path leaves out what a Timestamp message cannot hold)."""
    ts = exemplar.timestamp
    if ts is None:
        return True
    if type(ts) is float or type(ts) is int:
        return -_TS_LIMIT < ts < _TS_LIMIT
    return type(ts) is Timestamp and -_TS_LIMIT < ts.sec < _TS_LIMIT


def _all_none(items: Iterable[object], n: int) -> bool:
    return list(items).count(None) == n


def _numbers(values: List[float]) -> bool:
    return set(map(type, values)) <= _NUMBER_TYPES


def _series_of(
    labels: List[Dict[str, str]],
) -> Optional[Tuple[Tuple[str, ...], List[str], Callable[[object], LabelValues]]]:
    """(label names, one key per series, the function key -> label values) when every dict
    has the names of the first one and string values, else None. The key of a series is its
    label values joined by NUL (with two or more, a value holding a NUL takes the sample path):
    a string, which hashes once and is no work for the garbage collector, unlike a tuple."""
    if not set(map(type, labels)) <= _DICT:
        return None
    keys: Tuple[str, ...] = tuple(labels[0])
    n = len(keys)
    if set(map(len, labels)) != {n} or not _names_ok(keys):
        return None
    series: List[str]
    try:
        if n > 1:
            series = list(map(_SEP.join, map(itemgetter(*keys), labels)))  # TypeError: not str
            if sum(map(str.count, series, repeat(_SEP))) != len(series) * (n - 1):
                return None
            return keys, series, _split_values
        if n:
            series = list(map(itemgetter(keys[0]), labels))
            list(map(str.__str__, series))  # TypeError: not str
            return keys, series, _one_value
    except (KeyError, TypeError):
        return None
    return keys, [""] * len(labels), _no_values


# The common shapes in a few passes of C-level iteration; anything else takes the loops below.


def _counter_columns(metric: Metric, exemplars_ok: bool) -> Optional[Family]:
    samples = metric.samples
    n = len(samples)
    name = metric.name
    t_name = name + "_total"
    names = list(map(_NAME, samples))
    nt = names.count(t_name)
    if nt == n:  # no _created
        totals = samples
        created = None
    elif 2 * nt == n and names[0::2].count(t_name) == nt and names[1::2].count(name + "_created") == nt:
        totals = samples[0::2]
        created = samples[1::2]
    else:
        return _counter(metric, exemplars_ok)
    if not n or not _all_none(map(_TS, samples), n) or not _all_none(map(_NH, samples), n):
        return None
    labels = list(map(_LABELS, totals))
    values = list(map(_VALUE, totals))
    exemplars = list(map(_EX, totals))
    if not _numbers(values) or not all(map(_NOT_NEGATIVE, values)):
        return None
    if not _all_none(exemplars, nt) and (not exemplars_ok or not all(map(_exemplar_ok, filter(None, exemplars)))):
        return None
    created_values: Iterable[Optional[float]] = repeat(None, nt)
    if created is not None:
        cvalues = list(map(_VALUE, created))
        if list(map(_LABELS, created)) != labels or not _all_none(map(_EX, created), nt) or not _numbers(cvalues):
            return None
        try:
            if not all(map(isfinite, cvalues)):
                return None
        except OverflowError:
            return None
        created_values = cvalues
    found = _series_of(labels)
    if found is None:
        return None
    keys, series, labelvalues = found
    table: Dict[object, CounterNumbers] = dict(zip(series, zip(values, exemplars, created_values)))
    if len(table) != nt:
        return None
    return _family(metric, keys, table.__getitem__, series, labelvalues=labelvalues)


def _gauge_columns(metric: Metric) -> Optional[Family]:
    samples = metric.samples
    n = len(samples)
    if not n or list(map(_NAME, samples)).count(metric.name) != n:
        return None
    if not _all_none(map(_TS, samples), n) or not _all_none(map(_EX, samples), n):
        return None
    values = list(map(_VALUE, samples))
    if not _all_none(map(_NH, samples), n) or not _numbers(values):
        return None
    found = _series_of(list(map(_LABELS, samples)))
    if found is None:
        return None
    keys, series, labelvalues = found
    table: Dict[object, float] = dict(zip(series, values))
    if len(table) != n:
        return None
    return _family(metric, keys, table.__getitem__, series, labelvalues=labelvalues)


def _counter(metric: Metric, exemplars_ok: bool) -> Optional[Family]:
    name = metric.name
    t_name = name + "_total"
    c_name = name + "_created"
    table: Dict[object, CounterNumbers] = {}
    series: List[LabelValues] = []
    keys: Optional[Tuple[str, ...]] = None
    last: Optional[Dict[str, str]] = None
    lv: LabelValues = ()
    total = 0.0
    exemplar: Optional[Exemplar] = None
    for sname, labels, value, ts, ex, nh in metric.samples:
        if ts is not None or nh is not None or type(value) not in _NUMBER:
            return None
        if sname == t_name:
            if not value >= 0 or (ex is not None and not (exemplars_ok and _exemplar_ok(ex))):
                return None
            if keys is None:
                keys = tuple(labels)
            elif tuple(labels) != keys:
                return None
            lv = tuple(labels.values())
            table[lv] = (value, ex, None)
            series.append(lv)
            last = labels
            total = value
            exemplar = ex
        elif sname == c_name and last is not None and ex is None and (labels is last or labels == last):
            if not -_INF < value < _INF:
                return None
            table[lv] = (total, exemplar, value)
            last = None
        else:
            return None
    if keys is None:  # no series: nothing to render per type (nor to cache)
        return None
    if len(table) != len(series) or not _names_ok(keys) or not _values_ok(series):
        return None
    return _family(metric, keys, table.__getitem__, series)


def _canonical_key(text: object) -> Optional[float]:
    """The number of an ``le``/``quantile`` label written as the renderers write it, or None."""
    if type(text) is not str:
        return None
    try:
        f = float(text)
    except ValueError:
        return None
    return f if floatToGoString(f) == text else None


def _varying(labels: Dict[str, str], special: str,
             base: Optional[Dict[str, str]]) -> Optional[Tuple[str, float, Dict[str, str]]]:
    """(the ``special`` label's text, its number, the other labels) of a bucket or quantile
    sample, or None if that label is missing or not canonical, or the other labels are not
    ``base`` (the series' labels so far, None at its first sample)."""
    text = labels.get(special)
    f = _canonical_key(text)
    if f is None or text is None:
        return None
    rest = dict(labels)
    del rest[special]
    if base is not None and rest != base:
        return None
    return text, f, rest


def _exact(acc: float, value: float) -> bool:
    """Whether ``acc`` (a float sum) is written exactly as ``value`` in every format."""
    if type(value) is int and not -_MAX_EXACT < value < _MAX_EXACT:
        return False
    return acc == value and (value != 0 or copysign(1.0, value) > 0)


def _summary(metric: Metric, quantiles_ok: bool) -> Optional[Family]:
    name = metric.name
    n_name, s_name, c_name = name + "_count", name + "_sum", name + "_created"
    table: Dict[object, SummaryNumbers] = {}
    qtable: Dict[object, Quantiles] = {}
    series: List[LabelValues] = []
    keys: Optional[Tuple[str, ...]] = None
    qkeys: Optional[Tuple[str, ...]] = None
    # per series: quantile samples, then _count, _sum, optional _created
    qs: List[str] = []
    qv: Quantiles = []
    base: Optional[Dict[str, str]] = None  # labels of the series being read
    step = 0  # 0: quantiles, 1: after _count, 2: after _sum
    count: float = 0.0
    lv: LabelValues = ()
    for sname, labels, value, ts, ex, nh in metric.samples:
        if ts is not None or ex is not None or nh is not None or type(value) not in _NUMBER:
            return None
        if sname == name:
            if not quantiles_ok or step == 1:
                return None
            if step == 2:
                base, step = None, 0
            found = _varying(labels, "quantile", base)
            if found is None:
                return None
            q, f, base = found
            qs.append(q)
            qv.append((f, value))
        elif sname == n_name:
            if step == 2:
                base, step = None, 0
            if step != 0 or (base is not None and labels != base):
                return None
            if base is None:
                base = labels
            if keys is None:
                keys = tuple(labels)
                qkeys = tuple(qs)
            elif tuple(labels) != keys or tuple(qs) != qkeys:
                return None
            lv = tuple(labels.values())
            count = value
            step = 1
        elif sname == s_name and step == 1 and labels == base:
            table[lv] = (count, value, None)
            qtable[lv] = qv
            series.append(lv)
            qs, qv = [], []
            step = 2
        elif sname == c_name and step == 2 and labels == base:
            if not -_INF < value < _INF:
                return None
            table[lv] = (table[lv][0], table[lv][1], value)
            base, step = None, 0
        else:
            return None
    if step == 1 or qs:
        return None
    if keys is None:
        return None
    if len(table) != len(series) or not _names_ok(keys) or not _values_ok(series):
        return None
    return _family(metric, keys, table.__getitem__, series, qkeys or (),
                   qtable.__getitem__ if qkeys else None)


def _histogram(metric: Metric, exemplars_ok: bool) -> Optional[Family]:
    name = metric.name
    b_name, n_name, s_name, c_name = name + "_bucket", name + "_count", name + "_sum", name + "_created"
    table: Dict[object, HistogramNumbers] = {}
    series: List[LabelValues] = []
    keys: Optional[Tuple[str, ...]] = None
    bounds: Tuple[str, ...] = ()
    les: List[str] = []
    counts: List[float] = []
    exemplars: List[Optional[Exemplar]] = []
    has_exemplar = False
    base: Optional[Dict[str, str]] = None
    step = 0  # 0: buckets, 1: after _count, 2: after _sum
    acc = 0.0
    lv: LabelValues = ()
    for sname, labels, value, ts, ex, nh in metric.samples:
        if ts is not None or nh is not None or type(value) not in _NUMBER:
            return None
        if sname == b_name:
            if step == 1:
                return None
            if step == 2:
                base, step = None, 0
            found = _varying(labels, "le", base)
            if found is None:
                return None
            le, _, base = found
            c = value - acc
            acc += c
            if not _exact(acc, value):
                return None
            counts.append(c)
            les.append(le)
            if ex is not None:
                if not exemplars_ok or not _exemplar_ok(ex):
                    return None
                has_exemplar = True
            exemplars.append(ex)
        elif ex is not None:
            return None
        elif sname == n_name:
            if step != 0 or base is None or labels != base or not les or les[-1] != "+Inf" or not _exact(acc, value):
                return None
            if keys is None:
                keys = tuple(labels)
                bounds = tuple(les)
            elif tuple(labels) != keys or tuple(les) != bounds:
                return None
            lv = tuple(labels.values())
            step = 1
        elif sname == s_name and step == 1 and labels == base:
            table[lv] = (bounds, counts, value, exemplars if has_exemplar else None, None, True)
            series.append(lv)
            les, counts, exemplars, has_exemplar, acc = [], [], [], False, 0.0
            step = 2
        elif sname == c_name and step == 2 and labels == base:
            if not -_INF < value < _INF:
                return None
            t = table[lv]
            table[lv] = (t[0], t[1], t[2], t[3], value, True)
            base, step = None, 0
        else:
            return None
    if step == 1 or les:
        return None
    if keys is None:  # no series: nothing to render per type (nor to cache)
        return None
    if len(table) != len(series) or not _names_ok(keys) or not _values_ok(series):
        return None
    return _family(metric, keys, table.__getitem__, series, bounds)


def adapt(metric: Metric, quantiles: bool = True, exemplars: bool = True) -> Optional[Family]:
    """``metric`` as a ``Family`` answer if its samples have the canonical shape of its type
    (see the module doc), else None. ``quantiles``: the encoder's summary renderer writes
    quantiles; ``exemplars``: its renderers place exemplars as its sample path does."""
    if not ENABLED:
        return None
    typ = metric.type
    if typ == "counter":
        return _counter_columns(metric, exemplars)
    if typ == "gauge":
        return _gauge_columns(metric)
    if typ == "summary":
        return _summary(metric, quantiles)
    if typ == "histogram":
        return _histogram(metric, exemplars)
    return None
