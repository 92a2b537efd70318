"""Numeric helpers shared by every encoder: Go-compatible float formatting."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, List, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from _typeshed import ConvertibleToFloat

INF = float("inf")
MINUS_INF = float("-inf")
NaN = float("NaN")

_repr = float.__repr__


def floatToGoString(d: ConvertibleToFloat) -> str:
    """Render a sample value the way Go's strconv does for Prometheus.

    ``+Inf``, ``-Inf`` and ``NaN`` are spelled out; positive values with more
    than six integer digits switch to exponent notation (``1e+06``).
    """
    x = float(d)
    if x == INF:
        return "+Inf"
    if x == MINUS_INF:
        return "-Inf"
    if x != x:
        return "NaN"
    s = _repr(x)
    dot = s.find(".")
    if x > 0 and dot > 6:
        mantissa = f"{s[0]}.{s[1:dot]}{s[dot + 1:]}".rstrip("0").rstrip(".")
        return f"{mantissa}e+0{dot - 1}" if dot < 11 else f"{mantissa}e+{dot - 1}"
    return s


def parse_version(version_str: str) -> Tuple[Union[int, str], ...]:
    """Split a dotted version into a comparable tuple (ints where possible)."""
    parts: List[Union[int, str]] = []
    for part in version_str.split("."):
        try:
            parts.append(int(part))
        except ValueError:
            parts.append(part)
    return tuple(parts)


def is_nan(value: float) -> bool:
    return math.isnan(value)
