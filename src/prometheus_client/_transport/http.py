"""Serving metrics over HTTP: the WSGI app, the threaded built-in server and MetricsHandler.

The response body and headers come from ``prometheus_client.exposition._bake_output`` (looked
up on that module at call time, so callers can patch it). This module only does transport:

* ``make_wsgi_app``: OPTIONS / 405 / ``/favicon.ico`` handling around ``_bake_output``.
* ``ThreadingWSGIServer``: one daemon thread per connection; ``server_close()`` also wakes up
  idle keep-alive connections so their threads end and the port is freed.
* ``start_wsgi_server`` / ``start_http_server``: serve ``make_wsgi_app`` with a small, strict
  HTTP/1.1 request handler (keep-alive, bounded request line and headers, a socket timeout so
  a client that never finishes its request is dropped, TLS handshake in the connection's own
  thread so a stalled TLS client cannot block ``accept``).
* ``MetricsHandler``: a ``BaseHTTPRequestHandler`` for people embedding it in their own server.
"""

from __future__ import annotations

import io
import logging
import selectors
import socket
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler
from socketserver import StreamRequestHandler, ThreadingMixIn
from typing import TYPE_CHECKING, Callable, Dict, Iterable, List, Mapping, Optional, Set, Tuple, Type, cast
from urllib.parse import parse_qs, unquote, urlsplit
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from .._formats.content_types import PLAIN_TEXT
from .._formats.negotiation import bake
from ..registry import REGISTRY, Collector
from .server_setup import (
    _get_best_family as _get_best_family,
)
from .server_setup import (
    _get_ssl_ctx as _get_ssl_ctx,
)

__all__ = [
    "MetricsHandler",
    "ThreadingWSGIServer",
    "make_wsgi_app",
    "start_http_server",
    "start_wsgi_server",
]

_log = logging.getLogger("prometheus_client")

_ALLOW = ("Allow", "OPTIONS,GET")

# Limits of the built-in server's request parser: the standard library's HTTP server (which
# the reference client serves with) accepts request lines and header lines of up to 64 KiB,
# line ending included, and at most 100 header lines. A long ``?name[]=...`` filter list
# needs the room.
_MAX_REQUEST_LINE = 65536
_MAX_HEADER_LINE = 65536
_MAX_HEADERS = 100
_MAX_HEADER_BYTES = _MAX_HEADERS * _MAX_HEADER_LINE
_MAX_BODY = 1 << 20
# Seconds a client may take to send a request (socket timeout, and deadline for the request
# line plus headers) before the server drops the connection.
_CONNECTION_TIMEOUT = 15.0
# Seconds an open keep-alive connection may stay idle between two requests (longer than the
# usual scrape intervals, so a scraper can reuse its connection).
_KEEP_ALIVE_TIMEOUT = 75.0

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from socketserver import BaseRequestHandler

    from _typeshed import OptExcInfo

StartResponse = Callable[..., object]
WSGIApp = Callable[[Mapping[str, object], StartResponse], Iterable[bytes]]


# Through ``_negotiation.bake``, so that patching exposition._bake_output takes effect.
_bake = bake


def make_wsgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> WSGIApp:
    """A WSGI application that serves the metrics of ``registry``.

    GET on any path returns the metrics (content negotiated from ``Accept``, gzip when the
    client accepts it and ``disable_compression`` is false, ``?name[]=`` filtering); GET
    ``/favicon.ico`` returns an empty 200; OPTIONS returns the allowed methods; anything else
    is 405.
    """

    def prometheus_app(environ: Mapping[str, object], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS":
            start_response("200 OK", [_ALLOW])
            return [b""]
        if method != "GET":
            start_response("405 Method Not Allowed", [_ALLOW])
            return [f"# HTTP 405 Method Not Allowed: {method}; use OPTIONS or GET\n".encode()]
        if environ.get("PATH_INFO") == "/favicon.ico":
            start_response("200 OK", [])
            return [b""]
        query = cast(str, environ.get("QUERY_STRING", ""))
        params = parse_qs(query) if query else {}
        status, headers, body = _bake(
            registry,
            cast(Optional[str], environ.get("HTTP_ACCEPT")),
            cast(Optional[str], environ.get("HTTP_ACCEPT_ENCODING")),
            params,
            disable_compression,
        )
        start_response(status, headers)
        return [body]

    return prometheus_app


class ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    """A ``WSGIServer`` that handles each connection in its own daemon thread.

    Open connections are tracked so that ``server_close()`` can wake up the ones idling in a
    keep-alive wait: their threads end promptly and nothing keeps the port busy.
    """

    daemon_threads = True
    # Room for bursts of new connections (many scrapers, load tools).
    request_queue_size = 128
    # TLS settings of start_http_server (read by the connection handler)
    _prom_ssl_context: Optional[ssl.SSLContext] = None

    def __init__(
        self,
        server_address: Tuple[str, int],
        RequestHandlerClass: Callable[..., BaseRequestHandler],
        bind_and_activate: bool = True,
    ) -> None:
        self._conn_lock = threading.Lock()
        self._conns: Set[int] = set()  # file descriptors of open connections
        self._closing = False
        self._stop_requested = False
        self._stopped = threading.Event()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        super().__init__(server_address, RequestHandlerClass, bind_and_activate)

    if TYPE_CHECKING:  # pragma: no cover - socketserver.BaseServer's, missing from its stubs
        def _handle_request_noblock(self) -> None: ...

    def serve_forever(self, poll_interval: float = 0.5) -> None:
        """Handle requests until ``shutdown()``, which takes effect at once (no polling delay)."""
        self._stopped.clear()
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(self.socket, selectors.EVENT_READ)
                selector.register(self._wake_r, selectors.EVENT_READ)
                while not self._stop_requested:
                    ready = selector.select(poll_interval)
                    if self._stop_requested:
                        break
                    for key, _ in ready:
                        if key.fileobj is self.socket:
                            self._handle_request_noblock()
                        else:
                            try:
                                self._wake_r.recv(64)
                            except OSError:
                                pass
                    self.service_actions()
        finally:
            self._stop_requested = False
            self._stopped.set()

    def shutdown(self) -> None:
        """Stop ``serve_forever`` and wait until it has returned (call from another thread)."""
        self._stop_requested = True
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass
        self._stopped.wait()

    def _track(self, fd: int) -> bool:
        with self._conn_lock:
            if self._closing:
                return False
            self._conns.add(fd)
            return True

    def _untrack(self, fd: int) -> None:
        # Called before the connection's socket is closed, so a tracked fd is never reused.
        with self._conn_lock:
            self._conns.discard(fd)

    def server_close(self) -> None:
        super().server_close()
        for s in (self._wake_r, self._wake_w):
            s.close()
        with self._conn_lock:
            self._closing = True
            for fd in self._conns:
                try:
                    s = socket.socket(fileno=fd)
                except OSError:
                    continue
                try:
                    # Ends a pending read (EOF); a response being written still completes.
                    s.shutdown(socket.SHUT_RD)
                except OSError:
                    pass
                finally:
                    s.detach()
            self._conns.clear()


class _SilentWSGIRequestHandler(WSGIRequestHandler):
    """wsgiref's handler without the access log (for users' own ``make_server`` calls)."""

    def log_message(self, format: str, *args: object) -> None:
        pass


# The reference name (``exposition._SilentHandler``): test fixtures build their server from
# ``make_server(addr, port, make_wsgi_app(), ThreadingWSGIServer, handler_class=_SilentHandler)``.
_SilentHandler = _SilentWSGIRequestHandler


class _HTTPError(Exception):
    """Answer with this status and close the connection."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


_SERVER_HEADER = "WSGIServer/0.2 CPython/" + sys.version.split()[0]


class _WSGIConnectionHandler(StreamRequestHandler):
    """A small, strict HTTP/1.1 server side for one connection, calling a WSGI app.

    Keep-alive (HTTP/1.1 by default, HTTP/1.0 on request), bounded request line / header
    sizes (414 / 431), 400 for malformed requests, a socket timeout for silent clients, HEAD
    responses without a body.
    """

    timeout = _CONNECTION_TIMEOUT
    keep_alive_timeout = _KEEP_ALIVE_TIMEOUT
    rbufsize = 65536
    server: ThreadingWSGIServer

    def setup(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(self.timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        self._raw_sock = sock
        self._tls_sock: Optional[ssl.SSLSocket] = None
        self._served = 0
        self._deadline = 0.0
        self._fd = sock.fileno()
        self._tracked = self.server._track(self._fd) if hasattr(self.server, "_track") else False
        self.connection = sock

    def handle(self) -> None:
        try:
            ctx: Optional[ssl.SSLContext] = getattr(self.server, "_prom_ssl_context", None)
            if ctx is not None:
                # Handshake here, in the connection's thread, under the socket timeout.
                self._tls_sock = ctx.wrap_socket(self._raw_sock, server_side=True)
                self.connection = self._tls_sock
            self.rfile = self.connection.makefile("rb", self.rbufsize)
            # sendall: a plain write() on a socket file may send only part of the data.
            self._send = self.connection.sendall
            while self._handle_one():
                pass
        except (OSError, ValueError):
            # Timeouts, resets, failed TLS handshakes, a closed file: drop the connection.
            pass

    def finish(self) -> None:
        if self._tracked:
            self.server._untrack(self._fd)
        rfile = getattr(self, "rfile", None)
        if rfile is not None:
            try:
                rfile.close()
            except OSError:
                pass
        if self._tls_sock is not None:
            try:
                self._tls_sock.close()
            except OSError:
                pass

    def _send_error(self, status: str) -> None:
        body = f"{status}\n".encode()
        head = (
            f"HTTP/1.1 {status}\r\nContent-Type: {PLAIN_TEXT}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode("latin-1")
        self._send(head + body)

    def _read_line(self, limit: int, status: str) -> bytes:
        line = self.rfile.readline(limit + 1)
        if len(line) > limit:
            raise _HTTPError(status)
        return line

    def _handle_one(self) -> bool:
        idle = self._served > 0
        if idle:
            self.connection.settimeout(self.keep_alive_timeout)
        line = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        if idle:
            self.connection.settimeout(self.timeout)
        if line in (b"\r\n", b"\n"):  # one empty line before a request is tolerated
            line = self.rfile.readline(_MAX_REQUEST_LINE + 1)
        if not line:
            return False
        self._served += 1
        self._deadline = time.monotonic() + self.timeout
        try:
            return self._serve(line)
        except _HTTPError as exc:
            self._send_error(exc.status)
            self._linger()
            return False

    def _linger(self) -> None:
        """Before closing after an error, read what the client still sends (briefly).

        Closing a socket with unread input makes the kernel send a reset, which can destroy
        the error response before the client has read it.
        """
        try:
            if self._tls_sock is None:
                self._raw_sock.shutdown(socket.SHUT_WR)
            self.connection.settimeout(0.5)
            deadline = time.monotonic() + 2.0
            drained = 0
            while drained < _MAX_BODY and time.monotonic() < deadline:
                chunk = self.rfile.read1(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except (OSError, ValueError):
            pass

    def _serve(self, line: bytes) -> bool:
        if len(line) > _MAX_REQUEST_LINE:
            raise _HTTPError("414 URI Too Long")
        if not line.endswith(b"\n"):
            raise _HTTPError("400 Bad Request")
        parts = line.decode("latin-1").rstrip("\r\n").split(" ")
        if len(parts) != 3 or not parts[0] or not parts[1]:
            raise _HTTPError("400 Bad Request")
        method, target, version = parts
        if version == "HTTP/1.1":
            keep_alive = True
        elif version == "HTTP/1.0":
            keep_alive = False
        elif version.startswith("HTTP/"):
            raise _HTTPError("505 HTTP Version Not Supported")
        else:
            raise _HTTPError("400 Bad Request")

        headers: Dict[str, str] = {}
        total = 0
        count = 0
        while True:
            hline = self._read_line(_MAX_HEADER_LINE, "431 Request Header Fields Too Large")
            if not hline.endswith(b"\n"):
                # EOF in the middle of the headers.
                raise OSError("connection closed while reading headers")
            if hline in (b"\r\n", b"\n"):
                break
            total += len(hline)
            count += 1
            if time.monotonic() > self._deadline:
                raise socket.timeout("request headers not received in time")
            if total > _MAX_HEADER_BYTES or count > _MAX_HEADERS:
                raise _HTTPError("431 Request Header Fields Too Large")
            if hline[:1] in (b" ", b"\t"):  # obsolete line folding
                raise _HTTPError("400 Bad Request")
            name, sep, value = hline.decode("latin-1").partition(":")
            name = name.lower()
            if not sep or not name or name != name.strip() or " " in name:
                raise _HTTPError("400 Bad Request")
            value = value.strip()
            if name in headers:
                headers[name] = headers[name] + "," + value
            else:
                headers[name] = value

        conn = headers.get("connection", "").lower()
        if "close" in conn:
            keep_alive = False
        elif "keep-alive" in conn:
            keep_alive = True

        if "transfer-encoding" in headers:
            raise _HTTPError("501 Not Implemented")
        body = b""
        clen = headers.get("content-length")
        if clen is not None:
            if not clen.isdigit():
                raise _HTTPError("400 Bad Request")
            n = int(clen)
            if n > _MAX_BODY:
                raise _HTTPError("413 Content Too Large")
            if n:
                if headers.get("expect", "").lower() == "100-continue":
                    self._send(b"HTTP/1.1 100 Continue\r\n\r\n")
                body = self.rfile.read(n)
                if len(body) != n:
                    return False

        if target.startswith(("http://", "https://")):
            split = urlsplit(target)
            path, query = split.path or "/", split.query
        else:
            path, _, query = target.partition("?")
        environ: Dict[str, object] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": "",
            "PATH_INFO": unquote(path, "latin-1"),
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": version,
            "SERVER_NAME": self.server.server_name,
            "SERVER_PORT": str(self.server.server_port),
            "REMOTE_ADDR": self.client_address[0] if self.client_address else "",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "https" if self._tls_sock is not None else "http",
            "wsgi.input": io.BytesIO(body),
            "wsgi.errors": sys.stderr,
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }
        for name, value in headers.items():
            if name == "content-type":
                environ["CONTENT_TYPE"] = value
            elif name == "content-length":
                environ["CONTENT_LENGTH"] = value
            else:
                environ["HTTP_" + name.upper().replace("-", "_")] = value

        response: List[Tuple[str, List[Tuple[str, str]]]] = []  # [(status, headers)] once started

        def start_response(
            status: str, response_headers: List[Tuple[str, str]], exc_info: Optional[OptExcInfo] = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and response:
                raise cast(BaseException, exc_info[1]).with_traceback(exc_info[2])
            response[:] = [(status, response_headers)]
            return lambda data: chunks.append(data)

        chunks: List[bytes] = []
        try:
            app = self.server.get_app()
            if app is None:
                raise RuntimeError("no WSGI application set on the server")
            result = app(environ, start_response)
            try:
                chunks.extend(result)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except Exception:
            _log.exception("Error serving %s %s", method, target)
            raise _HTTPError("500 Internal Server Error") from None
        if not response:
            raise _HTTPError("500 Internal Server Error")
        ((status, response_headers),) = response
        payload = chunks[0] if len(chunks) == 1 else b"".join(chunks)

        out = [f"HTTP/1.1 {status}\r\n"]
        has_length = False
        for hname, hvalue in response_headers:
            if hname.lower() == "content-length":
                has_length = True
            out.append(f"{hname}: {hvalue}\r\n")
        if not has_length:
            out.append(f"Content-Length: {len(payload)}\r\n")
        out.append(f"Date: {formatdate(usegmt=True)}\r\nServer: {_SERVER_HEADER}\r\n")
        if not keep_alive:
            out.append("Connection: close\r\n")
        elif version == "HTTP/1.0":
            out.append("Connection: keep-alive\r\n")
        out.append("\r\n")
        head = "".join(out).encode("latin-1")
        if method == "HEAD":
            payload = b""
        if len(payload) < 262144:
            self._send(head + payload)
        else:  # no copy of a big body
            self._send(head)
            self._send(payload)
        return keep_alive


def start_wsgi_server(
    port: int,
    addr: str = "0.0.0.0",
    registry: Collector = REGISTRY,
    certfile: Optional[str] = None,
    keyfile: Optional[str] = None,
    client_cafile: Optional[str] = None,
    client_capath: Optional[str] = None,
    protocol: int = ssl.PROTOCOL_TLS_SERVER,
    client_auth_required: bool = False,
    tls_min_version: Optional[ssl.TLSVersion] = None,
    tls_max_version: Optional[ssl.TLSVersion] = None,
) -> Tuple[WSGIServer, threading.Thread]:
    """Serve the metrics of ``registry`` on ``addr:port`` from a daemon thread.

    Returns ``(server, thread)``; stop with ``server.shutdown(); server.server_close();
    thread.join()``. ``port=0`` picks a free port (``server.server_address[1]``). TLS when both
    ``certfile`` and ``keyfile`` are given; mutual TLS with ``client_auth_required``.
    """

    family, resolved = _get_best_family(addr, port)

    class TmpServer(ThreadingWSGIServer):
        """One server class per call, so the address family is per server."""

    TmpServer.address_family = family
    ctx: Optional[ssl.SSLContext] = None
    if certfile and keyfile:
        ctx = _get_ssl_ctx(
            certfile, keyfile, protocol, client_cafile, client_capath,
            client_auth_required, tls_min_version, tls_max_version,
        )
    app = make_wsgi_app(registry)
    handler = cast(Type[WSGIRequestHandler], _WSGIConnectionHandler)
    httpd = cast(ThreadingWSGIServer, make_server(resolved, port, app, TmpServer, handler_class=handler))
    httpd._prom_ssl_context = ctx
    t = threading.Thread(target=httpd.serve_forever, name="prometheus-http-server", daemon=True)
    t.start()
    return httpd, t


start_http_server = start_wsgi_server


class MetricsHandler(BaseHTTPRequestHandler):
    """HTTP handler that serves the metrics of ``registry`` on GET (any path)."""

    registry: Collector = REGISTRY
    # A client that stops sending mid-request is dropped after this many seconds.
    timeout = _CONNECTION_TIMEOUT

    def do_GET(self) -> None:
        registry = self.registry
        accept = self.headers.get("Accept")
        accept_encoding = self.headers.get("Accept-Encoding")
        query = urlsplit(self.path).query
        params = parse_qs(query) if query else {}
        try:
            status, headers, output = _bake(registry, accept, accept_encoding, params, False)
        except Exception:
            self.send_error(500, "error generating metric output")
            raise
        self.send_response(int(status.split(" ", 1)[0]))
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(output)))
        self.end_headers()
        self.wfile.write(output)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log."""

    @classmethod
    def factory(cls, registry: Collector) -> Type[MetricsHandler]:
        """A subclass of this handler bound to ``registry``."""
        cls_name = str(cls.__name__)
        return type(cls_name, (cls, object), {"registry": registry})
