"""Differential tests: our parsers vs the official client 0.26.0 (side venv, one long-lived
subprocess fed batches as JSON), on generated valid and mutated invalid inputs.

Both must agree on accept/reject and on the parsed families, except for the documented spec
violations of the official parser (``docs/parser-differences.md``, ids D1...). Our parsers may
raise nothing but ``ValueError``.
"""

from __future__ import annotations

import collections
import random
import re
from pathlib import Path
from typing import Iterator, List

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parser_diff
import parser_gen
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary
from prometheus_client.exposition import generate_latest as text_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_latest

DOC = Path(__file__).resolve().parent.parent / "docs" / "parser-differences.md"
BATCH = 40

seen_differences: collections.Counter[str] = collections.Counter()


@pytest.fixture(scope="module")
def official(official_python: str) -> Iterator[parser_diff.OfficialParsers]:
    o = parser_diff.OfficialParsers(official_python)
    yield o
    o.close()


def _check(official: parser_diff.OfficialParsers, mode: str, texts: List[str]) -> None:
    theirs = official.parse([(mode, t) for t in texts])
    problems = []
    for text, their in zip(texts, theirs):
        ours = parser_diff.ours(mode, text)
        verdict = parser_diff.compare(mode, text, ours, their)
        if verdict is None:
            continue
        if re.fullmatch(r"D\d+(\+D\d+)*", verdict):
            seen_differences.update(verdict.split("+"))
            continue
        problems.append(f"{verdict}\n  input: {text!r}\n  official: {their}\n  ours: {ours}")
    assert not problems, "\n\n".join(problems[:3])


_SETTINGS = settings(max_examples=40, deadline=None,
                     suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@_SETTINGS
@given(seed=st.integers(0, 2 ** 64))
def test_openmetrics_generated_and_mutated(official: parser_diff.OfficialParsers, seed: int) -> None:
    _check(official, "om", parser_gen.inputs(random.Random(seed), "om", BATCH))


@_SETTINGS
@given(seed=st.integers(0, 2 ** 64))
def test_text_generated_and_mutated(official: parser_diff.OfficialParsers, seed: int) -> None:
    _check(official, "text", parser_gen.inputs(random.Random(seed), "text", BATCH))


def _library_outputs() -> List[bytes]:
    reg = CollectorRegistry()
    c = Counter("app_requests", "Requests \"quoted\" \\ and\nnewline", ["method", "path"], registry=reg)
    c.labels("GET", "/a\"b\\c\nd").inc(3, exemplar={"trace_id": "abc"})
    c.labels("POST", "é☃").inc()
    Gauge("app_temp_celsius", "Temp", registry=reg).set(-3.5)
    Summary("app_latency_seconds", "Latency", registry=reg).observe(0.25)
    h = Histogram("app_size_bytes", "Size", ["kind"], buckets=(1, 10, 1e6), registry=reg)
    h.labels("x").observe(5, exemplar={"trace_id": "t1"})
    Info("app_build", "Build", registry=reg).info({"version": "1.2", "commit": "abc"})
    Enum("app_state", "State", states=["starting", "running"], registry=reg).state("running")
    return [om_latest(reg), text_latest(reg), text_latest(reg, "allow-utf-8")]


def test_library_output_parses_identically(official: parser_diff.OfficialParsers) -> None:
    om_text, text, text_utf8 = (b.decode() for b in _library_outputs())
    _check(official, "om", [om_text])
    _check(official, "text", [text, text_utf8])


# One input per documented difference: the classifier must still name it, and the id must be
# documented, so docs/parser-differences.md and the code cannot drift apart.
EXAMPLES = [
    ("D1", "om", 'a{b ="c"} 1\n# EOF\n'),
    ("D1", "om", 'a{b="c",\u2028d="e"} 1\n# EOF\n'),
    ("D2", "text", 'a.b{c="d"} 1\n'),
    ("D3", "text", "a{b=} 1\n"),
    ("D4", "om", "a ١\n# EOF\n"),
    ("D4", "text", "a 1 ١\n"),
    ("D6", "om", "a -nan\n# EOF\n"),
    ("D7", "om", "a 1 1\na 1 1.5e3\n# EOF\n"),
    ("D8", "om", "a 1 -0.5\n# EOF\n"),
    ("D9", "om", '# TYPE a:b stateset\na:b{a:b="x"} 1\n# EOF\n'),
    ("D10", "om", '# TYPE a counter\na_total 1 # {t="x\\"y"} 1\n# EOF\n'),
    ("D12", "om", "# HELP a   text\n# EOF\n"),
    ("D13", "om", "# TYPE a histogram\na {count:1,sum:1,schema:0,zero_threshold:0,zero_count:1} 123\n# EOF\n"),
    ("D14", "om", 'a{b="c"}\t1\n# EOF\n'),
    ("D14", "om", '# TYPE a counter\na_total 1  # {} 1\n# EOF\n'),
    ("D15", "om", "#x HELP a text\n# EOF\n"),
    ("D16", "om", "# TYPE a histogram\na {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0,"
                  "positive_spans:[-1:1],positive_deltas:[1]}\n# EOF\n"),
    ("D18", "om", "a 1 1483353375.6484766353375.6484766\n# EOF\n"),
    ("D19", "om", 'a{b\\n="d"} 1\n# EOF\n'),
    ("D19", "om", 'a 1\na\\n{b="c"} 1\n# EOF\n'),
    ("D20", "text", "a 1 x 2\n"),
    ("D21", "text", "#x HELP a text\na 1\n"),
    ("D22", "text", '# HELP "a""b" x\n'),
    ("D23", "text", "NaN\n"),
    ("D24", "text", 'a{b="", ,c="d"} 1\n'),
    ("D25", "om", '# TYPE i info\ni_info{a="1"} 1 1\ni_info{a="2"} 1\n# EOF\n'),
    ("D26", "om", "# TYPE a histogram\nb {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0}\n# EOF\n"),
    ("D26", "om", "# HELP b x\n# TYPE a histogram\nb {count:1,sum:1,schema:0,zero_threshold:0,zero_count:0}\n# EOF\n"),
    ("D16", "om", "# TYPE a histogram\na le{count:1,sum:1,schema:0,zero_threshold:0,zero_count:0}\n# EOF\n"),
    ("D3", "text", "a{=} 1\n"),
    ("D4", "om", '# TYPE a histogram\na_bucket{le="2_5"} 1\na_bucket{le="+Inf"} 1\n# EOF\n'),
    ("D21", "text", "#\x85 TYPE a gauge\n"),
    ("D21", "text", "a 1\n\r#x TYPE b gauge\n"),
    ("D25", "om", '# TYPE i info\ni_info{a="1"} 1\ni_info{a="2"} 1\ni_info{a="1"} 1\n# EOF\n'),
]


@pytest.mark.parametrize("diff_id, mode, text", EXAMPLES)
def test_documented_differences(official: parser_diff.OfficialParsers, diff_id: str, mode: str,
                                text: str) -> None:
    [their] = official.parse([(mode, text)])
    ours = parser_diff.ours(mode, text)
    assert parser_diff.compare(mode, text, ours, their) == diff_id, (ours, their)
    assert f"## {diff_id}:" in DOC.read_text(encoding="utf-8")
