"""Where a Counter's and a Histogram's numbers live (docs/design.md, "Where things are stored").

In-process, on the interpreters whose ``+=`` is atomic under the GIL (``values._GIL_ATOMIC_ADD``),
a Counter keeps its float in its own slot (``_v``) and a Histogram keeps one flat list of
floats (the sum, then the bucket counts). Everywhere else the metric holds value objects of
``values.ValueClass``. Either way the official client's private API (``_value``, ``_buckets``,
``_sum``) keeps working, and nothing is lost or changed by a call that fails.
"""

from __future__ import annotations

import threading
from fractions import Fraction
from typing import Any, List, Optional

import pytest

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.samples import Exemplar

# The two storages: which one a test sees depends on the interpreter (3.9 and free-threaded
# builds take the locked path); the tests below check the one in use, and the rest of this
# file forces value objects on every interpreter.
IN_PROCESS = values._GIL_ATOMIC_ADD


class _Floaty:
    """Not a float, but converts to one (like a numpy scalar)."""

    def __float__(self) -> float:
        return 2.5


class PlainValue:
    """A swapped-in value class with only the documented methods (no ``__iadd__``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.v = 0.0
        self.ex: Optional[Exemplar] = None

    def inc(self, amount: float) -> None:
        self.v += amount

    def set(self, value: float, timestamp: Optional[float] = None) -> None:
        self.v = value

    def get(self) -> float:
        return self.v

    def set_exemplar(self, exemplar: Exemplar) -> None:
        self.ex = exemplar

    def get_exemplar(self) -> Optional[Exemplar]:
        return self.ex


def _lines(registry: CollectorRegistry, prefix: str) -> List[str]:
    return [line for line in generate_latest(registry).decode().splitlines() if line.startswith(prefix)]


def test_counter_child_holds_its_float_and_value_is_a_view() -> None:
    r = CollectorRegistry()
    c = Counter("vs", "h", ["a", "b"], registry=r)
    child = c.labels("x", "y")
    child.inc()
    child.inc(2)
    if IN_PROCESS:
        assert type(child._v) is float and child._v == 3.0
    else:  # the locked path: the slot holds the value object, and _value is that object
        assert type(child._v) is values.ValueClass and child._value is child._v
    view = child._value
    assert view.get() == 3.0 and view.get_exemplar() is None
    view.inc(Fraction(1, 2))
    view.set(5)
    assert view.get() == 5
    view.set(_Floaty())  # stored as a float in-process; kept as given on the locked path (as the official)
    assert float(child._value.get()) == 2.5
    for bad in ("1", b"1", None):
        with pytest.raises(TypeError):
            view.inc(bad)  # type: ignore[arg-type]
        if IN_PROCESS:  # the float slot refuses it; a value object keeps what it is given (as the official)
            with pytest.raises(TypeError):
                view.set(bad)  # type: ignore[arg-type]
    assert float(child._value.get()) == 2.5
    if not IN_PROCESS:
        view.set(2.5)
    child.inc(1, exemplar={"trace": "t"})
    assert child._value.get_exemplar().value == 1.0  # type: ignore[union-attr]
    if IN_PROCESS:
        assert child._exemplar is child._value.get_exemplar()
    assert _lines(r, "vs_total") == ['vs_total{a="x",b="y"} 3.5']
    child.reset()
    assert child._value.get() == 0.0
    if IN_PROCESS:
        assert type(child._v) is float


def test_failed_counter_inc_changes_nothing_on_either_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    for value_class in (values.ValueClass, values._LockedValue, PlainValue):
        monkeypatch.setattr(values, "ValueClass", value_class)
        r = CollectorRegistry()
        c = Counter("vf", "h", registry=r)
        c.inc(2)
        for bad, error in ((-1, ValueError), (10**400, OverflowError), ("1", TypeError), (None, TypeError),
                           (1j, TypeError)):
            with pytest.raises(error):
                c.inc(bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError):
            c.inc(1, exemplar={"": "x"})
        assert r.get_sample_value("vf_total") == 2.0, value_class
        c.inc(True)
        c.inc(Fraction(1, 4))
        assert r.get_sample_value("vf_total") == 3.25, value_class


@pytest.mark.parametrize("value_class", ["_LockedValue", "PlainValue"])
def test_counter_with_value_objects(monkeypatch: pytest.MonkeyPatch, value_class: str) -> None:
    cls = PlainValue if value_class == "PlainValue" else values._LockedValue
    monkeypatch.setattr(values, "ValueClass", cls)
    r = CollectorRegistry()
    c = Counter("vo", "h", ["a"], registry=r)
    child = c.labels("x")
    assert type(child._value) is cls and child._v is child._value
    child.inc()
    child.inc(0.5, exemplar={"trace": "t"})
    assert child._value.get() == 1.5 and child._value.get_exemplar().labels == {"trace": "t"}  # type: ignore[union-attr]
    child._value.set(4)
    assert r.get_sample_value("vo_total", {"a": "x"}) == 4
    with pytest.raises(ValueError, match="missing label values"):
        c.inc()
    child.reset()
    assert r.get_sample_value("vo_total", {"a": "x"}) == 0


@pytest.mark.parametrize("value_class", ["default", "_LockedValue", "PlainValue"])
def test_subclass_calling_super_inc(monkeypatch: pytest.MonkeyPatch, value_class: str) -> None:
    if value_class != "default":
        monkeypatch.setattr(values, "ValueClass", PlainValue if value_class == "PlainValue" else values._LockedValue)

    class Doubling(Counter):
        def inc(self, amount: float = 1, exemplar: Any = None) -> None:
            super().inc(2 * amount, exemplar)

    r = CollectorRegistry()
    d = Doubling("dbl", "h", ["a"], registry=r)
    d.labels("x").inc()
    d.labels("x").inc(3)
    assert r.get_sample_value("dbl_total", {"a": "x"}) == 8


def test_locked_counter_values_stay_exact_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setattr(values, "ValueClass", values._LockedValue)
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        r = CollectorRegistry()
        c = Counter("lt", "h", ["a"], registry=r)
        child = c.labels("x")

        def work() -> None:
            for _ in range(20000):
                child.inc()

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert r.get_sample_value("lt_total", {"a": "x"}) == 80000


def test_histogram_child_holds_one_list_of_floats_sum_first() -> None:
    r = CollectorRegistry()
    h = Histogram("hl", "h", ["a"], buckets=[1, 2], registry=r)
    child = h.labels("x")

    def numbers() -> List[float]:
        return [float(child._sum.get()), *[float(b.get()) for b in child._buckets]]

    if IN_PROCESS:
        assert child._counts == [0.0, 0.0, 0.0, 0.0]
    else:  # the locked path: one value object per bucket and one for the sum
        assert all(type(b) is values.ValueClass for b in [*child._buckets, child._sum])
    child.observe(1.5)
    child.observe(0.5)
    child.observe(float("nan"))
    assert numbers()[1:] == [1.0, 1.0, 0.0]
    assert numbers()[0] != numbers()[0]  # the NaN went to the sum only
    child._sum.set(2)
    child._buckets[2].inc(Fraction(1, 2))
    # a value object keeps what it is given (as the official), which then has to add to a float
    child._buckets[0].set(_Floaty() if IN_PROCESS else 2.5)
    if IN_PROCESS:
        assert all(type(x) is float for x in child._counts)
        assert child._counts == [2.0, 2.5, 1.0, 0.5]
    assert numbers() == [2.0, 2.5, 1.0, 0.5]
    for bad in ("1", None):
        if IN_PROCESS:  # see the counter test
            with pytest.raises(TypeError):
                child._buckets[0].set(bad)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            child._sum.inc(bad)  # type: ignore[arg-type]
    assert numbers() == [2.0, 2.5, 1.0, 0.5]
    assert [line for line in _lines(r, "hl_") if not line.startswith("hl_created")] == [
        'hl_bucket{a="x",le="1.0"} 2.5', 'hl_bucket{a="x",le="2.0"} 3.5', 'hl_bucket{a="x",le="+Inf"} 4.0',
        'hl_count{a="x"} 4.0', 'hl_sum{a="x"} 2.0',
    ]
    with pytest.raises(ValueError, match="missing label values"):
        h.observe(1.0)
