"""Prometheus text parser: behaviour, errors, streaming, linear time."""

from __future__ import annotations

import io
import math
import re
import tracemalloc
from typing import Iterator

import pytest

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import (
    ESCAPE_SEQUENCES,
    ESCAPING_RE,
    HELP_ESCAPING_RE,
    parse_labels,
    replace_escape_sequence,
    text_fd_to_metric_families,
    text_string_to_metric_families,
)
from prometheus_client.samples import Sample


def parse(text: str) -> list[Metric]:
    return list(text_string_to_metric_families(text))


def fam(name: str, doc: str, typ: str, samples: list[Sample]) -> Metric:
    m = Metric(name, doc, typ)
    m.samples = samples
    return m


def test_simple_families() -> None:
    text = (
        "# HELP a_total Requests \\\\ and\\nnewline \"q\"\n"
        "# TYPE a_total counter\n"
        'a_total{method="GET"} 1.0\n'
        'a_total{method="a\\"b\\\\c\\nd"} 2\n'
        "# HELP g A gauge\n# TYPE g gauge\n"
        "g 3.5 1234567890\n"
    )
    assert parse(text) == [
        fam("a", 'Requests \\ and\nnewline "q"', "counter", [
            Sample("a_total", {"method": "GET"}, 1.0),
            Sample("a_total", {"method": 'a"b\\c\nd'}, 2),
        ]),
        fam("g", "A gauge", "gauge", [Sample("g", {}, 3.5, 1234567.89)]),
    ]


def test_value_types_match_reference() -> None:
    [m] = parse("# TYPE a gauge\na 1\na 1.5\na -2\na +Inf\na NaN\na 1e3\n")
    values = [s.value for s in m.samples]
    assert [type(v) for v in values] == [int, float, int, float, float, float]
    assert values[0] == 1 and values[2] == -2 and values[3] == math.inf and math.isnan(values[4])


def test_counter_munging() -> None:
    assert parse("# TYPE a counter\na 1\n") == [fam("a", "", "counter", [Sample("a_total", {}, 1)])]
    assert parse("# TYPE a_total counter\na_total 1\n") == [
        fam("a", "", "counter", [Sample("a_total", {}, 1)])]


def test_untyped_samples_each_form_a_family() -> None:
    assert parse("a 1\na 2\n") == [fam("a", "", "unknown", [Sample("a", {}, 1)]),
                                    fam("a", "", "unknown", [Sample("a", {}, 2)])]
    # a sample that does not fit the current family closes it
    assert parse("# TYPE a gauge\nb 1\n") == [fam("a", "", "gauge", []),
                                               fam("b", "", "unknown", [Sample("b", {}, 1)])]


def test_histogram_and_summary_names() -> None:
    text = ('# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 2\nh_sum 3\n'
            '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\ns_sum 2\n')
    h, s = parse(text)
    assert [x.name for x in h.samples] == ["h_bucket", "h_bucket", "h_count", "h_sum"]
    assert [x.name for x in s.samples] == ["s", "s_count", "s_sum"]


def test_utf8_quoted_names() -> None:
    text = ('# HELP "my.metric" doc\n# TYPE "my.metric" gauge\n{"my.metric","error.code"="x",b="y"} 1\n'
            '{__name__="other.one"} 2\n')
    assert parse(text) == [
        fam("my.metric", "doc", "gauge", [Sample("my.metric", {"error.code": "x", "b": "y"}, 1)]),
        fam("other.one", "", "unknown", [Sample("other.one", {}, 2)]),
    ]


def test_whitespace_tolerance() -> None:
    assert parse('  a{ b = "c" , d="e" , } \t 1   2  \n\n') == [
        fam("a", "", "unknown", [Sample("a", {"b": "c", "d": "e"}, 1, 0.002)])]


def test_comments_ignored() -> None:
    assert parse("# random comment\n#HELP not help\n# HELP\na 1\n") == [
        fam("a", "", "unknown", [Sample("a", {}, 1)])]


@pytest.mark.parametrize(
    "text, rule",
    [
        ("a{b=c} 1", "double-quoted"),
        ('a{b="c",,d="e"} 1', "between two commas"),
        ('a{b="c" d="e"} 1', "separated by ','"),
        ('a{b="c",b="d"} 1', "duplicate label"),
        ('a{__b="c"} 1', "reserved"),
        ('a{1b="c"} 1', "invalid label name"),
        ('a{b="c"', "missing '}'"),
        ('a{b="c\\"} 1', "unterminated"),
        ("a", "missing sample value"),
        ("a 1_0", "invalid number"),
        ("a 0x10", "invalid sample value"),
        ("a ١", "invalid number"),
        ("a 1 abc", "invalid timestamp"),
        ("a.b 1", "invalid metric name"),
        ('a.b{c="d"} 1', "invalid metric name"),
        ('a{b=} 1', "double-quoted"),
        ('{b="c"} 1', "missing metric name"),
        ('a{"b"} 1', "more than once"),
        ("# TYPE a blah\na 1", "unknown metric type"),
        ("# TYPE a\n", "without a metric type"),
        ("# TYPE a.b counter\n", "invalid metric name"),
        ('# HELP "a b\n', "unterminated"),
    ],
)
def test_rejections_name_line_and_rule(text: str, rule: str) -> None:
    with pytest.raises(ValueError) as info:
        parse("x 1\n" + text)
    msg = str(info.value)
    assert msg.startswith("Invalid Prometheus text at line ")
    assert rule in msg
    assert re.search(r"line [23]:", msg), msg


def test_error_message_cuts_long_lines() -> None:
    with pytest.raises(ValueError) as info:
        parse("a{b=" + "x" * 100_000 + "} 1\n")
    assert len(str(info.value)) < 400


def test_fd_streams_family_by_family() -> None:
    def lines() -> Iterator[str]:
        for i in range(3):
            yield f"# TYPE f{i} gauge\n"
            yield f"f{i} {i}\n"
        raise AssertionError("read too far")  # pragma: no cover

    it = text_fd_to_metric_families(lines())
    assert next(it).name == "f0"
    assert next(it).name == "f1"


def test_fd_memory_bounded_by_one_family() -> None:
    def lines() -> Iterator[str]:
        for f in range(2000):
            yield f"# TYPE fam_{f} gauge\n"
            for i in range(50):
                yield f'fam_{f}{{path="/some/long/path/{i}",instance="host-{i}:9090"}} {i}\n'

    tracemalloc.start()
    try:
        count = 0
        for m in text_fd_to_metric_families(lines()):
            count += len(m.samples)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 100_000
    assert peak < 2_000_000  # ~100k samples would need tens of MB if buffered


def test_fd_accepts_real_file_objects() -> None:
    assert [m.name for m in text_fd_to_metric_families(io.StringIO("a 1\nb 2\n"))] == ["a", "b"]


def test_parse_labels_and_escape_helpers() -> None:
    assert parse_labels('a="b", c="d\\"e\\\\f\\ng"') == {"a": "b", "c": 'd"e\\f\ng'}
    with pytest.raises(ValueError):
        parse_labels('a="b",,c="d"')
    assert parse_labels('a="b",c="d"', openmetrics=True) == {"a": "b", "c": "d"}
    assert parse_labels(' a="b" , c="d" ', openmetrics=True) == {"a": "b", "c": "d"}  # as the official
    with pytest.raises(ValueError):
        parse_labels('a ="b"', openmetrics=True)
    assert ESCAPING_RE.sub(replace_escape_sequence, 'a\\\\b\\"c\\nd') == 'a\\b"c\nd'
    assert HELP_ESCAPING_RE.sub(replace_escape_sequence, 'a\\\\b\\"c\\nd') == 'a\\b\\"c\nd'
    assert ESCAPE_SEQUENCES["\\n"] == "\n"


@pytest.mark.parametrize(
    "line",
    [
        "a{" + 'b="' * 200_000 + "} 1",
        "a{" + "b" * 1_000_000,
        "a{" + 'b="\\' * 300_000,
        "a{" + ' ,' * 400_000 + "} 1",
        'a{b="' + "\\\\" * 400_000 + "} 1",
        "a " + "1" * 1_000_000 + " x",
        "# HELP " + '"' + "\\a" * 400_000,
        '{"' + "a" * 1_000_000,
    ],
)
def test_hostile_lines_fail_cleanly(line: str) -> None:
    # Linear time is asserted by benchmarks/bench_parsers.py; here: only ValueError escapes.
    try:
        parse(line + "\n")
    except ValueError:
        pass
