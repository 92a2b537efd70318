"""Build a registry from a JSON description and render it in every text format.

Runs on both sides of the differential exposition test: imported by our tests, and run as
``python -I _expo_builder.py`` by the official client's interpreter (a long-lived helper
reading one JSON description per line on stdin, answering one JSON line on stdout). It uses
only the public API both implementations share, so it must stay self-contained.

Description (all JSON):
    {"created": bool, "target_info": {..} | null, "items": [item, ...]}
item ``k`` is one of ``counter gauge summary histogram info enum`` (metric objects, with
``children`` = list of ``[labelvalues, ops]``; only the labels of their exemplars are used),
``family`` (a ``*MetricFamily`` with ``adds``) or ``raw`` (a Metric with arbitrary samples).
Timestamps are numbers or ``{"sec", "nsec"}``; exemplars ``{"labels", "value", "ts"}``;
native histograms ``{"count", "sum", "schema", "zt", "zc", "ps", "pd", "ns", "nd", "ex"}``.

Result: ``{"build": [per item: "ok" | exception type], "out": {format: base64 | "!Type[+metric]"}}``.
"""

import base64
import json
import sys
import time
from typing import Any, Dict, List

FIXED_TIME = 1700000000.5

TEXT_ESCAPINGS = ("underscores", "allow-utf-8", "dots", "values")
OM_VERSIONS = ("1.0.0", "2.0.0")


def _ts(x: Any) -> Any:
    from prometheus_client.samples import Timestamp

    if isinstance(x, dict):
        return Timestamp(x["sec"], x["nsec"])
    return x


def _exemplar(x: Any) -> Any:
    from prometheus_client.samples import Exemplar

    if x is None:
        return None
    return Exemplar(x["labels"], x["value"], _ts(x.get("ts")))


def _native(x: Any) -> Any:
    from prometheus_client.samples import BucketSpan, NativeHistogram

    if x is None:
        return None

    def spans(s: Any) -> Any:
        return None if s is None else [BucketSpan(o, n) for o, n in s]

    ex = x.get("ex")
    return NativeHistogram(
        x["count"], x["sum"], x["schema"], x["zt"], x["zc"],
        spans(x.get("ps")), spans(x.get("ns")), x.get("pd"), x.get("nd"),
        None if ex is None else [_exemplar(e) for e in ex],
    )


def _metric_object(item: Dict[str, Any], registry: Any) -> None:
    import prometheus_client as pc

    kind = item["k"]
    kwargs: Dict[str, Any] = dict(
        labelnames=item.get("labels", []), namespace=item.get("ns", ""), subsystem=item.get("sub", ""),
        unit=item.get("unit", ""), registry=registry,
    )
    if kind == "histogram" and item.get("buckets") is not None:
        kwargs["buckets"] = item["buckets"]
    if kind == "enum":
        kwargs["states"] = item["states"]
    cls = {"counter": pc.Counter, "gauge": pc.Gauge, "summary": pc.Summary, "histogram": pc.Histogram,
           "info": pc.Info, "enum": pc.Enum}[kind]
    metric = cls(item["name"], item["doc"], **kwargs)
    for labelvalues, ops in item.get("children", []):
        target = metric.labels(*labelvalues) if labelvalues else metric
        if kind == "counter":
            for amount, exemplar in ops:
                if amount == "reset":
                    target.reset()
                else:
                    target.inc(amount, None if exemplar is None else exemplar["labels"])
        elif kind == "gauge":
            for op, value in ops:
                if op == "function":
                    target.set_function(lambda v=value: v)
                else:
                    getattr(target, op)(value)
        elif kind == "summary":
            for value in ops:
                target.observe(value)
        elif kind == "histogram":
            for value, exemplar in ops:
                target.observe(value, None if exemplar is None else exemplar["labels"])
        elif kind == "info":
            target.info(ops)
        else:
            target.state(ops)


class _Collector:
    def __init__(self, metrics: List[Any]) -> None:
        self._metrics = metrics

    def collect(self) -> List[Any]:
        return self._metrics


def _family(item: Dict[str, Any]) -> Any:
    from prometheus_client import core

    typ = item["type"]
    labels = item.get("labels", [])
    unit = item.get("unit", "")
    name, doc = item["name"], item["doc"]
    if typ == "counter":
        fam = core.CounterMetricFamily(name, doc, labels=labels, unit=unit)
        for lv, (value, created, exemplar), ts in item["adds"]:
            fam.add_metric(lv, value, created, _ts(ts), _exemplar(exemplar))
    elif typ in ("gauge", "unknown"):
        cls = core.GaugeMetricFamily if typ == "gauge" else core.UnknownMetricFamily
        fam = cls(name, doc, labels=labels, unit=unit)
        for lv, value, ts in item["adds"]:
            fam.add_metric(lv, value, _ts(ts))
    elif typ == "summary":
        fam = core.SummaryMetricFamily(name, doc, labels=labels, unit=unit)
        for lv, (count, total), ts in item["adds"]:
            fam.add_metric(lv, count, total, _ts(ts))
    elif typ == "histogram":
        fam = core.HistogramMetricFamily(name, doc, labels=labels, unit=unit)
        for lv, (buckets, total), ts in item["adds"]:
            bs = [(le, v) if ex is None else (le, v, _exemplar(ex)) for le, v, ex in buckets]
            fam.add_metric(lv, bs, total, _ts(ts))
    elif typ == "gaugehistogram":
        fam = core.GaugeHistogramMetricFamily(name, doc, labels=labels, unit=unit)
        for lv, (buckets, gsum), ts in item["adds"]:
            fam.add_metric(lv, [(le, v) for le, v in buckets], gsum, _ts(ts))
    elif typ == "info":
        fam = core.InfoMetricFamily(name, doc, labels=labels)
        for lv, value, ts in item["adds"]:
            fam.add_metric(lv, value, _ts(ts))
    else:
        fam = core.StateSetMetricFamily(name, doc, labels=labels)
        for lv, value, ts in item["adds"]:
            fam.add_metric(lv, value, _ts(ts))
    return fam


def _raw(item: Dict[str, Any]) -> Any:
    from prometheus_client.metrics_core import Metric

    m = Metric(item["name"], item["doc"], item["type"], item.get("unit", ""))
    for name, labels, value, ts, exemplar, native in item["samples"]:
        m.add_sample(name, labels, value, _ts(ts), _exemplar(exemplar), _native(native))
    return m


def _render(fn: Any, *args: Any) -> str:
    from prometheus_client.metrics_core import Metric

    try:
        return base64.b64encode(fn(*args)).decode("ascii")
    except Exception as e:  # noqa: BLE001 - the type is what is compared
        marker = "+metric" if e.args and isinstance(e.args[-1], Metric) else ""
        return f"!{type(e).__name__}{marker}"


def _negotiate(desc: Dict[str, Any], registry: Any, out: Dict[str, str]) -> None:
    """Optional keys: ``accept`` (headers for choose_encoder), ``accept_encoding`` (for
    gzip_accepted), ``bake`` ([accept, accept-encoding, name[] list or null, disable])."""
    import gzip

    from prometheus_client import exposition

    for i, header in enumerate(desc.get("accept", [])):
        try:
            encoder, content_type = exposition.choose_encoder(header)
        except Exception as e:  # noqa: BLE001
            out[f"accept:{i}"] = f"!{type(e).__name__}"
            continue
        out[f"accept:{i}"] = content_type + " " + _render(encoder, registry)
    for i, header in enumerate(desc.get("accept_encoding", [])):
        out[f"gzip:{i}"] = repr(exposition.gzip_accepted(header))
    for i, (accept, encoding, names, disable) in enumerate(desc.get("bake", [])):
        params = {} if names is None else {"name[]": names}
        try:
            status, headers, body = exposition._bake_output(registry, accept, encoding, params, disable)
        except Exception as e:  # noqa: BLE001
            out[f"bake:{i}"] = f"!{type(e).__name__}"
            continue
        if ("Content-Encoding", "gzip") in headers:
            body = gzip.decompress(body)
        out[f"bake:{i}"] = json.dumps([status, headers, base64.b64encode(body).decode("ascii")])


def build_and_render(desc: Dict[str, Any]) -> Dict[str, Any]:
    import prometheus_client.metrics as metrics_module
    from prometheus_client import CollectorRegistry
    from prometheus_client.exposition import generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

    real_time = time.time
    time.time = lambda: FIXED_TIME
    if not desc.get("created", True):
        metrics_module.disable_created_metrics()
    try:
        registry = CollectorRegistry(target_info=desc.get("target_info"))
        build: List[str] = []
        for item in desc["items"]:
            try:
                if item["k"] == "family":
                    registry.register(_Collector([_family(item)]))
                elif item["k"] == "raw":
                    registry.register(_Collector([_raw(item)]))
                else:
                    _metric_object(item, registry)
                build.append("ok")
            except Exception as e:  # noqa: BLE001
                build.append(type(e).__name__)
        wrapped = _Collector([])
        wrapped.collect = registry.collect  # type: ignore[method-assign]
        out: Dict[str, str] = {}
        for esc in TEXT_ESCAPINGS:
            out[f"text:{esc}"] = _render(generate_latest, registry, esc)
            for version in OM_VERSIONS:
                out[f"om:{esc}:{version}"] = _render(om_generate_latest, registry, esc, version)
        out["text:default"] = _render(generate_latest, registry)
        out["om:default"] = _render(om_generate_latest, registry)
        out["text:wrapped"] = _render(generate_latest, wrapped)
        out["om:wrapped"] = _render(om_generate_latest, wrapped, "allow-utf-8", "1.0.0")
        _negotiate(desc, registry, out)
        return {"build": build, "out": out}
    finally:
        time.time = real_time
        metrics_module.enable_created_metrics()


def serve() -> None:
    """One JSON description per stdin line -> one JSON result per stdout line."""
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            result: Any = build_and_render(json.loads(line))
        except Exception as e:  # noqa: BLE001
            result = {"fatal": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    serve()
