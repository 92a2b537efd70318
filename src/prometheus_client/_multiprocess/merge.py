"""Multiprocess scrape: read the value files of a directory (layouts remembered between scrapes)
and merge them into Metric families, by the rules of each kind and gauge mode."""

import json
import logging
import os
from operator import add as _add
from operator import itemgetter
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from ..metrics_core import Metric
from ..mmap_dict import iter_records, read_file_bytes, read_used
from ..samples import Sample
from ..utils import floatToGoString
from . import files as mpf

log = logging.getLogger("prometheus_client.multiprocess")

_ParsedKey = Tuple[str, str, Tuple[Tuple[str, str], ...], str]
_KEY_CACHE: Dict[bytes, _ParsedKey] = {}
_KEY_CACHE_MAX = 200_000

_TYPE_OF_KIND = {"counter": "counter", "summary": "summary", "histogram": "histogram", "info": "info",
                 "enum": "stateset"}

class _Corrupt(Exception):
    """A value file (or archive section) that cannot be read."""


def _parse_key(raw: bytes) -> _ParsedKey:
    parsed = _KEY_CACHE.get(raw)
    if parsed is not None:
        return parsed
    try:
        obj = json.loads(raw)
        metric_name, name, labels, help_text = obj
        if not (isinstance(metric_name, str) and isinstance(name, str) and isinstance(labels, dict)
                and isinstance(help_text, str) and metric_name and name):
            raise ValueError("not [metric name, sample name, labels, help]")
        pairs = tuple((str(k), str(v)) for k, v in labels.items())
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        raise _Corrupt(f"bad key {raw[:80]!r}: {e}") from None
    parsed = (metric_name, name, pairs, help_text)
    if len(_KEY_CACHE) >= _KEY_CACHE_MAX:
        _KEY_CACHE.clear()
    _KEY_CACHE[raw] = parsed
    return parsed


class _Source:
    """One thing to merge: a value file (or an archive section) and how to read it."""

    __slots__ = ("label", "kind", "mode", "typ", "pid", "data")

    def __init__(self, label: str, meta: mpf.ValueFileName, data: bytes) -> None:
        self.label = label
        self.kind = meta.kind
        self.typ = meta.typ
        self.mode = meta.mode
        self.pid = meta.pid
        self.data = data


def _entries(src: _Source) -> Iterable[Tuple[bytes, float, float]]:
    data = src.data
    try:
        used = read_used(data)
    except RuntimeError as e:
        raise _Corrupt(str(e)) from None
    try:
        for key, _, value, ts in iter_records(data, used):
            yield key, value, ts
    except RuntimeError as e:
        raise _Corrupt(str(e)) from None


class _Layout:
    """Where the keys and values of a value file are: its bytes minus the values ("skeleton")."""

    __slots__ = ("used", "n", "keys", "skeleton", "pieces", "values", "stamps", "__weakref__")

    def __init__(self, data: bytes, used: int, entries: List[Tuple[bytes, int]]) -> None:
        self.used = used
        self.n = len(entries)
        self.keys = [k for k, _ in entries]
        cuts = [8] + [p for _, vp in entries for p in (vp, vp + 16)] + [used]
        slices = [slice(cuts[i], cuts[i + 1]) for i in range(0, len(cuts), 2)]
        self.pieces = itemgetter(*slices) if len(slices) > 1 else (lambda d, s=slices[0]: (d[s],))
        self.skeleton = b"".join(self.pieces(data))
        value_idx = [vp // 8 for _, vp in entries] or [0]
        stamp_idx = [vp // 8 + 1 for _, vp in entries] or [0]
        self.values = _tuple_getter(value_idx)
        self.stamps = _tuple_getter(stamp_idx)

    def matches(self, data: bytes) -> bool:
        return b"".join(self.pieces(data)) == self.skeleton


def _tuple_getter(indexes: List[int]) -> Callable[[Sequence[float]], Tuple[float, ...]]:
    if len(indexes) == 1:
        only = indexes[0]
        return lambda view: (view[only],)
    return itemgetter(*indexes)


_LAYOUTS: Dict[int, List[_Layout]] = {}
_LAYOUTS_MAX = 256  # bounded memory: a layout holds its keys and a copy of the file minus values


def _remember_layout(data: bytes, used: int, entries: List[Tuple[bytes, int]]) -> None:
    known = _LAYOUTS.setdefault(used, [])
    if len(known) >= 4:
        return
    if sum(len(v) for v in _LAYOUTS.values()) >= _LAYOUTS_MAX:
        _LAYOUTS.clear()
        known = _LAYOUTS.setdefault(used, [])
    known.append(_Layout(data, used, entries))


class _Merge:
    """Accumulators for one merge; ``order`` remembers when each series was first seen."""

    def __init__(self) -> None:
        self.order: List[Tuple[str, Any]] = []
        # key -> index into sum_vals, per type
        self.sums: Dict[str, Dict[bytes, int]] = {"counter": {}, "summary": {}, "histogram": {}}
        self.sum_vals: Dict[str, List[float]] = {"counter": [], "summary": [], "histogram": []}
        self.plans: Dict[Tuple[str, _Layout], Tuple[int, List[int]]] = {}
        self.gauges: Dict[str, Dict[Any, Any]] = {m: {} for m in mpf.GAUGE_MODES}
        self.info: Dict[bytes, float] = {}
        self.enum: List[Tuple[int, bytes, float, float]] = []

    def add(self, index: int, src: _Source) -> None:
        kind = src.kind
        if kind in self.sums:
            self._add_sums(src)
        elif src.typ == "gauge":
            self._add_gauge(src)
        elif kind == "info":
            acc = self.info
            for key, _, ts in _entries(src):
                if ts >= 0 and key not in acc:
                    _parse_key(key)
                    acc[key] = 1.0
                    self.order.append(("info", key))
        elif kind == "enum":
            for key, value, ts in _entries(src):
                if ts >= 0:
                    _parse_key(key)
                    self.enum.append((index, key, value, ts))

    def _add_sums(self, src: _Source) -> None:
        # The bulk of every scrape. Files written by the same code have the same layout
        # (keys at the same offsets): a known layout is recognised with one comparison and
        # its values are summed without decoding a single key.
        typ = src.kind
        data = src.data
        try:
            used = read_used(data)
        except RuntimeError as e:
            raise _Corrupt(str(e)) from None
        for layout in _LAYOUTS.get(used, ()):
            if layout.matches(data) and self._add_by_layout(typ, layout, data):
                return
        self._add_sums_slow(typ, data, used)

    def _add_by_layout(self, typ: str, layout: "_Layout", data: bytes) -> bool:
        raw = memoryview(data)
        view = raw[: len(raw) - len(raw) % 8].cast("d")
        if layout.n == 0:
            return True
        if min(layout.stamps(view)) < 0:
            return False  # a removed series: let the slow path skip it
        plan = self.plans.get((typ, layout))
        if plan is None:
            plan = self.plans[(typ, layout)] = self._plan(typ, layout)
        start, idxs = plan
        vals = self.sum_vals[typ]
        if start >= 0:
            end = start + layout.n
            vals[start:end] = map(_add, vals[start:end], layout.values(view))
        else:
            for j, v in zip(idxs, layout.values(view)):
                vals[j] += v
        return True

    def _plan(self, typ: str, layout: "_Layout") -> Tuple[int, List[int]]:
        index = self.sums[typ]
        vals = self.sum_vals[typ]
        idxs = []
        for key in layout.keys:
            j = index.get(key)
            if j is None:
                _parse_key(key)
                j = index[key] = len(vals)
                vals.append(0.0)
                self.order.append((typ, key))
            idxs.append(j)
        contiguous = idxs == list(range(idxs[0], idxs[0] + len(idxs)))
        return (idxs[0] if contiguous else -1), idxs

    def _add_sums_slow(self, typ: str, data: bytes, used: int) -> None:
        index = self.sums[typ]
        vals = self.sum_vals[typ]
        order = self.order
        get = index.get
        entries: List[Tuple[bytes, int]] = []
        try:
            for key, value_pos, value, ts in iter_records(data, used):
                entries.append((key, value_pos))
                if ts < 0:
                    continue
                j = get(key)
                if j is None:
                    _parse_key(key)
                    index[key] = len(vals)
                    vals.append(value)
                    order.append((typ, key))
                else:
                    vals[j] += value
        except RuntimeError as e:
            raise _Corrupt(str(e)) from None
        _remember_layout(data, used, entries)

    def _add_gauge(self, src: _Source) -> None:
        mode = src.mode
        acc = self.gauges[mode]
        order = self.order
        kind = "gauge_" + mode
        if mode in ("all", "liveall"):
            pid = src.pid
            for key, value, ts in _entries(src):
                if ts < 0:
                    continue
                k = (pid, key)
                if k not in acc:
                    _parse_key(key)
                    order.append((kind, k))
                acc[k] = value
            return
        base = mpf.merged_gauge_mode(mode) or ""
        fold = mpf.GAUGE_FOLDS[base]
        for key, value, ts in _entries(src):
            if ts < 0:
                continue
            old = acc.get(key)
            if old is None:
                _parse_key(key)
                order.append((kind, key))
                acc[key] = mpf.first_gauge(base, value, ts)
            else:
                acc[key] = fold(old, value, ts)

    # -- building metrics --------------------------------------------------------------
    def build(self, accumulate: bool) -> Dict[str, Metric]:
        metrics: Dict[str, Metric] = {}
        broken: Set[str] = set()
        histograms: Dict[str, Dict[Tuple[Tuple[str, str], ...], Tuple[Dict[str, float], Dict[float, float]]]] = {}

        def metric_for(mname: str, help_text: str, typ: str) -> Optional[Metric]:
            m = metrics.get(mname)
            if m is None:
                if mname in broken:
                    return None
                try:
                    m = Metric(mname, help_text, typ)
                except ValueError as e:
                    broken.add(mname)
                    log.warning("multiprocess: skipping metric %r: %s", mname, e)
                    return None
                metrics[mname] = m
            return m

        for kind, k in self.order:
            if kind in self.sums:
                mname, sname, labels, help_text = _KEY_CACHE.get(k) or _parse_key(k)
                m = metric_for(mname, help_text, kind)
                if m is None:
                    continue
                value = self.sum_vals[kind][self.sums[kind][k]]
                if kind == "histogram":
                    rest = tuple(p for p in labels if p[0] != "le")
                    groups = histograms.setdefault(mname, {})
                    group = groups.get(rest)
                    if group is None:
                        group = groups[rest] = ({}, {})
                    if len(rest) == len(labels):
                        group[0][sname] = group[0].get(sname, 0.0) + value
                    else:
                        le = next(v for n, v in labels if n == "le")
                        try:
                            bound = float(le)
                        except ValueError:
                            continue
                        group[1][bound] = group[1].get(bound, 0.0) + value
                else:
                    m.samples.append(Sample(sname, dict(labels), value))
            elif kind == "info":
                mname, sname, labels, help_text = _parse_key(k)
                m = metric_for(mname, help_text, "info")
                if m is not None:
                    m.samples.append(Sample(sname, dict(labels), 1.0))
            else:  # gauges
                mode = kind[6:]
                acc = self.gauges[mode]
                if mode in ("all", "liveall"):
                    pid, raw = k
                    mname, sname, labels, help_text = _parse_key(raw)
                    m = metric_for(mname, help_text, "gauge")
                    if m is not None:
                        series = dict(labels)
                        series["pid"] = pid
                        m.samples.append(Sample(sname, series, acc[k]))
                    continue
                mname, sname, labels, help_text = _parse_key(k)
                m = metric_for(mname, help_text, "gauge")
                if m is None:
                    continue
                value, ts = acc[k]
                if mode.endswith("mostrecent") and not ts > 0.0:
                    continue  # never set: omitted, as by the official 0.26.0 client
                m.samples.append(Sample(sname, dict(labels), value))

        for mname, groups in histograms.items():
            m = metrics[mname]
            for rest, (plain, buckets) in groups.items():
                base = dict(rest)
                for sname, value in plain.items():
                    m.samples.append(Sample(sname, base, value))
                acc_value = 0.0
                for bound in sorted(buckets):
                    series = dict(rest)
                    series["le"] = floatToGoString(bound)
                    if accumulate:
                        acc_value += buckets[bound]
                        m.samples.append(Sample(mname + "_bucket", series, acc_value))
                    else:
                        m.samples.append(Sample(mname + "_bucket", series, buckets[bound]))
                if accumulate and buckets:
                    m.samples.append(Sample(mname + "_count", base, acc_value))

        self._build_enums(metrics, metric_for)
        return metrics

    def _build_enums(self, metrics: Dict[str, Metric], metric_for: Callable[[str, str, str], Optional[Metric]]) -> None:
        # Per Enum child (labels without the state label) the process that set it last wins.
        chosen: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], Tuple[float, int]] = {}
        per: Dict[Tuple[Tuple[str, Tuple[Tuple[str, str], ...]], int], List[Tuple[bytes, float]]] = {}
        for index, key, value, ts in self.enum:
            mname, _, labels, _ = _parse_key(key)
            child = (mname, tuple(p for p in labels if p[0] != mname))
            entries = per.setdefault((child, index), [])
            entries.append((key, value))
            best = chosen.get(child)
            if best is None or ts > best[0]:
                chosen[child] = (ts, index)
        for child, (_, index) in chosen.items():
            for key, value in per[(child, index)]:
                mname, sname, labels, help_text = _parse_key(key)
                m = metric_for(mname, help_text, "stateset")
                if m is None:
                    continue
                series = dict(p for p in labels if p[0] != mname)
                series[mname] = dict(labels)[mname]
                m.samples.append(Sample(sname, series, value))


def _merge_sources(sources: List[_Source], accumulate: bool, bad: List[Tuple[str, str]]) -> Dict[str, Metric]:
    """Merge; a damaged source is dropped (and reported in ``bad``) and the merge redone."""
    sources = list(sources)
    while True:
        merge = _Merge()
        try:
            for index, src in enumerate(sources):
                try:
                    merge.add(index, src)
                except _Corrupt as e:
                    bad.append((src.label, str(e)))
                    del sources[index]
                    raise
        except _Corrupt:
            continue
        return merge.build(accumulate)


def _report(bad: List[Tuple[str, str]]) -> None:
    for label, reason in bad:
        log.error("multiprocess: skipping unreadable file %s: %s", label, reason)


def _sources_from_file(path: str, name: Optional[str] = None) -> List[_Source]:
    """Sources of one path: a value file, or the sections of an archive. Raises OSError."""
    base = name or os.path.basename(path)
    meta = mpf.parse_value_name(base)
    if meta is not None:
        return [_Source(path, meta, read_file_bytes(path))]
    if mpf.parse_archive_name(base) is not None:
        with open(path, "rb") as f:
            data = f.read()
        return _archive_sources(path, data)
    return []


def _archive_sources(path: str, data: bytes) -> List[_Source]:
    try:
        sections = list(mpf.decode_archive(data))
    except RuntimeError as e:
        raise _Corrupt(str(e)) from None
    out = []
    for section, blob in sections:
        meta = mpf.parse_value_name(section)
        if meta is not None:
            out.append(_Source(f"{path}[{section}]", meta, blob))
    return out


def _read_sources(paths: Sequence[str], bad: List[Tuple[str, str]]) -> List[_Source]:
    sources: List[_Source] = []
    for path in paths:
        staged = mpf.parse_staged_name(os.path.basename(path))
        try:
            sources.extend(_sources_from_file(path, staged[0] if staged else None))
        except FileNotFoundError:
            continue  # gone since it was listed (a live gauge of a dead process, a wiped dir)
        except (OSError, RuntimeError, _Corrupt) as e:
            bad.append((path, str(e)))
    return sources
