"""ASGI application serving metrics; the rendering runs in a worker thread, off the event loop."""

from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Callable, Dict, List, MutableMapping, Optional, Tuple
from urllib.parse import parse_qs

from ._negotiation import bake
from .registry import REGISTRY, Collector

__all__ = ["make_asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


_bake = bake


async def _render(
    registry: Collector,
    accept: Optional[str],
    accept_encoding: Optional[str],
    params: Dict[str, List[str]],
    disable_compression: bool,
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        # Not under asyncio (e.g. trio): render inline.
        return _bake(registry, accept, accept_encoding, params, disable_compression)
    return await loop.run_in_executor(
        None, _bake, registry, accept, accept_encoding, params, disable_compression
    )


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
        for name, value in scope.get("headers") or ():
            lname = name.lower()
            if lname == b"accept":
                accept.append(value.decode("latin-1"))
            elif lname == b"accept-encoding":
                accept_encoding.append(value.decode("latin-1"))
        query = scope.get("query_string", b"")
        params = parse_qs(query.decode("utf-8", "replace")) if query else {}
        status, headers, body = await _render(
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
