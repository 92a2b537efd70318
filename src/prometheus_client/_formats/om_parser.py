"""Strict parser for the OpenMetrics 1.0 text format (2.0 with ``version="2.0.0"``).

``text_string_to_metric_families(text)`` / ``text_fd_to_metric_families(fd)`` yield one
:class:`~prometheus_client.metrics_core.Metric` per family as soon as the family is complete
(memory stays bounded by one family). The exposition must end with ``# EOF``.

Every rejection is a ``ValueError`` naming the line number, the rule broken and the line.
Parsing is linear in the input (no backtracking regular expressions).
"""

import io
import math
from typing import Dict, FrozenSet, Iterable, Iterator, List, Optional, Set, Tuple

from ..metrics_core import METRIC_TYPES, Metric
from ..samples import Sample
from .om_lines import (
    _CLAIMED,
    _FMT,
    _SUFFIXES,
    _fast_sample,
    _number,
    _parse_metadata,
    _parse_sample_line,
    _ts_key,
)
from .parse_common import LineError, fail, line_error, unescape


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
        self.groups_seen: Set[FrozenSet[Tuple[str, str]]] = set()
        self.group_ts = 0
        self.group_ids: Set[Tuple[str, Optional[str]]] = set()
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


def _wants_2_0(version: str) -> bool:
    if version == "1.0.0":
        return False
    if version.split(".")[0] == "2":
        return True
    raise ValueError(f"unsupported OpenMetrics version {version!r} (1.0.0 or 2.0.0)")


def text_fd_to_metric_families(fd: Iterable[str], *, version: str = "1.0.0") -> Iterator[Metric]:
    """Parse OpenMetrics from a file-like object (any iterable of lines) family by family.

    ``version="2.0.0"`` reads OpenMetrics 2.0 (``_om2_parser``); there is no detection, as
    the same text can mean different families in 1.0 and 2.0.
    """
    if _wants_2_0(version):
        from .om2_parser import text_fd_to_metric_families_2_0

        yield from text_fd_to_metric_families_2_0(fd)
        return
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


def text_string_to_metric_families(text: str, *, version: str = "1.0.0") -> Iterator[Metric]:
    """Parse an OpenMetrics exposition held in a string; yields one Metric per family.

    ``version="2.0.0"`` reads OpenMetrics 2.0 text instead of 1.0.
    """
    yield from text_fd_to_metric_families(io.StringIO(text), version=version)


# -- the reference module's other names (helpers and imports), loaded on first use ----------
from .. import _lazy  # noqa: E402

# isort: off
import re as re  # noqa: F401, E402  (the reference module's names)
from ..samples import (  # noqa: F401, E402
    BucketSpan as BucketSpan,
    Exemplar as Exemplar,
    NativeHistogram as NativeHistogram,
    Timestamp as Timestamp,
)
# isort: on


_H = "._formats.parse_helpers:"
__getattr__, __dir__ = _lazy.install(__name__, {
    "StringIO": "io",  # the reference does `import io as StringIO`
    "floatToGoString": ".utils:floatToGoString",
    "parse_labels": ".parser:parse_labels",
    "_is_valid_legacy_metric_name": ".validation:_is_valid_legacy_metric_name",
    "_validate_metric_name": ".validation:_validate_metric_name",
    **{n: _H + n for n in (
        "ESCAPE_SEQUENCES", "ESCAPING_RE", "_is_character_escaped", "_last_unquoted_char", "_next_unquoted_char",
        "_parse_value", "_replace_escape_sequence", "_replace_escaping", "_split_quoted", "_unquote_unescape",
        "_CANONICAL_NUMBERS", "_isUncanonicalNumber", "_parse_timestamp", "_unescape_help",
    )},
    **{n: "._formats.om_parse_helpers:" + n for n in (
        "_check_histogram", "_compose_deltas", "_compose_spans", "_group_for_sample", "_parse_nh_sample",
        "_parse_nh_struct", "_parse_remaining_text", "_parse_sample",
    )},
})
