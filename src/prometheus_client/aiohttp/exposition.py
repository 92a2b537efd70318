"""An aiohttp request handler serving metrics; rendering runs in a worker thread."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, Dict, List, Tuple

from aiohttp import hdrs, web

from .. import _lazy
from ..registry import REGISTRY, Collector

__all__ = ["make_aiohttp_handler"]

# The reference module's other names. ``_bake_output`` is resolved at each use, and _bake
# prefers a value patched onto this module.
__getattr__, __dir__ = _lazy.install(
    __name__, {"Handler": "aiohttp.typedefs:Handler", "_bake_output": ".exposition:_bake_output"},
    uncached=["_bake_output"],
)


def _bake(
    registry: Collector, accept: str, params: Dict[str, List[str]]
) -> Tuple[str, List[Tuple[str, str]], bytes]:
    bake = globals().get("_bake_output")  # mock.patch on this module
    if bake is None:
        from .. import exposition

        bake = exposition._bake_output
    # aiohttp compresses by itself (enable_compression below), so ask for no gzip here.
    result: Tuple[str, List[Tuple[str, str]], bytes] = bake(registry, accept, "", params, True)
    return result


def make_aiohttp_handler(
    registry: Collector = REGISTRY, disable_compression: bool = False
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """An aiohttp handler serving the metrics of ``registry``.

    Content negotiated from ``Accept``, ``?name[]=`` filtering, compression negotiated by
    aiohttp unless ``disable_compression``; ``/favicon.ico`` gets an empty 200. The metrics
    are rendered in the loop's default executor so a big scrape never blocks the event loop.
    """

    async def prometheus_handler(request: web.Request) -> web.Response:
        if request.path == "/favicon.ico":
            return web.Response(status=200, body=b"")
        accept = ",".join(request.headers.getall(hdrs.ACCEPT, []))
        params: Dict[str, List[str]] = {k: request.query.getall(k) for k in request.query.keys()}
        loop = asyncio.get_running_loop()
        status, headers, output = await loop.run_in_executor(None, _bake, registry, accept, params)
        response = web.Response(body=output, status=int(status.split(" ", 1)[0]), headers=headers)
        if not disable_compression:
            response.enable_compression()
        return response

    return prometheus_handler
