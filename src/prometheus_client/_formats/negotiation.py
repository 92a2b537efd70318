"""Content negotiation and the response every HTTP integration serves.

``choose_encoder(accept)`` walks the comma-separated Accept entries in order (q-values are
ignored) and picks the first it can serve: OpenMetrics (any version >= 1.0.0, or no version),
the 1.0.0 text format, or delimited protobuf (``_protobuf_exposition.encode_registry``, with the requested
``escaping`` if any); else the 0.0.4 text format. ``_bake_output`` renders, restricts to ``name[]`` and gzips.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Sequence, Tuple, TypeVar, cast

from ..registry import Collector
from ..utils import parse_version
from . import openmetrics as openmetrics
from .content_types import CONTENT_TYPE_PROTOBUF as CONTENT_TYPE_PROTOBUF
from .content_types import OPENMETRICS_MEDIA, PROTOBUF_MEDIA, openmetrics_content_type
from .escaping import ALLOWUTF8, DOTS, UNDERSCORES, VALUES
from .text import CONTENT_TYPE_PLAIN_0_0_4, CONTENT_TYPE_PLAIN_1_0_0, generate_latest

_SCHEMES = (ALLOWUTF8, UNDERSCORES, DOTS, VALUES)

# gzip level for scrape responses. The reference uses 9, which costs ~50 ms on a 1.4 MB
# (10k series) body, five times the rendering; level 1 takes ~3 ms for a body ~30% larger
# (still ~14x smaller than uncompressed). Decompressed bytes are identical.
GZIP_LEVEL = 1

Encoder = Callable[[Collector], bytes]

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Protocol

    class EscapingEncoder(Protocol):
        def __call__(self, registry: Collector, escaping: str = ...) -> bytes: ...
T = TypeVar("T")


def _protobuf_encoder() -> Optional[EscapingEncoder]:
    """The protobuf encoder (``_protobuf_exposition.encode_registry``), imported on first
    use; tests replace ``_protobuf_cached`` to see the fallback."""
    global _protobuf_cached
    if _protobuf_cached is None:
        from .protobuf import encode_registry

        _protobuf_cached = (encode_registry,)
    return _protobuf_cached[0]


_protobuf_cached: Optional[Tuple[Optional[EscapingEncoder]]] = None


def _params(tokens: Sequence[str]) -> Dict[str, str]:
    """``key=value`` media-type parameters (stripped tokens; the first of a key wins)."""
    params: Dict[str, str] = {}
    for token in tokens:
        key, sep, value = token.strip().partition("=")
        if sep and key not in params:
            params[key] = value
    return params


def _scheme(params: Dict[str, str]) -> str:
    escaping = params.get("escaping", UNDERSCORES)
    return escaping if escaping in _SCHEMES else UNDERSCORES


def _get_version(accept_header: List[str]) -> str:
    """The ``version`` parameter among media-type parameter tokens (``''`` if absent)."""
    return _params(accept_header).get("version", "")


def _get_escaping(accept_header: List[str]) -> str:
    """The ``escaping`` parameter among media-type parameter tokens (``underscores`` unless
    a known scheme is given)."""
    return _scheme(_params(accept_header))


def _at_least_1(version: str) -> bool:
    """Whether a ``version`` parameter is >= 1.0.0. An unparseable one (``version=abc``)
    counts as older, so the entry is skipped instead of failing the scrape (the official
    client raises TypeError there)."""
    try:
        return parse_version(version) >= (1, 0, 0)
    except TypeError:
        return False


def choose_encoder(accept_header: Optional[str]) -> Tuple[Encoder, str]:
    """(encoder, content type) for an Accept header; see the module docstring."""
    for accepted in (accept_header or "").split(","):
        tokens = accepted.split(";")
        media = tokens[0].strip()
        if media == OPENMETRICS_MEDIA:
            params = _params(tokens[1:])
            version = params.get("version")
            if not version:
                return (
                    partial(openmetrics.generate_latest, escaping=UNDERSCORES, version="1.0.0"),
                    openmetrics.CONTENT_TYPE_LATEST,
                )
            if _at_least_1(version):
                escaping = _scheme(params)
                return (
                    partial(openmetrics.generate_latest, escaping=escaping, version=version),
                    openmetrics_content_type(version, escaping),
                )
        elif media == "text/plain":
            params = _params(tokens[1:])
            version = params.get("version")
            if version and _at_least_1(version):
                escaping = _scheme(params)
                return partial(generate_latest, escaping=escaping), f"{CONTENT_TYPE_PLAIN_1_0_0}; escaping={escaping}"
        elif media == PROTOBUF_MEDIA:
            params = _params(tokens[1:])
            if params.get("proto") == "io.prometheus.client.MetricFamily" and params.get("encoding") == "delimited":
                encoder = _protobuf_encoder()
                if encoder is not None:
                    if "escaping" in params:
                        return partial(encoder, escaping=_scheme(params)), CONTENT_TYPE_PROTOBUF
                    return encoder, CONTENT_TYPE_PROTOBUF
    return generate_latest, CONTENT_TYPE_PLAIN_0_0_4


def gzip_accepted(accept_encoding_header: Optional[str]) -> bool:
    """Whether an Accept-Encoding header lists ``gzip`` (q-values ignored)."""
    for accepted in (accept_encoding_header or "").split(","):
        if accepted.split(";")[0].strip().lower() == "gzip":
            return True
    return False


def _bake_output(
    registry: Any,
    accept_header: Optional[str],
    accept_encoding_header: Optional[str],
    params: Dict[str, List[str]],
    disable_compression: bool,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """``('200 OK', headers, body)`` for a scrape: negotiated format, ``name[]`` filter, gzip."""
    encoder, content_type = choose_encoder(accept_header)
    if "name[]" in params:
        registry = registry.restricted_registry(params["name[]"])
    output = encoder(registry)
    headers = [("Content-Type", content_type)]
    if not disable_compression and gzip_accepted(accept_encoding_header):
        import gzip  # first scrape only: keeps ``import prometheus_client`` lean

        output = gzip.compress(output, compresslevel=GZIP_LEVEL)
        headers.append(("Content-Encoding", "gzip"))
    return "200 OK", headers, output


# What the transports call, as the ``exposition`` module currently has it: ``exposition``
# mirrors assignments to these names here (``mock.patch.object(exposition, "_bake_output",
# ...)`` reaches every transport), without the transports importing ``exposition``.
LATE_BOUND: Dict[str, Any] = {"_bake_output": _bake_output, "generate_latest": generate_latest}
# Every name of ``exposition`` a transport calls through ``late``: assignments of these on
# ``exposition`` are mirrored into LATE_BOUND (the Pushgateway helpers, ``build_opener``...).
LATE_NAMES = frozenset({
    "_bake_output", "generate_latest", "build_opener", "_make_handler", "default_handler",
    "_escape_grouping_key", "CONTENT_TYPE_PLAIN_0_0_4", "_compress_payload", "_use_gateway",
})


def bake(
    registry: Collector,
    accept: Optional[str],
    accept_encoding: Optional[str],
    params: Dict[str, List[str]],
    disable_compression: bool,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    """``exposition._bake_output(...)``."""
    result: Tuple[str, List[Tuple[str, str]], bytes] = LATE_BOUND["_bake_output"](
        registry, accept, accept_encoding, params, disable_compression
    )
    return result


def render_text(registry: Collector, *escaping: str) -> bytes:
    """``exposition.generate_latest(registry[, escaping])``."""
    result: bytes = LATE_BOUND["generate_latest"](registry, *escaping)
    return result


def late(name: str, default: T) -> T:
    """``exposition.<name>`` if it was assigned there (``mock.patch``), else ``default``: what a
    transport calls, as the ``exposition`` module has it, without importing ``exposition``."""
    return cast(T, LATE_BOUND.get(name, default))
