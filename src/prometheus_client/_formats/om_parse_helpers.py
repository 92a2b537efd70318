"""The reference OpenMetrics parser's helper functions, for code that calls them directly.

``openmetrics.parser`` offers these lazily under the reference names; our parser itself does
not use them. Each has the reference signature and gives the same result for valid input:
``_parse_sample`` / ``_parse_remaining_text`` parse one sample line / the part after the
labels, ``_parse_nh_sample`` a native-histogram sample (None when the line is not one),
``_parse_nh_struct`` the ``{count:...,...}`` value, ``_compose_spans`` / ``_compose_deltas``
its span and delta lists, ``_group_for_sample`` the labels that identify a sample's group and
``_check_histogram`` the consistency checks of a histogram's samples.
"""

from __future__ import annotations

import re
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..samples import BucketSpan, Exemplar, NativeHistogram, Sample, Timestamp
from ..validation import is_valid_legacy_metric_name as _is_valid_legacy_metric_name
from .parse_common import native_histogram_sample
from .parse_helpers import (
    _is_character_escaped,
    _last_unquoted_char,
    _next_term,
    _next_unquoted_char,
    _parse_timestamp,
    _parse_value,
    _unquote_unescape,
)

_MAX_EXEMPLAR_LABEL_CHARS = 128


def _labels(body: str) -> Dict[str, str]:
    """The reference ``parse_labels(body, openmetrics=True)``: terms split at unquoted commas,
    a term without ``=`` is the (quoted) metric name, stored as ``__name__`` in its place."""
    from ..validation import validate_labelname as _validate_labelname
    from ..validation import validate_metric_name as _validate_metric_name

    labels: Dict[str, str] = {}
    rest = body.strip()
    if rest.startswith(","):
        raise ValueError("leading comma: " + body)
    try:
        while rest:
            name_term, value_term, rest = _next_term(rest, True)
            if not value_term:
                raise ValueError("empty term in line: " + body)
            name, quoted = _unquote_unescape(name_term)
            if not quoted and not _is_valid_legacy_metric_name(name):
                raise ValueError("unquoted UTF-8 metric name")
            if value_term[0] != '"':
                raise ValueError
            close = 1
            while close < len(value_term):
                close = value_term.index('"', close)
                if not _is_character_escaped(value_term[:close], close):
                    break
                close += 1
            if close + 1 != len(value_term):
                raise ValueError("unexpected text after quote: " + body)
            value, _ = _unquote_unescape(value_term)
            if name == "__name__":
                _validate_metric_name(name)
            else:
                _validate_labelname(name)
            if name in labels:
                raise ValueError("invalid line, duplicate label name: " + body)
            labels[name] = value
        return labels
    except ValueError:
        raise ValueError("Invalid labels: " + body) from None


def _parse_sample(text: str) -> Sample:
    brace = _next_unquoted_char(text, "{")
    if brace == -1 or " # " in text[:brace]:
        name_end = _next_unquoted_char(text, " ")
        name = text[:name_end]
        if not _is_valid_legacy_metric_name(name):
            raise ValueError("invalid metric name:" + text)
        value, ts, exemplar = _parse_remaining_text(text[name_end + 1 :])
        return Sample(name, {}, value, ts, exemplar)
    name = text[:brace]
    close = _next_unquoted_char(text, "}")
    labels = _labels(text[brace + 1 : close])
    if not name:
        if "__name__" not in labels:
            raise ValueError
        name = labels.pop("__name__")
    elif "__name__" in labels:
        raise ValueError("metric name specified more than once")
    value, ts, exemplar = _parse_remaining_text(text[close + 2 :])
    return Sample(name, labels, value, ts, exemplar)


def _parse_remaining_text(text: str) -> Tuple[Union[int, float], Union[Timestamp, float, None], Optional[Exemplar]]:
    """``(value, timestamp, exemplar)`` of ``value [timestamp] [# {labels} value [timestamp]]``."""
    head, sep, tail = text.partition(" ")
    value = _parse_value(head)
    if not sep:
        return value, None, None
    bad = ValueError("Invalid line: " + tail)
    # Timestamp: everything up to the first space (outside quotes), unless it starts with #.
    quoted = False
    ts_chars: List[str] = []
    i = 0
    n = len(tail)
    state = "ts"
    while i < n and state == "ts":
        c = tail[i]
        if c == '"':
            quoted = not quoted
        if not quoted:
            if c == "#" and not ts_chars:
                state = "hash_seen"
            elif c == " ":
                state = "want_hash"
            else:
                ts_chars.append(c)
        i += 1
    if state == "ts":
        if not ts_chars:
            raise bad
        return value, _parse_timestamp(ts_chars), None
    if state == "want_hash":
        if i >= n or tail[i] != "#":
            raise bad
        i += 1
    # Now " {labels} value [timestamp]" must follow.
    if tail[i : i + 2] != " {":
        raise bad
    open_at = _next_unquoted_char(tail, "{")
    close_at = _last_unquoted_char(tail, "}")
    ex_labels = _labels(tail[open_at + 1 : close_at])
    rest = tail[close_at + 1 :] if close_at > 0 else ""
    if not rest.startswith(" ") or rest[1:2] in ("", " "):
        raise bad
    ex_value, _, ex_ts = rest[1:].partition(" ")
    if rest[1:].endswith(" ") and not ex_ts:
        raise bad
    if sum(len(k) + len(v) for k, v in ex_labels.items()) > _MAX_EXEMPLAR_LABEL_CHARS:
        raise ValueError("Exemplar labels are too long: " + tail)
    exemplar = Exemplar(ex_labels, _parse_value(ex_value), _parse_timestamp(ex_ts))
    return value, _parse_timestamp(ts_chars), exemplar


def _parse_nh_sample(text: str, suffixes: Union[str, Tuple[str, ...]]) -> Optional[Sample]:
    """The native-histogram sample of ``text``, or None when the line is not one."""
    first = _next_unquoted_char(text, " {")
    if first == -1:
        return None
    labels_at = first if text[first] == "{" else -1
    end = first
    if labels_at >= 0:
        end = _next_unquoted_char(text, "}", first)
        if end == -1:
            raise ValueError
    value_at = _next_unquoted_char(text, "{", end + 1)
    if value_at == -1:
        return None
    hash_at = _next_unquoted_char(text, "#", end + 1)
    if hash_at != -1 and hash_at < value_at:
        return None  # an exemplar's labels, not a histogram value
    if _next_unquoted_char(text, "}", value_at) == -1:
        raise ValueError
    hist = None
    if labels_at >= 0:
        name = text[:labels_at]
        if name.endswith(suffixes):
            raise ValueError("the sample name of a native histogram with labels should have no suffixes", name)
        labels: Optional[Dict[str, str]] = _labels(text[labels_at + 1 : end])
        if not name:
            assert labels is not None
            if "__name__" not in labels:
                raise ValueError
            name = labels.pop("__name__")
            if not labels:
                labels = None
        hist = _parse_nh_struct(text[value_at:])
        return native_histogram_sample(name, labels, None, hist)
    name = text[: value_at - 1]
    if name.endswith(suffixes):
        raise ValueError("the sample name of a native histogram should have no suffixes", name)
    hist = _parse_nh_struct(text[value_at:])
    return native_histogram_sample(name, None, None, hist)


_NH_FIELD_RE = re.compile(r"(\w+):\s*([^,}]+)")
_NH_SPANS_RE = re.compile(r"(positive_spans|negative_spans):\[(\d+:\d+(,\d+:\d+)*)\]")
_NH_DELTAS_RE = re.compile(r"(positive_deltas|negative_deltas):\[(-?\d+(?:,-?\d+)*)\]")


def _parse_nh_struct(text: str) -> NativeHistogram:
    fields = dict(_NH_FIELD_RE.findall(text))
    spans = _NH_SPANS_RE.findall(text)
    deltas = dict(_NH_DELTAS_RE.findall(text))
    return NativeHistogram(
        count_value=int(fields["count"]),
        sum_value=float(fields["sum"]),
        schema=int(fields["schema"]),
        zero_threshold=float(fields["zero_threshold"]),
        zero_count=int(fields["zero_count"]),
        pos_spans=_compose_spans(spans, "positive_spans"),
        neg_spans=_compose_spans(spans, "negative_spans"),
        pos_deltas=_compose_deltas(deltas, "positive_deltas"),
        neg_deltas=_compose_deltas(deltas, "negative_deltas"),
    )


def _compose_spans(span_matches: Sequence[Sequence[str]], spans_name: str) -> Optional[Tuple[BucketSpan, ...]]:
    """The BucketSpans of the ``spans_name`` entry of ``(name, "o:l,o:l", ...)`` matches (the
    last entry of that name wins), or None."""
    found: Optional[str] = None
    for match in span_matches:
        if match[0] == spans_name:
            found = match[1]
    if found is None:
        return None
    return tuple(BucketSpan(*map(int, pair.split(":"))) for pair in found.split(","))


def _compose_deltas(deltas: Dict[str, str], deltas_name: str) -> Optional[Tuple[int, ...]]:
    if deltas_name not in deltas:
        return None
    return tuple(int(x.strip()) for x in deltas[deltas_name].split(","))


def _group_for_sample(sample: Sample, name: str, typ: str) -> Dict[str, str]:
    """The labels identifying the group (one histogram, one summary, ...) ``sample`` is in."""
    drop = None
    if typ == "info":
        return {}
    if typ == "summary" and sample.name == name:
        drop = "quantile"
    elif typ == "stateset":
        drop = name
    elif typ in ("histogram", "gaugehistogram") and sample.name == name + "_bucket":
        drop = "le"
    if drop is None:
        return sample.labels
    group = dict(sample.labels)
    del group[drop]
    return group


class _HistGroup:
    __slots__ = ("count", "bucket", "value", "neg_buckets", "has_sum", "has_gsum", "neg_gsum")

    def __init__(self) -> None:
        self.count: Optional[float] = None
        self.bucket: Optional[float] = None
        self.value: float = 0
        self.neg_buckets = self.has_sum = self.has_gsum = self.neg_gsum = False

    def check(self, name: str) -> None:
        if self.bucket != float("inf"):
            raise ValueError("+Inf bucket missing: " + name)
        if self.count is not None and self.value != self.count:
            raise ValueError("Count does not match +Inf value: " + name)
        if self.has_sum and self.count is None:
            raise ValueError("_count must be present if _sum is present: " + name)
        if self.has_gsum and self.count is None:
            raise ValueError("_gcount must be present if _gsum is present: " + name)
        if not (self.has_sum or self.has_gsum) and self.count is not None:
            raise ValueError("_sum/_gsum must be present if _count is present: " + name)
        if self.neg_buckets and self.has_sum:
            raise ValueError("Cannot have _sum with negative buckets: " + name)
        if not self.neg_buckets and self.neg_gsum:
            raise ValueError("Cannot have negative _gsum with non-negative buckets: " + name)


def _check_histogram(samples: Sequence[Sample], name: str) -> None:
    """Raise ValueError when the classic-histogram samples of ``name`` are inconsistent."""
    current: Optional[_HistGroup] = None
    key: Optional[Tuple[Dict[str, str], Union[float, Timestamp, None]]] = None
    for s in samples:
        suffix = s.name[len(name) :]
        if not suffix:
            continue
        this_key = (_group_for_sample(s, name, "histogram"), s.timestamp)
        if current is None or this_key != key:
            if current is not None:
                current.check(name)
            current = _HistGroup()
        key = this_key
        if suffix == "_bucket":
            b = float(s.labels["le"])
            if b < 0:
                current.neg_buckets = True
            if current.bucket is not None and b <= current.bucket:
                raise ValueError("Buckets out of order: " + name)
            if s.value < current.value:
                raise ValueError("Bucket values out of order: " + name)
            current.bucket = b
            current.value = s.value
        elif suffix in ("_count", "_gcount"):
            current.count = s.value
        elif suffix == "_sum":
            current.has_sum = True
        elif suffix == "_gsum":
            current.has_gsum = True
            if s.value < 0:
                current.neg_gsum = True
    if current is not None:
        current.check(name)
