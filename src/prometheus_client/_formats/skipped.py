"""The last line of defence of every encoder: a series that cannot be encoded is left out.

Values no format can write (a lone surrogate such as ``'\\ud800'`` in a label value, HELP
text or exemplar) are refused where they enter (``validation.check_encodable``), but a
custom collector or code that bypasses the API can still hand one to a scrape. Instead of
failing every scrape of the registry with ``UnicodeEncodeError``, the encoders leave out
what cannot be encoded, count it in ``prometheus_client_scrape_skipped_samples_total``
(label ``format``: ``text``, ``openmetrics``, ``protobuf``) and log a warning (once per
metric and format). The counter is registered in the default registry and shows only
once something was skipped, so normal output is unchanged.

Everything here runs only after an encode failed: the normal path costs nothing.
"""

from __future__ import annotations

from _thread import allocate_lock
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple

from ..metrics_core import Metric
from ..validation import unencodable_at

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from ..samples import Sample

NAME = "prometheus_client_scrape_skipped_samples"
HELP = "Samples left out of scrapes because they could not be encoded as UTF-8 (see the log)."


_lock = allocate_lock()
_counts: Dict[str, float] = {}
_warned: Set[Tuple[str, str]] = set()


def note(fmt: str, samples: int, where: str, example: str) -> None:
    """Count ``samples`` left out of a ``fmt`` scrape; warn once per (format, metric)."""
    with _lock:
        _counts[fmt] = _counts.get(fmt, 0.0) + samples
        first = (fmt, where) not in _warned and len(_warned) < 10000
        if first:
            _warned.add((fmt, where))
    if first:
        import logging  # only here: ``import prometheus_client`` does not load logging

        logging.getLogger("prometheus_client").warning(
            "scrape (%s): left out %d sample(s) of %s that cannot be encoded as UTF-8 "
            "(lone surrogate), e.g. %s; counted in %s_total",
            fmt, samples, where, example, NAME,
        )


def _shown(text: str) -> str:
    return text.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")[:200]


def encode_text(out: List[str], fmt: str) -> bytes:
    """The UTF-8 bytes of a text-format scrape; lines that cannot be encoded are dropped.

    Every line of the text formats stands alone (label values and HELP escape their line
    feeds), so dropping a sample line leaves the others valid; a dropped ``# HELP`` line
    just leaves the family without HELP.
    """
    text = "".join(out)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        pass
    kept: List[bytes] = []
    bad: Dict[str, List[str]] = {}
    for line in text.split("\n"):
        try:
            kept.append(line.encode("utf-8"))
        except UnicodeEncodeError:
            bad.setdefault(_line_metric(line), []).append(line)
    for where, lines in bad.items():
        samples = sum(1 for line in lines if not line.startswith("#"))
        note(fmt, samples, where, _shown(lines[0]))
    return b"\n".join(kept)


def _line_metric(line: str) -> str:
    if line.startswith("# "):
        parts = line.split(" ", 3)
        return _shown(parts[2]) if len(parts) > 2 else "?"
    end = min((i for i in (line.find("{"), line.find(" ")) if i >= 0), default=len(line))
    return _shown(line[:end] or line[:40])


def _sample_ok(s: Sample) -> bool:
    if unencodable_at(s.name) is not None:
        return False
    for k, v in s.labels.items():
        if unencodable_at(k) is not None or unencodable_at(v) is not None:
            return False
    ex = s.exemplar
    if ex is not None:
        for k, v in ex.labels.items():
            if unencodable_at(k) is not None or unencodable_at(v) is not None:
                return False
    return True


def encodable_metric(metric: Metric, fmt: str) -> Optional[Metric]:
    """A copy of ``metric`` without the samples (and HELP) that cannot be encoded, or
    None when its name itself cannot be; what was left out is counted and logged."""
    where = _shown(metric.name)
    if unencodable_at(metric.name) is not None:
        note(fmt, len(metric.samples), where, where)
        return None
    kept = [s for s in metric.samples if _sample_ok(s)]
    doc = metric.documentation
    if unencodable_at(doc) is not None:
        doc = ""
        if len(kept) == len(metric.samples):
            note(fmt, 0, where, "HELP " + _shown(metric.documentation))
    if len(kept) < len(metric.samples):
        dropped = [s for s in metric.samples if not _sample_ok(s)]
        note(fmt, len(dropped), where, _shown(repr(dropped[0])))
    copy = Metric.__new__(Metric)
    copy.__dict__.update(metric.__dict__)
    copy.documentation = doc
    copy.samples = kept
    return copy


class SkippedSamples:
    """The self-metric: nothing until a scrape has left something out."""

    def describe(self) -> Iterable[Metric]:
        return [Metric(NAME, HELP, "counter")]

    def collect(self) -> Iterable[Metric]:
        with _lock:
            counts = sorted(_counts.items())
        if not counts:
            return []
        m = Metric(NAME, HELP, "counter")
        for fmt, n in counts:
            m.add_sample(NAME + "_total", {"format": fmt}, n)
        return [m]


SKIPPED_SAMPLES = SkippedSamples()


def reset() -> None:
    """Forget counts and warnings (tests)."""
    with _lock:
        _counts.clear()
        _warned.clear()
