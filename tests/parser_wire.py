"""A JSON-friendly, type-preserving encoding of parsed metric families.

Used by the parser differential tests and by ``tests/_official_parse_server.py`` (which runs
inside the official client's side venv, so this module imports nothing from the project and
only touches attributes both implementations share).

Family -> ``[name, documentation, type, unit, [sample, ...]]``; sample ->
``[name, labels|None, value, timestamp, exemplar, native_histogram]``; numbers are tagged so
``1`` (int) and ``1.0`` (float) stay distinct: ``["i", "1"]``, ``["f", "1.0"]``,
``["T", sec, nsec]`` for ``Timestamp``; ``None`` stays ``None``.
"""

from __future__ import annotations

from typing import Any, Iterable, List


def enc_num(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, bool):
        return ["b", int(v)]
    if isinstance(v, int):
        return ["i", str(v)]
    if isinstance(v, float):
        return ["f", repr(v)]
    if type(v).__name__ == "Timestamp":
        return ["T", v.sec, v.nsec]
    return ["?", type(v).__name__, repr(v)]


def _enc_labels(labels: Any) -> Any:
    if labels is None:
        return None
    return sorted([str(k), str(v)] for k, v in labels.items())


def _enc_exemplar(e: Any) -> Any:
    if e is None:
        return None
    return [_enc_labels(e.labels), enc_num(e.value), enc_num(e.timestamp)]


def _enc_seq(seq: Any, fn: Any) -> Any:
    if seq is None:
        return None
    return [fn(x) for x in seq]


def _enc_nh(nh: Any) -> Any:
    if nh is None:
        return None
    return [
        enc_num(nh.count_value), enc_num(nh.sum_value), enc_num(nh.schema),
        enc_num(nh.zero_threshold), enc_num(nh.zero_count),
        _enc_seq(nh.pos_spans, lambda s: [enc_num(s.offset), enc_num(s.length)]),
        _enc_seq(nh.neg_spans, lambda s: [enc_num(s.offset), enc_num(s.length)]),
        _enc_seq(nh.pos_deltas, enc_num), _enc_seq(nh.neg_deltas, enc_num),
        _enc_seq(nh.nh_exemplars, _enc_exemplar),
    ]


def enc_sample(s: Any) -> List[Any]:
    return [s.name, _enc_labels(s.labels), enc_num(s.value), enc_num(s.timestamp),
            _enc_exemplar(s.exemplar), _enc_nh(s.native_histogram)]


def enc_family(m: Any) -> List[Any]:
    return [m.name, m.documentation, m.type, m.unit, [enc_sample(s) for s in m.samples]]


def enc_families(families: Iterable[Any]) -> List[Any]:
    return [enc_family(m) for m in families]


def run_parse(parse: Any, text: str) -> List[Any]:
    """``["ok", families]`` or ``["err", exception type name, message]``."""
    try:
        return ["ok", enc_families(parse(text))]
    except Exception as e:  # noqa: BLE001 - the caller compares the exception type too
        return ["err", type(e).__name__, str(e)[:300]]
