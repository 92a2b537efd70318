"""gunicorn settings for the multiprocess example: drop a dead worker's live gauges."""

from typing import Any

from prometheus_client import multiprocess


def child_exit(server: Any, worker: Any) -> None:
    multiprocess.mark_process_dead(worker.pid)
