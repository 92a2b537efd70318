"""Run the same work on several threads that start together; fail if any of them raised."""

from __future__ import annotations

import threading
from typing import Callable, List


def hammer(threads: int, work: Callable[[], None]) -> None:
    """Call ``work()`` on ``threads`` threads released at once by a barrier; wait for all of
    them and re-raise the first exception one of them raised."""
    barrier = threading.Barrier(threads)
    errors: List[BaseException] = []

    def run() -> None:
        try:
            barrier.wait()
            work()
        except BaseException as e:  # re-raised below, in the calling thread
            errors.append(e)

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise errors[0]
