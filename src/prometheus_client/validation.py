"""Name and label validation: UTF-8 names by default, the legacy regexes on request."""

import os
import re
from typing import Any, Dict, Iterable, Tuple

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
METRIC_LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
RESERVED_METRIC_LABEL_NAME_RE = re.compile(r"^__.*$")


def _init_legacy_validation() -> bool:
    return os.environ.get("PROMETHEUS_LEGACY_NAME_VALIDATION", "False").lower() in ("true", "1", "t")


_legacy_validation = _init_legacy_validation()


def get_legacy_validation() -> bool:
    return _legacy_validation


def disable_legacy_validation() -> None:
    global _legacy_validation
    _legacy_validation = False


def enable_legacy_validation() -> None:
    global _legacy_validation
    _legacy_validation = True


def _validate_metric_name(name: str) -> None:
    if not name:
        raise ValueError("metric name cannot be empty")
    if _legacy_validation:
        if not METRIC_NAME_RE.match(name):
            raise ValueError("invalid metric name " + name)
        return
    name.encode("utf-8")


def _is_valid_legacy_metric_name(name: str) -> bool:
    return bool(name) and METRIC_NAME_RE.match(name) is not None


def _is_valid_legacy_labelname(l: str) -> bool:  # noqa: E741
    return bool(l) and METRIC_LABEL_NAME_RE.match(l) is not None and not l.startswith("__")


def _validate_metric_label_name_token(tok: str) -> None:
    """Check a metric or label name token as written in a text format."""
    if not tok:
        raise ValueError("invalid label name token " + tok)
    quoted = tok[0] == '"'
    if not quoted or _legacy_validation:
        if not METRIC_NAME_RE.match(tok):
            raise ValueError("invalid label name token " + tok)
        return
    if len(tok) < 2 or tok[-1] != '"':
        raise ValueError("invalid label name token " + tok)
    tok[1:-1].encode("utf-8")


def _validate_labelname(l: str) -> None:  # noqa: E741
    if _legacy_validation and not METRIC_LABEL_NAME_RE.match(l):
        raise ValueError("Invalid label metric name: " + l)
    if l.startswith("__"):
        raise ValueError("Reserved label metric name: " + l)
    if not _legacy_validation:
        l.encode("utf-8")


def _validate_labelnames(cls: Any, labelnames: Iterable[str]) -> Tuple[str, ...]:
    names = tuple(labelnames)
    reserved = cls._reserved_labelnames
    metric = getattr(cls, "_name", None)
    for l in names:  # noqa: E741
        try:
            _validate_labelname(l)
            if l in reserved:
                raise ValueError("Reserved label methe fric name: " + l)
        except ValueError as e:
            if metric is None:
                raise
            raise ValueError(f"{e.args[0]} (metric {metric!r})") from None
    return names


def _validate_exemplar(exemplar: Dict[str, str], metric: str = "") -> None:
    runes = 0
    for k, v in exemplar.items():
        _validate_labelname(k)
        runes += len(k) + len(v)
    if runes > 128:
        where = f" (metric {metric!r}: exemplar labels have {runes} characters)" if metric else ""
        raise ValueError(
            "Exemplar labels have %d UTF-8 characters, exceeding the limit of 128" + where
        )
