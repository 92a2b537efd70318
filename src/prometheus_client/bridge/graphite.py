"""Push metrics to Graphite (carbon's plaintext protocol), once or periodically."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from typing import Callable, List, Tuple

from ..registry import REGISTRY, Collector

__all__ = ["GraphiteBridge"]

_INVALID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_INVALID_GRAPHITE_CHARS = _INVALID_CHARS  # the reference module's name
default_timer = time.perf_counter  # what the reference module imports (timeit.default_timer)


def _sanitize(s: str) -> str:
    return _INVALID_CHARS.sub("_", s)


class _RegularPush(threading.Thread):
    """Daemon thread pushing every ``interval`` seconds on a fixed schedule."""

    def __init__(self, pusher: GraphiteBridge, interval: float, prefix: str) -> None:
        super().__init__(name="prometheus-graphite-bridge", daemon=True)
        self._pusher = pusher
        self._interval = interval
        self._prefix = prefix
        self.stopping = threading.Event()

    def run(self) -> None:
        wait_until = time.time()
        while not self.stopping.is_set():
            now = time.time()
            if now < wait_until:
                self.stopping.wait(wait_until - now)
                continue
            # May be slightly late, but never early; slots that were missed are skipped.
            while wait_until <= now:
                wait_until += self._interval
            try:
                self._pusher.push(prefix=self._prefix)
            except OSError:
                logging.exception("Push failed")


class GraphiteBridge:
    """Sends every sample of ``registry`` to a Graphite server as ``path value timestamp``.

    Paths are ``[prefix.]name`` followed by ``.label.value`` pairs (sorted by label name), or,
    with ``tags=True``, by ``;label=value`` tags; every character outside ``[a-zA-Z0-9_-]`` in
    names, label names and label values becomes ``_``.
    """

    def __init__(
        self,
        address: Tuple[str, int],
        registry: Collector = REGISTRY,
        timeout_seconds: float = 30,
        _timer: Callable[[], float] = time.time,
        tags: bool = False,
    ) -> None:
        self._address = address
        self._registry = registry
        self._tags = tags
        self._timeout = timeout_seconds
        self._timer = _timer
        self._pushers: List[_RegularPush] = []

    def _lines(self, prefix: str) -> str:
        now = int(self._timer())
        head = prefix + "." if prefix else ""
        tags = self._tags
        out = []
        for metric in self._registry.collect():
            for s in metric.samples:
                if s.labels:
                    if tags:
                        sep, fmt = ";", "{0}={1}"
                    else:
                        sep, fmt = ".", "{0}.{1}"
                    labelstr = sep + sep.join(
                        fmt.format(_sanitize(k), _sanitize(v)) for k, v in sorted(s.labels.items())
                    )
                else:
                    labelstr = ""
                out.append(f"{head}{_sanitize(s.name)}{labelstr} {float(s.value)} {now}\n")
        return "".join(out)

    def push(self, prefix: str = "") -> None:
        """Send all samples once, over a new TCP connection."""
        data = self._lines(prefix)
        conn = socket.create_connection(self._address, self._timeout)
        try:
            conn.sendall(data.encode("ascii"))
        finally:
            conn.close()

    def start(self, interval: float = 60.0, prefix: str = "") -> None:
        """Push every ``interval`` seconds from a daemon thread (errors are logged)."""
        t = _RegularPush(self, interval, prefix)
        self._pushers.append(t)
        t.start()

    def stop(self) -> None:
        """Stop the threads started by ``start()`` (an addition to the official API)."""
        pushers, self._pushers = self._pushers, []
        for t in pushers:
            t.stopping.set()
        for t in pushers:
            if t is not threading.current_thread():
                t.join()
