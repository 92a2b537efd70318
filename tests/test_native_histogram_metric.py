"""Histogram with a native (exponential) part: samples, exposition, validation."""

import threading

import pytest

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client._sketch.native_histogram import bucket_index
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest
from prometheus_client.samples import BucketSpan


def _native(registry, name, labels=None):
    for metric in registry.collect():
        for s in metric.samples:
            if s.name == name and s.native_histogram is not None and s.labels == (labels or {}):
                return s.native_histogram
    return None


def _buckets(nh):
    out = {}
    index = 0
    deltas = iter(nh.pos_deltas)
    count = 0
    for i, span in enumerate(nh.pos_spans):
        index = span.offset if i == 0 else index + span.offset
        for _ in range(span.length):
            count += next(deltas)
            if count:
                out[index] = count
            index += 1
    return out


def test_native_and_classic_together():
    r = CollectorRegistry()
    h = Histogram("nh", "h", ["m"], buckets=[1, 10], native_histogram_bucket_factor=1.1, registry=r)
    values = [0.5, 1, 2, 3, -1, 0, 100]
    for v in values:
        h.labels("a").observe(v)
    nh = _native(r, "nh", {"m": "a"})
    assert nh.count_value == 7 and nh.sum_value == sum(values)
    assert nh.schema == 3  # 2**(2**-3) = 1.0905 <= 1.1 < 2**(2**-2)
    assert nh.zero_count == 1
    assert nh.neg_spans == (BucketSpan(0, 1),) and nh.neg_deltas == (1,)
    expected = {}
    for v in (0.5, 1, 2, 3, 100):
        i = bucket_index(v, 3)
        expected[i] = expected.get(i, 0) + 1
    assert _buckets(nh) == expected
    assert r.get_sample_value("nh_bucket", {"m": "a", "le": "10.0"}) == 6
    text = generate_latest(r).decode()
    assert "nh{" not in text and "schema" not in text  # text formats show the classic part only
    om1 = om_generate_latest(r).decode()
    assert "schema" not in om1
    om2 = om_generate_latest(r, version="2.0.0").decode()
    assert 'nh{m="a"} {count:7,sum:105.5,schema:3,' in om2


def test_native_only():
    r = CollectorRegistry()
    h = Histogram("only", "h", buckets=(), native_histogram_bucket_factor=2, registry=r)
    h.observe(3)
    assert h._upper_bounds == [float("inf")]
    assert r.get_sample_value("only_bucket", {"le": "+Inf"}) == 1
    assert _native(r, "only").schema == 0


def test_threads_lose_nothing():
    r = CollectorRegistry()
    h = Histogram("t", "h", native_histogram_bucket_factor=1.1, registry=r)

    def work():
        for i in range(20000):
            h.observe((i % 100) / 10.0)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nh = _native(r, "t")
    assert nh.count_value == 80000
    assert nh.zero_count + sum(_buckets(nh).values()) == 80000


def test_bucket_limit_reduces_schema():
    r = CollectorRegistry()
    h = Histogram("lim", "h", native_histogram_bucket_factor=1.01, native_histogram_max_bucket_number=10, registry=r)
    for i in range(1, 1000):
        h.observe(i)
    nh = _native(r, "lim")
    assert nh.count_value == 999
    assert len(_buckets(nh)) <= 10
    assert nh.schema < 6


def test_validation():
    r = CollectorRegistry()
    with pytest.raises(ValueError, match=r"Histogram 'v': native_histogram_bucket_factor must be > 1"):
        Histogram("v", "h", native_histogram_bucket_factor=1.0, registry=r)
    with pytest.raises(ValueError, match="Must have at least two buckets"):
        Histogram("v", "h", buckets=(), registry=r)
    assert r._names_to_collectors == {}
