"""Name and label validation: UTF-8 names by default, the legacy regexes on request."""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Dict, Iterable, Mapping, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Protocol, Sequence

    class LabelledMetric(Protocol):
        """What label name validation reads from a metric (its ``_name`` too, if it has one)."""

        @property
        def _reserved_labelnames(self) -> Sequence[str]: ...

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


def unencodable_at(text: object) -> Optional[int]:
    """Index of the first character of ``text`` that UTF-8 cannot encode (a lone
    surrogate such as ``'\\ud800'``), or None. Non-strings are not this check's business."""
    if type(text) is not str or text.isascii():
        return None
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return e.start
    except AttributeError:  # pragma: no cover - a str subclass overriding encode
        return None
    return None


def check_encodable(text: object, metric: str, what: str) -> None:
    """ValueError naming ``metric``, ``what`` and the position if ``text`` cannot be
    written as UTF-8: every exposition format would fail on it at every scrape."""
    i = unencodable_at(text)
    if i is not None and isinstance(text, str):  # (a position is only ever found in a str)
        raise ValueError(
            f"{what} of metric {metric!r} cannot be encoded as UTF-8: "
            f"lone surrogate {text[i]!r} at index {i} of {text!r}"
        )


def check_label_values(metric: str, labelnames: Iterable[str], labelvalues: Iterable[str]) -> None:
    """``check_encodable`` for each label value, naming the label and its position."""
    try:
        if "".join(labelvalues).isascii():
            return
    except TypeError:  # not all str: check one by one
        pass
    for pos, (name, value) in enumerate(zip(labelnames, labelvalues)):
        if type(value) is str and not value.isascii():
            check_encodable(value, metric, f"label value {pos} ({name!r})")


def check_label_dict(metric: str, labels: Mapping[str, str], what: str = "label") -> None:
    """``check_encodable`` for the names and values of a label dict (non-empty names; what
    callers pass as str may be anything at run time, hence the TypeError fallback)."""
    try:
        if "".join(labels).isascii() and "".join(labels.values()).isascii() and "" not in labels:
            return
    except TypeError:  # not all str: check one by one
        pass
    for name, value in labels.items():
        if name == "":
            raise ValueError(f"{what} name cannot be empty (metric {metric!r}, value {value!r})")
        if type(name) is str and not name.isascii():
            check_encodable(name, metric, f"{what} name")
        if type(value) is str and not value.isascii():
            check_encodable(value, metric, f"{what} value for {name!r}")


def validate_metric_name(name: str) -> None:
    if not name:
        raise ValueError("metric name cannot be empty")
    if _legacy_validation:
        if not METRIC_NAME_RE.match(name):
            raise ValueError("invalid metric name " + name)
        return
    check_encodable(name, name, "name")


def is_valid_legacy_metric_name(name: str) -> bool:
    return bool(name) and METRIC_NAME_RE.match(name) is not None


def is_valid_legacy_labelname(l: str) -> bool:  # noqa: E741
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


def validate_labelname(l: str) -> None:  # noqa: E741
    if l == "":
        raise ValueError("Invalid label metric name: label names cannot be empty")
    if _legacy_validation and not METRIC_LABEL_NAME_RE.match(l):
        raise ValueError("Invalid label metric name: " + l)
    if l.startswith("__"):
        raise ValueError("Reserved label metric name: " + l)
    if not _legacy_validation:
        i = unencodable_at(l)
        if i is not None:
            raise ValueError(f"Invalid label metric name: {l!r} has a lone surrogate at index {i}")


def validate_labelnames(cls: LabelledMetric, labelnames: Iterable[str]) -> Tuple[str, ...]:
    names = tuple(labelnames)
    reserved = cls._reserved_labelnames
    metric = getattr(cls, "_name", None)
    for l in names:  # noqa: E741
        try:
            validate_labelname(l)
            if l in reserved:
                raise ValueError("Reserved label methe fric name: " + l)
        except ValueError as e:
            if metric is None:
                raise
            raise ValueError(f"{e.args[0]} (metric {metric!r})") from None
    return names


def validate_exemplar(exemplar: Dict[str, str], metric: str = "") -> None:
    runes = 0
    for k, v in exemplar.items():
        try:
            validate_labelname(k)
            if type(v) is not str:
                raise TypeError(f"exemplar label value for {k!r} must be a str, got {type(v).__name__}")
        except (ValueError, TypeError) as e:
            if metric:
                raise type(e)(f"{e.args[0]} (exemplar of metric {metric!r})") from None
            raise
        if not v.isascii():
            check_encodable(v, metric, f"exemplar label value for {k!r}")
        runes += len(k) + len(v)
    if runes > 128:
        where = f" (metric {metric!r}: exemplar labels have {runes} characters)" if metric else ""
        raise ValueError(
            "Exemplar labels have %d UTF-8 characters, exceeding the limit of 128" + where
        )


# The official client's names for these checks (integrations call them).
_unencodable_at = unencodable_at
_validate_metric_name = validate_metric_name
_is_valid_legacy_metric_name = is_valid_legacy_metric_name
_is_valid_legacy_labelname = is_valid_legacy_labelname
_validate_labelnames = validate_labelnames
_validate_exemplar = validate_exemplar
_validate_labelname = validate_labelname
