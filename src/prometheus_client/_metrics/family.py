"""The contract between metric objects and encoders: one typed answer per metric family.

A ``Family`` is what a metric family answers to "what do you expose?": its ``FamilyInfo``
(name, type, help, unit, label names, bucket bounds, and the functions that read a series'
label values and numbers) and its series objects. Encoders read nothing else of a metric
object. ``CollectorRegistry.families()`` yields a ``Family`` for each
metric object of this library whose collection is not customised, and the ``Metric``s of
``collect()`` for everything else (which ``_formats/adapt.py`` turns into ``Family`` answers
when their samples have the canonical shape of their type: series are then label-value
tuples).

The numbers of one series, by type (what ``FamilyInfo.numbers`` returns):

* counter: ``(value, exemplar or None, created or None)``
* gauge: ``value``
* summary: ``(count, sum, created or None)``; ``FamilyInfo.quantiles`` gives the
  ``(quantile, estimate)`` pairs (or None without objectives)
* histogram: ``(le strings, non-cumulative bucket counts, sum, exemplars per bucket or
  None, created or None, whether the sum is exposed)``

Encoders own their caches: a ``SeriesCache`` keeps, per family and encoder setting (e.g.
the escaping scheme), a dict keyed by series object. It is held in the answer's
``FamilyInfo.scratch`` under a weak reference to the ``SeriesCache``, so it dies with the
family (or with the cache); it is emptied when it holds more entries than the family's series
allow (removed series).
"""

from __future__ import annotations

from collections import namedtuple
from typing import TYPE_CHECKING, Callable, Dict, Generic, Iterable, List, NamedTuple, Optional, Tuple, TypeVar, cast

if TYPE_CHECKING:  # pragma: no cover - annotations only (not built at import)
    from ..metrics_core import Metric
    from ..samples import Exemplar

    LabelValues = Tuple[str, ...]

    CounterNumbers = Tuple[float, Optional[Exemplar], Optional[float]]
    GaugeNumbers = float
    SummaryNumbers = Tuple[float, float, Optional[float]]
    HistogramNumbers = Tuple[
        Tuple[str, ...], List[float], float, Optional[List[Optional[Exemplar]]], Optional[float], bool
    ]
    Quantiles = List[Tuple[float, float]]
    # ``FamilyInfo.numbers`` of each type (encoders ``cast("CounterFn", info.numbers)``)
    CounterFn = Callable[[object], CounterNumbers]
    GaugeFn = Callable[[object], GaugeNumbers]
    SummaryFn = Callable[[object], SummaryNumbers]
    HistogramFn = Callable[[object], HistogramNumbers]

N = TypeVar("N")
V = TypeVar("V")


class FamilyInfo(Generic[N]):
    """What does not change between scrapes (built once per metric object)."""

    __slots__ = (
        "name", "type", "help", "unit", "labelnames", "upper_bounds", "labelvalues", "numbers", "quantiles",
        "scratch",
    )

    def __init__(
        self,
        name: str,
        type: str,
        help: str,
        unit: str,
        labelnames: Tuple[str, ...],
        labelvalues: Callable[[object], LabelValues],
        numbers: Callable[[object], N],
        upper_bounds: Tuple[float, ...] = (),
        quantiles: Optional[Callable[[object], Optional[Quantiles]]] = None,
    ) -> None:
        self.name = name
        self.type = type
        self.help = help
        self.unit = unit
        self.labelnames = labelnames
        self.labelvalues = labelvalues
        self.numbers = numbers
        self.upper_bounds = upper_bounds
        self.quantiles = quantiles
        # the encoders' caches for this family, by SeriesCache (see there)
        self.scratch: Dict[object, object] = {}


_FAMILY_DOC = """One metric family's answer: its info and its series at the time of the scrape, and
    ``collect`` for when an encoder needs the family as ``Metric`` samples after all (a value
    it cannot encode, staleness markers)."""

if TYPE_CHECKING:  # pragma: no cover - what type checkers see

    class Family(NamedTuple):
        info: FamilyInfo[object]
        series: List[object]
        collect: Callable[[], Iterable[Metric]]

else:
    # The same tuple built without typing.NamedTuple: its string annotations would become
    # ForwardRefs, and compiling them costs a fresh process ~2 ms of ``import prometheus_client``.
    Family = namedtuple("Family", ("info", "series", "collect"), module=__name__)
    Family.__doc__ = _FAMILY_DOC


class SeriesCache(Generic[V]):
    """An encoder's cache: per family and setting (e.g. escaping), series object -> ``V``.

    Held in ``FamilyInfo.scratch`` under a weak reference to the cache, so the entries of a
    cache that is gone (a one-shot remote-write encoder's) are dropped when the family next
    takes a new cache, instead of piling up in a long-lived family."""

    __slots__ = ("_slack", "_key", "__weakref__")

    def __init__(self, slack: int = 1024) -> None:
        from weakref import ref  # (here: ``import prometheus_client`` loads no weakref)

        self._slack = slack
        self._key = ref(self)

    def get(self, info: FamilyInfo[object], setting: object, nseries: int) -> Dict[object, V]:
        """The dict for ``info`` under ``setting``; emptied when it holds more entries than
        ``nseries`` allows (series were removed), replaced when the setting differs."""
        scratch = info.scratch
        held = scratch.get(self._key)
        if held is not None:
            held_setting, cache = cast("Tuple[object, Dict[object, V]]", held)
            if held_setting == setting:
                if len(cache) > 2 * nseries + self._slack:
                    cache.clear()
                return cache
        else:
            weak = type(self._key)
            for key in list(scratch):  # (a snapshot: scrapes in other threads may insert)
                if type(key) is weak and key() is None:
                    scratch.pop(key, None)
        cache = {}
        scratch[self._key] = (setting, cache)
        return cache

    def size(self, info: FamilyInfo[object]) -> int:
        """Entries held for ``info``."""
        held = info.scratch.get(self._key)
        return 0 if held is None else len(cast("Tuple[object, Dict[object, V]]", held)[1])
