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
query) is sorted once and merged with the stored tuples in one backward pass that also
compresses.  New values falling between the same two stored tuples form a block sharing one
delta; blocks are compressed a chunk at a time with counted (not performed one by one)
merges, so the Python-level work per flush is proportional to the stored tuples, not to the
batch.
:class:`QuantileWindow` keeps ``age_buckets`` streams that all receive every observation and
are reset in turn every ``max_age / age_buckets`` seconds; queries read the oldest one, so
they cover between ``max_age * (1 - 1/age_buckets)`` and ``max_age`` seconds of data.

Not thread-safe: callers serialise access (the Summary holds a lock).
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left, bisect_right
from typing import Any, Callable, Iterable, List, Mapping, Sequence, Tuple

__all__ = ["QuantileStream", "QuantileWindow", "DEFAULT_BUFFER"]

DEFAULT_BUFFER = 512
_CHUNK = 64  # new values handled together when compressing
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

    __slots__ = ("_targets", "_constraints", "_env_unit", "_v", "_g", "_d", "_n", "_buf", "_cap")

    def __init__(self, objectives: Mapping[float, float], buffer_size: int = DEFAULT_BUFFER) -> None:
        self._targets = _targets(objectives)
        # (phi, 2*eps'/phi, 2*eps'/(1-phi)) for the objectives that constrain anything
        self._constraints = [(p, 2 * e / p, 2 * e / (1 - p)) for p, _, e in self._targets if e != _INF]
        # f(r, n) = n * f(r / n, 1): the envelope is computed once, for n = 1, and scaled
        self._env_unit = self._envelope(1)
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
        """Merge an already sorted batch (NaN-free) into the summary, then compress."""
        if not values:
            return
        vs, gs, ds = self._v, self._g, self._d
        nvals = len(values)
        # Segments in value order: (0, v, g, delta) for a stored tuple, (1, a, b, delta) for
        # the new values values[a:b], which all get the same rank uncertainty delta: 0 below
        # the minimum or above the maximum, else the successor's g + delta - 1
        # (Greenwald-Khanna), or the predecessor's delta for copies of the predecessor's
        # value (a duplicate can sit right after it; keeps heavy duplicates compressible).
        # New values go after stored tuples of equal value.  The work is per stored tuple
        # and per block of new values, never per new value.
        segs: List[Tuple[int, Any, Any, int]] = []
        m = len(vs)
        if not m:
            segs.append((1, 0, nvals, 0))
        else:
            a = bisect_left(values, vs[0])
            if a:
                segs.append((1, 0, a, 0))
            prev_v = vs[0]
            prev_d = ds[0]
            segs.append((0, prev_v, gs[0], prev_d))
            for j in range(1, m):
                v = vs[j]
                if a < nvals:
                    b = bisect_left(values, v, a)
                    if b > a:
                        d = gs[j] + ds[j] - 1
                        if values[a] == prev_v and prev_d < d:
                            e = bisect_right(values, prev_v, a, b)
                            segs.append((1, a, e, prev_d))
                            a = e
                        if b > a:
                            segs.append((1, a, b, d))
                        a = b
                prev_v = v
                prev_d = ds[j]
                segs.append((0, v, gs[j], prev_d))
            if a < nvals:
                segs.append((1, a, nvals, 0))
        self._n += nvals
        self._rebuild(values, segs)

    def _rebuild(self, values: Sequence[float], segs: List[Tuple[int, Any, Any, int]]) -> None:
        """Compress the segments into the tuple lists (greedy, from the largest value down).

        A tuple merges into its kept successor when ``g + g_succ + delta_succ <= f(r)``,
        ``r`` being the rank before the tuple.  For a block of new values (g = 1 each, one
        delta) ``f`` is taken at its minimum over the block's ranks (``f`` is concave, so at an
        end), and the merges are counted instead of performed one by one.  The minimum and
        the maximum are never merged.
        """
        # the first and the last entry become stored tuples of their own
        first = segs[0]
        if first[0] == 1:
            a, b, d = first[1], first[2], first[3]
            segs[0:1] = [(0, values[a], 1, d)] + ([(1, a + 1, b, d)] if b - a > 1 else [])
        last = segs[-1]
        if last[0] == 1:
            a, b, d = last[1], last[2], last[3]
            segs[-1:] = ([(1, a, b - 1, d)] if b - a > 1 else []) + [(0, values[b - 1], 1, d)]
        if len(segs) == 1:
            _, v, g, d = segs[0]
            self._v, self._g, self._d = [v], [g], [d]
            return
        n = self._n
        env = [(lo * n, slope, icpt * n) for lo, slope, icpt in self._env_unit]
        los = [e[0] for e in env]
        tol = 1e-9 * (n + 1)  # keep float rounding from admitting a merge
        kv: List[float] = []
        kg: List[int] = []
        kd: List[int] = []
        _, sv, sg, sd = segs[-1]  # the successor being built
        r = n - sg  # rank before the successor
        for k in range(len(segs) - 2, 0, -1):
            kind, x, y, d = segs[k]
            if kind == 0:  # stored tuple (x = value, y = g)
                r -= y
                i = bisect_right(los, r) - 1
                if y + sg + sd <= env[i][1] * r + env[i][2] - tol:
                    sg += y
                else:
                    kv.append(sv)
                    kg.append(sg)
                    kd.append(sd)
                    sv, sg, sd = x, y, d
                continue
            # block values[x:y]: entry e has rank r0 + (e - x) before it.  Chunks from the
            # top, each inside one linear piece of f (so f is smallest at a chunk end) and
            # at most _CHUNK entries long.
            r0 = r - (y - x)
            r = r0
            top = y
            while top > x:
                i = bisect_right(los, r0 + (top - 1 - x)) - 1
                lo_e = max(x, top - _CHUNK, x + math.ceil(los[i] - r0))
                c = top - lo_e
                slope, icpt = env[i][1], env[i][2]
                ra = r0 + (lo_e - x)
                f = min(slope * ra + icpt, slope * (ra + c - 1) + icpt) - tol
                top = lo_e
                room = f - sg - sd
                if room >= c:
                    sg += c
                    continue
                if room >= 1:
                    took = int(room)
                    sg += took
                    c -= took
                kv.append(sv)
                kg.append(sg)
                kd.append(sd)
                step = f - 1 - d  # merges allowed into each kept tuple
                size = 1 + int(step) if step >= 1 else 1  # entries per kept tuple
                kept = values[lo_e:lo_e + c][::-1][::size]
                t = len(kept)
                if t > 1:
                    kv.extend(kept[:-1])
                    kg.extend([size] * (t - 1))
                    kd.extend([d] * (t - 1))
                sv = kept[-1]
                sg = c - (t - 1) * size
                sd = d
        kv.append(sv)
        kg.append(sg)
        kd.append(sd)
        _, v0, g0, d0 = segs[0]
        kv.append(v0)
        kg.append(g0)
        kd.append(d0)
        kv.reverse()
        kg.reverse()
        kd.reverse()
        self._v, self._g, self._d = kv, kg, kd

    def flush(self) -> None:
        buf = self._buf
        if buf:
            self._buf = []
            buf = [x for x in buf if x == x]  # NaN cannot be ranked
            buf.sort()
            self.insert_sorted(buf)

    def _envelope(self, n: float) -> List[Tuple[float, float, float]]:
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
    append.  Expired streams are reset first, then the buffered observations go into every
    remaining stream: an observation buffered across a rotation may be kept up to one
    rotation period (``max_age / age_buckets``) longer than ``max_age``, never shorter.

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
        now = self._clock()
        if now >= self._next:
            self._rotate(now)
        buf = self._buf
        if buf:
            self._buf = []
            total = sum(buf)  # a C loop: a NaN (or inf - inf) shows up in the sum
            if total != total:
                buf = [x for x in buf if x == x]
            buf.sort()
            for s in self._streams:
                s.insert_sorted(buf)

    def _rotate(self, now: float) -> None:
        k = self.age_buckets
        steps = int((now - self._next) // self._period) + 1
        for _ in range(min(steps, k)):
            self._streams[self._head].reset()
            self._head = (self._head + 1) % k
        self._next += steps * self._period

    @property
    def next_rotation(self) -> float:
        """Clock time at which the next stream is reset (answers may change then)."""
        return self._next

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
