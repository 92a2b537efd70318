"""Multiprocess mode: merge every process's value files into one set of metrics.

``MultiProcessCollector(registry)`` reads ``PROMETHEUS_MULTIPROC_DIR``: the value files of
running and dead processes, plus the archive that compaction folds dead processes into
(see ``_mp_compact`` and docs/multiprocess.md). ``mark_process_dead(pid)`` drops a dead
process's live-only files and compacts the rest.

Merging works on raw key bytes: every process writes a series under byte-identical keys,
so values are summed (or min/max/most-recent'ed) in a dict keyed by the bytes, and each
distinct key is JSON-decoded once (and cached across scrapes). Only files whose names
this library writes are read; a damaged file is skipped, logged and counted, and the rest
of the scrape is served.
"""

import json as json  # noqa: F401  (the reference module's name)
import logging
import os
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple, Union, cast

from .. import _lazy
from ..metrics_core import Metric
from ..registry import Collector, CollectorRegistry
from ..samples import Sample
from ..utils import floatToGoString
from . import files as mpf
from .merge import (
    _TYPE_OF_KIND,
    _archive_sources,
    _Corrupt,
    _entries,
    _merge_sources,
    _parse_key,
    _read_sources,
    _report,
    _Source,
)

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .._metrics.metrics import Counter

# The reference module's other names, loaded on first use.
__getattr__, __dir__ = _lazy.install(__name__, {
    "Gauge": ".metrics:Gauge",
    "MmapedDict": ".mmap_dict:MmapedDict",
    "defaultdict": "collections:defaultdict",
    "glob": "glob",
    "warnings": "warnings",
})
_LIVE_GAUGE_MULTIPROCESS_MODES = set(mpf.LIVE_GAUGE_MODES)

log = logging.getLogger("prometheus_client.multiprocess")


ERRORS_METRIC = "prometheus_multiproc_read_errors"
_ERRORS_HELP = ("Files in the multiprocess directory that a scrape could not read and skipped "
                "(counted once per scrape; the log says which file and why).")
_errors: "Tuple[Optional[Counter], object]" = (None, None)  # (Counter, the value class it was created with)


def _count_read_errors(n: int) -> Tuple[float, bool]:
    """Add ``n`` to the read-error counter; return (its value, whether it lives in the files).

    In multiprocess mode the counter is an ordinary file-backed Counter of the scraping
    process, so the merged total is monotonic whichever worker answers the scrape.
    """
    from .. import values
    from .._metrics.metrics import Counter

    global _errors
    try:
        counter, made_with = _errors
        if counter is None or made_with is not values.ValueClass:
            counter = Counter(ERRORS_METRIC, _ERRORS_HELP, registry=None)
            _errors = (counter, values.ValueClass)
        counter.inc(n)
        return counter._value.get(), bool(getattr(counter._value, "_multiprocess", False))
    except Exception as e:  # the directory may be the very thing that is broken
        log.warning("multiprocess: could not count read errors: %s", e)
        _errors = (None, None)
        return float(n), False


class MultiProcessCollector(Collector):
    """Collector for files for multi-process mode.

    ``compact=True`` also folds the files of processes that no longer run (this library's
    writers hold a lock on their files) into the archive before each scrape, as
    ``mark_process_dead`` does for one pid.
    """

    def __init__(
        self,
        registry: Optional[CollectorRegistry],
        path: Optional[str] = None,
        compact: bool = False,
    ) -> None:
        if path is None:
            path = mpf.env_dir()
        if not path or not os.path.isdir(path):
            raise ValueError("env PROMETHEUS_MULTIPROC_DIR is not set or not a directory")
        self._path = path
        self._compact = compact
        self.unreadable_files = 0  # files the last scrape skipped
        if registry:
            registry.register(self)

    @staticmethod
    def merge(files: Iterable[str], accumulate: bool = True) -> Iterable[Metric]:
        """Merge metrics from given mmap files.

        By default, histograms are accumulated, as per prometheus wire format.
        But if writing the merged data back to mmap files, use
        accumulate=False to avoid compound accumulation.
        """
        bad: List[Tuple[str, str]] = []
        sources = _read_sources(list(files), bad)
        metrics = _merge_sources(sources, accumulate, bad)
        _report(bad)
        return metrics.values()

    @staticmethod
    def _read_metrics(files: Iterable[str]) -> Dict[str, Metric]:
        """Per-file samples, not yet merged (labels as tuples; gauges carry a ``pid`` label)."""
        metrics: Dict[str, Metric] = {}
        for src in _read_sources(list(files), []):
            typ = _TYPE_OF_KIND.get(src.kind, src.typ)
            for key, value, ts in _entries(src):
                if ts < 0:
                    continue
                mname, sname, labels, help_text = _parse_key(key)
                m = metrics.get(mname)
                if m is None:
                    m = metrics[mname] = Metric(mname, help_text, typ)
                # As the official client: the labels stay (name, value) pairs until merged,
                # and gauges carry their mode on the Metric.
                if src.typ == "gauge":
                    vars(m)["_multiprocess_mode"] = src.mode
                    labels = labels + (("pid", src.pid),)
                m.samples.append(Sample(sname, cast(Dict[str, str], labels), value, ts))
        return metrics

    @staticmethod
    def _accumulate_metrics(metrics: Dict[str, Metric], accumulate: bool) -> Iterable[Metric]:
        """Merge what ``_read_metrics`` returned (same rules as ``merge``)."""
        for m in metrics.values():
            mode = getattr(m, "_multiprocess_mode", "all")
            merged: Dict[Tuple[str, Tuple[Tuple[str, str], ...]], Any] = {}
            buckets: Dict[Tuple[Tuple[str, str], ...], Dict[float, float]] = {}
            for s in m.samples:
                labels: Tuple[Tuple[str, str], ...] = tuple(cast(Iterable[Tuple[str, str]], s.labels))
                base = mpf.merged_gauge_mode(mode) if m.type == "gauge" else None
                if base is not None:
                    key = (s.name, tuple(p for p in labels if p[0] != "pid"))
                    old = merged.get(key)
                    ts = float(s.timestamp or 0.0)
                    merged[key] = (
                        mpf.first_gauge(base, s.value, ts) if old is None else mpf.GAUGE_FOLDS[base](old, s.value, ts)
                    )
                elif m.type == "gauge":
                    merged[(s.name, labels)] = s.value
                elif m.type == "histogram" and any(p[0] == "le" for p in labels):
                    rest = tuple(p for p in labels if p[0] != "le")
                    bound = float(dict(labels)["le"])
                    per = buckets.setdefault(rest, {})
                    per[bound] = per.get(bound, 0.0) + s.value
                    merged.setdefault((m.name + "_bucket", rest), None)
                else:
                    key = (s.name, labels)
                    merged[key] = merged.get(key, 0.0) + s.value
            samples: List[Sample] = []
            for (name, labels), value in merged.items():
                if value is None:
                    continue
                if isinstance(value, tuple):  # a merged gauge: (value, timestamp)
                    value, ts = value
                    if mode.endswith("mostrecent") and not ts > 0.0:
                        continue
                samples.append(Sample(name, dict(labels), value))
            for rest, per in buckets.items():
                acc = 0.0
                for bound in sorted(per):
                    acc += per[bound]
                    series = dict(rest)
                    series["le"] = floatToGoString(bound)
                    samples.append(Sample(m.name + "_bucket", series, acc if accumulate else per[bound]))
                if accumulate:
                    samples.append(Sample(m.name + "_count", dict(rest), acc))
            m.samples = samples
        return metrics.values()

    def collect(self) -> Iterable[Metric]:
        path = self._path
        if self._compact:
            from .compact import compact_dead

            try:
                compact_dead(path)
            except Exception:  # never let housekeeping break a scrape
                log.exception("multiprocess: compaction of dead processes' files in %s failed", path)
        bad: List[Tuple[str, str]] = []
        sources = _read_directory(path, bad)
        metrics = _merge_sources(sources, True, bad)
        _report(bad)
        self.unreadable_files = len(bad)
        if bad:
            value, in_files = _count_read_errors(len(bad))
            merged = metrics.get(ERRORS_METRIC)
            if merged is not None and in_files:
                # The files were read before this scrape's increment: add it.
                merged.samples = [s._replace(value=s.value + len(bad)) for s in merged.samples]
            else:
                m = metrics[ERRORS_METRIC] = Metric(ERRORS_METRIC, _ERRORS_HELP, "counter")
                m.samples.append(Sample(ERRORS_METRIC + "_total", {}, float(len(bad)) if in_files else value))
        return list(metrics.values())


def _read_directory(path: str, bad: List[Tuple[str, str]]) -> List[_Source]:
    """Snapshot of the directory under the shared compaction lock: archive, staged, value files."""
    lock_fd = mpf.open_dir_lock(path)
    try:
        if lock_fd is not None and not mpf.flock_wait(lock_fd, exclusive=False, timeout=10.0):
            log.warning("multiprocess: %s is locked for compaction for too long; reading anyway", path)
        listing = mpf.list_dir(path)
        sources: List[_Source] = []
        if listing.archive is not None:
            apath = os.path.join(path, listing.archive)
            try:
                with open(apath, "rb") as f:
                    sources.extend(_archive_sources(apath, f.read()))
            except FileNotFoundError:
                pass
            except (OSError, _Corrupt) as e:
                bad.append((apath, str(e)))
        paths = [os.path.join(path, name) for name, _, _ in listing.staged]
        paths.extend(os.path.join(path, name) for name in listing.values)
        sources.extend(_read_sources(paths, bad))
        return sources
    finally:
        if lock_fd is not None:
            os.close(lock_fd)


def mark_process_dead(pid: Union[int, str], path: Optional[str] = None) -> None:
    """Do bookkeeping for when one process dies in a multi-process setup.

    Removes the process's live-only files (``gauge_live*``, Info, Enum) and folds its
    counters, histograms, summaries and other gauges into the directory's archive.
    """
    if path is None:
        path = os.environ.get(mpf.ENV, os.environ.get(mpf.LEGACY_ENV))
    if not path:
        raise ValueError("mark_process_dead: no path given and env PROMETHEUS_MULTIPROC_DIR is not set")
    from .compact import retire_pid

    retire_pid(path, str(pid))
