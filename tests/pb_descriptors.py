"""Build the official ``google.protobuf`` message classes for the Prometheus protos at
test time, from field tables written by hand (no protoc, no generated code).

Used only by tests to cross-check our hand-written encoders/decoders.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

F = descriptor_pb2.FieldDescriptorProto

_T = {
    "double": F.TYPE_DOUBLE, "string": F.TYPE_STRING, "uint64": F.TYPE_UINT64,
    "int64": F.TYPE_INT64, "int32": F.TYPE_INT32, "uint32": F.TYPE_UINT32,
    "sint32": F.TYPE_SINT32, "sint64": F.TYPE_SINT64, "enum": F.TYPE_ENUM,
    "message": F.TYPE_MESSAGE,
}

# (name, number, type, label, type_name, packed, oneof_index)
Field = Tuple[str, int, str, str, Optional[str], bool, Optional[int]]


def _msg(fdp: descriptor_pb2.FileDescriptorProto, name: str, fields: List[Field],
         oneofs: Tuple[str, ...] = ()) -> None:
    m = fdp.message_type.add()
    m.name = name
    for o in oneofs:
        m.oneof_decl.add().name = o
    for fname, num, typ, label, tname, packed, oneof in fields:
        f = m.field.add()
        f.name = fname
        f.number = num
        f.type = _T[typ]  # type: ignore[assignment]
        f.label = {"opt": F.LABEL_OPTIONAL, "rep": F.LABEL_REPEATED}[label]  # type: ignore[assignment]
        if tname:
            f.type_name = tname
        if packed:
            f.options.packed = True
        if oneof is not None:
            f.oneof_index = oneof


def _pool() -> descriptor_pool.DescriptorPool:
    pool = descriptor_pool.DescriptorPool()
    ts = descriptor_pb2.FileDescriptorProto.FromString(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(ts)
    return pool


def client_model_classes() -> Dict[str, Any]:
    """``io.prometheus.client`` (metrics.proto, proto2) message classes by short name."""
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "io/prometheus/client/metrics_test.proto"
    fdp.package = "io.prometheus.client"
    fdp.syntax = "proto2"
    fdp.dependency.append("google/protobuf/timestamp.proto")
    e = fdp.enum_type.add()
    e.name = "MetricType"
    for n, v in [("COUNTER", 0), ("GAUGE", 1), ("SUMMARY", 2), ("UNTYPED", 3), ("HISTOGRAM", 4),
                 ("GAUGE_HISTOGRAM", 5)]:
        ev = e.value.add()
        ev.name = n
        ev.number = v
    p = ".io.prometheus.client."
    ts = ".google.protobuf.Timestamp"
    _msg(fdp, "LabelPair", [("name", 1, "string", "opt", None, False, None),
                            ("value", 2, "string", "opt", None, False, None)])
    _msg(fdp, "Gauge", [("value", 1, "double", "opt", None, False, None)])
    _msg(fdp, "Counter", [("value", 1, "double", "opt", None, False, None),
                          ("exemplar", 2, "message", "opt", p + "Exemplar", False, None),
                          ("created_timestamp", 3, "message", "opt", ts, False, None)])
    _msg(fdp, "Quantile", [("quantile", 1, "double", "opt", None, False, None),
                           ("value", 2, "double", "opt", None, False, None)])
    _msg(fdp, "Summary", [("sample_count", 1, "uint64", "opt", None, False, None),
                          ("sample_sum", 2, "double", "opt", None, False, None),
                          ("quantile", 3, "message", "rep", p + "Quantile", False, None),
                          ("created_timestamp", 4, "message", "opt", ts, False, None)])
    _msg(fdp, "Untyped", [("value", 1, "double", "opt", None, False, None)])
    _msg(fdp, "Histogram", [
        ("sample_count", 1, "uint64", "opt", None, False, None),
        ("sample_count_float", 4, "double", "opt", None, False, None),
        ("sample_sum", 2, "double", "opt", None, False, None),
        ("bucket", 3, "message", "rep", p + "Bucket", False, None),
        ("created_timestamp", 15, "message", "opt", ts, False, None),
        ("schema", 5, "sint32", "opt", None, False, None),
        ("zero_threshold", 6, "double", "opt", None, False, None),
        ("zero_count", 7, "uint64", "opt", None, False, None),
        ("zero_count_float", 8, "double", "opt", None, False, None),
        ("negative_span", 9, "message", "rep", p + "BucketSpan", False, None),
        ("negative_delta", 10, "sint64", "rep", None, False, None),
        ("negative_count", 11, "double", "rep", None, False, None),
        ("positive_span", 12, "message", "rep", p + "BucketSpan", False, None),
        ("positive_delta", 13, "sint64", "rep", None, False, None),
        ("positive_count", 14, "double", "rep", None, False, None),
        ("exemplars", 16, "message", "rep", p + "Exemplar", False, None),
    ])
    _msg(fdp, "Bucket", [("cumulative_count", 1, "uint64", "opt", None, False, None),
                         ("cumulative_count_float", 4, "double", "opt", None, False, None),
                         ("upper_bound", 2, "double", "opt", None, False, None),
                         ("exemplar", 3, "message", "opt", p + "Exemplar", False, None)])
    _msg(fdp, "BucketSpan", [("offset", 1, "sint32", "opt", None, False, None),
                             ("length", 2, "uint32", "opt", None, False, None)])
    _msg(fdp, "Exemplar", [("label", 1, "message", "rep", p + "LabelPair", False, None),
                           ("value", 2, "double", "opt", None, False, None),
                           ("timestamp", 3, "message", "opt", ts, False, None)])
    _msg(fdp, "Metric", [("label", 1, "message", "rep", p + "LabelPair", False, None),
                         ("gauge", 2, "message", "opt", p + "Gauge", False, None),
                         ("counter", 3, "message", "opt", p + "Counter", False, None),
                         ("summary", 4, "message", "opt", p + "Summary", False, None),
                         ("untyped", 5, "message", "opt", p + "Untyped", False, None),
                         ("histogram", 7, "message", "opt", p + "Histogram", False, None),
                         ("timestamp_ms", 6, "int64", "opt", None, False, None)])
    mf = fdp.message_type.add()
    mf.name = "MetricFamily"
    for fname, num, typ, label, tname in [
        ("name", 1, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("help", 2, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
        ("type", 3, F.TYPE_ENUM, F.LABEL_OPTIONAL, p + "MetricType"),
        ("metric", 4, F.TYPE_MESSAGE, F.LABEL_REPEATED, p + "Metric"),
        ("unit", 5, F.TYPE_STRING, F.LABEL_OPTIONAL, None),
    ]:
        f = mf.field.add()
        f.name = fname
        f.number = num
        f.type = typ  # type: ignore[assignment]
        f.label = label  # type: ignore[assignment]
        if tname:
            f.type_name = tname
    pool = _pool()
    pool.Add(fdp)
    names = ["LabelPair", "Gauge", "Counter", "Quantile", "Summary", "Untyped", "Histogram", "Bucket",
             "BucketSpan", "Exemplar", "Metric", "MetricFamily"]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName("io.prometheus.client." + n))
            for n in names}


def _histogram_fields(p: str, packed: bool) -> List[Field]:
    """Fields 1-13 of the remote-write ``Histogram`` (same numbers in 1.0 and 2.0)."""
    return [
        ("count_int", 1, "uint64", "opt", None, False, 0),
        ("count_float", 2, "double", "opt", None, False, 0),
        ("sum", 3, "double", "opt", None, False, None),
        ("schema", 4, "sint32", "opt", None, False, None),
        ("zero_threshold", 5, "double", "opt", None, False, None),
        ("zero_count_int", 6, "uint64", "opt", None, False, 1),
        ("zero_count_float", 7, "double", "opt", None, False, 1),
        ("negative_spans", 8, "message", "rep", p + "BucketSpan", False, None),
        ("negative_deltas", 9, "sint64", "rep", None, packed, None),
        ("negative_counts", 10, "double", "rep", None, packed, None),
        ("positive_spans", 11, "message", "rep", p + "BucketSpan", False, None),
        ("positive_deltas", 12, "sint64", "rep", None, packed, None),
        ("positive_counts", 13, "double", "rep", None, packed, None),
    ]


def remote_write_classes() -> Dict[str, Any]:
    """``prometheus`` remote write 1.0 (types.proto + remote.proto, proto3) message classes."""
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "prompb/remote_test.proto"
    fdp.package = "prometheus"
    fdp.syntax = "proto3"
    p = ".prometheus."
    e = fdp.enum_type.add()
    e.name = "MetricType"
    for i, n in enumerate(["UNKNOWN", "COUNTER", "GAUGE", "HISTOGRAM", "GAUGEHISTOGRAM", "SUMMARY",
                           "INFO", "STATESET"]):
        ev = e.value.add()
        ev.name = n
        ev.number = i
    e = fdp.enum_type.add()
    e.name = "ResetHint"
    for i, n in enumerate(["RESET_HINT_UNKNOWN", "RESET_HINT_YES", "RESET_HINT_NO", "RESET_HINT_GAUGE"]):
        ev = e.value.add()
        ev.name = n
        ev.number = i
    _msg(fdp, "Label", [("name", 1, "string", "opt", None, False, None),
                        ("value", 2, "string", "opt", None, False, None)])
    _msg(fdp, "Sample", [("value", 1, "double", "opt", None, False, None),
                         ("timestamp", 2, "int64", "opt", None, False, None)])
    _msg(fdp, "Exemplar", [("labels", 1, "message", "rep", p + "Label", False, None),
                           ("value", 2, "double", "opt", None, False, None),
                           ("timestamp", 3, "int64", "opt", None, False, None)])
    _msg(fdp, "BucketSpan", [("offset", 1, "sint32", "opt", None, False, None),
                             ("length", 2, "uint32", "opt", None, False, None)])
    _msg(fdp, "Histogram", _histogram_fields(p, packed=False) + [
        ("reset_hint", 14, "enum", "opt", p + "ResetHint", False, None),
        ("timestamp", 15, "int64", "opt", None, False, None),
    ], oneofs=("count", "zero_count"))
    _msg(fdp, "TimeSeries", [("labels", 1, "message", "rep", p + "Label", False, None),
                             ("samples", 2, "message", "rep", p + "Sample", False, None),
                             ("exemplars", 3, "message", "rep", p + "Exemplar", False, None),
                             ("histograms", 4, "message", "rep", p + "Histogram", False, None)])
    _msg(fdp, "MetricMetadata", [("type", 1, "enum", "opt", p + "MetricType", False, None),
                                 ("metric_family_name", 2, "string", "opt", None, False, None),
                                 ("help", 4, "string", "opt", None, False, None),
                                 ("unit", 5, "string", "opt", None, False, None)])
    _msg(fdp, "WriteRequest", [("timeseries", 1, "message", "rep", p + "TimeSeries", False, None),
                               ("metadata", 3, "message", "rep", p + "MetricMetadata", False, None)])
    pool = _pool()
    pool.Add(fdp)
    names = ["Label", "Sample", "Exemplar", "BucketSpan", "Histogram", "TimeSeries", "MetricMetadata",
             "WriteRequest"]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName("prometheus." + n))
            for n in names}


def read_delimited(data: bytes) -> List[bytes]:
    """Split a varint-length-delimited stream (independent of the code under test)."""
    out = []
    pos = 0
    while pos < len(data):
        n = shift = 0
        while True:
            b = data[pos]
            pos += 1
            n |= (b & 0x7F) << shift
            shift += 7
            if b < 0x80:
                break
        out.append(data[pos:pos + n])
        pos += n
    return out


def remote_write_v2_classes() -> Dict[str, Any]:
    """``io.prometheus.write.v2`` (proto3) message classes: the rc.4 schema plus the rc.3
    ``TimeSeries.created_timestamp`` (6), so one decode sees both start-time layouts."""
    fdp = descriptor_pb2.FileDescriptorProto()
    fdp.name = "io/prometheus/write/v2/types_test.proto"
    fdp.package = "io.prometheus.write.v2"
    fdp.syntax = "proto3"
    p = ".io.prometheus.write.v2."
    _msg(fdp, "Sample", [("value", 1, "double", "opt", None, False, None),
                         ("timestamp", 2, "int64", "opt", None, False, None),
                         ("start_timestamp", 3, "int64", "opt", None, False, None)])
    _msg(fdp, "Exemplar", [("labels_refs", 1, "uint32", "rep", None, True, None),
                           ("value", 2, "double", "opt", None, False, None),
                           ("timestamp", 3, "int64", "opt", None, False, None)])
    _msg(fdp, "BucketSpan", [("offset", 1, "sint32", "opt", None, False, None),
                             ("length", 2, "uint32", "opt", None, False, None)])
    _msg(fdp, "Histogram", _histogram_fields(p, packed=True) + [
        ("reset_hint", 14, "uint32", "opt", None, False, None),
        ("timestamp", 15, "int64", "opt", None, False, None),
        ("custom_values", 16, "double", "rep", None, True, None),
        ("start_timestamp", 17, "int64", "opt", None, False, None),
    ], oneofs=("count", "zero_count"))
    _msg(fdp, "Metadata", [("type", 1, "uint32", "opt", None, False, None),
                           ("help_ref", 3, "uint32", "opt", None, False, None),
                           ("unit_ref", 4, "uint32", "opt", None, False, None)])
    _msg(fdp, "TimeSeries", [("labels_refs", 1, "uint32", "rep", None, True, None),
                             ("samples", 2, "message", "rep", p + "Sample", False, None),
                             ("histograms", 3, "message", "rep", p + "Histogram", False, None),
                             ("exemplars", 4, "message", "rep", p + "Exemplar", False, None),
                             ("metadata", 5, "message", "opt", p + "Metadata", False, None),
                             ("created_timestamp", 6, "int64", "opt", None, False, None)])
    _msg(fdp, "Request", [("symbols", 4, "string", "rep", None, False, None),
                          ("timeseries", 5, "message", "rep", p + "TimeSeries", False, None)])
    pool = _pool()
    pool.Add(fdp)
    names = ["Sample", "Exemplar", "BucketSpan", "Histogram", "Metadata", "TimeSeries", "Request"]
    return {n: message_factory.GetMessageClass(pool.FindMessageTypeByName("io.prometheus.write.v2." + n))
            for n in names}
