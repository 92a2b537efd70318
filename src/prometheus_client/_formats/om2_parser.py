"""Strict parser for OpenMetrics 2.0.0 (rc0) text; ``parser.text_string_to_metric_families(
text, version="2.0.0")``.

Each family becomes the :class:`Metric` the 1.0 parser gives for the same data, so code that
reads parsed families works with either version (docs/openmetrics-2.md has the full mapping):
a counter family ``foo_total`` is Metric ``foo`` with samples ``foo_total`` and, from ``st@``,
``foo_created``; info ``foo_info`` is Metric ``foo``; a composite value expands to the
``_bucket``/``_count``/``_sum`` (``_gcount``/``_gsum``) or ``{quantile=…}`` samples; native
buckets become spans and deltas in a NativeHistogram. Several exemplars on a classic histogram
go to the bucket each falls in (the latest wins a bucket); on a native-only histogram to
``nh_exemplars``; on a counter the latest is kept.

Every rejection is a ``ValueError`` naming the line number, the rule broken and the line.
Linear in the input: every scan moves forward (no backtracking patterns).
"""

import bisect
import math
import re
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Sequence, Set, Tuple, Union, cast

from ..metrics_core import METRIC_TYPES, Metric
from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from .om_lines import _number, _parse_labels_at, _parse_metadata, _timestamp, _ts_key
from .parse_common import LineError, fail, line_error, native_histogram_sample, unescape

_FMT = "OpenMetrics 2.0"
_COMPOSITE = ("histogram", "gaugehistogram", "summary")
# unknown: the draft's own examples put st@ and exemplars on lines without metadata
_WITH_START = ("counter", "histogram", "summary", "unknown")
_WITH_EXEMPLARS = ("counter", "histogram", "gaugehistogram", "unknown")
_NAME_AT_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_SCALAR_RE = re.compile(r"[^,\[\]]*")
_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_NONNEG_RE = re.compile(r"\+?[0-9]+\Z")


# -- composite values -------------------------------------------------------------------


class Composite:
    """A parsed ``{…}`` value. ``kind``: histogram, gaugehistogram or summary."""

    __slots__ = ("kind", "count", "sum", "quantiles", "buckets", "native")

    def __init__(self, kind: str, count: float, total: float) -> None:
        self.kind = kind
        self.count = count
        self.sum = total
        self.quantiles: List[Tuple[str, float]] = []
        self.buckets: List[Tuple[str, float]] = []  # (threshold token, cumulative count)
        self.native: Optional[NativeHistogram] = None


class _Reader:
    """Reads the keys of a composite value in their fixed order."""

    __slots__ = ("text", "pos")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def at(self, key: str) -> bool:
        return self.text.startswith(key, self.pos)

    def _sep(self) -> None:
        if self.pos < len(self.text):
            if self.text[self.pos] != ",":
                fail(f"expected ',' at offset {self.pos} of the composite value")
            self.pos += 1

    def scalar(self, key: str) -> str:
        if not self.text.startswith(key + ":", self.pos):
            fail(f"composite value: expected '{key}:' at offset {self.pos}")
        m = _SCALAR_RE.match(self.text, self.pos + len(key) + 1)
        assert m is not None
        self.pos = m.end()
        self._sep()
        return m.group(0)

    def items(self, key: str) -> List[str]:
        if not self.text.startswith(key + ":[", self.pos):
            fail(f"composite value: expected '{key}:[' at offset {self.pos}")
        start = self.pos + len(key) + 2
        end = self.text.find("]", start)
        if end < 0:
            fail(f"composite value: unterminated '{key}' list")
        self.pos = end + 1
        self._sep()
        body = self.text[start:end]
        return body.split(",") if body else []


def _pairs(items: List[str], what: str) -> List[Tuple[str, str]]:
    out = []
    for item in items:
        k, sep, v = item.partition(":")
        if not sep:
            fail(f"{what} entries must be key:value, got {item[:40]!r}")
        out.append((k, v))
    return out


def _real(tok: str, what: str) -> float:
    v = float(_number(tok, what))
    if math.isnan(v) or math.isinf(v) or tok.lstrip("+-")[:1].isalpha():
        fail(f"{what} must be a finite real number, got {tok[:40]!r}")
    return v


def _int(tok: str, what: str, nonneg: bool = False) -> int:
    if (_NONNEG_RE if nonneg else _INT_RE).match(tok) is None or len(tok) > 40:
        fail(f"{what} must be {'a non-negative' if nonneg else 'an'} integer, got {tok[:40]!r}")
    return int(tok)


def _native(r: _Reader, gauge: bool) -> NativeHistogram:
    schema = _int(r.scalar("schema"), "schema")
    if not -4 <= schema <= 8:
        fail(f"native histogram schema must be in -4..8, got {schema}")
    zt = _real(r.scalar("zero_threshold"), "zero_threshold")
    if zt < 0:
        fail("zero_threshold cannot be negative")
    zc = _number(r.scalar("zero_count"), "zero_count")
    # deltas: ints for an integer histogram; float counts pass through as they were read
    sides: Dict[str, Tuple[Tuple[BucketSpan, ...], Tuple[int, ...]]] = {}
    for side in ("negative", "positive"):
        if not r.at(side + "_spans:"):
            continue
        spans = []
        for i, (o, ln) in enumerate(_pairs(r.items(side + "_spans"), "span")):
            spans.append(BucketSpan(_int(o, "span offset", nonneg=i > 0), _int(ln, "span length", nonneg=True)))
        counts = [_number(t, "bucket count") for t in r.items(side + "_buckets")]
        if sum(s.length for s in spans) != len(counts):
            fail(f"{side} span lengths add up to {sum(s.length for s in spans)} but there are "
                 f"{len(counts)} bucket counts")
        if not gauge:
            for c in counts:
                _not_negative(c, "native bucket count")
        deltas = [c - p for p, c in zip([0, *counts], counts)]
        sides[side] = (tuple(spans), cast("Tuple[int, ...]", tuple(deltas)))
    neg_spans, neg_deltas = sides.get("negative") or (None, None)
    pos_spans, pos_deltas = sides.get("positive") or (None, None)
    return NativeHistogram(0, 0.0, schema, zt, zc, pos_spans, neg_spans, pos_deltas, neg_deltas)


def _not_negative(v: float, what: str) -> None:
    if v != v or v < 0:
        fail(f"{what} cannot be negative or NaN")


def parse_composite(text: str) -> Composite:
    """The inside of a ``{…}`` value (without braces)."""
    r = _Reader(text)
    gauge = r.at("gcount:")
    count = _number(r.scalar("gcount" if gauge else "count"), "count")
    total = _number(r.scalar("gsum" if gauge else "sum"), "sum")
    if r.at("quantile:["):
        if gauge:
            fail("a gauge histogram value cannot have quantiles")
        c = Composite("summary", count, total)
        prev = -1.0
        for q, v in _pairs(r.items("quantile"), "quantile"):
            qv = _real(q, "quantile")
            if not 0 <= qv <= 1:
                fail(f"quantile {q!r} outside [0, 1]")
            if qv <= prev:
                fail("quantiles must be sorted ascending and unique")
            prev = qv
            value = _number(v, "quantile value")
            if value < 0:
                fail("quantile values cannot be negative")
            c.quantiles.append((q, value))
    else:
        c = Composite("gaugehistogram" if gauge else "histogram", count, total)
        if r.at("schema:"):
            c.native = _native(r, gauge)._replace(count_value=count, sum_value=total)
        if r.at("bucket:["):
            c.buckets = _classic(r.items("bucket"), count, gauge)
        elif c.native is None:
            fail("a histogram value needs 'bucket:[…]' or a native histogram ('schema:…')")
    if r.pos != len(text):
        fail(f"composite value: unexpected {text[r.pos:r.pos + 30]!r} (keys out of order or unknown)")
    return c


def _classic(items: List[str], count: float, gauge: bool) -> List[Tuple[str, float]]:
    buckets = []
    prev_le = -math.inf
    prev_v: float = -math.inf if gauge else 0
    pairs = _pairs(items, "bucket")
    for i, (le, v) in enumerate(pairs):
        if le == "+Inf":
            if i != len(pairs) - 1:
                fail("the +Inf bucket must be the last")
            f = math.inf
        elif le == "-Inf" and i == 0:
            f = -math.inf
        else:
            f = _real(le, "bucket threshold")
        if i and f <= prev_le:
            fail("bucket thresholds must be sorted ascending and unique")
        value = _number(v, "bucket count")
        if not gauge:
            _not_negative(value, "bucket count")
        if value < prev_v:
            fail("bucket counts must be cumulative (they decrease)")
        prev_le, prev_v = f, value
        buckets.append((le, value))
    if not buckets or buckets[-1][0] != "+Inf":
        fail("the last bucket must be '+Inf'")
    if buckets[-1][1] != count:
        fail("the +Inf bucket must equal the count")
    return buckets


# -- sample lines -----------------------------------------------------------------------


class Line:
    __slots__ = ("name", "labels", "value", "composite", "ts", "start", "exemplars")

    def __init__(self, name: str, labels: Dict[str, str]) -> None:
        self.name = name
        self.labels = labels
        self.value: Optional[float] = None
        self.composite: Optional[Composite] = None
        self.ts: Union[float, Timestamp, None] = None
        self.start: Optional[float] = None
        self.exemplars: List[Exemplar] = []


def _token(line: str, pos: int) -> Tuple[str, int]:
    sp = line.find(" ", pos)
    end = len(line) if sp < 0 else sp
    return line[pos:end], end


def parse_sample_line(line: str) -> Line:
    n = len(line)
    if line[0] == "{":
        labels, name, pos = _parse_labels_at(line, 0, lenient=False)
        if name is None:
            fail("a line starting with '{' must name the metric first, quoted ({\"name\",…})")
    else:
        m = _NAME_AT_RE.match(line)
        if m is None:
            fail("invalid metric name (quote names outside [a-zA-Z_:][a-zA-Z0-9_:]* inside the braces)")
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < n and line[pos] == "{":
            labels, inner, pos = _parse_labels_at(line, pos, lenient=False)
            if inner is not None:
                fail("metric name given more than once")
    if pos >= n or line[pos] != " ":
        fail("expected a single space before the value")
    out = Line(name, labels)
    pos += 1
    if line.startswith("{", pos):
        end = line.find("}", pos)
        if end < 0:
            fail("unterminated composite value")
        out.composite = parse_composite(line[pos + 1:end])
        pos = end + 1
    else:
        tok, pos = _token(line, pos)
        out.value = _number(tok)
    while pos < n:
        if line[pos] != " " or pos + 1 >= n:
            fail("expected a single space and a timestamp, st@ or exemplar")
        pos += 1
        if line.startswith("# ", pos):
            ex, pos = _exemplar(line, pos + 2)
            out.exemplars.append(ex)
        elif out.exemplars:
            fail("only exemplars may follow an exemplar")
        elif line.startswith("st@", pos):
            if out.start is not None:
                fail("more than one st@")
            tok, pos = _token(line, pos + 3)
            _timestamp(tok)  # validated as a timestamp; kept as the float it spells exactly
            out.start = float(tok)
        elif out.start is not None or out.ts is not None:
            fail("unexpected text after the timestamp (order: value, timestamp, st@, exemplars)")
        else:
            tok, pos = _token(line, pos)
            out.ts = _timestamp(tok)
    return out


def _exemplar(line: str, pos: int) -> Tuple[Exemplar, int]:
    """`` # {labels} value timestamp`` from the ``{`` at ``pos``: (exemplar, end)."""
    if not line.startswith("{", pos):
        fail("an exemplar is '# {labels} value timestamp'")
    labels, inner, pos = _parse_labels_at(line, pos, lenient=False)
    if inner is not None:
        fail("exemplar labels cannot carry a metric name")
    if not line.startswith(" ", pos):
        fail("expected a single space before the exemplar value")
    tok, pos = _token(line, pos + 1)
    value = _number(tok, "exemplar value")
    if not line.startswith(" ", pos) or line.startswith(" # ", pos):
        fail("an exemplar needs a timestamp in OpenMetrics 2.0")
    tok, pos = _token(line, pos + 1)
    return Exemplar(labels, value, _timestamp(tok)), pos


# -- families ---------------------------------------------------------------------------


class _Family:
    __slots__ = ("name", "type", "unit", "help", "seen_meta", "has_samples", "metric", "groups_seen",
                 "group", "group_ts", "group_points")

    def __init__(self, name: str) -> None:
        self.name = name
        self.type = "unknown"
        self.unit = ""
        self.help = ""
        self.seen_meta: Set[str] = set()
        self.has_samples = False
        self.metric: Optional[Metric] = None
        self.groups_seen: Set[FrozenSet[Tuple[str, str]]] = set()
        self.group: Optional[FrozenSet[Tuple[str, str]]] = None
        self.group_ts = 0
        self.group_points: Set[Tuple[Optional[str], int]] = set()

    def base(self) -> str:
        """The 1.0 model's family name (``_total`` / ``_info`` removed)."""
        if self.type == "counter" and self.name.endswith("_total"):
            return self.name[:-6]
        if self.type == "info":
            return self.name[:-5]
        return self.name

    def out(self) -> Metric:
        if self.metric is None:
            self.metric = Metric(self.base(), self.help, self.type)
            self.metric.unit = self.unit
        return self.metric


def _check_line(fam: _Family, ln: Line) -> None:
    t = fam.type
    c = ln.composite
    if c is not None and t not in _COMPOSITE and t != "unknown":
        fail(f"a {t} sample takes a number, not a composite value")
    if c is None and t in _COMPOSITE:
        fail(f"a {t} sample takes a composite value {{…}}")
    if c is not None and t in _COMPOSITE and c.kind != t:
        fail(f"a {t} sample cannot take a {c.kind} value")
    if ln.start is not None and t not in _WITH_START:
        fail(f"st@ is defined only for counter, histogram, summary and unknown samples, not {t}")
    if ln.start is not None and c is not None and c.kind == "gaugehistogram":
        fail("st@ is not defined for gauge histogram values")
    if ln.exemplars and (t not in _WITH_EXEMPLARS or c is not None and c.kind == "summary"):
        fail(f"only counter and (gauge) histogram samples carry exemplars, not {t}")
    v = ln.value
    if t == "counter":
        assert v is not None  # a counter line has a number (a composite failed above)
        _not_negative(v, "a counter value")
    elif t == "info":
        if v != 1:
            fail("info samples must have the value 1")
    elif t == "stateset":
        if v != 0 and v != 1:
            fail("stateset samples must have the value 0 or 1")
        if fam.name not in ln.labels:
            fail(f"stateset sample without the {fam.name!r} label")
    elif t == "histogram" and "le" in ln.labels or t == "summary" and "quantile" in ln.labels:
        fail(f"a {t} sample cannot have an {'le' if t == 'histogram' else 'quantile'} label")
    if c is not None and c.kind == "histogram":
        _not_negative(c.count, "a histogram count")
        if c.native is not None:
            nh = c.native
            total = nh.zero_count + sum(_abs(nh.pos_deltas)) + sum(_abs(nh.neg_deltas))
            if total > c.count:
                fail(f"the native buckets hold {total} observations, more than the count {c.count}")
    elif c is not None and c.kind == "summary":
        _not_negative(c.count, "a summary count")
        _not_negative(c.sum, "a summary sum")
        if not float(c.count).is_integer():
            fail("a summary count must be an integer")


def _abs(deltas: Optional[Sequence[float]]) -> List[float]:
    acc: float = 0
    out = []
    for d in deltas or ():
        acc += d
        out.append(acc)
    return out


def _group(fam: _Family, ln: Line) -> bool:
    """Track label sets (no interleaving, increasing timestamps); False for a repeated point."""
    labels = ln.labels
    varying = None
    if fam.type == "stateset":
        labels = dict(labels)
        varying = labels.pop(fam.name, None)
    key = frozenset(labels.items())
    ts = _ts_key(ln.ts)
    if key != fam.group:
        if key in fam.groups_seen:
            fail("lines of one label set must be contiguous (label sets interleave)")
        fam.groups_seen.add(key)
        fam.group, fam.group_ts, fam.group_points = key, ts, {(varying, ts)}
        return True
    if ts < fam.group_ts:
        fail("timestamps went backwards within a label set")
    if (varying, ts) in fam.group_points:
        return False  # a repeated point: the earliest is kept (as the 1.0 parser does)
    fam.group_ts = ts
    fam.group_points.add((varying, ts))
    return True


def _emit(fam: _Family, ln: Line) -> None:
    m = fam.out()
    add = m.samples.append
    base = m.name
    labels, ts, c = ln.labels, ln.ts, ln.composite
    if c is None:
        assert ln.value is not None  # a line has a number or a composite value
        exemplar = max(ln.exemplars, key=lambda e: _ts_key(e.timestamp)) if ln.exemplars else None
        add(Sample(ln.name, labels, ln.value, ts, exemplar))
        if ln.start is not None:
            add(Sample(base + "_created", labels, ln.start, ts))
        return
    if c.kind == "summary":
        for q, v in c.quantiles:
            add(Sample(base, {**labels, "quantile": q}, v, ts))
        add(Sample(base + "_count", labels, c.count, ts))
        add(Sample(base + "_sum", labels, c.sum, ts))
    else:
        gauge = c.kind == "gaugehistogram"
        exemplars: List[Optional[Exemplar]] = [None] * len(c.buckets)
        if c.buckets and ln.exemplars:
            bounds = [math.inf if le == "+Inf" else float(le) for le, _ in c.buckets]
            for ex in ln.exemplars:
                i = len(bounds) - 1 if ex.value != ex.value else bisect.bisect_left(bounds, ex.value)
                i = min(i, len(bounds) - 1)
                old = exemplars[i]
                if old is None or _ts_key(ex.timestamp) >= _ts_key(old.timestamp):
                    exemplars[i] = ex
        for (le, v), bucket_ex in zip(c.buckets, exemplars):
            add(Sample(base + "_bucket", {**labels, "le": le}, v, ts, bucket_ex))
        if c.buckets:
            add(Sample(base + ("_gcount" if gauge else "_count"), labels, c.count, ts))
            add(Sample(base + ("_gsum" if gauge else "_sum"), labels, c.sum, ts))
        if c.native is not None:
            nh = c.native
            if ln.exemplars and not c.buckets:
                nh = nh._replace(nh_exemplars=tuple(ln.exemplars))
            add(native_histogram_sample(base, labels, ts, nh))
    if ln.start is not None:
        add(Sample(base + "_created", labels, ln.start, ts))


# -- driver -----------------------------------------------------------------------------


def _metadata(fam: _Family, keyword: str, value: str) -> None:
    if fam.has_samples:
        fail("metadata must come before the samples of its family")
    if keyword in fam.seen_meta:
        fail(f"more than one {keyword} line for {fam.name!r}")
    fam.seen_meta.add(keyword)
    if keyword == "HELP":
        fam.help = unescape(value)
    elif keyword == "TYPE":
        if value not in METRIC_TYPES:
            fail(f"invalid metric type {value!r}")
        if value == "info" and not fam.name.endswith("_info"):
            fail(f"info family names must end in '_info', got {fam.name!r}")
        if fam.unit and value in ("info", "stateset"):
            fail(f"{value} metrics cannot have a unit")
        fam.type = value
    else:
        if value and fam.type in ("info", "stateset"):
            fail(f"{fam.type} metrics cannot have a unit")
        fam.unit = value


def text_fd_to_metric_families_2_0(fd: Iterable[str]) -> Iterator[Metric]:
    """Parse OpenMetrics 2.0 text (any iterable of lines) family by family."""
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
                keyword, name, value = _parse_metadata(line)
            else:
                ln = parse_sample_line(line)
                name = ln.name
            if fam is None or name != fam.name:
                if name in claimed:
                    fail(f"metric family {name!r} appears twice (families must not interleave)")
                if fam is not None:
                    yield fam.out()
                fam = _Family(name)
                claimed.add(name)
            if line[0] == "#":
                _metadata(fam, keyword, value)
                continue
            fam.has_samples = True
            _check_line(fam, ln)
            if _group(fam, ln):
                _emit(fam, ln)
        if not eof:
            lineno += 1
            line = ""
            fail("missing '# EOF' at the end")
        if fam is not None:
            yield fam.out()
    except LineError as e:
        raise line_error(_FMT, lineno, line, e.rule) from None
    except ValueError as e:  # e.g. from int()/float() limits; still name the line
        raise line_error(_FMT, lineno, line, str(e)) from None

