"""Pieces shared by the Prometheus text parser and the OpenMetrics parser.

Everything here is linear in the input: the regular expressions have no nested or
overlapping quantifiers, and the hand-written scanners move strictly forward.
"""

import re
from typing import Dict, NoReturn, Optional, Tuple, Union, cast

from ..samples import NativeHistogram, Sample, Timestamp

# Integers longer than this are read as floats, as Python's own int() limit makes the
# reference do (and it keeps int() from going quadratic on interpreters without the limit).
MAX_INT_DIGITS = 4300

# Longest part of an offending line quoted in an error message.
_SHOWN = 120


class LineError(Exception):
    """A rule broken on the current line; the parser loop adds the line number and text."""

    def __init__(self, rule: str) -> None:
        super().__init__(rule)
        self.rule = rule


def fail(rule: str) -> NoReturn:
    raise LineError(rule)


def line_error(fmt: str, lineno: int, line: str, rule: str) -> ValueError:
    """The ValueError every rejection ends as: format, line number, rule, (cut) line."""
    shown = line if len(line) <= _SHOWN else line[:_SHOWN] + "..."
    if len(rule) > 2 * _SHOWN:
        rule = rule[: 2 * _SHOWN] + "..."
    return ValueError(f"Invalid {fmt} at line {lineno}: {rule}: {shown!r}")


class _QuotedMatch:
    __slots__ = ("_body", "_end")

    def __init__(self, body: str, end: int) -> None:
        self._body = body
        self._end = end

    def group(self, _n: int) -> str:
        return self._body

    def end(self) -> int:
        return self._end


class _QuotedScanner:
    """Finds a double-quoted string with backslash escapes, like a regex ``match``.

    ``match(line, pos)`` (``line[pos]`` must be ``"``) returns an object whose ``group(1)`` is
    the raw, still escaped body and ``end()`` the index after the closing quote, or None.
    It jumps from quote to quote with ``str.find`` and counts the backslashes in front of
    each; those runs never overlap, so a hostile line costs one linear pass.
    """

    def match(self, line: str, pos: int) -> Optional[_QuotedMatch]:
        if line[pos:pos + 1] != '"':
            return None
        start = i = pos + 1
        while True:
            j = line.find('"', i)
            if j < 0:
                return None
            seg = line[i:j]
            if (len(seg) - len(seg.rstrip("\\"))) % 2 == 0:
                return _QuotedMatch(line[start:j], j + 1)
            i = j + 1


QUOTED_RE = _QuotedScanner()

LEGACY_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
# Unquoted label names in the Prometheus text format (the official parser allows `:` there).
TEXT_LABEL_NAME_AT_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
OM_LABEL_NAME_AT_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")

def unescape(s: str) -> str:
    """Undo `\\\\`, `\\n` and `\\"`; any other backslash pair is kept as written."""
    if "\\" not in s:
        return s
    # Split at escaped backslashes first: every backslash left in a part starts an escape.
    return "\\".join(p.replace("\\n", "\n").replace('\\"', '"') for p in s.split("\\\\"))


def unescape_help_text(s: str) -> str:
    """Prometheus text HELP: only `\\\\` and `\\n` are escapes."""
    if "\\" not in s:
        return s
    return "\\".join(p.replace("\\n", "\n") for p in s.split("\\\\"))


def read_quoted(line: str, pos: int, error: str = "unterminated quoted string") -> Tuple[str, int]:
    """Parse the quoted string starting at ``line[pos] == '"'``; return (unescaped, end).

    The one reader of quoted strings of both text parsers; ``error``: the message if the
    string does not end on this line."""
    m = QUOTED_RE.match(line, pos)
    if m is None:
        fail(error)
    return unescape(m.group(1)), m.end()


def check_number_token(tok: str) -> None:
    """Reject what Python's int()/float() accept but no Prometheus format does."""
    if not tok.isascii() or "_" in tok or tok != tok.strip():
        fail(f"invalid number {tok!r}")


def parse_value(tok: str) -> float:
    """A sample value: an int when the token is an integer, else a float (like the reference)."""
    if tok.isdigit() and tok.isascii() and len(tok) < 19:
        return int(tok)
    check_number_token(tok)
    if len(tok) <= MAX_INT_DIGITS:
        try:
            return int(tok)
        except ValueError:
            pass
    try:
        return float(tok)
    except ValueError:
        fail(f"invalid sample value {tok!r}")


def is_legacy_metric_name(name: str) -> bool:
    return LEGACY_METRIC_NAME_RE.match(name) is not None


def native_histogram_sample(
    name: str,
    labels: Optional[Dict[str, str]],
    timestamp: Union[float, Timestamp, None],
    histogram: NativeHistogram,
) -> Sample:
    """The sample of a parsed native histogram. Its value is None (and so are the labels of
    one without labels, in the OpenMetrics 1 parser), as the reference parsers give them,
    which ``Sample``'s declared field types (as in the reference) do not admit."""
    return Sample(name, cast(Dict[str, str], labels), cast(float, None), timestamp, None, histogram)
