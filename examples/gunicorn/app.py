"""A WSGI app whose metrics are shared by all gunicorn workers (multiprocess mode).

Every request is counted and answered with the metrics of all workers, merged from the files
in $PROMETHEUS_MULTIPROC_DIR (which must be set, and emptied, before gunicorn starts):

    rm -rf /tmp/prom-mp && mkdir /tmp/prom-mp
    PROMETHEUS_MULTIPROC_DIR=/tmp/prom-mp gunicorn -c examples/gunicorn/gunicorn.conf.py \\
        --chdir examples/gunicorn -w 4 -b 127.0.0.1:8000 app:app
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    generate_latest,
    multiprocess,
)

# Example gauge: requests in progress, summed over the live workers.
IN_PROGRESS = Gauge("inprogress_requests", "help", multiprocess_mode="livesum")
REQUESTS = Counter("example_requests", "Requests answered by any worker")


# Expose metrics.
@IN_PROGRESS.track_inprogress()
def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    REQUESTS.inc()
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    data = generate_latest(registry)
    status = "200 OK"
    response_headers = [
        ("Content-type", CONTENT_TYPE_LATEST),
        ("Content-Length", str(len(data))),
    ]
    start_response(status, response_headers)
    return iter([data])
