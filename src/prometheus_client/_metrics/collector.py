"""What the registry and get-or-create (``_redefine``) share: the ``Collector`` protocol, the
error for a name that is taken, and whether get-or-create is in use anywhere."""

from __future__ import annotations

from typing import Iterable, Protocol, Set

from ..metrics_core import Metric

# Set once any registry opts in to get-or-create (see ``_redefine``); until then constructing
# a metric skips that machinery entirely.
get_or_create_used = False


class Collector(Protocol):
    """Anything with a ``collect()`` yielding Metric families may be registered."""

    __slots__ = ()

    def collect(self) -> Iterable[Metric]:
        raise NotImplementedError


class DuplicateTimeseries(ValueError):
    """Raised when a registration would expose a time series name twice."""

    def __init__(self, duplicates: Set[str]) -> None:
        self.duplicates = duplicates
        super().__init__(f"Duplicated timeseries in CollectorRegistry: {duplicates}")
