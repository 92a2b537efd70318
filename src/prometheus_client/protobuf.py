"""The protobuf exposition format (``io.prometheus.client.MetricFamily``, length-delimited).

``encode_registry(registry)`` writes it (every transport negotiates it from ``Accept``);
``protobuf_to_metric_families(data)`` reads it back into the same ``Metric``/``Sample``
objects the text parsers return, in OpenMetrics form: a counter family ``x_total`` becomes
family ``x`` with samples ``x_total`` and ``x_created``; summaries get ``{quantile}``,
``_count``, ``_sum``, ``_created``; histograms get cumulative ``_bucket{le}`` (``+Inf``
included), ``_count``, ``_sum``, ``_created`` and, for a native histogram, one sample named
like the family whose ``native_histogram`` holds the sparse buckets (its value is None).
Malformed input raises ``ValueError`` (``_protobuf.DecodeError``).
"""

from typing import Dict, Iterator, List, Optional, Tuple

from ._formats.content_types import CONTENT_TYPE_PROTOBUF as _CONTENT_TYPE_PROTOBUF
from ._formats.parse_common import native_histogram_sample
from ._formats.protobuf import encode_registry
from ._formats.protobuf_model import PBExemplar, PBFamily, PBMetric, PBNative, decode_delimited
from ._formats.protobuf_wire import COUNTER, GAUGE, GAUGE_HISTOGRAM, HISTOGRAM, SUMMARY
from .metrics_core import Metric
from .samples import BucketSpan, Exemplar, NativeHistogram, Sample
from .utils import INF, floatToGoString

__all__ = ["CONTENT_TYPE_PROTOBUF", "encode_registry", "protobuf_to_metric_families"]

CONTENT_TYPE_PROTOBUF = _CONTENT_TYPE_PROTOBUF

_TYPES = {COUNTER: "counter", GAUGE: "gauge", SUMMARY: "summary", HISTOGRAM: "histogram",
          GAUGE_HISTOGRAM: "gaugehistogram"}


def protobuf_to_metric_families(data: bytes) -> Iterator[Metric]:
    """Parse a length-delimited stream of MetricFamily messages into Metric families."""
    for family in decode_delimited(data):
        yield _family(family)


def _labels(m: PBMetric) -> Dict[str, str]:
    return dict(m.labels)


def _exemplar(e: Optional[PBExemplar]) -> Optional[Exemplar]:
    if e is None:
        return None
    ts = None if e.timestamp is None else float(e.timestamp)
    return Exemplar(dict(e.labels), e.value, ts)


def _ts(m: PBMetric) -> Optional[float]:
    return None if m.timestamp_ms is None else m.timestamp_ms / 1000.0


def _created(metric: Metric, m: PBMetric, labels: Dict[str, str]) -> None:
    if m.created is not None:
        metric.samples.append(Sample(metric.name + "_created", labels, float(m.created), _ts(m)))


def _native(n: PBNative, count: float, total: float) -> NativeHistogram:
    if n.positive_counts or n.negative_counts:
        raise ValueError("float native histograms (absolute bucket counts) are not supported")
    return NativeHistogram(
        count, total, n.schema, n.zero_threshold, n.zero_count,
        tuple(BucketSpan(o, length) for o, length in n.positive_spans),
        tuple(BucketSpan(o, length) for o, length in n.negative_spans),
        tuple(n.positive_deltas), tuple(n.negative_deltas),
    )


def _family(f: PBFamily) -> Metric:
    typ = _TYPES.get(f.type, "unknown")
    name = f.name
    if typ == "counter" and name.endswith("_total"):
        name = name[:-6]
    metric = Metric(name, f.help, typ, f.unit)
    name = metric.name
    add = metric.samples.append
    for m in f.metrics:
        labels = _labels(m)
        ts = _ts(m)
        if typ == "counter":
            add(Sample(name + "_total", labels, m.value, ts, _exemplar(m.exemplar)))
            _created(metric, m, labels)
        elif typ in ("gauge", "unknown"):
            add(Sample(name, labels, m.value, ts))
        elif typ == "summary":
            for q, v in m.quantiles:
                add(Sample(name, dict(labels, quantile=floatToGoString(q)), v, ts))
            add(Sample(name + "_count", labels, m.sample_count, ts))
            add(Sample(name + "_sum", labels, m.sample_sum, ts))
            _created(metric, m, labels)
        else:
            _histogram(metric, m, labels, ts, gauge=typ == "gaugehistogram")
    return metric


def _histogram(metric: Metric, m: PBMetric, labels: Dict[str, str], ts: Optional[float], gauge: bool) -> None:
    name = metric.name
    add = metric.samples.append
    buckets: List[Tuple[float, float, Optional[Exemplar]]] = [
        (b.upper_bound, b.cumulative_count, _exemplar(b.exemplar)) for b in m.buckets
    ]
    if not buckets or buckets[-1][0] != INF:
        buckets.append((INF, m.sample_count, None))  # +Inf is implicit in the protobuf format
    for bound, count, exemplar in buckets:
        add(Sample(name + "_bucket", dict(labels, le=floatToGoString(bound)), count, ts, exemplar))
    if gauge:
        add(Sample(name + "_gcount", labels, m.sample_count, ts))
        add(Sample(name + "_gsum", labels, m.sample_sum, ts))
        return
    add(Sample(name + "_count", labels, m.sample_count, ts))
    if buckets[0][0] >= 0:  # with negative buckets a histogram has no _sum (as on exposition)
        add(Sample(name + "_sum", labels, m.sample_sum, ts))
    if m.native is not None:
        add(native_histogram_sample(name, labels, ts, _native(m.native, m.sample_count, m.sample_sum)))
    _created(metric, m, labels)
