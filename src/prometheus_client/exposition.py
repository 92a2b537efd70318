"""Exposition: the Prometheus text format, content negotiation and the transports.

Everything here is re-exported from private modules, one concern each:
``_text`` (Prometheus text encoder), ``openmetrics.exposition`` (OpenMetrics encoder),
``_negotiation`` (``choose_encoder``, ``gzip_accepted``, ``_bake_output``), ``_http``
(WSGI app, HTTP server, MetricsHandler), ``_push`` (Pushgateway), ``_textfile``, ``asgi``.
Transports call ``_bake_output``/``generate_latest`` as this module has them: an assignment
here (``mock.patch``) re-points ``_negotiation.LATE_BOUND``, which they call.
"""

from __future__ import annotations

# isort: off
import sys
from importlib import import_module
from types import ModuleType
from typing import (  # noqa: F401  (the reference module has these names)
    TYPE_CHECKING,
    Any,
    Callable as Callable,
    Dict as Dict,
    List,
    Literal as Literal,
    Optional as Optional,
    Sequence as Sequence,
    Tuple as Tuple,
    Union as Union,
)

from ._formats.text import (
    CONTENT_TYPE_LATEST as CONTENT_TYPE_LATEST,
    CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE_PLAIN_0_0_4,
    CONTENT_TYPE_PLAIN_1_0_0 as CONTENT_TYPE_PLAIN_1_0_0,
    generate_latest as generate_latest,
)
from ._formats.negotiation import (
    LATE_BOUND as _LATE_BOUND,
    LATE_NAMES as _LATE_NAMES,
    CONTENT_TYPE_PROTOBUF as CONTENT_TYPE_PROTOBUF,
    _bake_output as _bake_output,
    _get_escaping as _get_escaping,
    _get_version as _get_version,
    choose_encoder as choose_encoder,
    gzip_accepted as gzip_accepted,
)
from .openmetrics import exposition as openmetrics  # noqa: F401  (the reference has it)
from .openmetrics.exposition import ALLOWUTF8 as ALLOWUTF8, UNDERSCORES as UNDERSCORES
from .registry import REGISTRY as REGISTRY, Collector as Collector
from .utils import floatToGoString as floatToGoString

__all__ = (
    "CONTENT_TYPE_LATEST",
    "CONTENT_TYPE_PLAIN_0_0_4",
    "CONTENT_TYPE_PLAIN_1_0_0",
    "delete_from_gateway",
    "generate_latest",
    "instance_ip_grouping_key",
    "make_asgi_app",
    "make_wsgi_app",
    "MetricsHandler",
    "push_to_gateway",
    "pushadd_to_gateway",
    "start_http_server",
    "start_wsgi_server",
    "write_to_textfile",
)

# Transports (serving, pushing, textfile) live in private modules and are loaded on first
# use (PEP 562): ``import prometheus_client`` stays cheap for code that only instruments.
_LAZY = {
    "MetricsHandler": "_transport.http",
    "ThreadingWSGIServer": "_transport.http",
    "make_wsgi_app": "_transport.http",
    "start_http_server": "_transport.http",
    "start_wsgi_server": "_transport.http",
    "SNAPPY_AVAILABLE": "_transport.push",
    "CompressionType": "_transport.push",
    "PushGatewayError": "_transport.push",
    "basic_auth_handler": "_transport.push",
    "default_handler": "_transport.push",
    "delete_from_gateway": "_transport.push",
    "instance_ip_grouping_key": "_transport.push",
    "passthrough_redirect_handler": "_transport.push",
    "push_to_gateway": "_transport.push",
    "pushadd_to_gateway": "_transport.push",
    "tls_auth_handler": "_transport.push",
    "write_to_textfile": "_transport.textfile",
    "make_asgi_app": "asgi",
    # Private helpers of the reference module that users' tests patch or call.
    "_SilentHandler": "_transport.http",
    "_get_best_family": "_transport.http",
    "_get_ssl_ctx": "_transport.http",
    "_PrometheusRedirectHandler": "_transport.push",
    "_compress_payload": "_transport.push",
    "_escape_grouping_key": "_transport.push",
    "_make_handler": "_transport.push",
    "_use_gateway": "_transport.push",
}

# Standard-library names the reference module imports at its top level (so they are
# attributes of it, and mock.patch targets: the push code looks ``build_opener`` up here at
# call time). Loaded on first access, like the transports.
_STDLIB = {
    "BaseHTTPRequestHandler": ("http.server", "BaseHTTPRequestHandler"),
    "BaseHandler": ("urllib.request", "BaseHandler"),
    "HTTPHandler": ("urllib.request", "HTTPHandler"),
    "HTTPRedirectHandler": ("urllib.request", "HTTPRedirectHandler"),
    "HTTPSHandler": ("urllib.request", "HTTPSHandler"),
    "Request": ("urllib.request", "Request"),
    "build_opener": ("urllib.request", "build_opener"),
    "HTTPError": ("urllib.error", "HTTPError"),
    "ThreadingMixIn": ("socketserver", "ThreadingMixIn"),
    "WSGIRequestHandler": ("wsgiref.simple_server", "WSGIRequestHandler"),
    "WSGIServer": ("wsgiref.simple_server", "WSGIServer"),
    "make_server": ("wsgiref.simple_server", "make_server"),
    "closing": ("contextlib", "closing"),
    "partial": ("functools", "partial"),
    "parse_qs": ("urllib.parse", "parse_qs"),
    "quote_plus": ("urllib.parse", "quote_plus"),
    "urlparse": ("urllib.parse", "urlparse"),
    "base64": ("base64", None),
    "gzip": ("gzip", None),
    "os": ("os", None),
    "socket": ("socket", None),
    "ssl": ("ssl", None),
    "sys": ("sys", None),
    "threading": ("threading", None),
    "parse_version": ("prometheus_client.utils", "parse_version"),
}

if TYPE_CHECKING:  # pragma: no cover - what type checkers and IDEs see
    from ._transport.http import (
        MetricsHandler as MetricsHandler,
        ThreadingWSGIServer as ThreadingWSGIServer,
        make_wsgi_app as make_wsgi_app,
        start_http_server as start_http_server,
        start_wsgi_server as start_wsgi_server,
    )
    from ._transport.http import (
        _get_best_family as _get_best_family,
        _get_ssl_ctx as _get_ssl_ctx,
        _SilentHandler as _SilentHandler,
    )
    from ._transport.push import (
        _compress_payload as _compress_payload,
        _escape_grouping_key as _escape_grouping_key,
        _make_handler as _make_handler,
        _PrometheusRedirectHandler as _PrometheusRedirectHandler,
        _use_gateway as _use_gateway,
    )
    from ._transport.push import (
        SNAPPY_AVAILABLE as SNAPPY_AVAILABLE,
        CompressionType as CompressionType,
        PushGatewayError as PushGatewayError,
        basic_auth_handler as basic_auth_handler,
        default_handler as default_handler,
        delete_from_gateway as delete_from_gateway,
        instance_ip_grouping_key as instance_ip_grouping_key,
        passthrough_redirect_handler as passthrough_redirect_handler,
        push_to_gateway as push_to_gateway,
        pushadd_to_gateway as pushadd_to_gateway,
        tls_auth_handler as tls_auth_handler,
    )
    from ._transport.textfile import write_to_textfile as write_to_textfile
    from .asgi import make_asgi_app as make_asgi_app


def _load_snappy() -> Any:
    try:
        return import_module("snappy")
    except ImportError:
        return None


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(import_module("." + module, __package__), name)
    elif name in _STDLIB:
        modname, attr = _STDLIB[name]
        value = import_module(modname)
        if attr is not None:
            value = getattr(value, attr)
    elif name == "snappy":  # python-snappy's module, or None when it is not installed
        value = _load_snappy()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> List[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_STDLIB) | {"snappy"})


class _ExpositionModule(ModuleType):
    """Assignments here to a name a transport calls (``_bake_output``, ``generate_latest``, the
    Pushgateway helpers; ``_negotiation.LATE_NAMES``), by ``mock.patch`` or ``monkeypatch``,
    also re-point what the transports call (``_negotiation.LATE_BOUND``)."""

    def __setattr__(self, name: str, value: object) -> None:
        super().__setattr__(name, value)
        if name in _LATE_NAMES:
            _LATE_BOUND[name] = value

    def __delattr__(self, name: str) -> None:
        super().__delattr__(name)
        if name in _ORIGINAL:
            _LATE_BOUND[name] = _ORIGINAL[name]
        else:
            _LATE_BOUND.pop(name, None)


_ORIGINAL = dict(_LATE_BOUND)
sys.modules[__name__].__class__ = _ExpositionModule


# isort: on
