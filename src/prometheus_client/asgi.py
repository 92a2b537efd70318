"""ASGI application serving metrics.

A cheap scrape is rendered inline on the event loop, as the reference client does (no thread
hop: the response is ready as soon as the request has been received). A scrape that is not
known to be cheap runs in a worker thread, so a slow or blocking collector never stalls the
loop. "Cheap" means: the last render of this app took under ``_INLINE_SECONDS``; before the
first render, a registry holding only the library's own metric objects and default collectors
with few series in total.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Awaitable, Callable, Dict, List, MutableMapping, Optional, Tuple, cast
from urllib.parse import parse_qs

from ._formats.negotiation import LATE_BOUND, bake
from .registry import REGISTRY, Collector

__all__ = ["make_asgi_app"]

# A render that took less than this is repeated inline on the event loop.
_INLINE_SECONDS = 0.001
# Before the first render: at most this many series from known-cheap collectors render inline.
_INLINE_SERIES = 200

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from typing import Iterable

# Values are read where their ASGI type is known (casts at the use sites).
Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def __getattr__(name: str) -> Callable[..., Tuple[str, List[Tuple[str, str]], bytes]]:
    # The reference module has ``_bake_output`` (imported from exposition); patching it here
    # or on ``exposition`` both reach the app, so it is resolved at each call, not cached.
    if name == "_bake_output":
        bake_output: Callable[..., Tuple[str, List[Tuple[str, str]], bytes]] = LATE_BOUND["_bake_output"]
        return bake_output
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> List[str]:
    return sorted(set(globals()) | {"_bake_output"})


def _bake(
    registry: Collector,
    accept: Optional[str],
    accept_encoding: Optional[str],
    params: Dict[str, List[str]],
    disable_compression: bool,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    patched = globals().get("_bake_output")  # set by mock.patch("prometheus_client.asgi._bake_output")
    if patched is None:
        return bake(registry, accept, accept_encoding, params, disable_compression)
    result: Tuple[str, List[Tuple[str, str]], bytes] = patched(
        registry, accept, accept_encoding, params, disable_compression
    )
    return result


def _known_cheap(registry: Collector) -> bool:
    """True when ``registry`` holds only library metrics/default collectors with few series."""
    from ._formats.skipped import SkippedSamples
    from .gc_collector import GCCollector
    from .metrics import MetricWrapperBase
    from .platform_collector import PlatformCollector
    from .process_collector import ProcessCollector
    from .registry import CollectorRegistry

    if type(registry) is not CollectorRegistry:
        return False
    series = 0
    for collector in list(registry._collector_to_names):
        if isinstance(collector, MetricWrapperBase):
            children = getattr(collector, "_metrics", None)  # only a labelled parent has it
            series += max(1, len(children)) if children is not None else 1
        elif isinstance(collector, (ProcessCollector, PlatformCollector, GCCollector, SkippedSamples)):
            series += 10
        else:
            return False
        if series > _INLINE_SERIES:
            return False
    return not registry._collectors_without_names


class _Renderer:
    """Renders inline while renders are cheap, in a worker thread otherwise."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: Optional[float] = None  # seconds the last render took

    def _timed(
        self, args: Tuple[Collector, Optional[str], Optional[str], Dict[str, List[str]], bool]
    ) -> Tuple[str, List[Tuple[str, str]], bytes]:
        t0 = time.perf_counter()
        try:
            return _bake(*args)
        finally:
            self._last = time.perf_counter() - t0

    async def render(
        self,
        registry: Collector,
        accept: Optional[str],
        accept_encoding: Optional[str],
        params: Dict[str, List[str]],
        disable_compression: bool,
    ) -> Tuple[str, List[Tuple[str, str]], bytes]:
        args = (registry, accept, accept_encoding, params, disable_compression)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # Not under asyncio (e.g. trio): render inline.
            return self._timed(args)
        last = self._last
        if (last is not None and last < _INLINE_SECONDS) or (last is None and _known_cheap(registry)):
            return self._timed(args)
        return await loop.run_in_executor(None, self._timed, args)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        kind = message.get("type")
        if kind == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif kind == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


def make_asgi_app(registry: Collector = REGISTRY, disable_compression: bool = False) -> ASGIApp:
    """An ASGI application serving the metrics of ``registry``.

    Any HTTP request gets the metrics (content negotiated from ``Accept``, gzip unless
    ``disable_compression``, ``?name[]=`` filtering), except ``/favicon.ico`` (empty 200).
    ``lifespan`` events are acknowledged; websocket connections are refused.
    """

    renderer = _Renderer()

    async def prometheus_app(scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope.get("type")
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind == "websocket":
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": 1000})
            return
        if kind != "http":
            raise ValueError(f"prometheus_client ASGI app cannot handle scope type {kind!r}")

        # Wait for the whole request (normally a single empty message for a GET).
        while True:
            message = await receive()
            if message.get("type") == "http.disconnect":
                return
            if message.get("type") == "http.request" and not message.get("more_body", False):
                break

        if scope.get("path") == "/favicon.ico":
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return

        accept: List[str] = []
        accept_encoding: List[str] = []
        for name, value in cast("Iterable[Tuple[bytes, bytes]]", scope.get("headers") or ()):
            lname = name.lower()
            if lname == b"accept":
                accept.append(value.decode("latin-1"))
            elif lname == b"accept-encoding":
                accept_encoding.append(value.decode("latin-1"))
        query = cast(bytes, scope.get("query_string", b""))
        params = parse_qs(query.decode("utf-8", "replace")) if query else {}
        status, headers, body = await renderer.render(
            registry,
            ",".join(accept),
            ",".join(accept_encoding),
            params,
            disable_compression,
        )
        await send(
            {
                "type": "http.response.start",
                "status": int(status.split(" ", 1)[0]),
                # Exactly the headers of _bake_output, as the official client sends them.
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return prometheus_app
