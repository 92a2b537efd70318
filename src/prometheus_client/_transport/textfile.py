"""``write_to_textfile``: atomically (re)write a file for node_exporter's textfile collector."""

from __future__ import annotations

import os
import threading
from typing import Optional

from .._formats.negotiation import render_text
from ..registry import Collector

__all__ = ["write_to_textfile"]


def write_to_textfile(
    path: str, registry: Collector, escaping: str = "allow-utf-8", tmpdir: Optional[str] = None
) -> None:
    """Write the metrics of ``registry`` to ``path`` in the Prometheus text format, atomically.

    The output goes to a temporary file (``<path>.<pid>.<thread id>``, or the same base name
    in ``tmpdir``), is flushed and fsync'ed, then renamed over ``path``: a reader (such as
    node_exporter's textfile collector, which only reads ``*.prom``) sees either the old or
    the new file, never a partial one. If anything fails, the temporary file is
    removed, ``path`` is left as it was, and the error is raised.
    """
    # Render first: a failing collector must not even create the temporary file.
    data = render_text(registry, escaping)
    suffix = f".{os.getpid()}.{threading.get_ident()}"
    if tmpdir is None:
        tmppath = f"{path}{suffix}"
    else:
        tmppath = os.path.join(tmpdir, os.path.basename(path) + suffix)
    try:
        fd = os.open(tmppath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmppath, path)
    except BaseException:
        try:
            os.remove(tmppath)
        except OSError:
            pass
        raise
