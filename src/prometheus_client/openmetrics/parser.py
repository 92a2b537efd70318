"""Strict parser for the OpenMetrics 1.0 text format.

``text_string_to_metric_families(text)`` / ``text_fd_to_metric_families(fd)`` yield one
:class:`~prometheus_client.metrics_core.Metric` per family as soon as the family is complete
(memory stays bounded by one family). The exposition must end with ``# EOF``.

Every rejection is a ``ValueError`` naming the line number, the rule broken and the line.
Parsing is linear in the input (no backtracking regular expressions).
"""

import io
import math
import re
from typing import Any, Dict, FrozenSet, Iterable, Iterator, List, NoReturn, Optional, Set, Tuple, Union

from .._parse_common import (
    LEGACY_METRIC_NAME_RE,
    MAX_INT_DIGITS,
    OM_LABEL_NAME_AT_RE,
    LineError,
    fail,
    line_error,
    read_quoted,
    unescape,
)
from ..metrics_core import METRIC_TYPES, Metric
from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp

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
        fail("whitespace inside a label set (OpenMetrics allows none)")
    fail(rule)


def _parse_labels_at(line: str, pos: int) -> Tuple[Dict[str, str], Optional[str], int]:
    """Labels whose ``{`` is at ``pos``: (labels, quoted metric name inside or None, end)."""
    n = len(line)
    pos += 1
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
                if line[pos] == "}":
                    return labels, name, pos + 1
                if line[pos] != ",":
                    _label_fail(line, pos, "expected ',' or '}' after the metric name")
                pos += 1
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
        pos += 1
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


class _Family:
    __slots__ = (
        "name", "type", "unit", "help", "seen_meta", "samples", "allowed", "has_samples",
        "group_labels", "group_has_ts", "groups_seen", "group_ts", "group_ids", "group_samples",
        "check",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = "unknown"
        self.unit = ""
        self.help = ""
        self.seen_meta: Set[str] = set()
        self.samples: List[Sample] = []
        self.allowed: FrozenSet[str] = frozenset((name,))
        self.has_samples = False
        self.group_labels: Optional[Dict[str, str]] = None
        self.group_has_ts = False  # whether the current label set carries timestamps
        self.groups_seen: Set[Any] = set()
        self.group_ts = 0
        self.group_ids: Set[Any] = set()
        self.group_samples: List[Sample] = []
        self.check = False

    def set_type(self, typ: str) -> None:
        self.type = typ
        self.allowed = frozenset(self.name + s for s in _SUFFIXES[typ])
        self.check = typ not in ("gauge", "unknown")


def _group_labels(fam: _Family, s: Sample) -> Tuple[Dict[str, str], Optional[str]]:
    """The labels identifying the sample's label set, and the label value that varies inside it
    (``le`` of a bucket, ``quantile`` of a quantile, the state of a stateset)."""
    labels = s.labels
    t = fam.type
    if t == "histogram" or t == "gaugehistogram":
        key = "le" if s.name.endswith("_bucket") else ""
    elif t == "summary":
        key = "quantile" if s.name == fam.name else ""
    elif t == "stateset":
        key = fam.name
    else:
        return labels, None
    if key not in labels:
        return labels, None
    labels = dict(labels)
    return labels, labels.pop(key)


def _check_sample(fam: _Family, s: Sample) -> None:
    """Per-sample type rules (value, labels, exemplar)."""
    t = fam.type
    name = s.name
    suffix = name[len(fam.name):]
    v = s.value
    if s.native_histogram is not None:
        if t != "histogram" or suffix != "":
            fail("native histogram values are only allowed on histogram samples named like the family")
        return
    if s.exemplar is not None and not (
        (t == "counter" and suffix == "_total")
        or ((t == "histogram" or t == "gaugehistogram") and suffix == "_bucket")
    ):
        fail("only counter _total and histogram _bucket samples can have exemplars")
    if t == "counter":
        if suffix == "_total":
            _counter_like(v)
    elif t == "histogram" or t == "gaugehistogram":
        if suffix == "_bucket":
            le = s.labels.get("le")
            if le is None:
                fail("histogram _bucket sample without an 'le' label")
            _le_value(le)
            _counter_like(v)
            _integral(v, "bucket")
        elif suffix == "_count" or suffix == "_gcount":
            _counter_like(v)
            _integral(v, "count")
        elif suffix == "_sum":
            _counter_like(v)
        elif suffix == "_gsum":
            if v != v:
                fail("_gsum cannot be NaN")
        elif suffix == "":
            fail("histogram sample named like the family must carry a native histogram value")
    elif t == "summary":
        if suffix == "":
            q = s.labels.get("quantile")
            if q is None:
                fail("summary quantile sample without a 'quantile' label")
            try:
                qv = float(_number(q, "quantile"))
            except LineError:
                fail(f"invalid quantile {q!r}")
            if not 0 <= qv <= 1:
                fail(f"quantile {q!r} outside [0, 1]")
            if v < 0:
                fail("quantile values cannot be negative")
        elif suffix == "_count":
            _counter_like(v)
            _integral(v, "count")
        elif suffix == "_sum":
            _counter_like(v)
    elif t == "info":
        if v != 1:
            fail("info samples must have the value 1")
    elif t == "stateset":
        if v != 0 and v != 1:
            fail("stateset samples must have the value 0 or 1")
        if fam.name not in s.labels:
            fail(f"stateset sample without the {fam.name!r} label")


def _counter_like(v: float) -> None:
    if v != v:
        fail("counter-like samples cannot be NaN")
    if v < 0:
        fail("counter-like samples cannot be negative")


def _integral(v: float, what: str) -> None:
    if not isinstance(v, int) and not float(v).is_integer():
        fail(f"{what} values must be integers")


def _le_value(le: str) -> float:
    try:
        f = float(_number(le, "le"))
    except LineError:
        fail(f"invalid le label {le!r}")
    if f != f:
        fail("le label cannot be NaN")
    if f == math.inf and le != "+Inf":
        fail(f"the +Inf bucket must be spelled le=\"+Inf\", not {le!r}")
    return f


def _check_histogram_group(fam: _Family, samples: List[Sample]) -> None:
    """Cross-sample rules for one histogram / gauge histogram label set."""
    if all(s.native_histogram is not None for s in samples):
        return
    gauge = fam.type == "gaugehistogram"
    buckets: List[Tuple[float, float]] = []
    count: Optional[float] = None
    has_sum = False
    sum_v: Optional[float] = None
    name = fam.name
    for s in samples:
        suffix = s.name[len(name):]
        if suffix == "_bucket":
            buckets.append((_le_value(s.labels["le"]), s.value))
        elif suffix == ("_gcount" if gauge else "_count"):
            count = s.value
        elif suffix == ("_gsum" if gauge else "_sum"):
            has_sum = True
            sum_v = s.value
    if not buckets or buckets[-1][0] != math.inf:
        fail(f"+Inf bucket missing in histogram {name!r}")
    prev_le = -math.inf
    prev_v: float = 0
    for i, (le, v) in enumerate(buckets):
        if i and le <= prev_le:
            fail(f"buckets of histogram {name!r} are not in increasing 'le' order")
        if v < prev_v:
            fail(f"bucket values of histogram {name!r} are not cumulative (they decrease)")
        prev_le, prev_v = le, v
    if count is not None and not has_sum:
        fail(f"histogram {name!r} has a count but no sum")
    if has_sum and count is None:
        fail(f"histogram {name!r} has a sum but no count")
    if count is not None and count != buckets[-1][1]:
        fail(f"count of histogram {name!r} does not match its +Inf bucket")
    negative = buckets[0][0] < 0
    if has_sum and negative and not gauge:
        fail(f"histogram {name!r} has negative buckets, so it cannot have a _sum")
    if gauge and has_sum and not negative and sum_v is not None and sum_v < 0:
        fail(f"gauge histogram {name!r} has a negative _gsum but no negative buckets")


def _end_group(fam: _Family) -> None:
    if fam.group_samples and (fam.type == "histogram" or fam.type == "gaugehistogram"):
        _check_histogram_group(fam, fam.group_samples)
    fam.group_samples = []


def _add_sample(fam: _Family, s: Sample) -> None:
    if fam.check:
        _check_sample(fam, s)
    elif s.exemplar is not None:
        fail("only counter _total and histogram _bucket samples can have exemplars")
    elif s.native_histogram is not None:
        fail("native histogram values are only allowed on histogram samples named like the family")
    if s.native_histogram is not None:
        fam.samples.append(s)  # native histogram points are not grouped (like the reference)
        return
    ts = _ts_key(s.timestamp)
    labels, varying = _group_labels(fam, s)
    has_ts = s.timestamp is not None
    if labels != fam.group_labels or fam.group_labels is None:
        key = frozenset(labels.items())
        if key in fam.groups_seen:
            fail("samples of one label set must be contiguous (invalid metric grouping)")
        _end_group(fam)
        fam.groups_seen.add(key)
        fam.group_labels = labels
        fam.group_ts = ts
        fam.group_has_ts = has_ts
        fam.group_ids = set()
    else:
        if has_ts != fam.group_has_ts:
            fail("some samples of this label set have timestamps and others do not")
        if ts < fam.group_ts:
            fail("timestamps went backwards within a label set")
        ident = (s.name, varying)
        if ident in fam.group_ids and ts == fam.group_ts:
            return  # a repeated point: dropped, as the reference does
        if ts != fam.group_ts:
            _end_group(fam)  # a new point of the same label set
        fam.group_ts = ts
    fam.group_ids.add((s.name, varying))
    fam.group_samples.append(s)
    fam.samples.append(s)


def _finish(fam: _Family) -> Metric:
    _end_group(fam)
    if fam.unit and fam.type in ("info", "stateset"):
        fail(f"{fam.type} metric {fam.name!r} cannot have a unit")
    m = Metric(fam.name, fam.help, fam.type, fam.unit)
    m.samples = fam.samples
    return m


# ---------------------------------------------------------------------------------------------
# Driver


def text_fd_to_metric_families(fd: Iterable[str]) -> Iterator[Metric]:
    """Parse OpenMetrics from a file-like object (any iterable of lines) family by family."""
    fam: Optional[_Family] = None
    claimed: Set[str] = set()
    eof = False
    lineno = 0
    line = ""
    try:
        for lineno, line in enumerate(fd, 1):  # noqa: B007 - read in the except clause
            if eof:
                fail("nothing may follow '# EOF'")
            if line.endswith("\n"):
                line = line[:-1]
            elif line != "# EOF":
                fail("line does not end with a newline (is the exposition truncated?)")
            if not line:
                fail("blank lines are not allowed")
            if line[0] == "#":
                if line == "# EOF":
                    eof = True
                    continue
                keyword, mname, value = _parse_metadata(line)
                if fam is None or mname != fam.name:
                    if mname in claimed:
                        fail(f"metric family name {mname!r} clashes with an earlier family")
                    if fam is not None:
                        yield _finish(fam)
                    fam = _Family(mname)
                    claimed.add(mname)
                if fam.has_samples:
                    fail("metadata must come before the samples of its family")
                if keyword in fam.seen_meta:
                    fail(f"more than one {keyword} line for {mname!r}")
                fam.seen_meta.add(keyword)
                if keyword == "HELP":
                    fam.help = unescape(value)
                elif keyword == "TYPE":
                    if value not in METRIC_TYPES:
                        fail(f"invalid metric type {value!r}")
                    for sfx in _CLAIMED.get(value, ()):
                        if mname + sfx in claimed:
                            fail(f"metric family {mname!r} clashes with an earlier family "
                                 f"named {mname + sfx!r}")
                    claimed.update(mname + sfx for sfx in _CLAIMED.get(value, ()))
                    fam.set_type(value)
                    if fam.unit and value in ("info", "stateset"):
                        fail(f"{value} metrics cannot have a unit")
                else:
                    if value:
                        if not mname.endswith("_" + value):
                            fail(f"metric name {mname!r} does not end with its unit '_{value}'")
                        if fam.type in ("info", "stateset"):
                            fail(f"{fam.type} metrics cannot have a unit")
                    fam.unit = value
                continue
            sample = _fast_sample(line)
            quoted = False
            if sample is None:
                sample, quoted = _parse_sample_line(line)
            if fam is None or sample.name not in fam.allowed:
                sname = sample.name
                if quoted:
                    fail(f"sample {sname!r} does not belong to a declared family")
                if sname in claimed:
                    fail(f"sample {sname!r} does not fit its family and clashes with an earlier one")
                if fam is not None:
                    yield _finish(fam)
                fam = _Family(sname)
                claimed.add(sname)
            fam.has_samples = True
            _add_sample(fam, sample)
        if not eof:
            lineno += 1
            line = ""
            fail("missing '# EOF' at the end")
        if fam is not None:
            yield _finish(fam)
    except LineError as e:
        raise line_error(_FMT, lineno, line, e.rule) from None
    except ValueError as e:  # e.g. from int()/float() limits; still name the line
        raise line_error(_FMT, lineno, line, str(e)) from None


def text_string_to_metric_families(text: str) -> Iterator[Metric]:
    """Parse an OpenMetrics exposition held in a string; yields one Metric per family."""
    yield from text_fd_to_metric_families(io.StringIO(text))
