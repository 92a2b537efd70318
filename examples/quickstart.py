"""Quickstart: expose a Counter, Gauge, Histogram and Summary over HTTP.

    python examples/quickstart.py                 # serve on http://127.0.0.1:8000/ forever
    python examples/quickstart.py --port 9000 --seconds 30

Then visit http://127.0.0.1:8000/ (or `curl -s localhost:8000/metrics`) to see the metrics.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from typing import Optional

from prometheus_client import Counter, Gauge, Histogram, Summary, start_http_server

# Time spent processing a request, as in the classic three-step demo.
REQUEST_TIME = Summary("request_processing_seconds", "Time spent processing request")
REQUESTS = Counter("quickstart_requests", "Requests processed", ["method", "status"])
IN_PROGRESS = Gauge("quickstart_requests_in_progress", "Requests being processed right now")
QUEUE_SIZE = Gauge("quickstart_queue_size", "Items waiting in the (simulated) queue")
LATENCY = Histogram(
    "quickstart_request_latency_seconds",
    "Request latency",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0),
)


@REQUEST_TIME.time()
def process_request(t: float) -> None:
    """A dummy request handler that takes some time."""
    with IN_PROGRESS.track_inprogress(), LATENCY.time():
        time.sleep(t)
    status = "500" if random.random() < 0.05 else "200"
    REQUESTS.labels(random.choice(("GET", "POST")), status).inc()


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    parser.add_argument("--addr", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this many seconds")
    args = parser.parse_args(argv)

    start_http_server(args.port, addr=args.addr)
    print(f"Serving metrics on http://{args.addr}:{args.port}/metrics", flush=True)

    deadline = None if args.seconds is None else time.monotonic() + args.seconds
    try:
        while deadline is None or time.monotonic() < deadline:
            QUEUE_SIZE.set(random.randint(0, 20))
            process_request(random.random() / 20)
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
