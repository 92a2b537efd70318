"""Where a read-modify-write of a number needs no lock: decided once, for the in-process values
(``values``) and the file-backed ones (``_mp_values``)."""

from __future__ import annotations

import sys
from typing import Any, Sequence

# Interpreter versions on which tests/test_concurrency.py proved lock-free ``+=`` exact.
LOCK_FREE_VERSIONS = ((3, 10), (3, 13))


def lock_free_ok(implementation: str, version: Sequence[Any], gil_enabled: bool) -> bool:
    low, high = LOCK_FREE_VERSIONS
    return implementation == "cpython" and low <= tuple(version[:2]) <= high and gil_enabled


GIL_ATOMIC_ADD = lock_free_ok(
    sys.implementation.name, sys.version_info, getattr(sys, "_is_gil_enabled", lambda: True)()
)
