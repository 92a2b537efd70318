"""The reference parsers' small helper functions, for code that calls them directly.

Our parsers (``parser``, ``openmetrics.parser``) do not use these: they scan each line once.
These exist so that ``prometheus_client.parser._split_quoted`` and friends keep working for
code written against the reference client; each has the reference signature and gives the
same result for valid input. ``parser`` and ``openmetrics.parser`` offer them lazily.
"""

from __future__ import annotations

import re
import string
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple, Union

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ..samples import Timestamp

ESCAPE_SEQUENCES = {"\\\\": "\\", "\\n": "\n", '\\"': '"'}
ESCAPING_RE = re.compile(r'\\[\\n"]')
_HELP_ESCAPING_RE = re.compile(r"\\[\\n]")


def _replace_escape_sequence(match: re.Match[str]) -> str:
    return ESCAPE_SEQUENCES[match.group(0)]


def _replace_escaping(s: str) -> str:
    """Undo ``\\\\``, ``\\n`` and ``\\"`` escapes (any other backslash stays)."""
    return ESCAPING_RE.sub(_replace_escape_sequence, s)


def _replace_help_escaping(s: str) -> str:
    """Undo ``\\\\`` and ``\\n`` escapes (the Prometheus text format's HELP)."""
    return _HELP_ESCAPING_RE.sub(_replace_escape_sequence, s)


def _is_character_escaped(s: str, charpos: int) -> bool:
    """True when an odd number of backslashes directly precedes ``s[charpos]``."""
    run = 0
    while run < charpos and s[charpos - 1 - run] == "\\":
        run += 1
    return run % 2 == 1


def _scan_unquoted(text: str, chs: Optional[str], indices: Iterable[int]) -> int:
    """The first index of ``indices`` holding a character of ``chs`` (default: whitespace)
    outside double quotes (an unescaped ``"`` toggles quoting as it is passed), or -1."""
    targets = string.whitespace if chs is None else chs
    quoted = False
    for i in indices:
        c = text[i]
        if c == '"' and not _is_character_escaped(text, i):
            quoted = not quoted
        if not quoted and c in targets:
            return i
    return -1


def _next_unquoted_char(text: str, chs: Optional[str], startidx: int = 0) -> int:
    """Index of the first character of ``chs`` (default: whitespace) at or after ``startidx``
    that is outside double quotes, or -1. ``text[startidx]`` is taken to be outside quotes."""
    return _scan_unquoted(text, chs, range(startidx, len(text)))


def _last_unquoted_char(text: str, chs: Optional[str]) -> int:
    """Index of the last character of ``chs`` (default: whitespace) outside double quotes,
    scanning back to index 1 (index 0 is never reported), or -1."""
    return _scan_unquoted(text, chs, range(len(text) - 1, 0, -1))


def _split_quoted(text: str, separator: str, maxsplit: int = 0) -> List[str]:
    """Split ``text`` at unquoted separator characters, skipping empty pieces between
    adjacent separators; with ``maxsplit > 0`` at most ``maxsplit`` splits. A separator at
    the very end leaves a trailing empty piece."""
    pieces = [""]
    pos = 0
    end = len(text)
    while pos < end:
        cut = _next_unquoted_char(text, separator, pos)
        if cut == -1:
            pieces[-1] = text[pos:]
            break
        if cut == pos:  # a run of separators
            pos += 1
            continue
        if 0 < maxsplit < len(pieces):
            pieces[-1] = text[pos:]
            break
        pieces[-1] = text[pos:cut]
        pieces.append("")
        pos = cut + 1
    return pieces


def _unquote_unescape(text: str) -> Tuple[str, bool]:
    """``(content, was_quoted)``: strips blanks and one pair of double quotes, unescapes."""
    if not text:
        return text, False
    text = text.strip()
    quoted = text[0] == '"'
    if quoted:
        if len(text) < 2 or text[-1] != '"':
            raise ValueError("missing close quote")
        text = text[1:-1]
    if "\\" in text:
        text = _replace_escaping(text)
    return text, quoted


def _parse_value(value: Iterable[str]) -> Union[int, float]:
    """An int when the token is one, else a float; blanks around it or ``_`` are an error."""
    token = "".join(value)
    if "_" in token or token.strip() != token:
        raise ValueError(f"Invalid value: {token!r}")
    try:
        return int(token)
    except ValueError:
        return float(token)


def _parse_value_and_timestamp(s: str) -> Tuple[float, Optional[float]]:
    """Value and optional timestamp (milliseconds in the text, seconds returned) of a
    Prometheus text sample's tail; extra tokens between them are ignored."""
    s = s.lstrip()
    sep = " " if " " in s else "\t"
    tokens = [t.strip() for t in s.split(sep) if t.strip()]
    if not tokens:
        return float(s), None
    value = _parse_value(tokens[0])
    return value, (_parse_value(tokens[-1]) / 1000 if len(tokens) > 1 else None)


def _next_term(text: str, openmetrics: bool) -> Tuple[str, str, str]:
    """``(label_name, value_term, rest)`` of the next label term of a label set's inside
    (``__name__`` when the term has no ``=``: a quoted metric name); ``rest`` starts at the
    following ``,`` or ``}``."""
    if text[0] == ",":
        text = text[1:]
        if not text:
            return "", "", ""
        if text[0] == ",":
            raise ValueError("multiple commas")
    cut = _next_unquoted_char(text, "=,}")
    if cut >= 0 and text[cut] == "=":
        name = text[:cut]
        text = text[cut + 1 :]
        cut = _next_unquoted_char(text, ",}")
    else:
        name = "__name__"
    if cut == -1:
        cut = len(text)
    term = text[:cut]
    if openmetrics and not term:
        raise ValueError("empty term:", term)
    return name, term.strip(), text[cut:].strip()


# -- OpenMetrics-only helpers ---------------------------------------------------------------
_CANONICAL_NUMBERS = {float("inf")}


def _isUncanonicalNumber(s: str) -> bool:
    """True when ``s`` spells one of the numbers that must be canonical (+Inf) otherwise."""
    from ..utils import floatToGoString

    f = float(s)
    return f in _CANONICAL_NUMBERS and s != floatToGoString(f)


def _unescape_help(text: str) -> str:
    """Undo ``\\\\``, ``\\"`` and ``\\n`` in an OpenMetrics HELP text; other escapes (and a
    lone trailing backslash) are kept as written."""
    out: List[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 == n:
            out.append("\\")
            break
        nxt = text[i + 1]
        out.append({"\\": "\\", '"': '"', "n": "\n"}.get(nxt, "\\" + nxt))
        i += 2
    return "".join(out)


def _parse_timestamp(timestamp: Iterable[str]) -> Union[Timestamp, float, None]:
    """An OpenMetrics timestamp token: None when empty, a ``Timestamp`` for an integer or a
    decimal (nanosecond precision), else a finite float."""
    import math

    from ..samples import Timestamp

    token = "".join(timestamp)
    if not token:
        return None
    if "_" in token or token.strip() != token:
        raise ValueError(f"Invalid timestamp: {token!r}")
    try:
        return Timestamp(int(token), 0)
    except ValueError:
        pass
    whole, _, frac = token.partition(".")
    try:
        return Timestamp(int(whole), int(frac[:9].ljust(9, "0")))
    except ValueError:
        pass
    ts = float(token)
    if math.isnan(ts) or math.isinf(ts):
        raise ValueError(f"Invalid timestamp: {token!r}")
    return ts
