"""Streaming targeted quantiles (CKMS) over a sliding time window, dependency-free.

Cormode, Korn, Muthukrishnan, Srivastava, "Effective Computation of Biased Quantiles over
Data Streams" (ICDE 2005), targeted-quantiles variant, with Greenwald-Khanna style tuples
``(v, g, delta)``.

Invariant kept for every tuple ``i`` (``r`` = sum of ``g`` over the tuples before ``i``,
``n`` = observations)::

    g_i + delta_i <= f(r, n) = min over objectives (phi, eps) of
        2 * eps' * r / phi                 if r >= phi * n
        2 * eps' * (n - r) / (1 - phi)     otherwise

``f`` never decreases when observations are inserted, so the invariant survives inserts.
``eps'`` is ``eps`` shrunk by a factor close to 1 so that the answer's rank is *guaranteed*
to be within ``eps * n`` of ``phi * n`` (the paper's bound is slightly optimistic next to the
target rank).  Objectives with phi 0 or 1 need no constraint: the minimum and maximum are
kept exactly.

Inserts are buffered: :meth:`QuantileStream.insert` appends to a list; a full buffer (or a
query) is sorted once and merged in a single pass, then the tuples are compressed.
:class:`QuantileWindow` keeps ``age_buckets`` streams that all receive every observation and
are reset in turn every ``max_age / age_buckets`` seconds; queries read the oldest one, so
they cover between ``max_age * (1 - 1/age_buckets)`` and ``max_age`` seconds of data.

Not thread-safe: callers serialise access (the Summary holds a lock).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from typing import Callable, Iterable, List, Mapping, Sequence, Tuple

__all__ = ["QuantileStream", "QuantileWindow", "DEFAULT_BUFFER"]

DEFAULT_BUFFER = 512
_NAN = math.nan
_INF = math.inf


def _targets(objectives: Mapping[float, float]) -> List[Tuple[float, float, float]]:
    """Validated objectives as ``(phi, eps, eps')`` sorted by phi."""
    out = []
    for phi, eps in sorted(objectives.items()):
        phi = float(phi)
        eps = float(eps)
        if not 0.0 <= phi <= 1.0:
            raise ValueError(f"quantile objective {phi!r} is not in [0, 1]")
        if not 0.0 <= eps < 1.0:
            raise ValueError(f"error {eps!r} for quantile {phi} is not in [0, 1)")
        if 0.0 < phi < 1.0:
            # r + f(r) <= (phi + eps) n for every r < (phi - eps) n (left branch), see module doc
            e1 = eps * (1.0 - phi) / (1.0 - phi + eps)
            e2 = (phi + eps) * (1.0 - phi) / 2.0
            eff = min(e1, e2)
        else:
            eff = _INF
        out.append((phi, eps, eff))
    return out


class QuantileStream:
    """One CKMS targeted-quantile summary with a sorted insert buffer."""

    __slots__ = ("_targets", "_constraints", "_v", "_g", "_d", "_n", "_buf", "_cap")

    def __init__(self, objectives: Mapping[float, float], buffer_size: int = DEFAULT_BUFFER) -> None:
        self._targets = _targets(objectives)
        # (phi, 2*eps'/phi, 2*eps'/(1-phi)) for the objectives that constrain anything
        self._constraints = [(p, 2 * e / p, 2 * e / (1 - p)) for p, _, e in self._targets if e != _INF]
        self._v: List[float] = []
        self._g: List[int] = []
        self._d: List[int] = []
        self._n = 0
        self._buf: List[float] = []
        self._cap = max(1, int(buffer_size))

    @property
    def count(self) -> int:
        """Observations held (merged and buffered)."""
        return self._n + len(self._buf)

    def __len__(self) -> int:
        """Number of stored tuples (memory use), excluding the buffer."""
        return len(self._v)

    def insert(self, v: float) -> None:
        buf = self._buf
        buf.append(v)
        if len(buf) >= self._cap:
            self.flush()

    def insert_sorted(self, values: Sequence[float]) -> None:
        """Merge an already sorted batch (NaN-free) into the summary."""
        if not values:
            return
        vs, gs, ds = self._v, self._g, self._d
        if not vs:
            m = len(values)
            self._v = list(values)
            self._g = [1] * m
            self._d = [0] * m
            self._n = m
            self._compress()
            return
        # New values go after the existing tuples <= them.  Their rank uncertainty is 0 for a
        # new minimum/maximum, else the successor's g + delta - 1 (Greenwald-Khanna), or the
        # predecessor's delta for a copy of the predecessor's value (a duplicate can sit
        # right after it; this keeps heavy duplicates compressible).  The values between
        # two neighbouring tuples share one delta, so the loop runs over the tuples and moves
        # the new values with slices.
        nv: List[float] = []
        ng: List[int] = []
        nd: List[int] = []
        m = len(vs)
        nvals = len(values)
        a = bisect_left(values, vs[0])  # values below the minimum
        if a:
            nv.extend(values[:a])
            ng.extend([1] * a)
            nd.extend([0] * a)
        prev_v = vs[0]
        prev_d = ds[0]
        nv.append(prev_v)
        ng.append(gs[0])
        nd.append(prev_d)
        for j in range(1, m):
            if a < nvals:
                v = vs[j]
                b = bisect_left(values, v, a)
                if b > a:
                    d = gs[j] + ds[j] - 1
                    if values[a] == prev_v and prev_d < d:
                        e = bisect_right(values, prev_v, a, b)
                        nv.extend(values[a:e])
                        ng.extend([1] * (e - a))
                        nd.extend([prev_d] * (e - a))
                        a = e
                    if b > a:
                        nv.extend(values[a:b])
                        ng.extend([1] * (b - a))
                        nd.extend([d] * (b - a))
                    a = b
                prev_v = v
                prev_d = ds[j]
                nv.append(v)
                ng.append(gs[j])
                nd.append(prev_d)
            else:
                nv.extend(vs[j:])
                ng.extend(gs[j:])
                nd.extend(ds[j:])
                break
        if a < nvals:  # values >= the maximum
            nv.extend(values[a:])
            ng.extend([1] * (nvals - a))
            nd.extend([0] * (nvals - a))
        self._v, self._g, self._d = nv, ng, nd
        self._n += len(values)
        self._compress()

    def flush(self) -> None:
        buf = self._buf
        if buf:
            self._buf = []
            buf = [x for x in buf if x == x]  # NaN cannot be ranked
            buf.sort()
            self.insert_sorted(buf)

    def _envelope(self, n: int) -> List[Tuple[float, float, float]]:
        """``f(., n)`` as segments ``(r_start, slope, intercept)``, ascending ``r_start``."""
        lines = []  # (lo, hi, slope, intercept): pieces of every objective's f
        for phi, a, b in self._constraints:
            c = phi * n
            lines.append((-_INF, c, -b, b * n))
            lines.append((c, _INF, a, 0.0))
        pts = {0.0, float(n)}
        for lo, hi, _, _ in lines:
            for p in (lo, hi):
                if 0 < p < n:
                    pts.add(p)
        for i in range(len(lines)):
            s1, c1 = lines[i][2], lines[i][3]
            for j in range(i):
                s2, c2 = lines[j][2], lines[j][3]
                if s1 != s2:
                    p = (c2 - c1) / (s1 - s2)
                    if 0 < p < n:
                        pts.add(p)
        xs = sorted(pts)
        segs: List[Tuple[float, float, float]] = []
        for k in range(len(xs)):
            lo = xs[k]
            mid = (lo + xs[k + 1]) / 2 if k + 1 < len(xs) else lo + 1.0
            best = (_INF, 0.0, _INF)
            for plo, phi_, sl, ic in lines:
                if plo <= mid < phi_:
                    val = sl * mid + ic
                    if val < best[0]:
                        best = (val, sl, ic)
            if not segs or segs[-1][1:] != best[1:]:
                segs.append((lo, best[1], best[2]))
        return segs

    def _compress(self) -> None:
        vs, gs, ds = self._v, self._g, self._d
        m = len(vs)
        if m < 3:
            return
        if not self._constraints:  # no constraint at all: keep min, one middle tuple, max
            self._v = [vs[0], vs[-2], vs[-1]]
            self._g = [gs[0], sum(gs[1:-1]), gs[-1]]
            self._d = [ds[0], ds[-2], ds[-1]]
            return
        segs = self._envelope(self._n)
        tol = 1e-9 * (self._n + 1)  # keep float rounding from admitting a merge
        seg = len(segs) - 1
        seg_lo, slope, icpt = segs[seg]
        # walk backwards; tuple i merges into the kept successor (keep first and last).
        # ri = sum(g[:i]) is the rank of i's predecessor, which becomes the merged tuple's.
        ri = self._n - gs[-1]
        kv = [vs[-1]]
        kg: List[int] = []
        kd = [ds[-1]]
        sg = gs[-1]
        sd = ds[-1]
        for v, gi, di in zip(vs[m - 2:0:-1], gs[m - 2:0:-1], ds[m - 2:0:-1]):
            ri -= gi
            if ri < seg_lo:
                while ri < seg_lo:
                    seg -= 1
                    seg_lo, slope, icpt = segs[seg]
            if gi + sg + sd <= slope * ri + icpt - tol:
                sg += gi
            else:
                kg.append(sg)
                kv.append(v)
                kd.append(di)
                sg = gi
                sd = di
        kg.append(sg)
        kv.append(vs[0])
        kg.append(gs[0])
        kd.append(ds[0])
        kv.reverse()
        kg.reverse()
        kd.reverse()
        self._v, self._g, self._d = kv, kg, kd

    def query(self, q: float) -> float:
        """Value whose rank is within ``eps * n`` of ``q * n`` (NaN when empty)."""
        self.flush()
        vs = self._v
        if not vs:
            return _NAN
        n = self._n
        eps = None
        for phi, e, _ in self._targets:
            if phi == q:
                eps = e
                break
        if eps is None:
            # not an objective: best effort with the invariant's allowance at that rank
            rq = q * n
            f = _INF
            for phi, a, b in self._constraints:
                x = a * rq if rq >= phi * n else b * (n - rq)
                if x < f:
                    f = x
            allowance = f / 2 if f != _INF else 0.0
        else:
            allowance = eps * n
        # ranks are integers: floor t, with a margin against rounding when t is integral
        t = math.floor(q * n + allowance + 1e-9 * (n + 1))
        gs, ds = self._g, self._d
        r = 0
        prev = vs[0]
        for i in range(len(vs)):
            g = gs[i]
            if r + g + ds[i] > t:
                return prev
            r += g
            prev = vs[i]
        return prev

    def reset(self) -> None:
        self._v = []
        self._g = []
        self._d = []
        self._n = 0
        self._buf = []


class QuantileWindow:
    """Targeted quantiles over the last ``max_age`` seconds.

    ``objectives`` maps quantile -> allowed rank error, e.g. ``{0.5: 0.05, 0.9: 0.01,
    0.99: 0.001}``.  ``clock`` is injectable (monotonic seconds).  The clock is read only
    when the shared buffer is flushed and on queries, which keeps :meth:`observe` to an
    append; buffered observations were made after the last flush, so they are attributed to
    the streams that existed when they were made.

    Not thread-safe: the caller holds a lock around observe and query.
    """

    __slots__ = ("_objectives", "_streams", "_head", "_period", "_next", "_clock", "_buf", "_cap",
                 "max_age", "age_buckets")

    def __init__(
        self,
        objectives: Mapping[float, float],
        max_age: float = 600.0,
        age_buckets: int = 5,
        clock: Callable[[], float] = time.monotonic,
        buffer_size: int = DEFAULT_BUFFER,
    ) -> None:
        if not max_age > 0:
            raise ValueError(f"max_age must be > 0 seconds, got {max_age!r}")
        if age_buckets < 1:
            raise ValueError(f"age_buckets must be >= 1, got {age_buckets!r}")
        self._objectives = [phi for phi, _, _ in _targets(objectives)]
        self.max_age = float(max_age)
        self.age_buckets = int(age_buckets)
        # streams never buffer themselves: the window shares one buffer
        self._streams = [QuantileStream(objectives, 1 << 62) for _ in range(self.age_buckets)]
        self._head = 0
        self._period = self.max_age / self.age_buckets
        self._clock = clock
        self._next = clock() + self._period
        self._buf: List[float] = []
        self._cap = max(1, int(buffer_size))

    def observe(self, v: float) -> None:
        buf = self._buf
        buf.append(v)
        if len(buf) >= self._cap:
            self._flush()

    def observe_many(self, values: Iterable[float]) -> None:
        """``observe`` each value (one list extend)."""
        buf = self._buf
        buf.extend(values)
        if len(buf) >= self._cap:
            self._flush()

    def _flush(self) -> None:
        buf = self._buf
        if buf:
            self._buf = []
            buf = [x for x in buf if x == x]
            buf.sort()
            for s in self._streams:
                s.insert_sorted(buf)
        now = self._clock()
        if now >= self._next:
            self._rotate(now)

    def _rotate(self, now: float) -> None:
        k = self.age_buckets
        steps = int((now - self._next) // self._period) + 1
        for _ in range(min(steps, k)):
            self._streams[self._head].reset()
            self._head = (self._head + 1) % k
        self._next += steps * self._period

    def query(self, q: float) -> float:
        """Estimate of quantile ``q`` over the window; NaN when it holds no observation."""
        self._flush()
        return self._streams[self._head].query(q)

    def queries(self) -> List[Tuple[float, float]]:
        """``[(q, estimate), ...]`` for every objective, ascending q."""
        self._flush()
        head = self._streams[self._head]
        return [(q, head.query(q)) for q in self._objectives]

    @property
    def count(self) -> int:
        """Observations in the queried (oldest) stream after a flush."""
        self._flush()
        return self._streams[self._head].count

    def tuples(self) -> int:
        """Total stored tuples over all streams (memory use)."""
        return sum(len(s) for s in self._streams)
