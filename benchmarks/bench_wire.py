"""Micro-benchmarks of the wire-format building blocks (no official counterpart exists).

    python benchmarks/bench_wire.py

Prints ns per operation (best of 5 runs) for: protobuf exposition vs text exposition of the
same 10k-series registry, the snappy codecs on a 10k-series remote-write-like payload,
native-histogram observe, and the quantile window (amortised per observation).
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path
from typing import Any, Callable, List, Tuple

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest  # noqa: E402
from prometheus_client._formats import protobuf_wire as pb  # noqa: E402
from prometheus_client._formats import snappy as _snappy  # noqa: E402
from prometheus_client._sketch.native_histogram import NativeHistogramState  # noqa: E402
from prometheus_client._sketch.quantiles import QuantileStream, QuantileWindow  # noqa: E402
from prometheus_client.protobuf import encode_registry  # noqa: E402


def best(fn: Callable[[], Any], runs: int = 5) -> float:
    b = float("inf")
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        b = min(b, time.perf_counter() - t)
    return b


def registry() -> CollectorRegistry:
    reg = CollectorRegistry()
    c = Counter("http_requests", "Requests", ["method", "path", "code"], registry=reg)
    g = Gauge("queue_len", "Q", ["shard"], registry=reg)
    h = Histogram("lat_seconds", "L", ["path"], registry=reg)
    for i in range(5000):
        c.labels(["GET", "POST"][i % 2], f"/p/{i // 2}", "200").inc(i)
    for i in range(4000):
        g.labels(str(i)).set(i)
    for i in range(70):
        h.labels(f"/p/{i}").observe(i / 100)
    return reg


def payload(n: int = 10000) -> bytes:
    rnd = random.Random(1)
    parts = []
    for i in range(n):
        labels = [("__name__", "http_requests_total"), ("instance", f"10.0.0.{i % 50}:9100"), ("job", "node"),
                  ("method", ["GET", "POST", "PUT"][i % 3]), ("path", f"/api/v1/item/{i // 3}")]
        lb = b"".join(pb.encode_len_delimited(b"\x0a", pb.encode_len_delimited(b"\x0a", k.encode())
                                              + pb.encode_len_delimited(b"\x12", v.encode())) for k, v in labels)
        sample = pb.encode_len_delimited(b"\x12", pb.encode_double(b"\x09", rnd.random() * 1000)
                                         + b"\x10" + pb.encode_varint(1_700_000_000_000 + i))
        parts.append(pb.encode_len_delimited(b"\x0a", lb + sample))
    return b"".join(parts)


def main() -> None:
    rows: List[Tuple[str, str]] = []
    reg = registry()
    generate_latest(reg)
    encode_registry(reg)
    t_text = best(lambda: generate_latest(reg))
    t_pb = best(lambda: encode_registry(reg))
    rows.append(("text exposition, ~10k series (warm)", f"{t_text * 1e3:.1f} ms"))
    rows.append(("protobuf exposition, same registry (warm)", f"{t_pb * 1e3:.1f} ms ({t_pb / t_text:.2f}x text)"))

    data = payload()
    comp = _snappy.compress_py(data)
    mb = len(data) / 1e6
    for name, fn in [("snappy compress_py", lambda: _snappy.compress_py(data)),
                     ("snappy compress_literal", lambda: _snappy.compress_literal(data)),
                     ("snappy decompress_py", lambda: _snappy.decompress_py(comp))]:
        t = best(fn, 3)
        rows.append((f"{name}, {mb:.2f} MB", f"{t * 1e3:.1f} ms ({mb / t:.0f} MB/s)"))
    rows.append(("snappy ratio py / literal", f"{len(comp) / len(data):.3f} / 1.000"))
    if _snappy.HAVE_CRAMJAM:
        t = best(lambda: _snappy.compress(data), 3)
        rows.append(("snappy compress (cramjam)", f"{t * 1e3:.2f} ms"))

    rnd = random.Random(2)
    values = [rnd.expovariate(1.0) for _ in range(100_000)]
    for schema in (3, 0):
        obs = NativeHistogramState(schema=schema).observe
        t = best(lambda obs=obs: [obs(v) for v in values])  # type: ignore[misc]
        rows.append((f"NativeHistogramState.observe, schema {schema}", f"{t / len(values) * 1e9:.0f} ns"))
        many = NativeHistogramState(schema=schema).observe_many
        t = best(lambda many=many: many(values))  # type: ignore[misc]
        rows.append((f"NativeHistogramState.observe_many, schema {schema}", f"{t / len(values) * 1e9:.0f} ns/value"))

    obj = {0.5: 0.05, 0.9: 0.01, 0.99: 0.001}

    def window() -> None:
        w = QuantileWindow(obj)
        o = w.observe
        for v in values:
            o(v)
        w.queries()

    def stream() -> None:
        s = QuantileStream(obj)
        ins = s.insert
        for v in values:
            ins(v)
        s.query(0.99)

    t = best(window, 3)
    rows.append(("QuantileWindow.observe (5 age buckets, amortised)", f"{t / len(values) * 1e9:.0f} ns"))
    t = best(stream, 3)
    rows.append(("QuantileStream.insert (amortised)", f"{t / len(values) * 1e9:.0f} ns"))
    w = QuantileWindow(obj, clock=lambda: 0.0)
    for v in values:
        w.observe(v)
    w.queries()
    t = best(lambda: w.queries())
    rows.append(("QuantileWindow.queries (3 objectives)", f"{t * 1e6:.1f} us"))
    rows.append(("QuantileWindow stored tuples (5 streams)", str(w.tuples())))

    print(f"Python {sys.version.split()[0]}")
    print("| operation | result |\n|---|---:|")
    for name, res in rows:
        print(f"| {name} | {res} |")


if __name__ == "__main__":
    main()
