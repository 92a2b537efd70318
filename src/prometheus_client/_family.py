"""The contract between metric objects and encoders: one typed answer per metric family.

A ``Family`` is what a metric family answers to "what do you expose?": its ``FamilyInfo``
(name, type, help, unit, label names, bucket bounds, and the functions that read a series'
numbers) and its series, as ``(label values, series object)`` pairs. Encoders read nothing
else of a metric object. ``CollectorRegistry.families()`` yields a ``Family`` for each
metric object of this library whose collection is not customised, and the ``Metric``s of
``collect()`` for everything else.

The numbers of one series, by type (what ``FamilyInfo.numbers`` returns):

* counter: ``(value, exemplar or None, created or None)``
* gauge: ``value``
* summary: ``(count, sum, created or None)``; ``FamilyInfo.quantiles`` gives the
  ``(quantile, estimate)`` pairs (or None without objectives)
* histogram: ``(le strings, non-cumulative bucket counts, sum, exemplars per bucket or
  None, created or None, whether the sum is exposed)``

Encoders own their caches: ``SeriesCache`` keeps, per family (weakly, so the entry dies
with the metric) and per encoder setting, a dict keyed by label values, dropped when it
holds entries of removed series.
"""

from typing import Callable, Dict, Generic, List, NamedTuple, Optional, Tuple, TypeVar
from weakref import WeakKeyDictionary

from .samples import Exemplar

LabelValues = Tuple[str, ...]

CounterNumbers = Tuple[float, Optional[Exemplar], Optional[float]]
GaugeNumbers = float
SummaryNumbers = Tuple[float, float, Optional[float]]
HistogramNumbers = Tuple[
    Tuple[str, ...], List[float], float, Optional[List[Optional[Exemplar]]], Optional[float], bool
]
Quantiles = List[Tuple[float, float]]

N = TypeVar("N")
V = TypeVar("V")


class FamilyInfo(Generic[N]):
    """What does not change between scrapes (built once per metric object)."""

    __slots__ = (
        "name", "type", "help", "unit", "labelnames", "upper_bounds", "numbers", "quantiles", "__weakref__",
    )

    def __init__(
        self,
        name: str,
        type: str,
        help: str,
        unit: str,
        labelnames: Tuple[str, ...],
        numbers: Callable[[object], N],
        upper_bounds: Tuple[float, ...] = (),
        quantiles: Optional[Callable[[object], Optional[Quantiles]]] = None,
    ) -> None:
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
        self.labelnames = labelnames
        self.numbers = numbers
        self.upper_bounds = upper_bounds
        self.quantiles = quantiles


class Family(NamedTuple):
    """One metric family's answer: its info and its series at the time of the scrape."""

    info: "FamilyInfo[object]"
    series: List[Tuple[LabelValues, object]]


class SeriesCache(Generic[V]):
    """An encoder's cache: per family and setting (e.g. escaping), label values -> ``V``."""

    __slots__ = ("_held", "_slack")

    def __init__(self, slack: int = 1024) -> None:
        self._held: WeakKeyDictionary[FamilyInfo[object], Tuple[object, Dict[LabelValues, V]]] = (
            WeakKeyDictionary()
        )
        self._slack = slack

    def get(self, info: "FamilyInfo[object]", setting: object, nseries: int) -> Dict[LabelValues, V]:
        """The dict for ``info`` under ``setting``; emptied when it holds more entries than
        ``nseries`` allows (series were removed), replaced when the setting differs."""
        held = self._held.get(info)
        if held is not None and held[0] == setting:
            cache = held[1]
            if len(cache) > 2 * nseries + self._slack:
                cache.clear()
            return cache
        cache = {}
        self._held[info] = (setting, cache)
        return cache

    def __len__(self) -> int:
        """Entries held, over all families."""
        return sum(len(cache) for _, cache in list(self._held.values()))
