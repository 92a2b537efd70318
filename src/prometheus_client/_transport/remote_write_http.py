"""The remote write HTTP client: handlers, headers, retries with back-off, the 2.0 -> 1.0
fallback, and the error raised when a receiver refuses."""

from __future__ import annotations

import base64
import logging
import random
import ssl
import time
import urllib.error
import urllib.request
from typing import (
    TYPE_CHECKING,
    Callable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from .._formats import remote_write_v2 as _v2
from .._formats.content_types import CONTENT_TYPE_REMOTE_WRITE

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from http.client import HTTPMessage
    from typing import IO

CONTENT_TYPE = CONTENT_TYPE_REMOTE_WRITE
REMOTE_WRITE_VERSION = "0.1.0"
#: ``protobuf_message`` values: 1.0 (the default) and 2.0.
PROTOBUF_MESSAGE_V1 = "prometheus.WriteRequest"
PROTOBUF_MESSAGE_V2 = _v2.PROTOBUF_MESSAGE
_WRITTEN_HEADERS = (
    ("samples", "X-Prometheus-Remote-Write-Samples-Written"),
    ("histograms", "X-Prometheus-Remote-Write-Histograms-Written"),
    ("exemplars", "X-Prometheus-Remote-Write-Exemplars-Written"),
)
USER_AGENT = "prometheus-client-python/0.27.0"
_RESERVED_HEADERS = frozenset(
    {"content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent"}
)

logger = logging.getLogger("prometheus_client.remote_write")

# The request callable returns the response headers (read through ``get(name)``) or None.
Handler = Callable[..., Callable[[], object]]
Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]


class RemoteWriteError(OSError):
    """A remote-write request failed.

    ``status`` is the HTTP status of the last answer received (``None`` when the receiver
    never answered: connection errors, timeouts), ``body`` that answer's text (trimmed),
    ``attempts`` the number of requests made.
    """

    def __init__(self, message: str, *, url: str = "", status: Optional[int] = None,
                 body: str = "", attempts: int = 0, only_v1: bool = False) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body
        self.attempts = attempts
        #: A 2.0 request was refused because the receiver only speaks remote write 1.0 (415,
        #: or a 2xx without the ``Written`` headers, which a 1.x receiver gives).
        self.only_v1 = only_v1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Remote write never follows redirects (urllib would turn the POST into a GET)."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: HTTPMessage,
                         newurl: str) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _urllib_handler(opener: urllib.request.OpenerDirector) -> Handler:
    def handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                data: bytes) -> Callable[[], object]:
        def handle() -> object:
            req = urllib.request.Request(url, data=data, method=method)
            for k, v in headers:
                req.add_header(k, v)
            with opener.open(req, timeout=timeout) as resp:
                resp.read()
                return resp.headers

        return handle

    return handler


def default_handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                    data: bytes) -> Callable[[], object]:
    """Send one request with urllib.  Same calling convention as the Pushgateway handlers:
    ``handler(url=..., method=..., timeout=..., headers=[(name, value), ...], data=...)``
    returns a callable that performs the request and raises on failure
    (:class:`urllib.error.HTTPError` for answers >= 300, ``OSError`` for connection errors).
    The callable returns the response headers (anything with ``get(name)``); remote write 2.0
    reads the ``X-Prometheus-Remote-Write-*-Written`` headers from them.  A custom handler
    that returns None skips that check.
    """
    return _default(url, method, timeout, headers, data)


_default = _urllib_handler(_opener)


def _handler_for(handler: Handler, ssl_context: Optional[ssl.SSLContext]) -> Handler:
    if ssl_context is None:
        return handler
    if handler is not default_handler:
        raise ValueError("remote write: ssl_context applies to the default handler only; "
                         "configure TLS in your handler instead")
    return _urllib_handler(urllib.request.build_opener(_NoRedirect(),
                                                       urllib.request.HTTPSHandler(context=ssl_context)))


def _protocol_headers(v2: bool) -> List[Tuple[str, str]]:
    return [
        ("Content-Encoding", "snappy"),
        ("Content-Type", _v2.CONTENT_TYPE if v2 else CONTENT_TYPE),
        ("X-Prometheus-Remote-Write-Version", _v2.REMOTE_WRITE_VERSION if v2 else REMOTE_WRITE_VERSION),
        ("User-Agent", USER_AGENT),
    ]


def _is_v2(protobuf_message: str) -> bool:
    if protobuf_message == PROTOBUF_MESSAGE_V2:
        return True
    if protobuf_message == PROTOBUF_MESSAGE_V1:
        return False
    raise ValueError(f"remote write: protobuf_message must be {PROTOBUF_MESSAGE_V1!r} (1.0) or "
                     f"{PROTOBUF_MESSAGE_V2!r} (2.0), got {protobuf_message!r}")


def _headers(headers: Optional[Headers], basic_auth: Optional[Tuple[str, str]] = None,
             v2: bool = False) -> List[Tuple[str, str]]:
    out = _protocol_headers(v2)
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for k, v in items:
            if k.lower() in _RESERVED_HEADERS:
                raise ValueError(f"remote write: header {k!r} is set by the protocol and cannot be overridden")
            if basic_auth is not None and k.lower() == "authorization":
                raise ValueError("remote write: give either basic_auth or an Authorization header, not both")
            out.append((k, v))
    if basic_auth is not None:
        user, password = basic_auth
        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        out.append(("Authorization", "Basic " + token))
    return out


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"remote write: url must start with http:// or https://, got {url!r}")


def _error_body(e: urllib.error.HTTPError) -> str:
    try:
        raw = e.read()
    except Exception:  # noqa: BLE001 - the body is best effort
        raw = b""
    finally:
        try:
            e.close()
        except Exception:  # noqa: BLE001
            pass
    text = raw.decode("utf-8", "replace").strip() if raw else ""
    if not text:
        text = str(e.reason or "")
    return text[:2048]


def _retry_after(e: urllib.error.HTTPError) -> Optional[float]:
    value = e.headers.get("Retry-After") if e.headers is not None else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class _Policy:
    __slots__ = ("timeout", "min_backoff", "max_backoff", "max_attempts", "retry_on_http_429")

    def __init__(self, timeout: float, min_backoff: float, max_backoff: float,
                 max_attempts: Optional[int], retry_on_http_429: bool) -> None:
        if not timeout > 0:
            raise ValueError(f"remote write: timeout must be > 0 seconds, got {timeout!r}")
        if not 0 <= min_backoff <= max_backoff:
            raise ValueError("remote write: need 0 <= min_backoff <= max_backoff, "
                             f"got {min_backoff!r} and {max_backoff!r}")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError(f"remote write: max_attempts must be >= 1, got {max_attempts!r}")
        self.timeout = float(timeout)
        self.min_backoff = float(min_backoff)
        self.max_backoff = float(max_backoff)
        self.max_attempts = max_attempts
        self.retry_on_http_429 = retry_on_http_429


def _send(url: str, body: bytes, headers: List[Tuple[str, str]], handler: Handler, policy: _Policy,
          wait: Callable[[float], bool]) -> Tuple[int, object]:
    """POST ``body`` with retries; return the number of attempts and what the handler's
    callable returned (the response headers for the default handler).  ``wait(s)`` sleeps
    and returns True when the caller wants to give up early (pusher being stopped)."""
    start = time.monotonic()
    deadline = start + policy.timeout
    attempt = 0
    answer: Optional[Tuple[int, str]] = None  # last HTTP answer received (status, message)
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        status: Optional[int] = None
        hint: Optional[float] = None
        try:
            result = handler(url=url, method="POST", timeout=max(remaining, 0.001), headers=headers,
                             data=body)()
            return attempt, result
        except urllib.error.HTTPError as e:
            status = e.code
            msg = _error_body(e)
            hint = _retry_after(e) if status == 429 else None
            retryable = status >= 500 or (status == 429 and policy.retry_on_http_429)
            what = f"HTTP {status}: {msg}" if msg else f"HTTP {status}"
            if not retryable:
                raise RemoteWriteError(f"remote write to {url} failed: {what}", url=url, status=status,
                                       body=msg, attempts=attempt) from None
            answer = (status, msg)
            last: BaseException = e
        except RemoteWriteError as e:  # raised by a custom handler
            status = e.status
            if status is not None and status < 500 and not (status == 429 and policy.retry_on_http_429):
                raise
            what = str(e)
            msg = e.body
            if status is not None:
                answer = (status, msg)
            last = e
        except OSError as e:  # connection refused/reset, DNS, timeouts
            what = f"{type(e).__name__}: {e}"
            if isinstance(e, ssl.SSLCertVerificationError) or isinstance(
                    getattr(e, "reason", None), ssl.SSLCertVerificationError):
                # a certificate that does not verify will not verify on a retry either
                raise RemoteWriteError(f"remote write to {url} failed: {what}", url=url,
                                       attempts=attempt) from e
            msg = ""
            last = e
        delay = min(policy.max_backoff, policy.min_backoff * (2.0 ** (attempt - 1)))
        delay *= random.uniform(0.5, 1.0)
        if hint is not None:
            delay = max(delay, hint)
        if answer is not None and status is None:  # e.g. the last attempt timed out
            what += f"; last answer: HTTP {answer[0]}" + (f": {answer[1]}" if answer[1] else "")
        a_status, a_msg = answer if answer is not None else (None, "")
        elapsed = time.monotonic() - start
        if (policy.max_attempts is not None and attempt >= policy.max_attempts) or \
                time.monotonic() + delay >= deadline:
            raise RemoteWriteError(
                f"remote write to {url} failed after {attempt} attempt(s) in {elapsed:.2f}s: {what}",
                url=url, status=a_status, body=a_msg, attempts=attempt) from last
        logger.debug("remote write to %s: attempt %d failed (%s), retrying in %.3fs", url, attempt,
                     what, delay)
        if wait(delay):
            raise RemoteWriteError(f"remote write to {url} abandoned (pusher stopped) after "
                                   f"{attempt} attempt(s): {what}", url=url, status=a_status, body=a_msg,
                                   attempts=attempt) from last


def _sleep(delay: float) -> bool:
    time.sleep(delay)
    return False


def _only_v1(url: str, status: Optional[int], detail: str, attempts: int) -> RemoteWriteError:
    return RemoteWriteError(
        f"remote write to {url}: the receiver only speaks remote write 1.0 ({detail}); "
        f"push with protobuf_message={PROTOBUF_MESSAGE_V1!r}", url=url, status=status,
        attempts=attempts, only_v1=True)


def _send_v2(url: str, body: bytes, counts: _v2.Counts, headers: List[Tuple[str, str]], handler: Handler,
             policy: _Policy, wait: Callable[[float], bool]) -> None:
    """Send a 2.0 request; check the ``Written`` headers of the answer against ``counts``."""
    try:
        attempts, result = _send(url, body, headers, handler, policy, wait)
    except RemoteWriteError as e:
        if e.status == 415:
            raise _only_v1(url, 415, f"HTTP 415: {e.body}" if e.body else "HTTP 415", e.attempts) from e
        raise
    get = getattr(result, "get", None)
    if get is None:  # a custom handler that returns nothing: no headers to check
        return
    written = {kind: get(name) for kind, name in _WRITTEN_HEADERS}
    if all(v is None for v in written.values()):
        # what a 1.x receiver does: it ignores Content-Type and decodes an empty 1.0 request
        raise _only_v1(url, None, "its 2xx answer has no X-Prometheus-Remote-Write-*-Written headers",
                       attempts)
    short = []
    for kind, _name in _WRITTEN_HEADERS:
        sent = getattr(counts, kind)
        try:
            n = int(written[kind] or 0)  # a missing header means 0 written
        except ValueError:
            raise RemoteWriteError(f"remote write to {url}: invalid {kind}-written header {written[kind]!r}",
                                   url=url, attempts=attempts) from None
        if n < sent:
            short.append(f"{n} of {sent} {kind}")
    if short:
        raise RemoteWriteError(f"remote write to {url}: the receiver wrote only {', '.join(short)}",
                               url=url, attempts=attempts)
