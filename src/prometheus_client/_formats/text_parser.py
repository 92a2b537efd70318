"""Parser for the Prometheus text exposition format (0.0.4, and 1.0.0 with quoted UTF-8 names).

``text_string_to_metric_families(text)`` / ``text_fd_to_metric_families(fd)`` yield one
:class:`~prometheus_client.metrics_core.Metric` per family, as soon as the family is complete,
so memory stays bounded by one family however long the input is.

Every rejection is a ``ValueError`` naming the line number, the rule broken and the line.
Parsing is linear in the input (no backtracking regular expressions).
"""

import io
import re
from typing import Dict, Iterable, Iterator, List, Optional, Tuple

from .. import _lazy
from ..metrics_core import Metric
from ..samples import Sample
from .parse_common import (
    MAX_INT_DIGITS,
    TEXT_LABEL_NAME_AT_RE,
    LineError,
    check_number_token,
    fail,
    is_legacy_metric_name,
    line_error,
    parse_value,
    read_quoted,
    unescape_help_text,
)

# The reference module's other names (its helpers and imports), loaded on first use.
_H = "._formats.parse_helpers:"
__getattr__, __dir__ = _lazy.install(__name__, {
    "Match": "typing:Match",
    "TextIO": "typing:TextIO",
    "StringIO": "io",  # the reference does `import io as StringIO`
    "string": "string",
    "_is_valid_legacy_metric_name": ".validation:_is_valid_legacy_metric_name",
    "_validate_labelname": ".validation:_validate_labelname",
    "_validate_metric_name": ".validation:_validate_metric_name",
    **{n: _H + n for n in (
        "_is_character_escaped", "_last_unquoted_char", "_next_term", "_next_unquoted_char", "_parse_value",
        "_parse_value_and_timestamp", "_replace_escaping", "_replace_help_escaping", "_split_quoted",
        "_unquote_unescape",
    )},
})

ESCAPE_SEQUENCES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
ESCAPING_RE = re.compile(r'\\[\\n"]')
HELP_ESCAPING_RE = re.compile(r"\\[\\n]")

_FMT = "Prometheus text"


def replace_escape_sequence(match: "re.Match[str]") -> str:
    """``re.sub`` callback turning one escape sequence into the character it stands for."""
    return ESCAPE_SEQUENCES[match.group(0)]


# The common sample line, fully validated by the pattern: a legacy name, optional plain
# labels (legacy names, no escapes, single separating commas, optional trailing comma), one
# value token and an optional integer timestamp. Anything else takes the general path.
_LABEL = r'(?!__)[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
# A value the fast paths convert directly: group 1 an int (as the reference reads integers),
# group 2 a float spelling; anything else (signed ints, odd spellings) takes the general path.
_FAST_VALUE = (r"(?:([0-9]{1,18})|([+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
               r"|[+-]?[0-9]+[eE][+-]?[0-9]+|[+-]Inf|NaN))")
# Longer lines go straight to the general path (no sample line is this long in practice).
_FAST_MAX = 8192
_FAST_SAMPLE_RE = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)"
    rf"(?:\{{((?:{_LABEL}(?:,{_LABEL})*,?)?)\}})?"
    rf"[ \t]+{_FAST_VALUE}"
    r"(?:[ \t]+([+-]?[0-9]{1,18}))?\Z"
)
_FAST_PAIR_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')

_WS = " \t"
_WS_SPLIT_RE = re.compile("[ \t]+")
_CWS = " \t\n\r\x0b\x0c"  # what separates the tokens of a comment line


def _skip_ws(line: str, pos: int, ws: str = _WS) -> int:
    n = len(line)
    while pos < n and line[pos] in ws:
        pos += 1
    return pos


def _skip_space(line: str, pos: int) -> int:
    """Any whitespace (the reference strips label tokens with str.strip())."""
    n = len(line)
    while pos < n and line[pos].isspace():
        pos += 1
    return pos


def _scan_labels(line: str, pos: int) -> Tuple[Dict[str, str], Optional[str], int]:
    """Parse a label block whose ``{`` is at ``pos - 1``.

    Returns (labels, metric name given inside the braces or None, index after ``}``).
    """
    n = len(line)
    labels: Dict[str, str] = {}
    name: Optional[str] = None
    prev = "open"
    while True:
        pos = _skip_space(line, pos)
        if pos >= n:
            fail("missing '}' at the end of the labels")
        c = line[pos]
        if c == "}":
            return labels, name, pos + 1
        if c == ",":
            if prev == "comma":
                fail("empty label between two commas")
            prev = "comma"
            pos += 1
            continue
        if prev == "item":
            fail("labels must be separated by ','")
        if c == '"':
            key, pos = read_quoted(line, pos)
            pos = _skip_space(line, pos)
            if pos >= n or line[pos] != "=":
                # A bare quoted string is the metric name (text format 1.0.0).
                if name is not None:
                    fail("metric name given more than once")
                name = key
                prev = "item"
                continue
        else:
            m = TEXT_LABEL_NAME_AT_RE.match(line, pos)
            if m is None:
                fail("invalid label name")
            key = m.group(0)
            pos = m.end()
            if pos < n and line[pos] not in '=,}"' and not line[pos].isspace():
                fail(f"invalid character {line[pos]!r} in label name {key!r}")
            pos = _skip_space(line, pos)
            if pos >= n or line[pos] != "=":
                fail(f"expected '=' after label name {key!r}")
        pos = _skip_space(line, pos + 1)
        if pos >= n or line[pos] != '"':
            fail(f"value of label {key!r} must be a double-quoted string")
        value, pos = read_quoted(line, pos)
        if key == "__name__":
            if name is not None:
                fail("metric name given more than once")
            name = value
        elif key.startswith("__"):
            fail(f"label name {key!r} is reserved (starts with '__')")
        elif key in labels:
            fail(f"duplicate label name {key!r}")
        else:
            labels[key] = value
        prev = "item"


def _timestamp(tok: str) -> float:
    """Milliseconds in the text format; the Sample carries seconds."""
    check_number_token(tok)
    try:
        if len(tok) > MAX_INT_DIGITS:
            raise ValueError(tok)
        ms = int(tok)
    except ValueError:  # not an integer, or too many digits for int()
        try:
            return float(tok) / 1000
        except ValueError:
            fail(f"invalid timestamp {tok!r}")
    try:
        return ms / 1000
    except OverflowError:
        fail(f"timestamp {tok[:30]!r}... out of range")


_new_sample = tuple.__new__  # Sample(...) without the Python-level namedtuple __new__ frame


def _parse_sample(line: str) -> Sample:
    """Parse a (stripped, non-comment) sample line."""
    m = _FAST_SAMPLE_RE.match(line) if len(line) < _FAST_MAX else None
    if m is not None:
        name, body, iv, fv, ts = m.groups()
        if body:
            pairs = _FAST_PAIR_RE.findall(body)
            labels = dict(pairs)
            if len(labels) != len(pairs):
                fail("duplicate label name")
        else:
            labels = {}
        v: float = int(iv) if iv is not None else float(fv)
        return _new_sample(Sample, (name, labels, v, None if ts is None else int(ts) / 1000, None, None))
    return _parse_sample_slow(line)


# A run of sample lines usually repeats one shape (metric name and label names in order).
# Once a shape has been seen on the fast path, a pattern specialised to it reads the next
# lines of that shape in one match: the label values come out as named groups, so no
# second scan of the label block. It accepts exactly the lines _FAST_SAMPLE_RE accepts with
# that name and those label names (the names were validated by that match).
_Shape = Tuple[str, Tuple[str, ...]]
_SHAPES_MAX = 256  # specialised patterns per parse; more shapes than this read the general way


def _shape_pattern(name: str, keys: Tuple[str, ...]) -> "re.Pattern[str]":
    if keys:
        block = r"\{" + ",".join(f'{k}="(?P<{k}>[^"\\\\]*)"' for k in keys) + r",?\}"
    else:
        block = r"(?:\{\})?"
    return re.compile(re.escape(name) + block + rf"[ \t]+{_FAST_VALUE}(?:[ \t]+([+-]?[0-9]{{1,18}}))?\Z")


def _parse_sample_slow(line: str) -> Sample:
    brace = line.find("{")
    if brace < 0:
        rest = _WS_SPLIT_RE.split(line)
        name = rest.pop(0).strip()
        if not is_legacy_metric_name(name):
            fail("invalid metric name (quote UTF-8 names inside the braces)")
        if not rest:
            fail("missing sample value")
        labels: Dict[str, str] = {}
    else:
        name = line[:brace].rstrip(_WS)
        if name and not is_legacy_metric_name(name):
            fail("invalid metric name before '{' (quote UTF-8 names inside the braces)")
        labels, inner, end = _scan_labels(line, brace + 1)
        if inner is not None:
            if name:
                fail("metric name given more than once")
            name = inner
        if not name:
            fail("missing metric name")
        rest = _WS_SPLIT_RE.split(line[end:].strip(_WS))
        if not rest[0]:
            fail("missing sample value")
    if len(rest) > 2:
        fail("unexpected text after the timestamp")
    value = parse_value(rest[0])
    ts = _timestamp(rest[1]) if len(rest) > 1 else None
    return Sample(name, labels, value, ts)


def split_comment(line: str) -> Optional[Tuple[str, str, str]]:
    """``# HELP name text`` / ``# TYPE name type`` -> (keyword, name, rest); else None.

    Other comments are ignored. A missing name yields None for HELP; ``rest`` may be empty.
    """
    n = len(line)
    if n < 2 or line[1] not in _CWS:
        return None
    pos = _skip_ws(line, 1, _CWS)
    end = pos
    while end < n and line[end] not in _CWS:
        end += 1
    keyword = line[pos:end]
    if keyword != "HELP" and keyword != "TYPE":
        return None
    pos = _skip_ws(line, end, _CWS)
    if pos >= n:
        if keyword == "TYPE":
            fail("TYPE line without a metric name")
        return keyword, "", ""  # closes the current family, like the reference
    if line[pos] == '"':
        name, pos = read_quoted(line, pos, f"unterminated quoted metric name in the {keyword} line")
        if pos < n and line[pos] not in _CWS:
            fail("expected whitespace after the quoted metric name")
    else:
        end = pos
        while end < n and line[end] not in _CWS:
            end += 1
        name = line[pos:end].strip()
        if not is_legacy_metric_name(name):
            fail("invalid metric name (quote UTF-8 names)")
        pos = end
    rest = line[_skip_ws(line, pos, _CWS):]
    if keyword == "TYPE" and not rest:
        fail("TYPE line without a metric type")
    return keyword, name, rest


def _allowed(name: str, typ: str) -> Tuple[str, ...]:
    if typ == "summary":
        return (name + "_count", name + "_sum", name)
    if typ == "histogram":
        return (name + "_count", name + "_sum", name + "_bucket")
    return (name,)


def _build(name: str, documentation: str, typ: str, samples: List[Sample]) -> Metric:
    if typ not in _TYPES:
        fail(f"unknown metric type {typ!r} in the TYPE line of {name!r}")
    if typ == "counter":
        if name.endswith("_total"):
            name = name[:-6]
        else:
            samples = [s._replace(name=s.name + "_total") for s in samples]
    try:
        metric = Metric(name, documentation, typ)
    except ValueError as e:
        fail(str(e))
    metric.samples = samples
    return metric


_TYPES = frozenset(
    ("counter", "gauge", "summary", "histogram", "gaugehistogram", "unknown", "info", "stateset",
     "untyped")
)


def text_fd_to_metric_families(fd: Iterable[str]) -> Iterator[Metric]:
    """Parse Prometheus text from a file-like object (any iterable of lines) family by family."""
    name = ""
    documentation = ""
    typ = "untyped"
    samples: List[Sample] = []
    allowed: Tuple[str, ...] = ()
    lineno = 0
    line = ""
    shapes: Dict[_Shape, re.Pattern[str]] = {}
    spec: Optional[re.Pattern[str]] = None  # the pattern of the last shape read
    spec_name = ""
    spec_i = 0  # group number of the integer value in ``spec``
    try:
        for lineno, raw in enumerate(fd, 1):  # noqa: B007 - read in the except clause
            line = raw.strip()
            if not line:
                continue
            if line[0] != "#":
                m = spec.match(line) if spec is not None and len(line) < _FAST_MAX else None
                if m is not None:
                    iv, fv, ts = m.group(spec_i, spec_i + 1, spec_i + 2)
                    sample = _new_sample(Sample, (
                        spec_name, m.groupdict(), int(iv) if iv is not None else float(fv),
                        None if ts is None else int(ts) / 1000, None, None))
                else:
                    sample = _parse_sample(line)
                    if len(line) < _FAST_MAX:
                        shape = (sample.name, tuple(sample.labels))
                        found = shapes.get(shape)
                        if found is None:
                            if len(shapes) < _SHAPES_MAX and _FAST_SAMPLE_RE.match(line) is not None:
                                found = shapes[shape] = _shape_pattern(*shape)
                        if found is not None:
                            spec, spec_name, spec_i = found, shape[0], len(shape[1]) + 1
                if sample.name in allowed:
                    samples.append(sample)
                else:
                    if name:
                        yield _build(name, documentation, typ, samples)
                    name, documentation, typ, samples, allowed = "", "", "untyped", [], ()
                    yield _build(sample.name, "", "untyped", [sample])
                continue
            parts = split_comment(line)
            if parts is None:
                continue
            keyword, mname, rest = parts
            if not mname:
                if name:
                    yield _build(name, documentation, typ, samples)
                name, documentation, typ, samples, allowed = "", "", "untyped", [], ()
                continue
            if mname != name:
                if name:
                    yield _build(name, documentation, typ, samples)
                name, documentation, typ, samples = mname, "", "untyped", []
                allowed = (mname,)
            if keyword == "HELP":
                documentation = unescape_help_text(rest)
            else:
                typ = rest
                allowed = _allowed(mname, typ)
        if name:
            yield _build(name, documentation, typ, samples)
    except LineError as e:
        raise line_error(_FMT, lineno, line, e.rule) from None
    except ValueError as e:  # e.g. from int()/float() limits; still name the line
        raise line_error(_FMT, lineno, line, str(e)) from None


def text_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Parse Prometheus text held in a string; yields one Metric per family."""
    yield from text_fd_to_metric_families(io.StringIO(text))


def parse_labels(labels_string: str, openmetrics: bool = False) -> Dict[str, str]:
    """Parse the inside of a label block (without the braces) into a dict."""
    if openmetrics:
        from .om_lines import _parse_om_labels_body

        return _parse_om_labels_body(labels_string)
    try:
        labels, name, end = _scan_labels(labels_string + "}", 0)
    except LineError as e:
        raise ValueError(f"Invalid labels: {labels_string!r}: {e.rule}") from None
    if end != len(labels_string) + 1:
        raise ValueError(f"Invalid labels: {labels_string!r}: text after the labels")
    if name is not None:
        labels = dict(labels, __name__=name)
    return labels
