"""OpenMetrics parser: behaviour, strictness, errors, streaming."""

from __future__ import annotations

import math
import re
import tracemalloc
from typing import Iterator

import pytest

from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_fd_to_metric_families,
    text_string_to_metric_families,
)
from prometheus_client.samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp


def parse(text: str) -> list[Metric]:
    return list(text_string_to_metric_families(text))


def fam(name: str, doc: str, typ: str, samples: list[Sample], unit: str = "") -> Metric:
    m = Metric(name, doc, typ, unit)
    m.samples = samples
    return m


def test_full_exposition() -> None:
    text = (
        '# HELP ns_req Requests \\"quoted\\" \\\\ back\\nnl\n'
        "# TYPE ns_req counter\n"
        'ns_req_total{method="GET"} 1.0 # {trace="abc"} 0.5 1700000000.5\n'
        'ns_req_created{method="GET"} 1.7000000005e+09\n'
        "# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\ntemp_celsius 3.0 123\n"
        "# TYPE h histogram\n"
        'h_bucket{le="0.1"} 0\nh_bucket{le="+Inf"} 1\nh_count 1\nh_sum 0.5\n'
        "# TYPE b info\nb_info{version=\"1\"} 1\n"
        "# TYPE s stateset\ns{s=\"x\"} 1\ns{s=\"y\"} 0\n"
        "# TYPE g gaugehistogram\ng_bucket{le=\"+Inf\"} 2\ng_gcount 2\ng_gsum 3\n"
        "# TYPE q summary\nq{quantile=\"0.5\"} 1\nq_count 1\nq_sum 2\n"
        "# EOF\n"
    )
    got = parse(text)
    assert got[0] == fam("ns_req", 'Requests "quoted" \\ back\nnl', "counter", [
        Sample("ns_req_total", {"method": "GET"}, 1.0, None,
               Exemplar({"trace": "abc"}, 0.5, Timestamp(1700000000, 500000000))),
        Sample("ns_req_created", {"method": "GET"}, 1.7000000005e9),
    ])
    assert got[1] == fam("temp_celsius", "", "gauge",
                         [Sample("temp_celsius", {}, 3.0, Timestamp(123, 0))], "celsius")
    assert [m.type for m in got] == ["counter", "gauge", "histogram", "info", "stateset",
                                     "gaugehistogram", "summary"]


def test_timestamps() -> None:
    [m] = parse("a 1 1\na 1 1.5\na 1 2.123456789123\na 1 2500.0e0\n# EOF\n")
    assert [s.timestamp for s in m.samples] == [
        Timestamp(1, 0), Timestamp(1, 500000000), Timestamp(2, 123456789), 2500.0]


def test_native_histogram() -> None:
    [m] = parse(
        "# TYPE nh histogram\n"
        "nh {count:24,sum:100,schema:0,zero_threshold:0.001,zero_count:4,"
        "negative_spans:[0:2,1:2],negative_deltas:[2,1,-2,3],"
        "positive_spans:[0:2,1:2],positive_deltas:[2,1,-3,3]}\n# EOF\n")
    [s] = m.samples
    assert s.labels is None and s.value is None
    assert s.native_histogram == NativeHistogram(
        24, 100.0, 0, 0.001, 4,
        (BucketSpan(0, 2), BucketSpan(1, 2)), (BucketSpan(0, 2), BucketSpan(1, 2)),
        (2, 1, -3, 3), (2, 1, -2, 3))
    assert isinstance(s.native_histogram.sum_value, float)


def test_native_histogram_timestamp_and_exemplars() -> None:
    [m] = parse('# TYPE a histogram\na{x="1"} {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1} 5'
                ' # {a="b"} 1 2 # {} 3.5 # {c="d\\"e"} -1 1.25\n# EOF\n')
    [s] = m.samples
    assert s.labels == {"x": "1"} and s.timestamp == Timestamp(5, 0)
    assert s.native_histogram is not None
    assert s.native_histogram.nh_exemplars == (
        Exemplar({"a": "b"}, 1, Timestamp(2, 0)), Exemplar({}, 3.5, None),
        Exemplar({"c": 'd"e'}, -1, Timestamp(1, 250000000)))
    with pytest.raises(ValueError, match="must be a double-quoted string"):
        parse("# TYPE a histogram\na {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1} # {a=b} 1\n# EOF\n")


def test_empty_and_eof() -> None:
    assert parse("# EOF\n") == []
    assert parse("# EOF") == []
    assert parse("# TYPE a gauge\n# EOF\n") == [fam("a", "", "gauge", [])]


def test_repeated_point_dropped_like_reference() -> None:
    assert parse("a 1\na 2\n# EOF\n") == [fam("a", "", "unknown", [Sample("a", {}, 1)])]


def test_negative_subsecond_timestamp_keeps_sign() -> None:
    [m] = parse("a 1 -0.5\n# EOF\n")
    assert m.samples[0].timestamp == -0.5


@pytest.mark.parametrize(
    "text, rule",
    [
        ("a 1\n", "missing '# EOF'"),
        ("a 1\n# EOF\nb 1\n", "nothing may follow"),
        ("a 1\n\n# EOF\n", "blank lines"),
        ("# comment\n# EOF\n", "comments are not allowed"),
        ("#EOF\n", "comments are not allowed"),
        ("# EOF \n", "comments are not allowed"),
        ("# HELP a\n# EOF\n", "needs a space"),
        ("# TYPE a untyped\n# EOF\n", "invalid metric type"),
        ("# TYPE a gauge\n# TYPE a gauge\n# EOF\n", "more than one TYPE"),
        ("# TYPE a gauge\na 1\n# HELP a x\n# EOF\n", "before the samples"),
        ("# TYPE a gauge\n# UNIT a seconds\n# EOF\n", "does not end with its unit"),
        ("# TYPE a_x info\n# UNIT a_x x\n# EOF\n", "cannot have a unit"),
        ("# TYPE a counter\na 1\n# EOF\n", "clashes"),
        ("a 1\nb 1\na 2\n# EOF\n", "clashes"),
        ("# TYPE a counter\na_total 1\n# TYPE a_created gauge\n# EOF\n", "clashes"),
        ("# TYPE a counter\na_total -1\n# EOF\n", "negative"),
        ("# TYPE a counter\na_total NaN\n# EOF\n", "NaN"),
        ('a{b="c",} 1\n# EOF\n', "trailing ','"),
        ('a{b ="c"} 1\n# EOF\n', "whitespace inside a label set"),
        ('a{b="c",\u2028d="e"} 1\n# EOF\n', "whitespace inside a label set"),
        ('a{b="c" d="e"} 1\n# EOF\n', "separated by ','"),
        ('a{b="c", } 1\n# EOF\n', "trailing ','"),
        ('a{ , } 1\n# EOF\n', "invalid label name"),
        ('a{b="c",b="d"} 1\n# EOF\n', "duplicate label"),
        ("a  1\n# EOF\n", "invalid value"),
        ("a 1 \n# EOF\n", "invalid timestamp"),
        ("a 1 NaN\n# EOF\n", "invalid timestamp"),
        ("a 1 1 2\n# EOF\n", "after the timestamp"),
        ("a 1_0\n# EOF\n", "not an OpenMetrics number"),
        ("a -nan\n# EOF\n", "not an OpenMetrics number"),
        ("a ١\n# EOF\n", "not an OpenMetrics number"),
        ("a\t1\n# EOF\n", "whitespace in the metric name"),
        ("a.b 1\n# EOF\n", "invalid metric name"),
        ("# TYPE a gauge\na 1 # {b=\"c\"} 1\n# EOF\n", "exemplars"),
        ("# TYPE a counter\na_total 1 #{b=\"c\"} 1\n# EOF\n", "invalid timestamp"),
        ("# TYPE a counter\na_total 1 # {b=\"" + "c" * 128 + "\"} 1\n# EOF\n", "limit of 128"),
        ('# TYPE a histogram\na_bucket{le="1.0"} 1\n# EOF\n', "+Inf bucket missing"),
        ('# TYPE a histogram\na_bucket{le="1.0"} 3\na_bucket{le="+Inf"} 2\n# EOF\n', "cumulative"),
        ('# TYPE a histogram\na_bucket{le="2"} 1\na_bucket{le="1"} 1\na_bucket{le="+Inf"} 1\n# EOF\n',
         "increasing 'le'"),
        ('# TYPE a histogram\na_bucket{le="+Inf"} 2\na_count 2\n# EOF\n', "no sum"),
        ('# TYPE a histogram\na_bucket{le="+Inf"} 1\na_count 2\na_sum 1\n# EOF\n', "does not match"),
        ('# TYPE a histogram\na_bucket{le="-1"} 1\na_bucket{le="+Inf"} 1\na_count 1\na_sum 1\n# EOF\n',
         "negative buckets"),
        ('# TYPE a histogram\na_bucket{le="inf"} 2\n# EOF\n', "spelled"),
        ('# TYPE a histogram\na_bucket{le="+Inf"} 2.5\n# EOF\n', "integers"),
        ('# TYPE a summary\na{quantile="2"} 1\n# EOF\n', "outside [0, 1]"),
        ('# TYPE a summary\na{quantile="0.5"} -1\n# EOF\n', "cannot be negative"),
        ('# TYPE a info\na_info{b="c"} 2\n# EOF\n', "value 1"),
        ('# TYPE a stateset\na{a="x"} 2\n# EOF\n', "0 or 1"),
        ('# TYPE a stateset\na{b="x"} 1\n# EOF\n', "without the 'a' label"),
        ('a{x="1"} 1\na{x="2"} 1\na{x="1"} 2\n# EOF\n', "contiguous"),
        ("a 1 2\na 1 1\n# EOF\n", "backwards"),
        ('{"a.b"} 1\n# EOF\n', "declared family"),
        ("# TYPE a histogram\na {count:1,sum:1}\n# EOF\n", "native histogram"),
    ],
)
def test_rejections_name_line_and_rule(text: str, rule: str) -> None:
    with pytest.raises(ValueError) as info:
        parse(text)
    msg = str(info.value)
    assert re.match(r"Invalid OpenMetrics at line \d+: ", msg), msg
    assert rule in msg, msg


def test_error_gives_line_number() -> None:
    with pytest.raises(ValueError, match=r"at line 3: .*'b\{c=d\} 1'"):
        parse("a 1\n# TYPE b gauge\nb{c=d} 1\n# EOF\n")


def test_values_and_specials() -> None:
    [m] = parse("a 1\na{x=\"1\"} +Inf\na{x=\"2\"} -inf\na{x=\"3\"} NaN\na{x=\"4\"} .5\na{x=\"5\"} 1.\n# EOF\n")
    vals = [s.value for s in m.samples]
    assert vals[0] == 1 and isinstance(vals[0], int)
    assert vals[1] == math.inf and vals[2] == -math.inf and math.isnan(vals[3])
    assert vals[4:] == [0.5, 1.0]


def test_fd_streams_and_memory_is_bounded() -> None:
    def lines() -> Iterator[str]:
        for f in range(2000):
            yield f"# TYPE fam_{f} gauge\n"
            for i in range(50):
                yield f'fam_{f}{{path="/some/long/path/{i}",instance="host-{i}:9090"}} {i}\n'
        yield "# EOF\n"

    it = text_fd_to_metric_families(lines())
    assert next(it).name == "fam_0"
    tracemalloc.start()
    try:
        count = sum(len(m.samples) for m in it)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 99_950
    assert peak < 2_000_000


@pytest.mark.parametrize(
    "line",
    [
        "a{" + 'b="' * 200_000 + "} 1",
        "a{" + "b" * 1_000_000,
        'a{b="' + "\\\\" * 400_000 + "} 1",
        "a 1 # {" + 'b="c",' * 150_000 + "} 1",
        "# TYPE a histogram\na {count:1,sum:1,schema:1,zero_threshold:1,zero_count:1,positive_spans:["
        + "1:1," * 200_000,
        'a{b="' + "x" * 1_000_000,
    ],
)
def test_hostile_lines_fail_cleanly(line: str) -> None:
    with pytest.raises(ValueError):
        parse(line + "\n# EOF\n")


# -- optional whitespace in label sets (what the official parser reads) -----------------------

WHITESPACE_CASES = [
    '# TYPE "a.b" histogram\n{"a.b_bucket", le="1.0"} 0.0\n{"a.b_bucket", le="+Inf"} 0.0\n# EOF\n',
    '# TYPE "a" counter\n{"a_total", foo="b"} 1\n# EOF\n',
    '# TYPE a counter\na_total{ foo="x" , b="y" } 1\n# EOF\n',
    '# TYPE a counter\na_total{\tfoo="x"\t,\tb="y"\t} 1\n# EOF\n',
    '# TYPE a counter\na_total{ } 1\n# EOF\n',
    '# TYPE "a" gauge\n{ "a" , x="1" } 1\n# EOF\n',
    '# TYPE "a" histogram\n{"a"} {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1}\n# EOF\n',
    '# TYPE "a" histogram\n{ "a" } {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1}\n# EOF\n',
    '# TYPE "a" histogram\n{"a", x="1"} {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1}\n# EOF\n',
    '# TYPE a histogram\na{} {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1}\n# EOF\n',
    '# TYPE "a" gauge\n{"a"} 1\n# EOF\n',
]
WHITESPACE_REJECTED = [
    '# TYPE a counter\na_total{foo="x", } 1\n# EOF\n',
    '# TYPE a counter\na_total{foo="x" b="y"} 1\n# EOF\n',
    '# TYPE a counter\na_total{foo="x",,b="y"} 1\n# EOF\n',
    '# TYPE a counter\na_total{ , } 1\n# EOF\n',
]


def _shape(text: str) -> object:
    return [(m.name, m.type, [(s.name, s.labels, s.value) for s in m.samples])
            for m in text_string_to_metric_families(text)]


def test_optional_whitespace_in_label_sets_as_the_official_parser(official_python: str) -> None:
    import parser_diff

    official = parser_diff.OfficialParsers(official_python)
    try:
        theirs = official.parse([("om", t) for t in WHITESPACE_CASES + WHITESPACE_REJECTED])
    finally:
        official.close()
    for text, their in zip(WHITESPACE_CASES + WHITESPACE_REJECTED, theirs):
        ours = parser_diff.ours("om", text)
        assert ours[0] == ("ok" if text in WHITESPACE_CASES else "err"), (text, ours)
        # D13: the official parser drops a native histogram's timestamp/exemplars (none here)
        assert parser_diff.compare("om", text, ours, their) in (None, "D13"), (text, ours, their)


def test_quoted_name_native_histogram_has_no_label_set() -> None:
    [fam] = text_string_to_metric_families(WHITESPACE_CASES[6])
    assert fam.samples[0].labels is None
    [fam] = text_string_to_metric_families(WHITESPACE_CASES[8])
    assert fam.samples[0].labels == {"x": "1"}
    [fam] = text_string_to_metric_families(WHITESPACE_CASES[9])
    assert fam.samples[0].labels == {}
    assert _shape(WHITESPACE_CASES[2]) == [("a", "counter", [("a_total", {"foo": "x", "b": "y"}, 1)])]


@pytest.mark.parametrize("text", WHITESPACE_REJECTED)
def test_malformed_label_sets_stay_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="line 2"):
        list(text_string_to_metric_families(text))
