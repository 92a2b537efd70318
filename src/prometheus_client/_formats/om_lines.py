"""OpenMetrics text, line by line: numbers, timestamps, label sets, native-histogram values,
sample lines, exemplars and metadata lines (shared by the 1.0 parser and ``_om2_parser``)."""

import math
import re
from typing import Any, Dict, List, NoReturn, Optional, Tuple, Union

from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from .parse_common import (
    LEGACY_METRIC_NAME_RE,
    MAX_INT_DIGITS,
    OM_LABEL_NAME_AT_RE,
    LineError,
    fail,
    read_quoted,
)

_FMT = "OpenMetrics"

_TS = Union[float, Timestamp, None]

# Sample names each type allows, as suffixes of the family name.
_SUFFIXES: Dict[str, Tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created", ""),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "info": ("_info",),
    "stateset": ("",),
    "gauge": ("",),
    "unknown": ("",),
}
# Names a family claims besides its own (another family may not use them).
_CLAIMED: Dict[str, Tuple[str, ...]] = {
    "counter": ("_total", "_created"),
    "summary": ("_count", "_sum", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "gaugehistogram": ("_bucket", "_gcount", "_gsum"),
    "info": ("_info",),
}

# Plain sample lines, fully validated by the pattern (legacy names, unescaped label values,
# no exemplar); everything else takes the general path.
_LABEL = r'(?!__)[a-zA-Z_][a-zA-Z0-9_]*="[^"\\]*"'
# A value the fast paths convert directly: group 1 an int (as the reference reads integers),
# group 2 a float spelling; anything else (signed ints, odd spellings) takes the general path.
_FAST_VALUE = (r"(?:([0-9]{1,18})|([+-]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
               r"|[+-]?[0-9]+[eE][+-]?[0-9]+|[+-]Inf|NaN))")
# Longer lines go straight to the general path (no sample line is this long in practice).
_FAST_MAX = 8192
_FAST_SAMPLE_RE = re.compile(
    r"([a-zA-Z_:][a-zA-Z0-9_:]*)"
    rf"(?:\{{((?:{_LABEL}(?:,{_LABEL})*)?)\}})?"
    rf" {_FAST_VALUE}"
    r"(?: ([0-9]{1,18}))?\Z"
)
_FAST_PAIR_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"')
# One plain exemplar in a native histogram's list, followed by the next one or the line end.
_FAST_EXEMPLAR_RE = re.compile(
    rf"\{{((?:{_LABEL}(?:,{_LABEL})*)?)\}} {_FAST_VALUE}(?: ([0-9]{{1,18}}))?(?= # \{{|\Z)"
)

# Numbers as the OpenMetrics ABNF defines them (case-insensitive literals).
_REALNUMBER_RE = re.compile(
    r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z"
    r"|[+-]?(?:[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)\Z"
    r"|[nN][aA][nN]\Z"
)
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL_RE = re.compile(r"([+-]?[0-9]+)\.([0-9]*)\Z")


def _number(tok: str, what: str = "value") -> float:
    """An OpenMetrics number: int when written as an integer (like the reference), else float."""
    if tok.isdigit() and tok.isascii() and len(tok) < 19:
        return int(tok)
    if _REALNUMBER_RE.match(tok) is None:
        fail(f"invalid {what} {tok!r} (not an OpenMetrics number)")
    if _INT_RE.match(tok) and len(tok) <= MAX_INT_DIGITS:
        try:
            return int(tok)
        except ValueError:  # more digits than int() converts: a float, like the reference
            pass
    return float(tok)


def _timestamp(tok: str) -> _TS:
    """Seconds; integers and plain decimals keep nanosecond precision as a Timestamp."""
    if tok.isdigit() and tok.isascii() and len(tok) < 19:
        return Timestamp(int(tok), 0)
    if _REALNUMBER_RE.match(tok) is None:
        fail(f"invalid timestamp {tok!r}")
    try:
        if len(tok) > MAX_INT_DIGITS:
            raise ValueError(tok)
        if _INT_RE.match(tok):
            return Timestamp(int(tok), 0)
        m = _DECIMAL_RE.match(tok)
        sec = int(m.group(1)) if m is not None else 0
    except ValueError:  # more digits than int() converts
        fail(f"invalid timestamp {tok[:30]!r}... (too many digits)")
    if m is not None:
        sec_s, frac = m.groups()
        nsec = int(frac[:9].ljust(9, "0")) if frac else 0
        if sec == 0 and sec_s[0] == "-" and nsec:
            # Timestamp cannot carry -0.x; keep the sign with a float.
            return -float(f"0.{frac}")
        return Timestamp(sec, nsec)
    f = float(tok)
    if math.isnan(f) or math.isinf(f):
        fail(f"invalid timestamp {tok!r} (must be finite)")
    return f


def _ts_key(ts: _TS) -> int:
    """Exact ordering key in nanoseconds (Timestamps keep all nine digits)."""
    if ts is None:
        return 0
    if isinstance(ts, Timestamp):
        return ts.sec * 1_000_000_000 + ts.nsec
    return int(ts * 1e9) if -1e17 < ts < 1e17 else int(ts) * 1_000_000_000


# ---------------------------------------------------------------------------------------------
# Labels


def _label_fail(line: str, pos: int, rule: str) -> NoReturn:
    if pos < len(line) and line[pos].isspace():
        fail("whitespace inside a label set (OpenMetrics allows spaces only after '{', around ',' "
             "and before '}')")
    fail(rule)


def _skip_ws(line: str, pos: int, n: int, lenient: bool) -> int:
    """Index of the first character at or after ``pos`` that is not a space or tab (the
    optional whitespace the reference reads after ``{``, around ``,`` and before ``}``)."""
    if lenient:
        while pos < n and (line[pos] == " " or line[pos] == "\t"):
            pos += 1
    return pos


def _parse_labels_at(
    line: str, pos: int, lenient: bool = True
) -> Tuple[Dict[str, str], Optional[str], int]:
    """Labels whose ``{`` is at ``pos``: (labels, quoted metric name inside or None, end).

    ``lenient`` (OpenMetrics 1.0, as the reference parser reads it): spaces and tabs may
    follow ``{``, surround ``,`` and precede ``}``. OpenMetrics 2.0 allows none.
    """
    n = len(line)
    pos = _skip_ws(line, pos + 1, n, lenient)
    labels: Dict[str, str] = {}
    name: Optional[str] = None
    if pos < n and line[pos] == "}":
        return labels, None, pos + 1
    first = True
    while True:
        if pos >= n:
            fail("missing '}' at the end of the labels")
        c = line[pos]
        if c == '"':
            key, pos = read_quoted(line, pos, "unterminated quoted name")
            if pos < n and line[pos] != "=":
                if not first or name is not None:
                    fail("a quoted metric name must come first inside the braces")
                name = key
                first = False
                pos = _skip_ws(line, pos, n, lenient)
                if pos < n and line[pos] == "}":
                    return labels, name, pos + 1
                if pos >= n or line[pos] != ",":
                    _label_fail(line, pos, "expected ',' or '}' after the metric name")
                pos = _skip_ws(line, pos + 1, n, lenient)
                if pos < n and line[pos] == "}":
                    fail("trailing ',' after the last label")
                continue
        else:
            nm = OM_LABEL_NAME_AT_RE.match(line, pos)
            if nm is None:
                if c == ":":
                    fail("':' is not allowed in OpenMetrics label names")
                _label_fail(line, pos, "invalid label name")
            key = nm.group(0)
            pos = nm.end()
            if pos < n and line[pos] == ":":
                fail("':' is not allowed in OpenMetrics label names")
        if pos >= n or line[pos] != "=":
            if pos < n and line[pos] not in ',}"':
                _label_fail(line, pos, f"invalid character {line[pos]!r} in label name {key!r}")
            _label_fail(line, pos, f"expected '=' after label name {key!r}")
        pos += 1
        if pos >= n or line[pos] != '"':
            _label_fail(line, pos, f"value of label {key!r} must be a double-quoted string")
        value, pos = read_quoted(line, pos, f"unterminated value of label {key!r}")
        pos = _skip_ws(line, pos, n, lenient)
        if key.startswith("__"):
            fail(f"label name {key!r} is reserved (starts with '__')")
        if key in labels:
            fail(f"duplicate label name {key!r}")
        labels[key] = value
        first = False
        if pos >= n:
            fail("missing '}' at the end of the labels")
        c = line[pos]
        if c == "}":
            return labels, name, pos + 1
        if c != ",":
            _label_fail(line, pos, "labels must be separated by ','")
        pos = _skip_ws(line, pos + 1, n, lenient)
        if pos < n and line[pos] == "}":
            fail("trailing ',' after the last label")
        if pos < n and line[pos].isspace():
            _label_fail(line, pos, "")


def _parse_om_labels_body(body: str) -> Dict[str, str]:
    try:
        labels, name, end = _parse_labels_at("{" + body + "}", 0)
    except LineError as e:
        raise ValueError(f"Invalid labels: {body!r}: {e.rule}") from None
    if end != len(body) + 2 or name is not None:
        raise ValueError(f"Invalid labels: {body!r}")
    return labels


# ---------------------------------------------------------------------------------------------
# Native histograms: {count:C,sum:S,schema:N,zero_threshold:Z,zero_count:ZC[,..._spans:[o:l,...]][,..._deltas:[d,...]]}

_NH_ITEM_RE = re.compile(r"([a-z_]+):(\[[^\[\]{}]*\]|[^,\[\]{}]*)")
_NH_INT_RE = re.compile(r"-?[0-9]+\Z")
_NH_SCALARS = ("count", "sum", "schema", "zero_threshold", "zero_count")
_NH_LISTS = ("positive_spans", "negative_spans", "positive_deltas", "negative_deltas")


def _nh_int(tok: str, what: str) -> int:
    if _NH_INT_RE.match(tok) is None or len(tok) > 40:
        fail(f"native histogram {what} must be an integer, got {tok[:50]!r}")
    return int(tok)


def _parse_native(text: str, pos: int) -> Tuple[NativeHistogram, int]:
    """The ``{key:value,...}`` native histogram value starting at ``text[pos] == '{'``."""
    n = len(text)
    pos += 1
    items: Dict[str, str] = {}
    while True:
        m = _NH_ITEM_RE.match(text, pos)
        if m is None:
            fail("invalid native histogram value (expected key:value)")
        key, val = m.groups()
        if key not in _NH_SCALARS and key not in _NH_LISTS:
            fail(f"unknown native histogram field {key!r}")
        if key in items:
            fail(f"native histogram field {key!r} given twice")
        items[key] = val
        pos = m.end()
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        if pos < n and text[pos] == "}":
            pos += 1
            break
        fail("invalid native histogram value (expected ',' or '}')")
    for key in _NH_SCALARS:
        if key not in items:
            fail(f"native histogram value without {key!r}")
        if items[key].startswith("["):
            fail(f"native histogram {key!r} must be a number")
    count = _nh_int(items["count"], "count")
    sum_v = float(_number(items["sum"], "native histogram sum"))
    schema = _nh_int(items["schema"], "schema")
    zt = float(_number(items["zero_threshold"], "native histogram zero_threshold"))
    zc = _nh_int(items["zero_count"], "zero_count")
    lists: Dict[str, Any] = {}
    for key in _NH_LISTS:
        raw = items.get(key)
        if raw is None:
            continue
        if not raw.startswith("["):
            fail(f"native histogram {key!r} must be a [list]")
        body = raw[1:-1]
        if not body:
            continue  # an empty list reads as absent, like the reference
        if key.endswith("_spans"):
            spans = []
            for item in body.split(","):
                o, sep, ln = item.partition(":")
                if not sep:
                    fail("native histogram span must be offset:length")
                spans.append(BucketSpan(_nh_int(o, "span offset"), _nh_int(ln, "span length")))
            lists[key] = tuple(spans)
        else:
            lists[key] = tuple(_nh_int(d, "delta") for d in body.split(","))
    nh = NativeHistogram(
        count, sum_v, schema, zt, zc,
        lists.get("positive_spans"), lists.get("negative_spans"),
        lists.get("positive_deltas"), lists.get("negative_deltas"),
    )
    return nh, pos


# ---------------------------------------------------------------------------------------------
# Sample lines


def _parse_sample_line(line: str) -> Tuple[Sample, bool]:
    """A sample line (without LF) -> (sample, quoted name?)."""
    n = len(line)
    brace = -1
    quoted = False
    if line[0] == "{":
        brace = 0
        name = ""
    else:
        name = line.split(" ", 1)[0].split("{", 1)[0]
        if LEGACY_METRIC_NAME_RE.match(name) is None:
            if any(c.isspace() for c in name):
                fail("whitespace in the metric name (only single spaces separate tokens)")
            fail(f"invalid metric name {name[:50]!r}")
        if len(name) < n and line[len(name)] == "{":
            brace = len(name)
    labels: Optional[Dict[str, str]]
    if brace >= 0:
        labels, inner, pos = _parse_labels_at(line, brace)
        if inner is not None:
            if name:
                fail("metric name given more than once")
            name = inner
            quoted = True
            if not labels and line.startswith(" {", pos):
                labels = None  # `{"name"} {count:...}`: no label set, as the reference reads it
        if not name:
            fail("missing metric name")
    else:
        labels = None
        pos = len(name)
    if pos >= n or line[pos] != " ":
        fail("expected a single space before the value")
    pos += 1
    if pos < n and line[pos] == "{":
        # Native histogram value, then an optional timestamp and exemplars.
        nh, pos = _parse_native(line, pos)
        nts: _TS = None
        exemplars: List[Exemplar] = []
        if pos < n:
            if line[pos] != " ":
                fail("unexpected text after the native histogram value")
            pos += 1
            if not line.startswith("# ", pos):
                sp = line.find(" ", pos)
                nts = _timestamp(line[pos:] if sp < 0 else line[pos:sp])
                pos = n if sp < 0 else sp + 1
            while pos < n:
                if not line.startswith("# {", pos):
                    fail("unexpected text after the native histogram value")
                ex, pos = _parse_exemplar_in_list(line, pos + 2)
                exemplars.append(ex)
        if exemplars:
            nh = nh._replace(nh_exemplars=tuple(exemplars))
        return Sample(name, labels, None, nts, None, nh), quoted  # type: ignore[arg-type]
    if labels is None:
        labels = {}
    sp = line.find(" ", pos)
    if sp < 0:
        return Sample(name, labels, _number(line[pos:])), quoted
    value = _number(line[pos:sp])
    pos = sp + 1
    if line[pos:pos + 1] == " ":
        fail("expected a single space before the timestamp or exemplar")
    ts: _TS = None
    exemplar = None
    if line.startswith("# ", pos):
        exemplar = _parse_exemplar(line, pos + 2)
    else:
        sp = line.find(" ", pos)
        if sp < 0:
            ts = _timestamp(line[pos:])
        else:
            ts = _timestamp(line[pos:sp])
            pos = sp + 1
            if not line.startswith("# ", pos):
                fail("unexpected text after the timestamp")
            exemplar = _parse_exemplar(line, pos + 2)
    return Sample(name, labels, value, ts, exemplar), quoted


def _parse_exemplar_in_list(line: str, pos: int) -> Tuple[Exemplar, int]:
    """One of the exemplars after a native histogram value: (exemplar, index after it)."""
    m = _FAST_EXEMPLAR_RE.match(line, pos)
    if m is not None:
        body, iv, fv, ts = m.groups()
        labels: Dict[str, str] = {}
        if body:
            pairs = _FAST_PAIR_RE.findall(body)
            labels = dict(pairs)
            if len(labels) != len(pairs):
                fail("duplicate label name in an exemplar")
            if sum(len(k) + len(v) for k, v in pairs) > 128:
                fail("exemplar labels have more than the limit of 128 characters")
        v: float = int(iv) if iv is not None else float(fv)
        return Exemplar(labels, v, Timestamp(int(ts), 0) if ts is not None else None), m.end() + 1
    if line[pos:pos + 1] != "{":
        fail("exemplar must be '# {labels} value [timestamp]'")
    labels, inner, end = _parse_labels_at(line, pos)
    nxt = line.find(" # {", end)
    if nxt < 0:
        nxt = len(line)
    return _exemplar_rest(line, labels, inner, end, nxt), nxt + 1


def _parse_exemplar(line: str, pos: int) -> Exemplar:
    """The exemplar whose ``{`` is at ``pos`` and which runs to the end of the line."""
    if pos >= len(line) or line[pos] != "{":
        fail("exemplar must be '# {labels} value [timestamp]'")
    labels, inner, end = _parse_labels_at(line, pos)
    return _exemplar_rest(line, labels, inner, end, len(line))


def _exemplar_rest(line: str, labels: Dict[str, str], inner: Optional[str], pos: int, end: int) -> Exemplar:
    if inner is not None:
        fail("exemplar labels cannot carry a metric name")
    runes = sum(len(k) + len(v) for k, v in labels.items())
    if runes > 128:
        fail(f"exemplar labels have {runes} characters, more than the limit of 128")
    if pos >= end or line[pos] != " ":
        fail("expected a single space before the exemplar value")
    rest = line[pos + 1:end].split(" ")
    if len(rest) > 2:
        fail("unexpected text after the exemplar")
    value = _number(rest[0], "exemplar value")
    ts = _timestamp(rest[1]) if len(rest) == 2 else None
    return Exemplar(labels, value, ts)


def _fast_sample(line: str) -> Optional[Sample]:
    m = _FAST_SAMPLE_RE.match(line) if len(line) < _FAST_MAX else None
    if m is None:
        return None
    name, body, iv, fv, ts = m.groups()
    if body:
        pairs = _FAST_PAIR_RE.findall(body)
        labels = dict(pairs)
        if len(labels) != len(pairs):
            return None
    else:
        labels = {}
    v: float = int(iv) if iv is not None else float(fv)
    if ts is None:
        return Sample(name, labels, v)
    return Sample(name, labels, v, Timestamp(int(ts), 0))


# ---------------------------------------------------------------------------------------------
# Metadata


def _parse_metadata(line: str) -> Tuple[str, str, str]:
    """``# HELP|TYPE|UNIT name value`` -> (keyword, name, value)."""
    keyword = line[2:6]
    if line[1:2] != " " or keyword not in ("HELP", "TYPE", "UNIT") or line[6:7] != " ":
        fail("metadata line: comments are not allowed; '#' lines must be "
             "'# HELP|TYPE|UNIT name value' or '# EOF'")
    pos = 7
    if line[pos:pos + 1] == '"':
        name, pos = read_quoted(line, pos, "metadata line: unterminated quoted metric name")
    else:
        sp = line.find(" ", pos)
        end = len(line) if sp < 0 else sp
        name = line[pos:end]
        if LEGACY_METRIC_NAME_RE.match(name) is None:
            fail("metadata line: invalid metric name (single spaces separate the tokens)")
        pos = end
    if line[pos:pos + 1] != " ":
        fail(f"metadata line: {keyword} needs a space and a value after the metric name")
    value = line[pos + 1:]
    if keyword != "HELP" and value.startswith(" "):
        fail(f"metadata line: only one space is allowed between the metric name and the {keyword} value")
    return keyword, name, value


# ---------------------------------------------------------------------------------------------
# Family state and checks


