"""Push metrics straight into Prometheus-compatible storage with remote write 1.0 or 2.0.

Remote write 2.0 (``protobuf_message="io.prometheus.write.v2.Request"``; encoder in
``_remote_write_v2``) is described at :func:`push_to_remote_write`; what follows is 1.0, the
default.

Prometheus (``--web.enable-remote-write-receiver``), Mimir, Cortex, Thanos receive,
VictoriaMetrics and others accept the Prometheus remote-write protocol: an HTTP ``POST`` of a
snappy-compressed protobuf ``WriteRequest``.  This module turns a registry into such a request
and sends it:

* :func:`push_to_remote_write` pushes once (batch jobs, serverless functions, cron);
* :class:`RemoteWritePusher` pushes every ``interval`` seconds from a background thread
  (long-running processes that cannot be scraped).

Data model (what a receiver stores), chosen to match what Prometheus itself stores when it
scrapes the same registry:

* every sample of every family becomes one series named after the sample:
  counters ``x_total`` (and ``x_created`` unless created series are disabled with
  :func:`prometheus_client.disable_created_metrics`), histograms ``x_bucket{le=...}``,
  ``x_count``, ``x_sum`` (and ``x_created``), summaries ``x{quantile=...}`` when present,
  ``x_count``, ``x_sum`` (and ``x_created``), gauge histograms ``x_bucket``, ``x_gcount``,
  ``x_gsum``, info ``x_info``, stateset ``x{x="state"}`` (1 or 0), gauges and unknown ``x``;
  native-histogram samples become native histogram series under the bare name;
* labels are sorted, ``__name__`` included, empty label values left out (remote write forbids
  them; Prometheus drops them when it scrapes), names outside the legacy character set escaped
  with ``underscores`` like ``generate_latest``;
* ``job`` and ``instance`` (default: the host name) and ``extra_labels`` are added to every
  series.  A sample label with the same name is renamed ``exported_<name>`` (Prometheus'
  ``honor_labels: false``), or wins over the target label with ``honor_labels=True``;
* samples carry the push time in milliseconds, or their own timestamp when they have one;
* one ``MetricMetadata`` per family: type, family name (the OpenMetrics family name, e.g.
  ``x`` for the counter ``x_total``, as Prometheus records it when scraping), help and unit;
* exemplars are sent with their series.

Speed: the metric objects of this library are encoded from their raw numbers (the exposition
fast path), with the encoded labels of every series built once and, in a
:class:`RemoteWritePusher`, kept while the series exists; snappy uses ``cramjam`` when it is
installed (``pip install cramjam``), else the library's own pure-Python compressor.

Retries: 5xx answers and connection errors are retried with exponential back-off and jitter
until ``timeout`` is used up, then :class:`RemoteWriteError` is raised.  Other answers >= 300
(4xx, and 429 unless ``retry_on_http_429``) are not retried and raise at once with the
server's message.  A retry re-sends the very same bytes (same timestamps), so a receiver that
did store an earlier attempt sees identical duplicates, which Prometheus-compatible stores
accept without change; after a 2xx nothing is sent again.
"""

from __future__ import annotations

import atexit
import ssl
import threading
import time
from typing import (
    Callable,
    Mapping,
    Optional,
    Tuple,
)

from .._formats import remote_write_v2 as _v2
from .._formats import snappy as _snappy
from .._formats.remote_write import WriteRequestEncoder, target_labels, timestamp_ms
from .._formats.render import walk
from ..registry import REGISTRY, Collector
from .remote_write_http import _RESERVED_HEADERS as _RESERVED_HEADERS
from .remote_write_http import _WRITTEN_HEADERS as _WRITTEN_HEADERS
from .remote_write_http import CONTENT_TYPE as CONTENT_TYPE
from .remote_write_http import PROTOBUF_MESSAGE_V1 as PROTOBUF_MESSAGE_V1
from .remote_write_http import PROTOBUF_MESSAGE_V2 as PROTOBUF_MESSAGE_V2
from .remote_write_http import REMOTE_WRITE_VERSION as REMOTE_WRITE_VERSION
from .remote_write_http import USER_AGENT as USER_AGENT
from .remote_write_http import Handler as Handler
from .remote_write_http import Headers as Headers
from .remote_write_http import RemoteWriteError as RemoteWriteError
from .remote_write_http import (
    _check_url,
    _handler_for,
    _headers,
    _is_v2,
    _Policy,
    _send,
    _send_v2,
    _sleep,
    default_handler,
)
from .remote_write_http import logger as logger

__all__ = [
    "CONTENT_TYPE",
    "PROTOBUF_MESSAGE_V1",
    "PROTOBUF_MESSAGE_V2",
    "REMOTE_WRITE_VERSION",
    "USER_AGENT",
    "RemoteWriteError",
    "RemoteWritePusher",
    "default_handler",
    "push_to_remote_write",
    "write_request_from_registry",
]

def write_request_from_registry(
    registry: Collector = REGISTRY,
    *,
    job: str,
    instance: Optional[str] = None,
    extra_labels: Optional[Mapping[str, str]] = None,
    timestamp: Optional[float] = None,
    honor_labels: bool = False,
    send_metadata: bool = True,
    protobuf_message: str = PROTOBUF_MESSAGE_V1,
) -> bytes:
    """The uncompressed protobuf ``WriteRequest`` (or, with ``protobuf_message=
    "io.prometheus.write.v2.Request"``, the 2.0 ``Request``) that :func:`push_to_remote_write`
    would send.

    ``timestamp`` (seconds since the epoch, default now) is given to samples without one.
    """
    v2 = _is_v2(protobuf_message)
    target = target_labels(job, instance, extra_labels)
    now_ms = timestamp_ms(time.time() if timestamp is None else timestamp)
    if v2:
        return _v2.V2Encoder(target, honor_labels).encode(walk(registry), now_ms)[0]
    return WriteRequestEncoder(target, honor_labels, send_metadata).encode(walk(registry), now_ms)


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

def push_to_remote_write(
    url: str,
    registry: Collector = REGISTRY,
    *,
    job: str,
    instance: Optional[str] = None,
    extra_labels: Optional[Mapping[str, str]] = None,
    timeout: float = 30,
    handler: Handler = default_handler,
    headers: Optional[Headers] = None,
    timestamp: Optional[float] = None,
    honor_labels: bool = False,
    send_metadata: bool = True,
    retry_on_http_429: bool = False,
    min_backoff: float = 0.03,
    max_backoff: float = 5.0,
    max_attempts: Optional[int] = None,
    basic_auth: Optional[Tuple[str, str]] = None,
    ssl_context: Optional[ssl.SSLContext] = None,
    protobuf_message: str = PROTOBUF_MESSAGE_V1,
) -> None:
    """Push every sample of ``registry`` to a remote-write receiver, once.

    ``url`` is the receiver's write endpoint, e.g. ``http://prometheus:9090/api/v1/write``.
    ``job`` (required) and ``instance`` (default: the host name; ``""`` leaves it out) are added
    to every series, as are ``extra_labels``.  ``timeout`` bounds the whole call, retries
    included.  ``headers`` are extra HTTP headers (e.g. ``Authorization``, ``X-Scope-OrgID``);
    the protocol headers cannot be overridden.  ``handler`` has the Pushgateway handler calling
    convention (see :func:`default_handler`).  ``timestamp`` (seconds) is given to samples
    without their own, default now.  ``basic_auth=(user, password)`` adds HTTP basic
    authentication; ``ssl_context`` configures TLS (custom CA, client certificate) for the
    default handler.

    ``protobuf_message="io.prometheus.write.v2.Request"`` sends remote write 2.0 (string
    table, metadata on every series, whatever ``send_metadata`` says, created timestamps,
    UTF-8 names unescaped) and checks the
    receiver's ``X-Prometheus-Remote-Write-*-Written`` headers: a receiver that wrote fewer
    samples, histograms or exemplars than sent raises :class:`RemoteWriteError`; one that
    only speaks 1.0 (HTTP 415, or a 2xx without those headers) raises it with ``only_v1``
    set.  The default, ``"prometheus.WriteRequest"``, is remote write 1.0.

    Raises :class:`RemoteWriteError` (an ``OSError``) when the receiver refuses the data
    (4xx: at once, with its message) or is still failing when ``timeout`` is used up.
    """
    _check_url(url)
    v2 = _is_v2(protobuf_message)
    policy = _Policy(timeout, min_backoff, max_backoff, max_attempts, retry_on_http_429)
    hdrs = _headers(headers, basic_auth, v2)
    handler = _handler_for(handler, ssl_context)
    if v2:
        target = target_labels(job, instance, extra_labels)
        now_ms = timestamp_ms(time.time() if timestamp is None else timestamp)
        raw, counts = _v2.V2Encoder(target, honor_labels).encode(walk(registry), now_ms)
        _send_v2(url, _snappy.compress(raw), counts, hdrs, handler, policy, _sleep)
        return
    enc = WriteRequestEncoder(target_labels(job, instance, extra_labels), honor_labels, send_metadata)
    now = time.time() if timestamp is None else timestamp
    # one push: without cramjam, the general pure-Python compressor (slower than the
    # pusher's memoised one, but it compresses about 4x better)
    body = _snappy.compress(enc.encode(walk(registry), timestamp_ms(now)))
    _send(url, body, hdrs, handler, policy, _sleep)


class RemoteWritePusher:
    """Push a registry to a remote-write receiver every ``interval`` seconds from a thread.

    ::

        with RemoteWritePusher("http://prometheus:9090/api/v1/write", job="worker", interval=15):
            run_forever()

    Each push gets up to ``timeout`` seconds (default: ``interval``) for its retries; a push
    that still fails is logged (logger ``prometheus_client.remote_write``), passed to
    ``on_error`` if given, and dropped: the next push carries the current (cumulative) values.
    :meth:`stop` makes one last push by default (``push_on_stop``) so the final values land,
    and with ``stale_on_stop=True`` then marks every pushed series stale, as Prometheus does
    for a target that went away, so queries stop showing them at once.  A pusher still running
    when the interpreter exits is stopped (and so flushed) by an ``atexit`` hook.

    ``protobuf_message="io.prometheus.write.v2.Request"`` pushes remote write 2.0 (see
    :func:`push_to_remote_write`).  When the receiver answers that it only speaks 1.0, the
    pusher logs a warning, switches to 1.0 for good and sends that push again as 1.0 (once;
    :attr:`protobuf_message` then reads ``"prometheus.WriteRequest"``).
    """

    def __init__(
        self,
        url: str,
        registry: Collector = REGISTRY,
        *,
        job: str,
        instance: Optional[str] = None,
        interval: float = 15.0,
        extra_labels: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
        handler: Handler = default_handler,
        headers: Optional[Headers] = None,
        honor_labels: bool = False,
        send_metadata: bool = True,
        retry_on_http_429: bool = False,
        min_backoff: float = 0.03,
        max_backoff: float = 5.0,
        max_attempts: Optional[int] = None,
        push_on_stop: bool = True,
        stale_on_stop: bool = False,
        on_error: Optional[Callable[[BaseException], None]] = None,
        basic_auth: Optional[Tuple[str, str]] = None,
        ssl_context: Optional[ssl.SSLContext] = None,
        protobuf_message: str = PROTOBUF_MESSAGE_V1,
    ) -> None:
        _check_url(url)
        self._v2 = _is_v2(protobuf_message)
        if not interval > 0:
            raise ValueError(f"remote write: interval must be > 0 seconds, got {interval!r}")
        self.url = url
        self.registry = registry
        self.interval = float(interval)
        self._policy = _Policy(self.interval if timeout is None else timeout, min_backoff, max_backoff,
                               max_attempts, retry_on_http_429)
        self._headers = _headers(headers, basic_auth, self._v2)
        self._v1_headers = _headers(headers, basic_auth) if self._v2 else self._headers
        self._handler = _handler_for(handler, ssl_context)
        target = target_labels(job, instance, extra_labels)
        self._encoder = WriteRequestEncoder(target, honor_labels, send_metadata)
        self._v2_encoder = _v2.V2Encoder(target, honor_labels) if self._v2 else None
        self._push_on_stop = push_on_stop
        self._stale_on_stop = stale_on_stop
        self._on_error = on_error
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one push at a time
        self._thread: Optional[threading.Thread] = None
        self._last_ms = 0
        self.pushes_succeeded = 0
        self.pushes_failed = 0
        self.last_error: Optional[BaseException] = None
        self.last_success: Optional[float] = None  # time.time() of the last successful push

    # -- one push -----------------------------------------------------------------
    def _now_ms(self) -> int:
        # strictly increasing, so two pushes never send one series twice at one timestamp
        ms = max(timestamp_ms(time.time()), self._last_ms + 1)
        self._last_ms = ms
        return ms

    @property
    def protobuf_message(self) -> str:
        """The message this pusher sends: 2.0 until a 1.0-only receiver made it fall back."""
        return PROTOBUF_MESSAGE_V2 if self._v2 else PROTOBUF_MESSAGE_V1

    def _body(self, stale: bool = False) -> bytes:
        """Collect, encode and compress one push (remote write 1.0)."""
        items = self.registry.collect() if stale else walk(self.registry)
        return self._encoder.encode_snappy(items, self._now_ms(), stale=stale)

    def _body_v2(self, stale: bool = False) -> Tuple[bytes, _v2.Counts]:
        """Collect, encode and compress one remote write 2.0 push."""
        assert self._v2_encoder is not None
        items = self.registry.collect() if stale else walk(self.registry)
        raw, counts = self._v2_encoder.encode(items, self._now_ms(), stale=stale)
        return _snappy.compress(raw), counts

    def _send_once(self, stale: bool, wait: Callable[[float], bool]) -> None:
        if self._v2:
            body, counts = self._body_v2(stale)
            try:
                _send_v2(self.url, body, counts, self._headers, self._handler, self._policy, wait)
                return
            except RemoteWriteError as e:
                if not e.only_v1:
                    raise
                logger.warning("%s; falling back to remote write 1.0 for this pusher", e)
                self._v2 = False
                self._v2_encoder = None
                self._headers = self._v1_headers
        _send(self.url, self._body(stale), self._headers, self._handler, self._policy, wait)

    def push(self, *, stale: bool = False, interruptible: bool = False) -> None:
        """Collect and push now (in the calling thread); raises :class:`RemoteWriteError`."""
        wait: Callable[[float], bool] = self._stop.wait if interruptible else _sleep
        with self._lock:
            try:
                self._send_once(stale, wait)
            except BaseException as e:
                self.pushes_failed += 1
                self.last_error = e
                raise
            self.pushes_succeeded += 1
            self.last_success = time.time()

    def _push_logged(self, **kw: bool) -> None:
        try:
            self.push(**kw)
        except Exception as e:  # noqa: BLE001 - the thread must survive any failure
            logger.warning("remote write push to %s failed: %s", self.url, e)
            if self._on_error is not None:
                try:
                    self._on_error(e)
                except Exception:  # noqa: BLE001
                    logger.exception("remote write on_error callback failed")

    # -- thread -------------------------------------------------------------------
    def _run(self) -> None:
        next_at = time.monotonic()
        while not self._stop.is_set():
            self._push_logged(interruptible=True)
            next_at += self.interval
            now = time.monotonic()
            if next_at <= now:  # a slow push: skip the ticks we missed
                next_at = now + self.interval - ((now - next_at) % self.interval)
            if self._stop.wait(next_at - now):
                break

    def start(self) -> RemoteWritePusher:
        """Start pushing from a daemon thread (the first push happens at once)."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError("RemoteWritePusher is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="prometheus-remote-write", daemon=True)
        self._thread.start()
        atexit.register(self.stop)  # a process that exits without stop() still flushes
        return self

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop the thread, then make the final push (and stale markers) if configured."""
        thread = self._thread
        if thread is None:
            return
        atexit.unregister(self.stop)
        self._stop.set()
        thread.join(timeout)
        self._thread = None
        if self._push_on_stop:
            self._push_logged()
        if self._stale_on_stop:
            self._push_logged(stale=True)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> RemoteWritePusher:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
