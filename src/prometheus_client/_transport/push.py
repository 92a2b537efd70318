"""Pushing to a Prometheus Pushgateway: URL building, request handlers, errors.

``push_to_gateway`` (PUT: replace the group), ``pushadd_to_gateway`` (POST: replace the metric
names sent), ``delete_from_gateway`` (DELETE: drop the group). A request is made by a
*handler*: ``handler(url=, method=, timeout=, headers=, data=)`` returns a zero-argument
callable that performs it. Any non-2xx answer raises ``PushGatewayError`` (an
``urllib.error.HTTPError``, hence an ``OSError``) carrying the status and the body.
"""

from __future__ import annotations

import base64
import gzip
import importlib.util
import io
import re
import socket
import ssl
import sys
import urllib.error
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Literal, Optional, Sequence, Tuple, Union
from urllib.parse import quote_plus, urlparse
from urllib.request import HTTPHandler, HTTPRedirectHandler, HTTPSHandler, Request, build_opener

from .._formats.content_types import CONTENT_TYPE_PLAIN_0_0_4
from .._formats.negotiation import late
from .._formats.text import generate_latest
from ..registry import REGISTRY, Collector
from ..validation import unencodable_at as _unencodable_at

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from email.message import Message
    from http.client import HTTPMessage
    from typing import IO, Mapping
    from urllib.request import BaseHandler

__all__ = [
    "SNAPPY_AVAILABLE",
    "CompressionType",
    "PushGatewayError",
    "basic_auth_handler",
    "default_handler",
    "delete_from_gateway",
    "instance_ip_grouping_key",
    "passthrough_redirect_handler",
    "push_to_gateway",
    "pushadd_to_gateway",
    "tls_auth_handler",
]

# Values accepted by ``compression=`` (case-insensitive).
CompressionType = Optional[Literal["gzip", "snappy"]]
# Whether python-snappy is installed (needed for ``compression='snappy'``, as in the official
# client; cramjam, when installed, is used instead when python-snappy is missing).
SNAPPY_AVAILABLE = importlib.util.find_spec("snappy") is not None

# Values are str, except the bytes ``basic_auth_handler`` adds (urllib sends either as is).
Header = Tuple[str, Any]
Headers = List[Header]
Handler = Callable[..., Callable[[], None]]

_BODY_EXCERPT = 2048


class PushGatewayError(urllib.error.HTTPError):
    """The Pushgateway (or something in front of it) answered with a non-2xx status.

    ``code``/``status`` is the HTTP status, ``reason`` its text, ``body`` the response body
    (bytes); ``str()`` shows all of them.
    """

    def __init__(self, url: str, code: int, reason: str, hdrs: Message, body: bytes) -> None:
        super().__init__(url, code, reason, hdrs, io.BytesIO(body))
        self.body = body

    def __str__(self) -> str:
        text = self.body[:_BODY_EXCERPT].decode("utf-8", "replace").strip()
        more = "..." if len(self.body) > _BODY_EXCERPT else ""
        return f"error talking to pushgateway {self.url}: {self.code} {self.msg}: {text}{more}"

    def __reduce__(self) -> Tuple[Callable[..., PushGatewayError], Tuple[object, ...]]:  # pragma: no cover - pickle
        return (self.__class__, (self.url, self.code, self.msg, None, self.body))


def _raise_for(url: str, exc: urllib.error.HTTPError) -> None:
    try:
        body = exc.read() or b""
    except Exception:
        body = b""
    raise PushGatewayError(url, exc.code, str(exc.msg), exc.headers, body) from None


def _make_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: Sequence[Header],
    data: bytes,
    base_handler: Union[BaseHandler, Callable[[], BaseHandler]],
) -> Callable[[], None]:
    def handle() -> None:
        request = Request(url, data=data, method=method)
        for k, v in headers:
            request.add_header(k, v)
        # As ``exposition`` has it at call time: tests patch ``exposition.build_opener``.
        opener = late("build_opener", build_opener)(base_handler)
        try:
            resp = opener.open(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            _raise_for(url, exc)
        with resp:
            code = resp.status
            body = resp.read()
            if not 200 <= code < 300:
                raise PushGatewayError(url, code, str(resp.reason), resp.headers, body)

    return handle


def default_handler(
    url: str, method: str, timeout: Optional[float], headers: Headers, data: bytes
) -> Callable[[], None]:
    """Plain HTTP(S) with urllib; the default handler."""
    return late("_make_handler", _make_handler)(url, method, timeout, headers, data, HTTPHandler)


def passthrough_redirect_handler(
    url: str, method: str, timeout: Optional[float], headers: Headers, data: bytes
) -> Callable[[], None]:
    """Like ``default_handler`` but follows redirects keeping method, headers and body."""
    return late("_make_handler", _make_handler)(url, method, timeout, headers, data, _PrometheusRedirectHandler)


def basic_auth_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: Headers,
    data: bytes,
    username: Optional[str] = None,
    password: Optional[str] = None,
) -> Callable[[], None]:
    """HTTP basic authentication (added when both username and password are given)."""

    def handle() -> None:
        if username is not None and password is not None:
            auth_value = f"{username}:{password}".encode()
            auth_header = b"Basic " + base64.b64encode(auth_value)
            headers.append(("Authorization", auth_header))
        late("default_handler", default_handler)(url, method, timeout, headers, data)()

    return handle


def tls_auth_handler(
    url: str,
    method: str,
    timeout: Optional[float],
    headers: Headers,
    data: bytes,
    certfile: str,
    keyfile: str,
    cafile: Optional[str] = None,
    protocol: int = ssl.PROTOCOL_TLS_CLIENT,
    insecure_skip_verify: bool = False,
) -> Callable[[], None]:
    """HTTPS with a client certificate (mutual TLS)."""

    def handle() -> None:
        context = ssl.SSLContext(protocol=protocol)
        if cafile is not None:
            context.load_verify_locations(cafile)
        else:
            context.load_default_certs()
        if insecure_skip_verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.load_cert_chain(certfile=certfile, keyfile=keyfile)
        tls_handler = HTTPSHandler(context=context)
        return late("_make_handler", _make_handler)(url, method, timeout, headers, data, tls_handler)()

    return handle


class _PrometheusRedirectHandler(HTTPRedirectHandler):
    """Follows 301/302/303/307/308 keeping method, headers and body (for PUT/POST too)."""

    def redirect_request(
        self, req: Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage, newurl: str
    ) -> Optional[Request]:
        m = req.get_method()
        if code in (301, 302, 303, 307, 308) and m in ("GET", "HEAD", "POST", "PUT", "DELETE"):
            new_request = Request(
                newurl.replace(" ", "%20"),
                headers=dict(req.headers),
                origin_req_host=req.origin_req_host,
                unverifiable=True,
                data=req.data,
                method=m,
            )
            return new_request
        raise urllib.error.HTTPError(req.full_url, code, msg, headers, fp)


_GROUPING_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


def _escape_grouping_key(k: str, v: str) -> Tuple[str, str]:
    """One ``/name/value`` pair of the URL path, in the form the Pushgateway reads back.

    A name must be a legacy label name (the Pushgateway answers any other with 400
    "improper label name", in any encoding); a value that is empty, contains ``/`` or a
    space, or is a dot segment (``.``, ``..``: HTTP path handling rewrites them) goes in the
    ``name@base64`` form, anything else percent-encoded (non-ASCII included, read back
    exactly).
    """
    if not _GROUPING_NAME.fullmatch(k) or k.startswith("__"):
        raise ValueError(
            f"Pushgateway grouping key name {k!r} is not a valid label name "
            "([a-zA-Z_][a-zA-Z0-9_]*, not starting with '__'); the Pushgateway refuses it"
        )
    i = _unencodable_at(v)
    if i is not None:
        raise ValueError(f"Pushgateway grouping key {k!r}: value {v!r} cannot be encoded as UTF-8 "
                         f"(lone surrogate at index {i})")
    if v == "":
        # Empty label values must use the base64 form.
        return k + "@base64", "="
    if "/" in v or " " in v or v in (".", ".."):
        return k + "@base64", base64.urlsafe_b64encode(v.encode("utf-8")).decode("ascii")
    return k, quote_plus(v)


def _use_gateway(
    method: str,
    gateway: str,
    job: str,
    registry: Optional[Collector],
    grouping_key: Optional[Mapping[str, object]],
    timeout: Optional[float],
    handler: Handler,
    compression: Optional[str] = None,
) -> None:
    gateway_url = urlparse(gateway)
    if not gateway_url.scheme or gateway_url.scheme not in ("http", "https"):
        gateway = f"http://{gateway}"
    gateway = gateway.rstrip("/")
    if str(job) == "":
        raise ValueError("Pushgateway job name cannot be empty (the Pushgateway answers 400)")
    url = "{}/metrics/{}/{}".format(gateway, *late("_escape_grouping_key", _escape_grouping_key)("job", str(job)))

    data = b""
    headers: Headers = [("Content-Type", late("CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_PLAIN_0_0_4))]
    if method != "DELETE":
        if compression is not None:
            kind = compression.lower()
            if kind not in ("gzip", "snappy"):
                raise ValueError(f"Unsupported compression type: {compression}")
        if registry is None:
            registry = REGISTRY
        text = late("generate_latest", generate_latest)(registry)
        data, headers = late("_compress_payload", _compress_payload)(text, compression)

    if grouping_key is None:
        grouping_key = {}
    url += "".join(
        "/{}/{}".format(*late("_escape_grouping_key", _escape_grouping_key)(str(k), str(v)))
        for k, v in sorted(grouping_key.items())
    )
    handler(url=url, method=method, timeout=timeout, headers=headers, data=data)()


def _compress(data: bytes, kind: str) -> Tuple[bytes, str]:
    if kind == "gzip":
        return gzip.compress(data, compresslevel=6), "gzip"
    try:
        import snappy
    except ImportError:
        try:
            from cramjam import snappy as cramjam_snappy
        except ImportError:
            raise RuntimeError(
                "Snappy compression requires the python-snappy package to be installed."
            ) from None
        # The framed ("sNaPpY" stream) format, like python-snappy's StreamCompressor.
        return bytes(cramjam_snappy.compress(data)), "snappy"
    compressor = snappy.StreamCompressor()
    return bytes(compressor.compress(data)), "snappy"


def _compress_payload(data: bytes, compression: Optional[str]) -> Tuple[bytes, List[Tuple[str, str]]]:
    """``(body, headers)`` of a push: Content-Type, plus Content-Encoding when compressed.

    ``compression`` is None, ``'gzip'`` or ``'snappy'`` (case-insensitive); anything else is a
    ValueError, snappy without a snappy library a RuntimeError.
    """
    headers = [("Content-Type", late("CONTENT_TYPE_PLAIN_0_0_4", CONTENT_TYPE_PLAIN_0_0_4))]
    if compression is None:
        return data, headers
    kind = compression.lower()
    if kind not in ("gzip", "snappy"):
        raise ValueError(f"Unsupported compression type: {compression}")
    data, encoding = _compress(data, kind)
    headers.append(("Content-Encoding", encoding))
    return data, headers


def push_to_gateway(
    gateway: str,
    job: str,
    registry: Collector,
    grouping_key: Optional[Mapping[str, object]] = None,
    timeout: Optional[float] = 30,
    handler: Handler = default_handler,
    compression: CompressionType = None,
) -> None:
    """Push ``registry`` to the gateway, replacing the whole group (HTTP PUT).

    ``gateway`` is ``host:port`` or a URL; ``grouping_key`` adds labels to the group (values
    containing ``/``, spaces, or empty are sent base64-encoded); ``compression`` may be
    ``'gzip'`` (or ``'snappy'`` with python-snappy).
    """
    late("_use_gateway", _use_gateway)("PUT", gateway, job, registry, grouping_key, timeout, handler, compression)


def pushadd_to_gateway(
    gateway: str,
    job: str,
    registry: Optional[Collector],
    grouping_key: Optional[Mapping[str, object]] = None,
    timeout: Optional[float] = 30,
    handler: Handler = default_handler,
    compression: CompressionType = None,
) -> None:
    """Push ``registry``, replacing only the metric names it contains (HTTP POST)."""
    late("_use_gateway", _use_gateway)("POST", gateway, job, registry, grouping_key, timeout, handler, compression)


def delete_from_gateway(
    gateway: str,
    job: str,
    grouping_key: Optional[Mapping[str, object]] = None,
    timeout: Optional[float] = 30,
    handler: Handler = default_handler,
) -> None:
    """Delete the group ``job`` + ``grouping_key`` from the gateway (HTTP DELETE)."""
    late("_use_gateway", _use_gateway)("DELETE", gateway, job, None, grouping_key, timeout, handler)


def instance_ip_grouping_key() -> Dict[str, str]:
    """A grouping key ``{'instance': <IP address of this host>}``."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        if sys.platform == "darwin":
            s.connect(("10.255.255.255", 1))
        else:
            s.connect(("localhost", 0))
        return {"instance": s.getsockname()[0]}
