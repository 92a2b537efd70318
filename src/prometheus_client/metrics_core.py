"""Metric families: what collectors yield and encoders render."""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union, cast

from .samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from .validation import check_encodable, check_label_dict, validate_metric_name

# isort: off
from .validation import (  # the official module has these names
    _validate_metric_name as _validate_metric_name,
)
# isort: on

METRIC_TYPES = (
    "counter",
    "gauge",
    "summary",
    "histogram",
    "gaugehistogram",
    "unknown",
    "info",
    "stateset",
)

_TS = Optional[Union[Timestamp, float]]


class Metric:
    """A single metric family and its samples.

    Custom collectors yield these; use the ``*MetricFamily`` helpers for the
    common types.
    """

    def __init__(self, name: str, documentation: str, typ: str, unit: str = "") -> None:
        if unit and not name.endswith("_" + unit):
            name += "_" + unit
        validate_metric_name(name)
        check_encodable(documentation, name, "HELP text")
        self.name: str = name
        self.documentation: str = documentation
        self.unit: str = unit
        if typ == "untyped":
            typ = "unknown"
        if typ not in METRIC_TYPES:
            raise ValueError(f"Invalid metric type: {typ} (metric {name!r})")
        self.type: str = typ
        self.samples: List[Sample] = []

    def add_sample(
        self,
        name: str,
        labels: Dict[str, str],
        value: float,
        timestamp: _TS = None,
        exemplar: Optional[Exemplar] = None,
        native_histogram: Optional[NativeHistogram] = None,
    ) -> None:
        """Add a sample to the metric (internal use only).

        A ``native_histogram`` must be consistent: its count equals ``zero_count`` plus all
        bucket counts (at least that sum when the sum is NaN), the spans cover exactly the
        deltas, and no bucket count is negative.  Prometheus 3 rejects the whole scrape of a
        target serving anything else, so it is refused here with a ValueError.
        """
        _check_sample(self.name, labels, exemplar)
        if native_histogram is not None:
            _check_native_histogram(self.name, labels, native_histogram)
        self.samples.append(Sample(name, labels, value, timestamp, exemplar, native_histogram))

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Metric)
            and self.name == other.name
            and self.documentation == other.documentation
            and self.type == other.type
            and self.unit == other.unit
            and self.samples == other.samples
        )

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return (
            f"Metric({self.name}, {self.documentation}, {self.type}, {self.unit}, {self.samples})"
        )

    def _restricted_metric(self, names: set[str] | frozenset[str]) -> Optional[Metric]:
        """A copy holding only the samples whose name is requested, or None."""
        samples = [s for s in self.samples if s.name in names]
        if not samples:
            return None
        m = Metric(self.name, self.documentation, self.type)
        m.samples = samples
        return m


def _bucket_total(metric: str, labels: Dict[str, str], side: str, spans: Optional[Sequence[BucketSpan]],
                  deltas: Optional[Sequence[float]]) -> float:
    """Sum of the absolute bucket counts of one side of a native histogram (validated)."""
    spans = spans or ()
    deltas = deltas or ()
    covered = sum(sp.length for sp in spans)
    if covered != len(deltas):
        raise ValueError(f"native histogram {metric!r} {labels!r}: the {side} spans cover {covered} "
                         f"bucket(s) but there are {len(deltas)} {side} delta(s)")
    total = 0.0
    count = 0.0
    for i, d in enumerate(deltas):
        count += d
        if count < 0:
            raise ValueError(f"native histogram {metric!r} {labels!r}: {side} bucket {i} has a negative "
                             f"count ({count}) after applying its delta")
        total += count
    return total


def _check_native_histogram(metric: str, labels: Dict[str, str], nh: NativeHistogram) -> None:
    buckets = _bucket_total(metric, labels, "positive", nh.pos_spans, nh.pos_deltas) + _bucket_total(
        metric, labels, "negative", nh.neg_spans, nh.neg_deltas)
    in_buckets = nh.zero_count + buckets
    count = nh.count_value
    if nh.sum_value != nh.sum_value:  # NaN sum: NaN observations count but sit in no bucket
        ok = count >= in_buckets
    elif float(count).is_integer() and float(in_buckets).is_integer():
        ok = count == in_buckets
    else:  # a float histogram: allow for rounding in the bucket sums
        ok = abs(count - in_buckets) <= 1e-9 * max(abs(count), abs(in_buckets))
    if not ok:
        raise ValueError(
            f"native histogram {metric!r} {labels!r}: count {count} disagrees with its buckets "
            f"(zero_count {nh.zero_count} + bucket counts {buckets} = {in_buckets}); Prometheus 3 "
            "rejects the whole scrape of a target serving such a histogram")


def _check_sample(metric: str, labels: Dict[str, str], exemplar: Optional[Exemplar] = None) -> None:
    """Refuse what no exposition format could encode (see ``validation.check_label_dict``)."""
    check_label_dict(metric, labels)
    if exemplar is not None and exemplar.labels:
        check_label_dict(metric, exemplar.labels, "exemplar label")


def _check_value_or_labels(name: str, value: object, labels: object, what: str = "value") -> None:
    if value is not None and labels is not None:
        raise ValueError(f"Can only specify at most one of {what} and labels. (metric {name!r})")


class UnknownMetricFamily(Metric):
    """A single unknown (untyped) metric and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ) -> None:
        Metric.__init__(self, name, documentation, "unknown", unit)
        _check_value_or_labels(name, value, labels)
        self._labelnames: Tuple[str, ...] = tuple(labels or ())
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: _TS = None) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        _check_sample(self.name, label_dict)
        self.samples.append(Sample(self.name, label_dict, value, timestamp))


UntypedMetricFamily = UnknownMetricFamily


class CounterMetricFamily(Metric):
    """A single counter and its samples. A trailing ``_total`` in the name is dropped."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        created: Optional[float] = None,
        unit: str = "",
        exemplar: Optional[Exemplar] = None,
    ) -> None:
        if name.endswith("_total"):
            name = name[:-6]
        Metric.__init__(self, name, documentation, "counter", unit)
        _check_value_or_labels(name, value, labels)
        self._labelnames = tuple(labels or ())
        if value is not None:
            self.add_metric([], value, created, exemplar=exemplar)

    def add_metric(
        self,
        labels: Sequence[str],
        value: float,
        created: Optional[float] = None,
        timestamp: _TS = None,
        exemplar: Optional[Exemplar] = None,
    ) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        _check_sample(self.name, label_dict, exemplar)
        self.samples.append(Sample(self.name + "_total", label_dict, value, timestamp, exemplar))
        if created is not None:
            self.samples.append(Sample(self.name + "_created", label_dict, created, timestamp))


class GaugeMetricFamily(Metric):
    """A single gauge and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ) -> None:
        Metric.__init__(self, name, documentation, "gauge", unit)
        _check_value_or_labels(name, value, labels)
        self._labelnames = tuple(labels or ())
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: float, timestamp: _TS = None) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        _check_sample(self.name, label_dict)
        self.samples.append(Sample(self.name, label_dict, value, timestamp))


class SummaryMetricFamily(Metric):
    """A single summary (count and sum) and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        count_value: Optional[int] = None,
        sum_value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ) -> None:
        Metric.__init__(self, name, documentation, "summary", unit)
        if (sum_value is None) != (count_value is None):
            raise ValueError(f"count_value and sum_value must be provided together. (metric {name!r})")
        _check_value_or_labels(name, count_value, labels)
        self._labelnames = tuple(labels or ())
        if count_value is not None and sum_value is not None:
            self.add_metric([], count_value, sum_value)

    def add_metric(
        self, labels: Sequence[str], count_value: int, sum_value: float, timestamp: _TS = None
    ) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        _check_sample(self.name, label_dict)
        self.samples.append(Sample(self.name + "_count", label_dict, count_value, timestamp))
        self.samples.append(Sample(self.name + "_sum", label_dict, sum_value, timestamp))


_Buckets = Sequence[Union[Tuple[str, float], Tuple[str, float, Exemplar]]]


def _bucket_samples(
    samples: List[Sample], name: str, label_dict: Dict[str, str], buckets: _Buckets, timestamp: _TS
) -> None:
    _check_sample(name, label_dict)
    for b in buckets:
        bucket, value = b[0], b[1]
        exemplar = b[2] if len(b) == 3 else None
        if exemplar is not None and exemplar.labels:
            check_label_dict(name, exemplar.labels, "exemplar label")
        labels = dict(label_dict)
        labels["le"] = bucket
        samples.append(Sample(name + "_bucket", labels, value, timestamp, exemplar))


class HistogramMetricFamily(Metric):
    """A single histogram and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Optional[_Buckets] = None,
        sum_value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ) -> None:
        Metric.__init__(self, name, documentation, "histogram", unit)
        if sum_value is not None and buckets is None:
            raise ValueError(f"sum value cannot be provided without buckets. (metric {name!r})")
        _check_value_or_labels(name, buckets, labels, "buckets")
        self._labelnames = tuple(labels or ())
        if buckets is not None:
            self.add_metric([], buckets, sum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: _Buckets,
        sum_value: Optional[float],
        timestamp: _TS = None,
    ) -> None:
        """``buckets`` is a sequence of (le, cumulative count[, exemplar]) ending with +Inf."""
        label_dict = dict(zip(self._labelnames, labels))
        _bucket_samples(self.samples, self.name, label_dict, buckets, timestamp)
        # A histogram with negative buckets has no meaningful sum.
        if float(buckets[0][0]) >= 0 and sum_value is not None:
            self.samples.append(Sample(self.name + "_count", label_dict, buckets[-1][1], timestamp))
            self.samples.append(Sample(self.name + "_sum", label_dict, sum_value, timestamp))


class GaugeHistogramMetricFamily(Metric):
    """A single gauge histogram and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        buckets: Optional[_Buckets] = None,
        gsum_value: Optional[float] = None,
        labels: Optional[Sequence[str]] = None,
        unit: str = "",
    ) -> None:
        Metric.__init__(self, name, documentation, "gaugehistogram", unit)
        _check_value_or_labels(name, buckets, labels, "buckets")
        self._labelnames = tuple(labels or ())
        if buckets is not None:
            self.add_metric([], buckets, gsum_value)

    def add_metric(
        self,
        labels: Sequence[str],
        buckets: _Buckets,
        gsum_value: Optional[float],
        timestamp: _TS = None,
    ) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        _bucket_samples(self.samples, self.name, label_dict, buckets, timestamp)
        self.samples.append(Sample(self.name + "_gcount", label_dict, buckets[-1][1], timestamp))
        # (a None gsum_value gives a None value, as in the reference; Sample.value says float)
        self.samples.append(Sample(self.name + "_gsum", label_dict, cast(float, gsum_value), timestamp))


class InfoMetricFamily(Metric):
    """A single info metric and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[Dict[str, str]] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        Metric.__init__(self, name, documentation, "info")
        _check_value_or_labels(name, value, labels)
        self._labelnames = tuple(labels or ())
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, str], timestamp: _TS = None) -> None:
        label_dict = dict(zip(self._labelnames, labels))
        label_dict.update(value)
        _check_sample(self.name, label_dict)
        self.samples.append(Sample(self.name + "_info", label_dict, 1, timestamp))


class StateSetMetricFamily(Metric):
    """A single stateset and its samples."""

    def __init__(
        self,
        name: str,
        documentation: str,
        value: Optional[Dict[str, bool]] = None,
        labels: Optional[Sequence[str]] = None,
    ) -> None:
        Metric.__init__(self, name, documentation, "stateset")
        _check_value_or_labels(name, value, labels)
        self._labelnames = tuple(labels or ())
        if value is not None:
            self.add_metric([], value)

    def add_metric(self, labels: Sequence[str], value: Dict[str, bool], timestamp: _TS = None) -> None:
        base = tuple(zip(self._labelnames, labels))
        _check_sample(self.name, dict(base, **{self.name: ""}))
        for state, _ in value.items():
            check_encodable(state, self.name, "state")
        for state, enabled in sorted(value.items()):
            label_dict = dict(base)
            label_dict[self.name] = state
            self.samples.append(Sample(self.name, label_dict, 1 if enabled else 0, timestamp))
