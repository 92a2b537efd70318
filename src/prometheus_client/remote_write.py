"""Push metrics straight into Prometheus-compatible storage with remote write 1.0.

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

Retries: 5xx answers and connection errors are retried with exponential back-off and jitter
until ``timeout`` is used up, then :class:`RemoteWriteError` is raised.  Other answers >= 300
(4xx, and 429 unless ``retry_on_http_429``) are not retried and raise at once with the
server's message.  A retry re-sends the very same bytes (same timestamps), so a receiver that
did store an earlier attempt sees identical duplicates, which Prometheus-compatible stores
accept without change; after a 2xx nothing is sent again.
"""

from __future__ import annotations

import logging
import random
import re
import socket
import struct
import threading
import time
import urllib.error
import urllib.request
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from . import _snappy
from ._protobuf import encode_varint
from ._remote_write_pb import (
    METRIC_TYPE_BY_NAME,
    RESET_HINT_GAUGE,
    RESET_HINT_UNKNOWN,
    STALE_NAN,
    Histogram,
    exemplar_record,
    histogram_record,
    label_record,
    metadata_record,
)
from .metrics_core import Metric
from .registry import REGISTRY, Collector
from .samples import Sample

__all__ = [
    "CONTENT_TYPE",
    "REMOTE_WRITE_VERSION",
    "USER_AGENT",
    "RemoteWriteError",
    "RemoteWritePusher",
    "default_handler",
    "push_to_remote_write",
    "write_request_from_registry",
]

CONTENT_TYPE = "application/x-protobuf"
REMOTE_WRITE_VERSION = "0.1.0"
USER_AGENT = "prometheus-client-python/0.27.0"
_RESERVED_HEADERS = frozenset(
    {"content-encoding", "content-type", "x-prometheus-remote-write-version", "user-agent"}
)

logger = logging.getLogger("prometheus_client.remote_write")

Handler = Callable[..., Callable[[], Any]]
Headers = Union[Mapping[str, str], Sequence[Tuple[str, str]]]

_LEGACY_LABEL = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_LEGACY_METRIC = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_INVALID_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")

_DOUBLE = struct.Struct("<d")
_pack_double = _DOUBLE.pack
_SMALL: List[bytes] = [bytes((i,)) for i in range(128)]


class RemoteWriteError(OSError):
    """A remote-write request failed.

    ``status`` is the HTTP status of the last answer (``None`` for a connection error),
    ``message`` the server's answer body (trimmed), ``attempts`` the number of requests made.
    """

    def __init__(self, message: str, *, url: str = "", status: Optional[int] = None,
                 body: str = "", attempts: int = 0) -> None:
        super().__init__(message)
        self.url = url
        self.status = status
        self.body = body
        self.attempts = attempts


# ---------------------------------------------------------------------------
# Names
# ---------------------------------------------------------------------------

def _escape_label_name(name: str) -> str:
    if _LEGACY_LABEL.fullmatch(name):
        return name
    out = _INVALID_LABEL_CHARS.sub("_", name)
    return "_" + out[1:] if out[:1].isdigit() else out


def _escape_metric_name(name: str) -> str:
    if _LEGACY_METRIC.fullmatch(name):
        return name
    out = _INVALID_METRIC_CHARS.sub("_", name)
    return "_" + out[1:] if out[:1].isdigit() else out


class _ValueRecords(Dict[str, bytes]):
    """``value -> encoded Label record`` for one label name (empty values encode to ``b""``)."""

    __slots__ = ("name", "metric_name")

    def __init__(self, name: str) -> None:
        super().__init__()
        self.name = name  # already escaped
        self.metric_name = name == "__name__"

    def __missing__(self, value: str) -> bytes:
        if not value:
            rec = b""
        elif self.metric_name:
            rec = label_record("__name__", _escape_metric_name(value))
        else:
            rec = label_record(self.name, value)
        self[value] = rec
        return rec


# ---------------------------------------------------------------------------
# Encoder
# ---------------------------------------------------------------------------

def _ms(ts: Any) -> int:
    """Milliseconds since the epoch of a float (seconds) or ``Timestamp``."""
    sec = getattr(ts, "sec", None)
    if sec is not None:
        return int(sec) * 1000 + int(round(int(ts.nsec) / 1e6))
    return int(round(float(ts) * 1000.0))


def _target_labels(job: str, instance: Optional[str],
                   extra_labels: Optional[Mapping[str, str]]) -> List[Tuple[str, str]]:
    if not isinstance(job, str) or not job:
        raise ValueError(f"remote write: job must be a non-empty string, got {job!r}")
    if instance is None:
        instance = socket.gethostname()
    if not isinstance(instance, str):
        raise TypeError(f"remote write: instance must be a string, got {instance!r}")
    target: Dict[str, str] = {"job": job}
    if instance:
        target["instance"] = instance
    for name, value in (extra_labels or {}).items():
        if not isinstance(name, str) or not _LEGACY_LABEL.fullmatch(name) or name.startswith("__"):
            raise ValueError(f"remote write: invalid extra label name {name!r} "
                             "(must match [a-zA-Z_][a-zA-Z0-9_]* and not start with '__')")
        if name in ("job", "instance"):
            raise ValueError(f"remote write: extra label {name!r} clashes with the {name}= argument")
        if not isinstance(value, str):
            raise TypeError(f"remote write: extra label {name!r} must have a string value, got {value!r}")
        if not value:
            raise ValueError(f"remote write: extra label {name!r} has an empty value "
                             "(remote write forbids empty label values)")
        target[name] = value
    return sorted(target.items())


_LabelFn = Callable[[Mapping[str, str], str], bytes]


class _Encoder:
    """Turns collected metric families into an (uncompressed) ``WriteRequest``.

    The label set of a series is encoded by a small function generated once per *shape* (the
    label names of a sample, in dict order): it knows where ``__name__`` and the target labels
    go in the sorted order, which names are escaped or renamed ``exported_*``, and looks every
    value up in a per-name cache of encoded ``Label`` records.  No sorting happens per sample,
    and a pusher that keeps its encoder re-encodes nothing but values and timestamps.
    """

    _MAX_CACHE = 500_000

    def __init__(self, target: List[Tuple[str, str]], honor_labels: bool, send_metadata: bool) -> None:
        self.target = dict(target)
        self.honor_labels = honor_labels
        self.send_metadata = send_metadata
        self.values: Dict[str, _ValueRecords] = {}
        self.shapes: Dict[Tuple[str, ...], _LabelFn] = {}

    def _records(self, name: str) -> _ValueRecords:
        rec = self.values.get(name)
        if rec is None:
            rec = self.values[name] = _ValueRecords(name)
        return rec

    def _shape(self, shape: Tuple[str, ...]) -> _LabelFn:
        """Build the label encoder for samples whose label names are ``shape``."""
        # output label name -> ("sample", original name) | ("const", record) | ("name", None)
        slots: Dict[str, Tuple[str, Any]] = {}
        for k in shape:
            slots[_escape_label_name(k)] = ("sample", k)
        for k, v in self.target.items():
            if k in slots:
                if self.honor_labels:
                    continue
                exported = "exported_" + k
                while exported in slots:
                    exported = "exported_" + exported
                slots[exported] = slots.pop(k)
            slots[k] = ("const", label_record(k, v))
        slots["__name__"] = ("name", None)
        ns: Dict[str, Any] = {}
        exprs = []
        for i, out_name in enumerate(sorted(slots)):
            kind, arg = slots[out_name]
            if kind == "name":
                ns[f"c{i}"] = self._records("__name__")
                exprs.append(f"c{i}[name]")
            elif kind == "const":
                ns[f"c{i}"] = arg
                exprs.append(f"c{i}")
            else:
                ns[f"c{i}"] = self._records(out_name)
                ns[f"k{i}"] = arg
                exprs.append(f"c{i}[labels[k{i}]]")
        params = "".join(f", {k}={k}" for k in ns)
        src = f"def encode_labels(labels, name{params}):\n    return b''.join(({', '.join(exprs)},))\n"
        scope = dict(ns)
        exec(src, scope)  # names and values travel as bound constants, never as source text
        fn: _LabelFn = scope["encode_labels"]
        self.shapes[shape] = fn
        return fn

    def encode(self, metrics: Iterable[Metric], now_ms: int, stale: bool = False) -> bytes:
        """Encode every sample of ``metrics``; samples without timestamp get ``now_ms``."""
        if sum(len(v) for v in self.values.values()) > self._MAX_CACHE:
            self.values.clear()
            self.shapes.clear()
        shapes = self.shapes
        get_shape = shapes.get
        new_shape = self._shape
        small = _SMALL
        varint = encode_varint
        ts_tail = b"\x10" + varint(now_ms)
        samp_len = 11 + len(ts_tail)  # 12 len 09 <8 bytes> 10 <varint>
        pack_sample = struct.Struct(f"<3sd{len(ts_tail)}s").pack
        samp_head = b"\x12" + small[samp_len - 2] + b"\x09"
        type_ids = METRIC_TYPE_BY_NAME
        parts: List[bytes] = []
        extend = parts.extend
        meta: List[bytes] = []
        send_meta = self.send_metadata
        for m in metrics:
            if send_meta:
                meta.append(metadata_record(type_ids.get(m.type, 0), m.name, m.documentation, m.unit))
            for s in m.samples:
                name, labels, value, ts, exemplar, native = s
                shape = tuple(labels)
                fn = get_shape(shape)
                if fn is None:
                    fn = new_shape(shape)
                lb = fn(labels, name)
                if ts is None and exemplar is None and native is None and not stale:
                    n = len(lb) + samp_len
                    extend((b"\x0a" + small[n] if n < 0x80 else b"\x0a" + varint(n), lb,
                            pack_sample(samp_head, value, ts_tail)))
                else:
                    body = lb + self._sample_extra(m, s, now_ms, stale)
                    n = len(body)
                    extend((b"\x0a" + small[n] if n < 0x80 else b"\x0a" + varint(n), body))
        parts.extend(meta)
        return b"".join(parts)

    @staticmethod
    def _sample_extra(m: Metric, s: Sample, now_ms: int, stale: bool) -> bytes:
        ts_ms = now_ms if s.timestamp is None or stale else _ms(s.timestamp)
        nh = s.native_histogram
        out: List[bytes] = []
        if stale:
            out.append(_sample(STALE_NAN, ts_ms))
        elif nh is None:
            out.append(_sample(s.value, ts_ms))
        else:
            count = nh.count_value
            zc = nh.zero_count
            is_float = not (float(count).is_integer() and float(zc).is_integer())
            h = Histogram(
                count, nh.sum_value, nh.schema, nh.zero_threshold, zc, ts_ms,
                negative_spans=[(sp.offset, sp.length) for sp in nh.neg_spans or ()],
                negative_deltas=list(nh.neg_deltas or ()) if not is_float else (),
                positive_spans=[(sp.offset, sp.length) for sp in nh.pos_spans or ()],
                positive_deltas=list(nh.pos_deltas or ()) if not is_float else (),
                negative_counts=_absolute(nh.neg_deltas) if is_float else (),
                positive_counts=_absolute(nh.pos_deltas) if is_float else (),
                reset_hint=RESET_HINT_GAUGE if m.type == "gaugehistogram" else RESET_HINT_UNKNOWN,
                is_float=is_float,
            )
            out.append(histogram_record(h))
        if not stale:
            exemplars = list(nh.nh_exemplars or ()) if nh is not None else []
            if s.exemplar is not None:
                exemplars.insert(0, s.exemplar)
            for e in exemplars:
                e_ms = ts_ms if e.timestamp is None else _ms(e.timestamp)
                out.append(exemplar_record(sorted(e.labels.items()), e.value, e_ms))
        return b"".join(out)


def _sample(value: float, ts_ms: int) -> bytes:
    tail = b"\x10" + encode_varint(ts_ms)
    return b"\x12" + _SMALL[9 + len(tail)] + b"\x09" + _pack_double(value) + tail


def _absolute(deltas: Optional[Sequence[int]]) -> List[float]:
    out: List[float] = []
    acc = 0
    for d in deltas or ():
        acc += d
        out.append(float(acc))
    return out


def write_request_from_registry(
    registry: Collector = REGISTRY,
    *,
    job: str,
    instance: Optional[str] = None,
    extra_labels: Optional[Mapping[str, str]] = None,
    timestamp: Optional[float] = None,
    honor_labels: bool = False,
    send_metadata: bool = True,
) -> bytes:
    """The uncompressed protobuf ``WriteRequest`` that :func:`push_to_remote_write` would send.

    ``timestamp`` (seconds since the epoch, default now) is given to samples without one.
    """
    enc = _Encoder(_target_labels(job, instance, extra_labels), honor_labels, send_metadata)
    now = time.time() if timestamp is None else timestamp
    return enc.encode(registry.collect(), _ms(now))


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Remote write never follows redirects (urllib would turn the POST into a GET)."""

    def redirect_request(self, req: Any, fp: Any, code: int, msg: str, headers: Any,
                         newurl: str) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def default_handler(url: str, method: str, timeout: Optional[float], headers: List[Tuple[str, str]],
                    data: bytes) -> Callable[[], None]:
    """Send one request with urllib.  Same calling convention as the Pushgateway handlers:
    ``handler(url=..., method=..., timeout=..., headers=[(name, value), ...], data=...)``
    returns a callable that performs the request and raises on failure
    (:class:`urllib.error.HTTPError` for answers >= 300, ``OSError`` for connection errors).
    """

    def handle() -> None:
        req = urllib.request.Request(url, data=data, method=method)
        for k, v in headers:
            req.add_header(k, v)
        with _opener.open(req, timeout=timeout) as resp:
            resp.read()

    return handle


def _headers(headers: Optional[Headers]) -> List[Tuple[str, str]]:
    out = [
        ("Content-Encoding", "snappy"),
        ("Content-Type", CONTENT_TYPE),
        ("X-Prometheus-Remote-Write-Version", REMOTE_WRITE_VERSION),
        ("User-Agent", USER_AGENT),
    ]
    if headers:
        items = headers.items() if isinstance(headers, Mapping) else headers
        for k, v in items:
            if k.lower() in _RESERVED_HEADERS:
                raise ValueError(f"remote write: header {k!r} is set by the protocol and cannot be overridden")
            out.append((k, v))
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
          wait: Callable[[float], bool]) -> int:
    """POST ``body`` with retries; return the number of attempts.  ``wait(s)`` sleeps and
    returns True when the caller wants to give up early (pusher being stopped)."""
    start = time.monotonic()
    deadline = start + policy.timeout
    attempt = 0
    while True:
        attempt += 1
        remaining = deadline - time.monotonic()
        status: Optional[int] = None
        hint: Optional[float] = None
        try:
            handler(url=url, method="POST", timeout=max(remaining, 0.001), headers=headers, data=body)()
            return attempt
        except urllib.error.HTTPError as e:
            status = e.code
            msg = _error_body(e)
            hint = _retry_after(e) if status == 429 else None
            retryable = status >= 500 or (status == 429 and policy.retry_on_http_429)
            what = f"HTTP {status}: {msg}" if msg else f"HTTP {status}"
            if not retryable:
                raise RemoteWriteError(f"remote write to {url} failed: {what}", url=url, status=status,
                                       body=msg, attempts=attempt) from None
            last: BaseException = e
        except RemoteWriteError as e:  # raised by a custom handler
            status = e.status
            if status is not None and status < 500 and not (status == 429 and policy.retry_on_http_429):
                raise
            what = str(e)
            msg = e.body
            last = e
        except OSError as e:  # connection refused/reset, DNS, timeouts
            what = f"{type(e).__name__}: {e}"
            msg = ""
            last = e
        delay = min(policy.max_backoff, policy.min_backoff * (2.0 ** (attempt - 1)))
        delay *= random.uniform(0.5, 1.0)
        if hint is not None:
            delay = max(delay, hint)
        elapsed = time.monotonic() - start
        if (policy.max_attempts is not None and attempt >= policy.max_attempts) or \
                time.monotonic() + delay >= deadline:
            raise RemoteWriteError(
                f"remote write to {url} failed after {attempt} attempt(s) in {elapsed:.2f}s: {what}",
                url=url, status=status, body=msg, attempts=attempt) from last
        logger.debug("remote write to %s: attempt %d failed (%s), retrying in %.3fs", url, attempt,
                     what, delay)
        if wait(delay):
            raise RemoteWriteError(f"remote write to {url} abandoned (pusher stopped) after "
                                   f"{attempt} attempt(s): {what}", url=url, status=status, body=msg,
                                   attempts=attempt) from last


def _sleep(delay: float) -> bool:
    time.sleep(delay)
    return False


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
) -> None:
    """Push every sample of ``registry`` to a remote-write receiver, once.

    ``url`` is the receiver's write endpoint, e.g. ``http://prometheus:9090/api/v1/write``.
    ``job`` (required) and ``instance`` (default: the host name; ``""`` leaves it out) are added
    to every series, as are ``extra_labels``.  ``timeout`` bounds the whole call, retries
    included.  ``headers`` are extra HTTP headers (e.g. ``Authorization``, ``X-Scope-OrgID``);
    the protocol headers cannot be overridden.  ``handler`` has the Pushgateway handler calling
    convention (see :func:`default_handler`).  ``timestamp`` (seconds) is given to samples
    without their own, default now.

    Raises :class:`RemoteWriteError` (an ``OSError``) when the receiver refuses the data
    (4xx: at once, with its message) or is still failing when ``timeout`` is used up.
    """
    _check_url(url)
    policy = _Policy(timeout, min_backoff, max_backoff, max_attempts, retry_on_http_429)
    hdrs = _headers(headers)
    data = write_request_from_registry(registry, job=job, instance=instance, extra_labels=extra_labels,
                                       timestamp=timestamp, honor_labels=honor_labels,
                                       send_metadata=send_metadata)
    _send(url, _snappy.compress(data), hdrs, handler, policy, _sleep)


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
    for a target that went away, so queries stop showing them at once.
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
    ) -> None:
        _check_url(url)
        if not interval > 0:
            raise ValueError(f"remote write: interval must be > 0 seconds, got {interval!r}")
        self.url = url
        self.registry = registry
        self.interval = float(interval)
        self._policy = _Policy(self.interval if timeout is None else timeout, min_backoff, max_backoff,
                               max_attempts, retry_on_http_429)
        self._headers = _headers(headers)
        self._handler = handler
        self._encoder = _Encoder(_target_labels(job, instance, extra_labels), honor_labels, send_metadata)
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
        ms = max(_ms(time.time()), self._last_ms + 1)
        self._last_ms = ms
        return ms

    def push(self, *, stale: bool = False, interruptible: bool = False) -> None:
        """Collect and push now (in the calling thread); raises :class:`RemoteWriteError`."""
        wait: Callable[[float], bool] = self._stop.wait if interruptible else _sleep
        with self._lock:
            data = self._encoder.encode(self.registry.collect(), self._now_ms(), stale=stale)
            try:
                _send(self.url, _snappy.compress(data), self._headers, self._handler, self._policy, wait)
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
        return self

    def stop(self, timeout: Optional[float] = None) -> None:
        """Stop the thread, then make the final push (and stale markers) if configured."""
        thread = self._thread
        if thread is None:
            return
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
