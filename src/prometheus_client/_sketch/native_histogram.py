"""Native (sparse, exponential) histogram math, dependency-free.

Data model (Prometheus native histograms): for schema ``s`` in -4..8 the base is
``2 ** (2 ** -s)``; positive bucket ``i`` covers ``(base**(i-1), base**i]``, negative bucket
``i`` mirrors it, and observations with ``|v| <= zero_threshold`` go to the zero bucket.

Bucket indices are computed from ``math.frexp`` as Prometheus/client_golang do.  For
``schema > 0`` the boundaries inside one power of two are a table of ``2 ** (j/2**s - 1)``.
We compute that table ourselves, each value rounded *down* to a double: with
``bisect_left`` this puts every double exactly where the mathematical definition says
(a value equal to a rounded-down boundary is below the irrational true boundary, so it
belongs to the lower bucket), including at the exact powers of the base.

:class:`NativeHistogramState` is the per-child state: a fast :meth:`observe`, a bucket-limit
policy (reset / widen the zero bucket / halve the resolution, as client_golang) and
:meth:`snapshot` producing spans and deltas.  It is not thread-safe: callers hold a lock.
"""

from __future__ import annotations

import decimal
import math
import time
from bisect import bisect_left
from typing import Callable, Dict, Iterable, List, Mapping, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "MIN_SCHEMA", "MAX_SCHEMA", "DEFAULT_ZERO_THRESHOLD",
    "pick_schema", "bucket_index", "bucket_bounds", "bounds_table", "reduce_buckets",
    "to_spans_deltas", "from_spans_deltas", "NativeSnapshot", "NativeHistogramState",
]

MIN_SCHEMA = -4
MAX_SCHEMA = 8
DEFAULT_ZERO_THRESHOLD = 2.0 ** -128

Span = Tuple[int, int]

_frexp = math.frexp
_INF = math.inf
_BOUNDS: Dict[int, List[float]] = {}
_DEC = decimal.Context(prec=50)


def _floor_power_of_two(j: int, schema: int) -> float:
    """The largest double <= 2 ** (j / 2**schema - 1)."""
    d = decimal.Decimal
    x = _DEC.power(d(2), _DEC.divide(d(j - (1 << schema)), d(1 << schema)))
    f = float(x)
    if d(f) > x:
        f = math.nextafter(f, 0.0)
    return f


def bounds_table(schema: int) -> List[float]:
    """Sorted boundaries ``2 ** (j/2**schema - 1)``, j = 0..2**schema-1 (rounded down), schema > 0."""
    if not 0 < schema <= MAX_SCHEMA:
        raise ValueError(f"bounds table exists for schemas 1..{MAX_SCHEMA}, not {schema}")
    t = _BOUNDS.get(schema)
    if t is None:
        big = _BOUNDS.get(MAX_SCHEMA)
        if big is not None:
            step = 1 << (MAX_SCHEMA - schema)
            t = big[::step]
        else:
            t = [_floor_power_of_two(j, schema) for j in range(1 << schema)]
        _BOUNDS[schema] = t
    return t


def pick_schema(factor: float) -> int:
    """Largest schema (<= 8, >= -4) whose bucket growth factor is <= ``factor`` (> 1)."""
    if not factor > 1:
        raise ValueError(f"native histogram bucket factor must be > 1, got {factor!r}")
    if math.isinf(factor):
        return MIN_SCHEMA
    n = math.floor(math.log2(math.log2(factor)))
    if n <= -MAX_SCHEMA:
        return MAX_SCHEMA
    if n >= -MIN_SCHEMA:
        return MIN_SCHEMA
    return -n


def _inf_index(schema: int) -> int:
    return ((1024 << schema) if schema >= 0 else (1024 >> -schema)) + 1


def bucket_index(v: float, schema: int) -> int:
    """Index of the bucket holding ``|v|`` (v != 0, not NaN) at ``schema``."""
    a = abs(v)
    if a == math.inf:
        return _inf_index(schema)
    frac, exp = _frexp(a)
    if schema > 0:
        return bisect_left(bounds_table(schema), frac) + ((exp - 1) << schema)
    if frac == 0.5:
        exp -= 1
    return (exp + (1 << -schema) - 1) >> -schema


def bucket_bounds(i: int, schema: int) -> Tuple[float, float]:
    """``(lower, upper)`` of positive bucket ``i`` (lower exclusive, upper inclusive)."""

    def upper(k: int) -> float:
        if k >= _inf_index(schema):
            return math.inf
        try:
            if schema > 0:
                q, r = divmod(k, 1 << schema)
                return math.ldexp(bounds_table(schema)[r] * 2.0, q) if r else math.ldexp(1.0, q)
            return math.ldexp(1.0, k << -schema)
        except OverflowError:
            return math.inf

    hi = upper(i)
    if i == _inf_index(schema) - 1:
        hi = 1.7976931348623157e308
    return upper(i - 1), hi


def reduce_buckets(buckets: Mapping[int, int], steps: int = 1) -> Dict[int, int]:
    """Re-bucket ``buckets`` at ``schema - steps``: index i goes to ``((i - 1) >> steps) + 1``."""
    out: Dict[int, int] = {}
    get = out.get
    for i, c in buckets.items():
        j = ((i - 1) >> steps) + 1
        out[j] = get(j, 0) + c
    return out


def to_spans_deltas(buckets: Mapping[int, float], gap_fill: int = 2) -> Tuple[List[Span], List[float]]:
    """Spans and deltas for a sparse ``{index: count}`` map (zero counts are kept as given).

    Gaps of at most ``gap_fill`` empty buckets are bridged with explicit zero buckets rather
    than opening a new span (as client_golang does).  Returns ``([], [])`` for no buckets.
    """
    if not buckets:
        return [], []
    keys = sorted(buckets)
    spans: List[Span] = []
    deltas: List[float] = []
    start = keys[0]
    span_off = start
    span_len = 0
    prev_idx = start - 1
    prev_cnt: float = 0
    for i in keys:
        gap = i - prev_idx - 1
        if gap > gap_fill:
            spans.append((span_off, span_len))
            span_off = gap
            span_len = 0
        else:
            for _ in range(gap):
                deltas.append(-prev_cnt)
                prev_cnt = 0
            span_len += gap
        c = buckets[i]
        deltas.append(c - prev_cnt)
        prev_cnt = c
        span_len += 1
        prev_idx = i
    spans.append((span_off, span_len))
    return spans, deltas


def from_spans_deltas(spans: Sequence[Span], deltas: Sequence[float]) -> Dict[int, float]:
    """Inverse of :func:`to_spans_deltas`: ``{index: count}`` including explicit zeros."""
    out: Dict[int, float] = {}
    idx = 0
    k = 0
    cnt: float = 0
    first = True
    for off, length in spans:
        idx = off if first else idx + off
        first = False
        for _ in range(length):
            if k >= len(deltas):
                raise ValueError("spans cover more buckets than there are deltas")
            cnt += deltas[k]
            k += 1
            out[idx] = cnt
            idx += 1
    if k != len(deltas):
        raise ValueError("more deltas than the spans cover")
    return out


class NativeSnapshot(NamedTuple):
    count_value: int
    sum_value: float
    schema: int
    zero_threshold: float
    zero_count: int
    pos_spans: List[Span]
    neg_spans: List[Span]
    pos_deltas: List[int]
    neg_deltas: List[int]


class NativeHistogramState:
    """Sparse native-histogram counts for one series.

    ``observe`` is the hot path.  When an observation creates a bucket beyond
    ``max_buckets`` (0 = unlimited), the limit policy of client_golang applies, in order:
    reset everything if ``min_reset_duration`` > 0 seconds have passed since the last reset
    (see :attr:`last_reset`, :attr:`resets`); else widen the zero bucket over the lowest
    bucket if that keeps ``zero_threshold <= max_zero_threshold``; else halve the resolution
    (schema - 1, not below -4).

    Not thread-safe: the caller serialises ``observe``/``snapshot`` (e.g. with a lock).
    """

    __slots__ = ("_count", "_sum", "_schema", "_zt", "_zero", "_pos", "_neg", "_bounds",
                 "_shift", "_inf", "max_buckets", "max_zero_threshold", "min_reset_duration",
                 "_clock", "last_reset", "resets", "_initial_schema", "_initial_zt")

    def __init__(
        self,
        factor: float = 1.1,
        zero_threshold: float = DEFAULT_ZERO_THRESHOLD,
        max_buckets: int = 160,
        min_reset_duration: float = 0.0,
        max_zero_threshold: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        schema: Optional[int] = None,
    ) -> None:
        if schema is None:
            schema = pick_schema(factor)
        elif not MIN_SCHEMA <= schema <= MAX_SCHEMA:
            raise ValueError(f"native histogram schema must be in {MIN_SCHEMA}..{MAX_SCHEMA}, got {schema}")
        if not zero_threshold >= 0:
            raise ValueError(f"zero_threshold must be >= 0, got {zero_threshold!r}")
        if max_buckets < 0:
            raise ValueError(f"max_buckets must be >= 0, got {max_buckets!r}")
        self._initial_schema = schema
        self._initial_zt = float(zero_threshold)
        self.max_buckets = max_buckets
        self.max_zero_threshold = float(max_zero_threshold)
        self.min_reset_duration = float(min_reset_duration)
        self._clock = clock
        self.last_reset = clock()
        self.resets = 0
        self._count = 0
        self._sum = 0.0
        self._zero = 0
        self._pos: Dict[int, int] = {}
        self._neg: Dict[int, int] = {}
        self._zt = self._initial_zt
        self._set_schema(schema)

    def _set_schema(self, schema: int) -> None:
        self._schema = schema
        self._bounds = bounds_table(schema) if schema > 0 else []
        self._shift = -schema if schema <= 0 else 0
        self._inf = _inf_index(schema)

    @property
    def schema(self) -> int:
        return self._schema

    @property
    def zero_threshold(self) -> float:
        return self._zt

    @property
    def count(self) -> int:
        return self._count

    @property
    def sum(self) -> float:
        return self._sum

    def observe(self, v: float) -> None:
        self._count += 1
        self._sum += v
        zt = self._zt
        if v > zt:
            d = self._pos
        elif v < -zt:
            d = self._neg
            v = -v
        else:
            if v == v:  # NaN goes to no bucket
                self._zero += 1
            return
        frac, exp = _frexp(v)
        bounds = self._bounds
        if frac == _INF:
            i = self._inf
        elif bounds:
            i = bisect_left(bounds, frac) + ((exp - 1) << self._schema)
        else:
            s = self._shift
            i = ((exp - 1 if frac == 0.5 else exp) + (1 << s) - 1) >> s
        c = d.get(i)
        if c is None:
            d[i] = 1
            if self.max_buckets and len(self._pos) + len(self._neg) > self.max_buckets:
                self._limit(-v if d is self._neg else v)
        else:
            d[i] = c + 1

    def observe_many(self, values: Iterable[float]) -> None:
        """``observe`` each value (a batch: attribute lookups hoisted out of the loop)."""
        count = 0
        total = self._sum
        zero = 0
        zt = self._zt
        pos = self._pos
        neg = self._neg
        bounds = self._bounds
        schema = self._schema
        shift = self._shift
        inf_i = self._inf
        maxb = self.max_buckets
        try:
            for v in values:
                count += 1
                total += v
                if v > zt:
                    d = pos
                elif v < -zt:
                    d = neg
                    v = -v
                else:
                    if v == v:
                        zero += 1
                    continue
                frac, exp = _frexp(v)
                if frac == _INF:
                    i = inf_i
                elif bounds:
                    i = bisect_left(bounds, frac) + ((exp - 1) << schema)
                else:
                    i = ((exp - 1 if frac == 0.5 else exp) + (1 << shift) - 1) >> shift
                c = d.get(i)
                if c is None:
                    d[i] = 1
                    if maxb and len(pos) + len(neg) > maxb:
                        # settle the counters, apply the limit policy, reload the state
                        self._count += count
                        self._sum = total
                        self._zero += zero
                        count = zero = 0
                        self._limit(-v if d is neg else v)
                        total = self._sum
                        zt = self._zt
                        pos = self._pos
                        neg = self._neg
                        bounds = self._bounds
                        schema = self._schema
                        shift = self._shift
                        inf_i = self._inf
                else:
                    d[i] = c + 1
        finally:
            self._count += count
            self._sum = total
            self._zero += zero

    def _limit(self, v: float) -> None:
        """Bring the bucket count back under ``max_buckets`` (``v`` was just observed)."""
        if self.min_reset_duration > 0:
            now = self._clock()
            if now - self.last_reset >= self.min_reset_duration:
                self.reset(now)
                self.observe(v)  # keep the latest observation, as client_golang does
                return
        while len(self._pos) + len(self._neg) > self.max_buckets:
            if self._widen_zero_bucket():
                continue
            if self._schema <= MIN_SCHEMA:
                break
            self._pos = reduce_buckets(self._pos)
            self._neg = reduce_buckets(self._neg)
            self._set_schema(self._schema - 1)

    def _widen_zero_bucket(self) -> bool:
        if self.max_zero_threshold <= self._zt:
            return False
        keys = [k for k in (min(self._pos, default=None), min(self._neg, default=None)) if k is not None]
        if not keys:
            return False
        lowest = min(keys)
        new_zt = bucket_bounds(lowest, self._schema)[1]
        if new_zt > self.max_zero_threshold:
            return False
        for d in (self._pos, self._neg):
            for k in [k for k in d if k <= lowest]:
                self._zero += d.pop(k)
        self._zt = new_zt
        return True

    def reset(self, now: Optional[float] = None) -> None:
        """Forget all observations and return to the initial schema and zero threshold."""
        self._count = 0
        self._sum = 0.0
        self._zero = 0
        self._pos = {}
        self._neg = {}
        self._zt = self._initial_zt
        self._set_schema(self._initial_schema)
        self.last_reset = self._clock() if now is None else now
        self.resets += 1

    def buckets(self) -> Tuple[Dict[int, int], Dict[int, int]]:
        """Copies of the positive and negative ``{index: count}`` maps."""
        return dict(self._pos), dict(self._neg)

    def snapshot(self, gap_fill: int = 2) -> NativeSnapshot:
        """``(count, sum, schema, zero_threshold, zero_count, pos_spans, neg_spans,
        pos_deltas, neg_deltas)``; deltas are ints."""
        ps, pd = to_spans_deltas(self._pos, gap_fill)
        ns, nd = to_spans_deltas(self._neg, gap_fill)
        return NativeSnapshot(self._count, self._sum, self._schema, self._zt, self._zero,
                              ps, ns, [int(x) for x in pd], [int(x) for x in nd])
