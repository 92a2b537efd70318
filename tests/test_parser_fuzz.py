"""Fuzzing with a bounded CI budget: generated, mutated and arbitrary inputs make both parsers
either parse or raise ValueError, nothing else. The long run (>= 1,000,000 inputs) is
``scripts/fuzz_parsers.py``; its command and result are in docs/fuzzing.md."""

from __future__ import annotations

import io
import random
from typing import Callable, Iterable, List

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import parser_gen
import parser_wire
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_fd_to_metric_families as om_fd
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_fd_to_metric_families as text_fd
from prometheus_client.parser import text_string_to_metric_families as text_parse

PARSERS: List[Callable[[str], Iterable[Metric]]] = [text_parse, om_parse]
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _only_value_error(text: str) -> None:
    for parse in PARSERS:
        try:
            for _ in parse(text):
                pass
        except ValueError as e:
            assert str(e).startswith("Invalid "), e


@_SETTINGS
@given(seed=st.integers(0, 2 ** 64))
def test_generated_and_mutated_inputs(seed: int) -> None:
    rnd = random.Random(seed)
    for mode in ("om", "text"):
        for text in parser_gen.inputs(rnd, mode, 10):
            _only_value_error(text)


_ALPHABET = st.sampled_from(list('{}",= \t\n\r#\\_.+-eE019aZ:é١\x00\x85\u2028[]') + [
    "# EOF", "# HELP ", "# TYPE ", "# UNIT ", " # {", "_total", "_bucket", 'le="', "NaN", "+Inf"])


@_SETTINGS
@given(st.lists(_ALPHABET, max_size=60).map("".join))
def test_token_soup(text: str) -> None:
    _only_value_error(text)


@_SETTINGS
@given(st.text(max_size=200))
def test_arbitrary_text(text: str) -> None:
    _only_value_error(text)
    _only_value_error(text + "\n# EOF\n")


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2 ** 64))
def test_streaming_matches_string_parsing(seed: int) -> None:
    rnd = random.Random(seed)
    for mode, s_parse, fd_parse in (("om", om_parse, om_fd), ("text", text_parse, text_fd)):
        text = parser_gen.inputs(rnd, mode, 1)[0]
        want = parser_wire.run_parse(lambda t, p=s_parse: list(p(t)), text)
        got = parser_wire.run_parse(lambda t, p=fd_parse: list(p(io.StringIO(t))), text)
        assert got == want
