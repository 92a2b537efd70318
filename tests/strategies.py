"""Shared hypothesis strategies."""

from __future__ import annotations

from typing import Any, List, Tuple

from hypothesis import assume
from hypothesis import strategies as st

# ---------------------------------------------------------------------------
# Wire formats (_protobuf, _remote_write_pb, _snappy, _native_histogram)
# ---------------------------------------------------------------------------

label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True)
label_values = st.text(max_size=20)
any_floats = st.floats(allow_nan=True, allow_infinity=True)
finite_floats = st.floats(allow_nan=False, allow_infinity=False)
counts = st.integers(min_value=0, max_value=(1 << 64) - 1)
label_pairs = st.lists(st.tuples(label_names, label_values), max_size=4).map(tuple)
# (sec, nsec) with nanos in 0..1e9-1
timestamp_parts = st.tuples(st.integers(min_value=-(1 << 40), max_value=1 << 40),
                            st.integers(min_value=0, max_value=999_999_999))


class TS:
    """Minimal Timestamp-like value (sec, nsec attributes) for protobuf encoders."""

    def __init__(self, sec: int, nsec: int) -> None:
        self.sec = sec
        self.nsec = nsec

    def __repr__(self) -> str:
        return f"TS({self.sec}, {self.nsec})"


timestamps = timestamp_parts.map(lambda p: TS(*p))


@st.composite
def pb_exemplars(draw: Any, require_ts: bool = False) -> Any:
    from prometheus_client._formats.protobuf_model import PBExemplar
    ts = draw(timestamps if require_ts else st.none() | timestamps)
    return PBExemplar(draw(label_pairs), draw(any_floats), ts)


@st.composite
def spans_and_deltas(draw: Any) -> Tuple[Tuple[Tuple[int, int], ...], Tuple[int, ...]]:
    spans = draw(st.lists(st.tuples(st.integers(-1000, 1000), st.integers(0, 6)), max_size=4))
    spans = [spans[0]] + [(abs(o), ln) for o, ln in spans[1:]] if spans else []
    n = sum(ln for _, ln in spans)
    deltas = draw(st.lists(st.integers(-(1 << 40), 1 << 40), min_size=n, max_size=n))
    return tuple(spans), tuple(deltas)


@st.composite
def pb_natives(draw: Any) -> Any:
    from prometheus_client._formats.protobuf_model import PBNative
    is_float = draw(st.booleans())
    ps, pd = draw(spans_and_deltas())
    ns, nd = draw(spans_and_deltas())
    ex = tuple(draw(st.lists(pb_exemplars(require_ts=True), max_size=2)))
    if is_float:
        pc = tuple(draw(st.lists(st.floats(0.5, 1e12), min_size=len(pd), max_size=len(pd))))
        nc = tuple(draw(st.lists(st.floats(0.5, 1e12), min_size=len(nd), max_size=len(nd))))
        zc: float = draw(st.floats(0.5, 1e9).filter(lambda x: not x.is_integer()))
        return PBNative(draw(st.integers(-4, 8)), draw(st.floats(0, 1)), zc, ps, (), ns, (), pc, nc, ex)
    return PBNative(draw(st.integers(-4, 8)), draw(st.floats(0, 1)), draw(counts), ps, pd, ns, nd,
                    (), (), ex)


@st.composite
def pb_families(draw: Any) -> Any:
    from prometheus_client._formats.protobuf_model import PBBucket, PBFamily, PBMetric
    from prometheus_client._formats.protobuf_wire import (
        COUNTER,
        GAUGE,
        GAUGE_HISTOGRAM,
        HISTOGRAM,
        SUMMARY,
        UNTYPED,
    )
    typ = draw(st.sampled_from([COUNTER, GAUGE, SUMMARY, UNTYPED, HISTOGRAM, GAUGE_HISTOGRAM]))
    metrics: List[Any] = []
    for _ in range(draw(st.integers(0, 3))):
        labels = draw(label_pairs)
        ts = draw(st.none() | st.integers(-(1 << 62), 1 << 62))
        created = draw(st.none() | timestamps)
        if typ in (GAUGE, UNTYPED):
            metrics.append(PBMetric(labels, value=draw(any_floats), timestamp_ms=ts))
        elif typ == COUNTER:
            metrics.append(PBMetric(labels, value=draw(any_floats), timestamp_ms=ts,
                                    exemplar=draw(st.none() | pb_exemplars()), created=created))
        elif typ == SUMMARY:
            qs = tuple(draw(st.lists(st.tuples(st.floats(0, 1), any_floats), max_size=4)))
            metrics.append(PBMetric(labels, sample_count=draw(counts), sample_sum=draw(any_floats),
                                    quantiles=qs,
                                    created=created, timestamp_ms=ts))
        else:
            buckets = tuple(
                PBBucket(ub, c, draw(st.none() | pb_exemplars()))
                for ub, c in draw(st.lists(st.tuples(any_floats, counts | st.floats(0.5, 1e15)),
                                           max_size=4))
            )
            native = draw(st.none() | pb_natives())
            if native is not None and (native.positive_counts or native.negative_counts
                                       or not float(native.zero_count).is_integer()):
                count: float = draw(st.floats(0.5, 1e15))
            else:
                count = draw(counts | st.floats(0.5, 1e15))
            metrics.append(PBMetric(labels, sample_count=count, sample_sum=draw(any_floats), buckets=buckets,
                                    native=native, created=created, timestamp_ms=ts))
    unit = draw(st.sampled_from(["", "seconds", "bytes"]))
    return PBFamily(draw(st.text(min_size=1, max_size=20)), draw(st.text(max_size=30)), typ, metrics, unit)


# Byte strings with plenty of repetition (and anchor bytes), for compressors.
_fragments = st.lists(st.binary(min_size=1, max_size=40) | st.sampled_from(
    [b"\n", b"\x0a\x08__name__", b"\x12\x04node", b" ", b'"', b"aaaaaaaaaaaaaaaa"]), min_size=1, max_size=8)
compressible_bytes = st.one_of(
    st.binary(max_size=2000),
    st.tuples(_fragments, st.lists(st.integers(0, 7), max_size=200)).map(
        lambda t: b"".join(t[0][i % len(t[0])] for i in t[1])),
)


# Native histograms
schemas = st.integers(min_value=-4, max_value=8)
native_values = st.floats(min_value=5e-324, max_value=1.7976931348623157e308, allow_nan=False,
                          allow_infinity=False) | st.floats(min_value=1e-3, max_value=1e3)


@st.composite
def near_bucket_boundaries(draw: Any) -> Tuple[int, float]:
    """(schema, value) with the value at or within a few ulps of a bucket boundary."""
    import math
    schema = draw(schemas)
    k = draw(st.integers(-200, 200))
    if schema > 0:
        from prometheus_client._sketch.native_histogram import bounds_table
        q, r = divmod(k, 1 << schema)
        b = math.ldexp(bounds_table(schema)[r] * 2.0, q)
    else:
        w = 1 << -schema
        k = draw(st.integers(-1074 // w + 1, 1023 // w))
        b = math.ldexp(1.0, k * w)
    for _ in range(draw(st.integers(0, 3))):
        b = math.nextafter(b, math.inf if draw(st.booleans()) else 0.0)
    assume(0 < b < math.inf)
    return schema, b


sparse_buckets = st.dictionaries(st.integers(-300, 300), st.integers(0, 1 << 40), max_size=30)


# Quantile sketches
quantile_objectives = st.dictionaries(
    st.sampled_from([0.0, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0]) | st.floats(0, 1),
    st.sampled_from([0.001, 0.005, 0.01, 0.02, 0.05, 0.1]) | st.floats(0.0005, 0.2),
    min_size=1, max_size=5)


@st.composite
def quantile_data(draw: Any) -> List[float]:
    """Observation sequences: random, sorted either way, heavy duplicates, zig-zag, mixtures."""
    import random as _random
    n = draw(st.integers(0, 4000))
    rnd = _random.Random(draw(st.integers(0, 2 ** 32)))
    kind = draw(st.sampled_from(["uniform", "exp", "asc", "desc", "dups", "zigzag", "blocks", "drawn"]))
    if kind == "drawn":
        return draw(st.lists(st.floats(-1e6, 1e6) | st.sampled_from([0.0, 1.0, -1.0]), max_size=300))
    if kind == "uniform":
        return [rnd.random() for _ in range(n)]
    if kind == "exp":
        return [rnd.expovariate(1.0) for _ in range(n)]
    if kind == "asc":
        return [float(i) for i in range(n)]
    if kind == "desc":
        return [float(n - i) for i in range(n)]
    if kind == "dups":
        k = draw(st.integers(1, 5))
        return [float(rnd.randrange(k)) for _ in range(n)]
    if kind == "zigzag":
        return [float(i if i % 2 else n - i) for i in range(n)]
    # ascending blocks in descending order
    size = draw(st.integers(1, 200))
    return [float(-(i // size) * size + i % size) for i in range(n)]


# ---------------------------------------------------------------------------
# Exposition (tests/test_differential_exposition.py): JSON registry descriptions
# understood by tests/_expo_builder.py
# ---------------------------------------------------------------------------

_EXPO_ODD = list("abcXYZ_:.09 -\"\\\n\té花😱{},=#")
expo_legacy_names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,8}", fullmatch=True)
expo_names = (
    expo_legacy_names
    | st.text(alphabet=_EXPO_ODD, min_size=1, max_size=8)
    | st.sampled_from(["my.metric", "花火", "label with 😱", "no:escaping_required", "http.status:sum",
                       "a\n", "0abc", "_", "a__b", "ab\n", "cc_total", "x_seconds", "y_total_total"])
)
expo_legacy_labelnames = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,6}", fullmatch=True)
expo_labelnames = (
    expo_legacy_labelnames
    | st.text(alphabet=_EXPO_ODD, min_size=1, max_size=6)
    | st.sampled_from(["le", "quantile", "__x", "a.b", "x\n", "_"])
)
expo_label_values = st.text(alphabet=_EXPO_ODD, max_size=6) | st.text(max_size=4)
expo_docs = st.text(alphabet=_EXPO_ODD, max_size=10)
expo_floats = (
    st.sampled_from([0.0, -0.0, 1.0, 0.1, 100.0, 123456.0, 1e6, 1234567.0, 1e10, 1.55555555555552e6, 1e16,
                     1e22, 1e-05, 2.5e-07, 2.0 ** 63, 1e20, -1e10, 999999.9999999999, 1700000000.5,
                     float("inf"), float("-inf"), float("nan")])
    | st.floats()
    | st.integers(-(10 ** 20), 10 ** 20)
)
expo_timestamps = st.none() | st.floats(-1e12, 1e12) | st.integers(-(10 ** 12), 10 ** 12) | st.fixed_dictionaries(
    {"sec": st.integers(-(10 ** 10), 10 ** 10), "nsec": st.integers(0, 999_999_999)})


def _expo_exemplar(label_names: Any = expo_legacy_labelnames) -> Any:
    return st.fixed_dictionaries({
        "labels": st.dictionaries(label_names, expo_label_values, max_size=2),
        "value": expo_floats,
        "ts": expo_timestamps,
    })


expo_exemplars = _expo_exemplar()


@st.composite
def _expo_children(draw: Any, nlabels: int, ops: Any, max_children: int = 3) -> List[Any]:
    if nlabels == 0:
        return [[[], draw(ops)]] if draw(st.booleans()) else []
    values = st.lists(expo_label_values, min_size=nlabels, max_size=nlabels)
    return draw(st.lists(st.tuples(values, ops).map(list), max_size=max_children))


@st.composite
def expo_metric_objects(draw: Any) -> Any:
    kind = draw(st.sampled_from(["counter", "gauge", "summary", "histogram", "info", "enum"]))
    labels = draw(st.lists(expo_labelnames, max_size=3, unique=True))
    item: Any = {
        "k": kind, "name": draw(expo_names), "doc": draw(expo_docs), "labels": labels,
        "ns": draw(st.sampled_from(["", "", "ns", "a.b"])), "sub": draw(st.sampled_from(["", "", "sub"])),
        "unit": draw(st.sampled_from(["", "", "", "seconds", "total"])),
    }
    exemplar = st.none() | expo_exemplars
    if kind == "counter":
        amount = st.sampled_from([0, 1, 2.5, 1e6, float("inf"), "reset"]) | st.floats(0, 1e20)
        ops = st.lists(st.tuples(amount, exemplar).map(list), max_size=3)
    elif kind == "gauge":
        ops = st.lists(st.tuples(st.sampled_from(["set", "inc", "dec"]), expo_floats).map(list), max_size=3) | (
            st.tuples(st.just("function"), expo_floats).map(lambda t: [list(t)]))
    elif kind == "summary":
        ops = st.lists(expo_floats, max_size=3)
    elif kind == "histogram":
        item["buckets"] = draw(st.none() | st.lists(
            st.floats(-10, 1e12, allow_nan=False) | st.sampled_from([0.1, 1.0, 1e6, float("inf")]),
            min_size=1, max_size=4).map(lambda bs: sorted(set(bs))).flatmap(  # repeats are refused (#12)
                lambda bs: st.just(bs) | st.just([repr(b) if i % 2 else b for i, b in enumerate(bs)])))
        ops = st.lists(st.tuples(expo_floats, exemplar).map(list), max_size=4)
    elif kind == "info":
        item["unit"] = ""
        ops = st.dictionaries(expo_labelnames, expo_label_values, max_size=3)
    else:
        item["unit"] = ""
        states = draw(st.lists(expo_label_values, min_size=1, max_size=3, unique=True))
        item["states"] = states
        ops = st.sampled_from(states)
    item["children"] = draw(_expo_children(len(labels), ops))
    return item


_LE = st.sampled_from(["0.1", "1.0", "5", "+Inf", "-1", "-Inf", "1e+06"])


@st.composite
def expo_families(draw: Any) -> Any:
    typ = draw(st.sampled_from(["counter", "gauge", "summary", "histogram", "gaugehistogram", "info",
                                "stateset", "unknown"]))
    labels = draw(st.lists(expo_labelnames, max_size=2, unique=True))
    n = len(labels)
    exemplar = st.none() | _expo_exemplar(expo_labelnames)
    payload: Any
    if typ == "counter":
        payload = st.tuples(expo_floats, st.none() | expo_floats, exemplar).map(list)
    elif typ in ("gauge", "unknown"):
        payload = expo_floats
    elif typ == "summary":
        payload = st.tuples(expo_floats, expo_floats).map(list)
    elif typ == "histogram":
        buckets = st.lists(st.tuples(_LE, expo_floats, exemplar).map(list), min_size=1, max_size=3)
        payload = st.tuples(buckets, st.none() | expo_floats).map(list)
    elif typ == "gaugehistogram":
        buckets = st.lists(st.tuples(_LE, expo_floats).map(list), min_size=1, max_size=3)
        payload = st.tuples(buckets, st.none() | expo_floats).map(list)
    elif typ == "info":
        payload = st.dictionaries(expo_labelnames, expo_label_values, max_size=2)
    else:
        payload = st.dictionaries(expo_label_values, st.booleans(), max_size=3)
    lv = st.lists(expo_label_values, min_size=n, max_size=n)
    adds = draw(st.lists(st.tuples(lv, payload, expo_timestamps).map(list), max_size=3))
    unit = "" if typ in ("info", "stateset") else draw(st.sampled_from(["", "", "bytes"]))
    return {"k": "family", "type": typ, "name": draw(expo_names), "doc": draw(expo_docs), "labels": labels,
            "unit": unit, "adds": adds}


@st.composite
def expo_natives(draw: Any) -> Any:
    """A consistent native histogram (count = zero count + bucket counts, never a negative
    bucket: what ``Metric.add_sample`` accepts), as a dict for ``_expo_builder``."""
    # bucket counts: ints, or halves (exact in binary, so deltas re-accumulate exactly)
    count_value = st.integers(0, 9) | st.integers(0, 18).map(lambda x: x / 2)

    def spans_deltas() -> Any:
        spans = draw(st.lists(st.tuples(st.integers(-5, 5), st.integers(0, 3)).map(list), max_size=2))
        counts = draw(st.lists(count_value, min_size=sum(s[1] for s in spans), max_size=sum(s[1] for s in spans)))
        deltas = [c - (counts[i - 1] if i else 0) for i, c in enumerate(counts)]
        return spans, deltas, float(sum(counts))

    ps, pd, p_total = spans_deltas()
    ns, nd, n_total = spans_deltas()
    number = st.integers(0, 100) | st.floats(0, 1e6) | st.sampled_from([2.938735877055719e-39, float("nan")])
    zc = draw(st.integers(0, 100) | st.integers(0, 200).map(lambda x: x / 2))
    total = zc + (p_total + n_total)
    count = int(total) if isinstance(zc, int) and float(total).is_integer() and draw(st.booleans()) else total
    return {
        "count": count, "sum": draw(number), "schema": draw(st.integers(-4, 8)),
        "zt": draw(number), "zc": zc,
        "ps": ps if ps or draw(st.booleans()) else None, "pd": pd,
        "ns": ns if ns or draw(st.booleans()) else None, "nd": nd,
        "ex": draw(st.none() | st.lists(_expo_exemplar(), max_size=2)),
    }


_RAW_SUFFIXES = st.sampled_from(["", "", "_total", "_created", "_bucket", "_count", "_sum", "_gcount", "_gsum",
                                 "_info", "_x"])


@st.composite
def expo_raw_metrics(draw: Any) -> Any:
    typ = draw(st.sampled_from(["counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info",
                                "stateset", "untyped"]))
    name = draw(expo_names)
    unit = draw(st.sampled_from(["", "", "seconds"]))
    full = name + "_" + unit if unit and not name.endswith("_" + unit) else name
    samples = []
    for _ in range(draw(st.integers(0, 4))):
        sname = full + draw(_RAW_SUFFIXES) if draw(st.integers(0, 9)) else draw(expo_names)
        labels = draw(st.dictionaries(expo_labelnames, expo_label_values, max_size=2))
        exemplar = draw(expo_exemplars) if not draw(st.integers(0, 7)) else None
        native = draw(expo_natives()) if not draw(st.integers(0, 4)) else None
        # (a native-histogram sample without a value is skipped by our text encoder, where
        # the reference raises TypeError: a deliberate divergence, tested in test_exposition_text)
        value = None if native is None and not draw(st.integers(0, 9)) else draw(expo_floats)
        samples.append([sname, labels, value, draw(expo_timestamps), exemplar, native])
    return {"k": "raw", "name": name, "doc": draw(expo_docs), "type": typ, "unit": unit, "samples": samples}


@st.composite
def expo_registries(draw: Any) -> Any:
    """A JSON description of a registry for tests/_expo_builder.py."""
    item = expo_metric_objects() | expo_families() | expo_raw_metrics()
    return {
        "created": draw(st.integers(0, 5)) > 0,
        "target_info": draw(st.none() | st.none() | st.dictionaries(expo_legacy_labelnames, expo_label_values,
                                                                    min_size=1, max_size=2)),
        "items": draw(st.lists(item, min_size=1, max_size=4)),
    }


_ACCEPT_MEDIA = st.sampled_from(["application/openmetrics-text", "text/plain", "*/*", "text/html", "TEXT/PLAIN",
                                 " text/plain ", "application/openmetrics-text ", "application/json"])
_ACCEPT_PARAMS = st.sampled_from([
    "version=1.0.0", "version=0.0.4", "version=2.0.0", "version=0.0.1", "version=1", "version=1.0", "version=10",
    "version=1.0.0.1", "version=", "version", "escaping=allow-utf-8", "escaping=dots", "escaping=values",
    "escaping=underscores", "escaping=bogus", "escaping=", "q=0.5", "charset=utf-8", " version=1.0.0 ",
    "version = 1.0.0", "version=abc", "",
])
expo_accept_headers = st.lists(
    st.tuples(_ACCEPT_MEDIA, st.lists(_ACCEPT_PARAMS, max_size=3)).map(lambda t: ";".join([t[0], *t[1]])),
    max_size=3,
).map(",".join)
expo_accept_encodings = st.lists(
    st.sampled_from(["gzip", "GZIP", " gzip ", "x-gzip", "deflate", "br", "identity", "gzip;q=0", "*", ""]),
    max_size=3,
).map(",".join)


# ---------------------------------------------------------------------------
# HTTP requests for the built-in server (_http): well-formed, odd and broken
# ---------------------------------------------------------------------------

_http_tokens = st.sampled_from([b"GET", b"HEAD", b"POST", b"OPTIONS", b"DELETE", b"get", b"G E T", b""])
_http_targets = st.one_of(
    st.sampled_from([b"/", b"/metrics", b"/favicon.ico", b"*", b"http://h/metrics?name[]=x",
                     b"/metrics?name[]=a&name[]="]),
    st.binary(max_size=60),
)
_http_versions = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/", b"", b"FOO"])
_http_header_names = st.one_of(
    st.sampled_from([b"Accept", b"Accept-Encoding", b"Connection", b"Content-Length", b"Expect",
                     b"Transfer-Encoding", b"Host"]),
    st.binary(max_size=20),
)
_http_header_values = st.one_of(
    st.sampled_from([b"gzip", b"close", b"keep-alive", b"0", b"5", b"-1", b"100-continue", b"chunked",
                     b"application/openmetrics-text;version=1.0.0", b"text/plain;version=1.0.0;escaping=x"]),
    st.binary(max_size=80),
)


@st.composite
def http_requests(draw: Any) -> bytes:
    """Raw bytes a client might send: mostly request-shaped, sometimes anything at all."""
    if draw(st.integers(0, 9)) == 0:
        return bytes(draw(st.binary(max_size=300)))
    line = b" ".join([draw(_http_tokens), draw(_http_targets), draw(_http_versions)])
    headers = draw(st.lists(st.tuples(_http_header_names, _http_header_values), max_size=6))
    eol = draw(st.sampled_from([b"\r\n", b"\n"]))
    out = line + eol + b"".join(n + draw(st.sampled_from([b": ", b":", b" : ", b""])) + v + eol for n, v in headers)
    out += eol + draw(st.binary(max_size=20))
    return bytes(out)
