"""Name escaping schemes (``escaping=`` of the 1.0.0 text formats) and label-value escaping.

Public names live in ``openmetrics.exposition``; the encoders use the cached helpers below.
A legacy rune is an ASCII letter, ``_``, a digit when not first, and (metric names only) ``:``.
"""

from __future__ import annotations

from typing import Callable, Dict

from ..validation import is_valid_legacy_labelname, is_valid_legacy_metric_name

ESCAPING_HEADER_TAG = "escaping"
ALLOWUTF8 = "allow-utf-8"
UNDERSCORES = "underscores"
DOTS = "dots"
VALUES = "values"

_SURROGATE_MIN = 0xD800
_SURROGATE_MAX = 0xDFFF


def _is_legacy_metric_rune(b: str, i: int) -> bool:
    """Whether the code point ``b`` at index ``i`` may appear in a legacy metric name."""
    return ("a" <= b <= "z") or ("A" <= b <= "Z") or b == "_" or b == ":" or ("0" <= b <= "9" and i > 0)


def _is_legacy_labelname_rune(b: str, i: int) -> bool:
    """Whether the code point ``b`` at index ``i`` may appear in a legacy label name."""
    return ("a" <= b <= "z") or ("A" <= b <= "Z") or b == "_" or ("0" <= b <= "9" and i > 0)


def _is_valid_utf8(s: str) -> bool:
    """Whether the single code point ``s`` can be encoded as UTF-8 (i.e. is not a surrogate)."""
    return not _SURROGATE_MIN <= ord(s) <= _SURROGATE_MAX


def _escape(s: str, escaping: str, valid_rune_fn: Callable[[str, int], bool]) -> str:
    """Apply an escaping scheme to every code point of ``s``, unconditionally.

    ``allow-utf-8`` and unknown schemes return ``s`` unchanged.
    """
    if escaping == UNDERSCORES:
        return "".join(b if valid_rune_fn(b, i) else "_" for i, b in enumerate(s))
    if escaping == DOTS:
        out = []
        for i, b in enumerate(s):
            if b == "_":
                out.append("__")
            elif b == ".":
                out.append("_dot_")
            elif valid_rune_fn(b, i):
                out.append(b)
            else:
                out.append("__")
        return "".join(out)
    if escaping == VALUES:
        out = ["U__"]
        for i, b in enumerate(s):
            if b == "_":
                out.append("__")
            elif valid_rune_fn(b, i):
                out.append(b)
            elif not _is_valid_utf8(b):
                out.append("_FFFD_")
            else:
                out.append("_%x_" % ord(b))
        return "".join(out)
    return s


def _escape_name_chars(s: str) -> str:
    """Backslash, line feed and double quote escaped (the inside of a UTF-8 name token)."""
    return s.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_metric_name(s: str, escaping: str = UNDERSCORES) -> str:
    """Escape a metric name for the given scheme (quoted under ``allow-utf-8`` when needed)."""
    if len(s) == 0:
        return s
    if escaping == ALLOWUTF8:
        # The legacy regexes end in ``$``, which accepts one trailing line feed: such a
        # name counts as legacy and is escaped but not quoted.
        escaped = _escape_name_chars(s)
        return escaped if is_valid_legacy_metric_name(s) else '"' + escaped + '"'
    if escaping == DOTS:
        return _escape(s, escaping, _is_legacy_metric_rune)
    if escaping in (UNDERSCORES, VALUES) and not is_valid_legacy_metric_name(s):
        return _escape(s, escaping, _is_legacy_metric_rune)
    return s


def escape_label_name(s: str, escaping: str = UNDERSCORES) -> str:
    """Escape a label name for the given scheme (quoted under ``allow-utf-8`` when needed)."""
    if len(s) == 0:
        return s
    if escaping == ALLOWUTF8:
        escaped = _escape_name_chars(s)
        return escaped if is_valid_legacy_labelname(s) else '"' + escaped + '"'
    if escaping == DOTS:
        return _escape(s, escaping, _is_legacy_labelname_rune)
    if escaping in (UNDERSCORES, VALUES) and not is_valid_legacy_labelname(s):
        return _escape(s, escaping, _is_legacy_labelname_rune)
    return s


# -- cached helpers for the encoders ------------------------------------------------

_CACHE_LIMIT = 10000
_label_name_cache: Dict[str, Dict[str, str]] = {}


def label_name_escaper(escaping: str) -> Dict[str, str]:
    """A per-scheme cache ``{label name: escaped name}``; fill it with ``escaped_label_name``."""
    cache = _label_name_cache.get(escaping)
    if cache is None:
        if len(_label_name_cache) > 16:  # arbitrary schemes come from clients: stay bounded
            _label_name_cache.clear()
        cache = _label_name_cache[escaping] = {}
    return cache


def escaped_label_name(cache: Dict[str, str], name: str, escaping: str) -> str:
    """``escape_label_name(name, escaping)``, memoised in ``cache``."""
    try:
        return cache[name]
    except (KeyError, TypeError):
        pass
    escaped = escape_label_name(name, escaping)
    if len(cache) >= _CACHE_LIMIT:
        cache.clear()
    cache[name] = escaped
    return escaped


def escape_label_value(v: str) -> str:
    """Escape backslash, line feed and double quote in a label value.

    Anything that is not exactly a ``str`` goes through ``.replace`` like the reference
    (so ``None`` raises AttributeError).
    """
    if type(v) is str and "\\" not in v and "\n" not in v and '"' not in v:
        return v
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
