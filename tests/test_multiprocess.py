"""Multiprocess mode: value files, merging, every gauge mode, removal, Info/Enum, bad input,
fork detection, compaction of dead workers (exactness, crash safety, pid reuse) and
compatibility with the official client's files in both directions.

Simulated processes use ``values.MultiProcessValue(lambda: pid)`` (one class per pid) and a
fixture swaps ``values.ValueClass`` back afterwards; tests that need the environment at
import time, or real processes, run in subprocesses.
"""

from __future__ import annotations

import json
import logging
import os
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

import pytest

from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram, Info, Summary, values
from prometheus_client._multiprocess import compact as _mp_compact
from prometheus_client._multiprocess import files as _mp_files
from prometheus_client._multiprocess import values as _mp_values
from prometheus_client.exposition import generate_latest
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

Series = Dict[Tuple[str, Tuple[Tuple[str, str], ...]], float]

MODES = ["all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent", "livemostrecent"]


# -- helpers -----------------------------------------------------------------------------------
@pytest.fixture
def mpdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    d = tmp_path / "mp"
    d.mkdir()
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(d))
    monkeypatch.delenv("prometheus_multiproc_dir", raising=False)
    saved = values.ValueClass
    try:
        yield d
    finally:
        values.ValueClass = saved
        values.close_all_multiprocess_files()
        _mp_values._release_retained()


class Proc:
    """A simulated process: a value class of its own (``pid``) and a registry."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.cls = values.MultiProcessValue(lambda: pid)
        self.registry = CollectorRegistry()
        self.metrics: Dict[str, Any] = {}

    def __enter__(self) -> Proc:
        values.ValueClass = self.cls
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def metric(self, cls: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        with self:
            if name not in self.metrics:
                self.metrics[name] = cls(name, f"{name} help", *args, registry=self.registry, **kwargs)
            return self.metrics[name]

    def exit(self) -> None:
        """The process ends: its files are closed and their locks released.

        (Closing alone is not dying: a closed file's lock stays held while the process runs.)
        """
        self.cls.close_all_files()
        _mp_values._release_retained(str(self.pid))


def scrape(d: Path, **kwargs: Any) -> Series:
    r = CollectorRegistry()
    MultiProcessCollector(r, str(d), **kwargs)
    out: Series = {}
    for m in r.collect():
        for s in m.samples:
            key = (s.name, tuple(sorted(s.labels.items())))
            assert key not in out, f"duplicate series {key}"
            out[key] = s.value
    return out


def total(series: Series, name: str) -> float:
    return sum(v for (n, _), v in series.items() if n == name)


def db_files(d: Path) -> List[str]:
    return sorted(n for n in os.listdir(d) if not n.startswith("."))


def run_py(code: str, env: Optional[Dict[str, str]] = None, timeout: float = 120) -> str:
    full_env = dict(os.environ)
    full_env.update(env or {})
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, env=full_env,
                          timeout=timeout)
    assert proc.returncode == 0, proc.stderr.decode()
    return proc.stdout.decode()


def _without_live(series: Series) -> Series:
    """Live-only gauges of dead processes vanish when compacted (by design): not compared."""
    return {k: v for k, v in series.items() if not k[0].startswith("g_live")}


# -- basics ------------------------------------------------------------------------------------
def test_counters_summaries_histograms_sum_across_processes(mpdir: Path) -> None:
    procs = [Proc(pid) for pid in (11, 12, 13)]
    for i, p in enumerate(procs):
        c = p.metric(Counter, "requests", ["code"])
        c.labels("200").inc(i + 1)
        c.labels("500").inc(10)
        s = p.metric(Summary, "size")
        s.observe(2.5)
        h = p.metric(Histogram, "lat", buckets=[0.1, 1, 10])
        h.observe(0.05)
        h.observe(5)
    got = scrape(mpdir)
    assert got[("requests_total", (("code", "200"),))] == 6.0
    assert got[("requests_total", (("code", "500"),))] == 30.0
    assert got[("size_count", ())] == 3.0
    assert got[("size_sum", ())] == 7.5
    assert got[("lat_bucket", (("le", "0.1"),))] == 3.0
    assert got[("lat_bucket", (("le", "1.0"),))] == 3.0
    assert got[("lat_bucket", (("le", "10.0"),))] == 6.0
    assert got[("lat_bucket", (("le", "+Inf"),))] == 6.0
    assert got[("lat_count", ())] == 6.0
    assert got[("lat_sum", ())] == pytest.approx(15.15)
    assert not any(n.endswith("_created") for n, _ in got)
    assert db_files(mpdir) == sorted(
        f"{t}_{p}.db" for t in ("counter", "summary", "histogram") for p in (11, 12, 13)
    )


def test_help_text_types_and_histogram_order(mpdir: Path) -> None:
    p = Proc(5)
    h = p.metric(Histogram, "lat", ["path"], buckets=[1, 2])
    h.labels("/b").observe(1.5)
    h.labels("/a").observe(0.5)
    p.metric(Counter, "ops").inc()
    r = CollectorRegistry()
    MultiProcessCollector(r, str(mpdir))
    metrics = {m.name: m for m in r.collect()}
    assert metrics["lat"].documentation == "lat help"
    assert metrics["lat"].type == "histogram"
    assert metrics["ops"].type == "counter"
    assert metrics["ops"].documentation == "ops help"
    names = [(s.name, s.labels.get("path"), s.labels.get("le")) for s in metrics["lat"].samples]
    assert names == [
        ("lat_sum", "/b", None), ("lat_bucket", "/b", "1.0"), ("lat_bucket", "/b", "2.0"),
        ("lat_bucket", "/b", "+Inf"), ("lat_count", "/b", None),
        ("lat_sum", "/a", None), ("lat_bucket", "/a", "1.0"), ("lat_bucket", "/a", "2.0"),
        ("lat_bucket", "/a", "+Inf"), ("lat_count", "/a", None),
    ]
    raw = MultiProcessCollector.merge([str(mpdir / "histogram_5.db")], accumulate=False)
    lat = [m for m in raw if m.name == "lat"][0]
    assert [s.value for s in lat.samples if s.labels.get("path") == "/b" and s.name == "lat_bucket"] == [0, 1, 0]
    assert not [s for s in lat.samples if s.name == "lat_count"]
    text = generate_latest(r).decode()
    assert "# HELP ops_total ops help" in text


def test_read_metrics_and_accumulate_metrics_agree_with_merge(mpdir: Path) -> None:
    for pid in (1, 2):
        p = Proc(pid)
        p.metric(Counter, "c", ["a"]).labels("x").inc(pid)
        p.metric(Histogram, "h", buckets=[1]).observe(pid)
        p.metric(Gauge, "g", multiprocess_mode="max").set(pid)
        p.metric(Gauge, "ga").set(pid * 10)
    files = sorted(str(mpdir / n) for n in db_files(mpdir))
    merged = {(m.name, s.name, tuple(sorted(s.labels.items())), s.value)
              for m in MultiProcessCollector.merge(files) for s in m.samples}
    slow = {(m.name, s.name, tuple(sorted(s.labels.items())), s.value)
            for m in MultiProcessCollector._accumulate_metrics(MultiProcessCollector._read_metrics(files), True)
            for s in m.samples}
    assert merged == slow


# -- gauge modes against a model -----------------------------------------------------------
@pytest.mark.parametrize("seed", range(25))
def test_every_gauge_mode_with_live_and_dead_processes(mpdir: Path, seed: int,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    rnd = random.Random(seed)
    clock = [1000.0]

    def fake_time() -> float:
        clock[0] += 1.0
        return clock[0]

    monkeypatch.setattr(time, "time", fake_time)
    pids = list(range(100, 100 + rnd.randint(1, 5)))
    procs = {pid: Proc(pid) for pid in pids}
    # model[mode][(pid, label)] = (value, stamp or 0 if never set after creation)
    model: Dict[str, Dict[Tuple[int, str], Tuple[float, float]]] = {m: {} for m in MODES}
    for _ in range(rnd.randint(1, 40)):
        pid = rnd.choice(pids)
        mode = rnd.choice(MODES)
        label = rnd.choice("abc")
        g = procs[pid].metric(Gauge, f"g_{mode}", ["l"], multiprocess_mode=mode)
        value = float(rnd.randint(-5, 5))
        with procs[pid]:
            child = g.labels(label)
            old = model[mode].get((pid, label), (0.0, 0.0))
            if mode.endswith("mostrecent") or rnd.random() < 0.6:
                child.set(value)
                model[mode][(pid, label)] = (value, clock[0] if mode.endswith("mostrecent") else 0.0)
            else:
                child.inc(value)
                model[mode][(pid, label)] = (old[0] + value, 0.0)
    dead = set(rnd.sample(pids, rnd.randint(0, len(pids))))
    for pid in dead:
        procs[pid].exit()
        mark_process_dead(pid, str(mpdir))
    expected: Series = {}
    for mode, entries in model.items():
        name = f"g_{mode}"
        live_only = mode.startswith("live")
        by_label: Dict[str, List[Tuple[int, float, float]]] = {}
        for (pid, label), (value, stamp) in entries.items():
            if live_only and pid in dead:
                continue
            by_label.setdefault(label, []).append((pid, value, stamp))
        for label, items in by_label.items():
            if mode in ("all", "liveall"):
                for pid, value, _ in items:
                    expected[(name, (("l", label), ("pid", str(pid))))] = value
                continue
            vals = [v for _, v, _ in items]
            if mode.endswith("min"):
                expected[(name, (("l", label),))] = min(vals)
            elif mode.endswith("max"):
                expected[(name, (("l", label),))] = max(vals)
            elif mode.endswith("sum"):
                expected[(name, (("l", label),))] = sum(vals)
            else:
                stamped = [(s, v) for _, v, s in items if s > 0]
                if stamped:
                    expected[(name, (("l", label),))] = max(stamped)[1]
    assert scrape(mpdir) == expected
    # Compaction never changes the answer: fold everything that is dead once more.
    _mp_compact.compact_dead(str(mpdir))
    assert scrape(mpdir) == expected


# -- removal, Info, Enum -------------------------------------------------------------------------
def test_remove_and_clear_are_reflected(mpdir: Path) -> None:
    a, b = Proc(1), Proc(2)
    ca = a.metric(Counter, "c", ["k"])
    cb = b.metric(Counter, "c", ["k"])
    ha = a.metric(Histogram, "h", ["k"], buckets=[1])
    with a:
        ca.labels("x").inc(5)
        ca.labels("y").inc(1)
        ha.labels("x").observe(0.5)
    with b:
        cb.labels("x").inc(2)
    assert scrape(mpdir)[("c_total", (("k", "x"),))] == 7
    with a:
        orphan = ca.labels("x")
        ca.remove("x")
        ha.remove("x")
    got = scrape(mpdir)
    assert got[("c_total", (("k", "x"),))] == 2  # only process 2's series is left
    assert not [k for k in got if k[0].startswith("h_")]
    orphan.inc(100)  # a removed child keeps working on its own, invisibly
    assert orphan._value.get() == 105
    assert scrape(mpdir)[("c_total", (("k", "x"),))] == 2
    with a:
        ca.labels("x").inc(1)  # created again: starts from zero
    assert scrape(mpdir)[("c_total", (("k", "x"),))] == 3
    with b:
        cb.clear()
    with a:
        ca.clear()
    assert scrape(mpdir) == {}
    with a:
        ca.labels("z").inc()
        ca.remove_by_labels({"k": "z"})
    assert scrape(mpdir) == {}


def test_remove_survives_compaction(mpdir: Path) -> None:
    a = Proc(1)
    c = a.metric(Counter, "c", ["k"])
    g = a.metric(Gauge, "g", ["k"], multiprocess_mode="max")
    with a:
        c.labels("x").inc(3)
        c.labels("y").inc(4)
        g.labels("x").set(9)
        c.remove("x")
        g.remove("x")
    a.exit()
    mark_process_dead(1, str(mpdir))
    assert scrape(mpdir) == {("c_total", (("k", "y"),)): 4.0}


def test_info_and_enum(mpdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [50.0]
    monkeypatch.setattr(time, "time", lambda: clock[0])
    a, b = Proc(1), Proc(2)
    ia = a.metric(Info, "build")
    ib = b.metric(Info, "build")
    ia.info({"version": "1.0"})
    ib.info({"version": "1.0"})
    ea = a.metric(Enum, "state", ["shard"], states=["idle", "busy"])
    eb = b.metric(Enum, "state", ["shard"], states=["idle", "busy"])
    with a:
        ea.labels("0").state("busy")
    clock[0] = 60.0
    with b:
        eb.labels("0").state("idle")  # set last: wins
        eb.labels("1")  # never set: default state
    got = scrape(mpdir)
    assert got[("build_info", (("version", "1.0"),))] == 1.0
    assert got[("state", (("shard", "0"), ("state", "idle")))] == 1.0
    assert got[("state", (("shard", "0"), ("state", "busy")))] == 0.0
    assert got[("state", (("shard", "1"), ("state", "idle")))] == 1.0
    r = CollectorRegistry()
    MultiProcessCollector(r, str(mpdir))
    types = {m.name: m.type for m in r.collect()}
    assert types == {"build": "info", "state": "stateset"}
    ia.info({"version": "2.0"})
    got = scrape(mpdir)
    assert got[("build_info", (("version", "2.0"),))] == 1.0
    assert got[("build_info", (("version", "1.0"),))] == 1.0  # process 2 still reports 1.0
    b.exit()
    mark_process_dead(2, str(mpdir))  # Info/Enum of a dead process disappear
    got = scrape(mpdir)
    assert ("build_info", (("version", "1.0"),)) not in got
    assert got[("state", (("shard", "0"), ("state", "busy")))] == 1.0
    assert ("state", (("shard", "1"), ("state", "idle"))) not in got
    with a:
        ea.remove("0")
    assert not [k for k in scrape(mpdir) if k[0] == "state"]


# -- bad input ------------------------------------------------------------------------------------
def test_foreign_files_are_ignored(mpdir: Path) -> None:
    Proc(1).metric(Counter, "c").inc(4)
    (mpdir / "notes.txt").write_text("hello")
    (mpdir / "cache.sqlite").write_bytes(b"SQLite format 3\0" + b"\x00" * 100)
    (mpdir / "weird_1.db").write_bytes(b"\x00" * 64)
    (mpdir / "sub").mkdir()
    (mpdir / "archive.x.db").write_text("not an archive name")
    assert scrape(mpdir) == {("c_total", ()): 4.0}


def test_an_empty_file_is_a_writer_that_just_started(mpdir: Path) -> None:
    Proc(1).metric(Counter, "c").inc(4)
    (mpdir / "counter_2.db").write_bytes(b"")
    assert scrape(mpdir) == {("c_total", ()): 4.0}


@pytest.mark.parametrize("damage", ["truncated", "garbage", "short", "bad_key", "bad_archive"])
def test_corrupt_files_are_skipped_logged_and_counted(mpdir: Path, caplog: pytest.LogCaptureFixture,
                                                      damage: str) -> None:
    Proc(1).metric(Counter, "c").inc(4)
    good = (mpdir / "counter_1.db").read_bytes()
    bad = mpdir / "counter_2.db"
    if damage == "truncated":
        bad.write_bytes(good[:30])
    elif damage == "garbage":
        bad.write_bytes(b"\xff" * 4096)
    elif damage == "short":
        bad.write_bytes(b"\x01\x02\x03")
    elif damage == "bad_key":
        p = Proc(2)
        p.metric(Counter, "d").inc()
        p.exit()
        raw = bytearray(bad.read_bytes())
        raw[12] = ord("{")  # the key is no longer a JSON list
        bad.write_bytes(bytes(raw))
    else:
        bad = mpdir / "archive.3.db"
        bad.write_bytes(_mp_files.ARCHIVE_MAGIC + b"\xff" * 40)
    values.ValueClass = Proc(3).cls  # the worker that answers the scrape
    with caplog.at_level(logging.ERROR, logger="prometheus_client.multiprocess"):
        r = CollectorRegistry()
        collector = MultiProcessCollector(r, str(mpdir))
        metrics = {m.name: m for m in r.collect()}
    assert metrics["c"].samples[0].value == 4.0
    assert metrics["prometheus_multiproc_read_errors"].samples[0].value == 1.0
    assert metrics["prometheus_multiproc_read_errors"].type == "counter"
    assert collector.unreadable_files == 1
    assert str(bad) in caplog.text
    # A counter kept in the files like any other: it grows with every scrape that hits the file.
    assert "prometheus_multiproc_read_errors_total 2.0" in generate_latest(r).decode()
    assert scrape(mpdir)[("prometheus_multiproc_read_errors_total", ())] == 3.0


def test_a_damaged_file_of_an_earlier_process_is_set_aside_by_the_writer(
    mpdir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (mpdir / "counter_4.db").write_bytes(b"\xff\xff\xff\x7f" + b"\0" * 60)  # used far beyond the size
    with caplog.at_level(logging.ERROR, logger="prometheus_client.multiprocess"):
        Proc(4).metric(Counter, "c").inc(2)
    assert "counter_4.db.corrupt" in caplog.text
    assert (mpdir / "counter_4.db.corrupt").exists()
    assert scrape(mpdir) == {("c_total", ()): 2.0}


def test_missing_or_unusable_directory_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    saved = values.ValueClass
    try:
        values.ValueClass = values.MultiProcessValue(lambda: 1)
        missing = tmp_path / "nope"
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(missing))
        with pytest.raises(ValueError, match=str(missing)):
            Counter("c", "help", registry=None)
        a_file = tmp_path / "file"
        a_file.write_text("x")
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(a_file))
        with pytest.raises(ValueError, match="not a directory"):
            Gauge("g", "help", registry=None)
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "/proc")  # a directory nobody can create files in
        with pytest.raises(ValueError, match="/proc/counter_1.db"):
            Counter("c", "help", registry=None)
        monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
        with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR is not set"):
            Counter("c", "help", registry=None)
        # A failed creation registered nothing; it works once the directory exists.
        r = CollectorRegistry()
        missing.mkdir()
        monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(missing))
        Counter("c", "help", registry=r).inc()
        assert scrape(missing) == {("c_total", ()): 1.0}
    finally:
        values.ValueClass = saved
        values.close_all_multiprocess_files()
    with pytest.raises(ValueError, match="PROMETHEUS_MULTIPROC_DIR is not set or not a directory"):
        MultiProcessCollector(None, str(tmp_path / "absent"))


def test_without_flock_nothing_is_compacted_and_mark_process_dead_is_official(
    mpdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_mp_files, "HAVE_FLOCK", False)  # as on Windows
    p = Proc(8)
    p.metric(Counter, "c").inc(2)
    p.metric(Gauge, "g", multiprocess_mode="livesum").set(1)
    p.exit()
    assert _mp_compact.compact_dead(str(mpdir)) == 0
    mark_process_dead(8, str(mpdir))
    assert db_files(mpdir) == ["counter_8.db"]
    assert scrape(mpdir) == {("c_total", ()): 2.0}


def test_mark_process_dead_without_a_directory_is_a_no_op(tmp_path: Path) -> None:
    mark_process_dead(123, str(tmp_path / "gone"))


def test_legacy_lowercase_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # setenv first so that teardown restores the variable's absence (the collector sets it).
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", "placeholder")
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR")
    monkeypatch.setenv("prometheus_multiproc_dir", str(tmp_path))
    with pytest.warns(DeprecationWarning, match="prometheus_multiproc_dir variable has been deprecated"):
        MultiProcessCollector(CollectorRegistry())
    assert os.environ["PROMETHEUS_MULTIPROC_DIR"] == str(tmp_path)


# -- real processes -------------------------------------------------------------------------------
def test_environment_at_import_selects_file_values_and_fork_children_write_their_own_files(
    tmp_path: Path,
) -> None:
    out = run_py(
        f"""
        import json, os
        from prometheus_client import Counter, Gauge, values, CollectorRegistry
        from prometheus_client.multiprocess import MultiProcessCollector
        assert values.ValueClass._multiprocess
        c = Counter("jobs", "Jobs", ["kind"])
        g = Gauge("workers", "Workers", multiprocess_mode="livesum")
        c.labels("a").inc(1)
        g.inc()
        children = []
        for i in range(4):
            pid = os.fork()
            if pid == 0:
                c.labels("a").inc(10)
                c.labels("b").inc(1)
                g.inc()
                os._exit(0)
            children.append(pid)
        for pid in children:
            os.waitpid(pid, 0)
        c.labels("a").inc(100)
        r = CollectorRegistry()
        MultiProcessCollector(r)
        got = {{s.name + str(sorted(s.labels.items())): s.value for m in r.collect() for s in m.samples}}
        print(json.dumps([got, children, os.getpid(), sorted(os.listdir({str(tmp_path)!r}))]))
        """,
        env={"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)},
    )
    got, children, parent, files = json.loads(out)
    assert got["jobs_total[('kind', 'a')]"] == 141.0
    assert got["jobs_total[('kind', 'b')]"] == 4.0
    assert got["workers[]"] == 5.0
    for pid in children + [parent]:
        assert f"counter_{pid}.db" in files
        assert f"gauge_livesum_{pid}.db" in files


def test_fork_with_custom_identifier_is_detected(mpdir: Path) -> None:
    ident = [1]
    saved = values.ValueClass
    values.ValueClass = values.MultiProcessValue(lambda: ident[0])
    try:
        c = Counter("c", "help", registry=None)
        c.inc(5)
        ident[0] = 2  # as if we were now a forked child
        assert c._value.get() == 0.0
        c.inc(1)
        assert sorted(db_files(mpdir)) == ["counter_1.db", "counter_2.db"]
        assert scrape(mpdir) == {("c_total", ()): 6.0}
    finally:
        values.ValueClass = saved


def test_close_all_files_then_values_reopen(mpdir: Path) -> None:
    p = Proc(3)
    c = p.metric(Counter, "c")
    c.inc(2)
    values.close_all_multiprocess_files()
    assert c._value.get() == 2.0
    c.inc(1)
    assert scrape(mpdir) == {("c_total", ()): 3.0}


def test_two_value_classes_of_one_process_share_its_files(mpdir: Path) -> None:
    first, second = Proc(5), Proc(5)
    a = first.metric(Counter, "a", ["i"])
    b = second.metric(Counter, "b", ["i"])
    for i in range(300):  # interleaved appends, enough to grow the file
        with first:
            a.labels(str(i) + "x" * 200).inc(1)
        with second:
            b.labels(str(i) + "y" * 200).inc(2)
    first.exit()
    with second:
        b.labels("0" + "y" * 200).inc(1)
    got = scrape(mpdir)
    assert total(got, "a_total") == 300
    assert total(got, "b_total") == 601
    second.exit()
    assert scrape(mpdir) == got


# -- compaction ----------------------------------------------------------------------------------
def _dead_worker(d: Path, pid: int, amount: float = 1.0, gauges: bool = False) -> None:
    p = Proc(pid)
    p.metric(Counter, "req", ["code"]).labels("200").inc(amount)
    p.metric(Counter, "req", ["code"]).labels(str(pid % 7)).inc(1)
    h = p.metric(Histogram, "lat", buckets=[0.5, 1])
    h.observe(0.25 * (pid % 5))
    p.metric(Summary, "sz").observe(amount)
    if gauges:
        p.metric(Gauge, "g_live", multiprocess_mode="livesum").set(1)
        p.metric(Gauge, "g_max", multiprocess_mode="max").set(pid)
    p.exit()


def test_thousand_dead_workers_are_compacted_exactly(mpdir: Path) -> None:
    live = Proc(1)
    live.metric(Counter, "req", ["code"]).labels("200").inc(1000)
    expected_200 = 1000.0
    expected_lat = 0
    for pid in range(2000, 3000):
        _dead_worker(mpdir, pid, amount=pid % 3, gauges=pid % 100 == 0)
        expected_200 += pid % 3
        expected_lat += 1
        mark_process_dead(pid, str(mpdir))
        if pid % 250 == 0:
            assert len(db_files(mpdir)) <= 3
    files = db_files(mpdir)
    assert files == ["archive.1000.db", "counter_1.db"]
    got = scrape(mpdir)
    assert got[("req_total", (("code", "200"),))] == expected_200
    assert sum(v for (n, lab), v in got.items() if n == "req_total" and lab != (("code", "200"),)) == 1000
    assert got[("lat_count", ())] == expected_lat
    assert got[("sz_count", ())] == 1000
    assert got[("g_max", ())] == 2900.0
    assert ("g_live", ()) not in got


def test_scrape_time_compaction_leaves_live_writers_alone(mpdir: Path) -> None:
    live = Proc(1)
    c = live.metric(Counter, "req", ["code"])
    c.labels("200").inc(7)
    for pid in range(10, 60):
        _dead_worker(mpdir, pid)
    before = scrape(mpdir)
    assert len(db_files(mpdir)) == 151
    assert scrape(mpdir, compact=True) == before
    assert db_files(mpdir) == ["archive.1.db", "counter_1.db"]
    c.labels("200").inc(1)  # the live writer was not disturbed
    assert scrape(mpdir, compact=True)[("req_total", (("code", "200"),))] == before[
        ("req_total", (("code", "200"),))] + 1


def test_pid_reuse_after_compaction_neither_loses_nor_double_counts(mpdir: Path) -> None:
    first = Proc(42)
    first.metric(Counter, "c").inc(5)
    first.metric(Gauge, "g").set(1)  # mode all: per pid
    first.metric(Gauge, "gs", multiprocess_mode="sum").set(10)
    first.exit()
    mark_process_dead(42, str(mpdir))
    assert "counter_42.db" not in db_files(mpdir)
    second = Proc(42)  # a new worker with the same pid
    second.metric(Counter, "c").inc(3)
    second.metric(Gauge, "gs", multiprocess_mode="sum").set(1)
    assert second.metrics["c"]._value.get() == 3.0  # a fresh file: no inherited count
    got = scrape(mpdir)
    assert got[("c_total", ())] == 8.0
    assert got[("gs", ())] == 11.0
    second.metric(Gauge, "g").set(2)
    assert scrape(mpdir)[("g", (("pid", "42"),))] == 2.0  # the live process's value wins
    second.exit()
    mark_process_dead(42, str(mpdir))
    got = scrape(mpdir)
    assert got[("c_total", ())] == 8.0
    assert got[("g", (("pid", "42"),))] == 2.0
    assert got[("gs", ())] == 11.0


def test_writer_waits_for_compaction_and_reopens_a_fresh_file(mpdir: Path) -> None:
    import fcntl

    first = Proc(7)
    first.metric(Counter, "c").inc(5)
    first.exit()
    path = mpdir / "counter_7.db"
    fd = os.open(path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)  # a compaction is in progress on this file
    result: List[float] = []

    def new_worker() -> None:
        p = Proc(7)
        c = p.metric(Counter, "c")
        c.inc(1)
        result.append(c._value.get())

    t = threading.Thread(target=new_worker)
    t.start()
    time.sleep(0.2)
    assert t.is_alive()  # blocked behind the compaction's lock
    os.rename(path, mpdir / "staged.1.counter_7.db")  # compaction moves the dead file away
    os.close(fd)
    t.join(10)
    assert result == [1.0]  # the new worker did not continue the dead worker's file
    assert scrape(mpdir)[("c_total", ())] == 6.0


def test_mark_process_dead_on_official_files_keeps_official_semantics(mpdir: Path) -> None:
    p = Proc(9)
    p.metric(Counter, "c").inc(2)
    p.metric(Gauge, "g", multiprocess_mode="livesum").set(3)
    p.exit()
    for name in ("counter_9.db", "gauge_livesum_9.db"):  # as if the official client wrote them
        raw = bytearray((mpdir / name).read_bytes())
        raw[4:8] = b"\0\0\0\0"
        (mpdir / name).write_bytes(bytes(raw))
    _mp_compact.compact_dead(str(mpdir))
    assert db_files(mpdir) == ["counter_9.db", "gauge_livesum_9.db"]  # unknown liveness: untouched
    mark_process_dead(9, str(mpdir))
    assert db_files(mpdir) == ["counter_9.db"]
    assert scrape(mpdir) == {("c_total", ()): 2.0}


_CRASH_SCRIPT = """
import os, signal, sys
target = int(sys.argv[2])
calls = [0]
def crashing(fn):
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == target:
            os.kill(os.getpid(), signal.SIGKILL)
        return fn(*args, **kwargs)
    return wrapper
for name in ("rename", "replace", "unlink", "fsync"):
    setattr(os, name, crashing(getattr(os, name)))
from prometheus_client._multiprocess import compact as _mp_compact
_mp_compact.compact_dead(sys.argv[1])
print(calls[0])
"""


def test_kill_9_at_every_step_of_compaction(mpdir: Path, tmp_path: Path) -> None:
    for pid in range(100, 103):
        _dead_worker(mpdir, pid, amount=pid, gauges=True)
    _mp_compact.compact_dead(str(mpdir))  # an archive exists, so a crash can hit both generations
    for pid in range(200, 203):
        _dead_worker(mpdir, pid, amount=pid, gauges=True)
    expected = _without_live(scrape(mpdir))
    step = 1
    while True:
        work = tmp_path / f"crash{step}"
        shutil.copytree(mpdir, work)
        proc = subprocess.run([sys.executable, "-c", _CRASH_SCRIPT, str(work), str(step)], capture_output=True)
        assert _without_live(scrape(work)) == expected, f"after a kill at step {step}"
        _mp_compact.compact_dead(str(work))  # recovery by the next compaction
        assert scrape(work) == expected, f"after recovering from a kill at step {step}"
        assert [n for n in db_files(work) if not n.startswith("archive.")] == []
        assert len([n for n in db_files(work) if n.startswith("archive.")]) == 1
        shutil.rmtree(work)
        if proc.returncode == 0:
            assert int(proc.stdout) < step  # the run finished before reaching this step
            break
        assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
        step += 1
    assert step > 20  # every rename, fsync, replace and unlink was a crash point


def test_kill_9_at_random_moments_in_a_loop(mpdir: Path) -> None:
    rnd = random.Random(1234)
    live = Proc(1)
    live.metric(Counter, "req", ["code"]).labels("200").inc(1)
    expected = 1.0
    next_pid = 1000
    for _ in range(12):
        for _ in range(rnd.randint(20, 60)):
            _dead_worker(mpdir, next_pid, amount=1)
            next_pid += 1
            expected += 1
        proc = subprocess.Popen([sys.executable, "-c", _CRASH_SCRIPT, str(mpdir), "0"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rnd.uniform(0.0, 0.4))
        proc.kill()
        proc.wait()
        got = scrape(mpdir)
        assert got[("req_total", (("code", "200"),))] == expected
        assert got[("sz_count", ())] == next_pid - 1000
    _mp_compact.compact_dead(str(mpdir))
    assert len(db_files(mpdir)) == 2
    assert scrape(mpdir)[("req_total", (("code", "200"),))] == expected


def test_scrapes_during_compaction_are_consistent(mpdir: Path) -> None:
    stop = threading.Event()
    created = [0]
    errors: List[str] = []

    def compactor() -> None:
        while not stop.is_set():
            _mp_compact.compact_dead(str(mpdir), timeout=0.05)

    def scraper() -> None:
        last = 0.0
        while not stop.is_set():
            floor = created[0]
            value = scrape(mpdir).get(("sz_count", ()), 0.0)
            ceiling = created[0] + 1  # the worker being written may be half visible
            if not (floor <= value <= ceiling) or value < last:
                errors.append(f"saw {value} (between {floor} and {ceiling}, previous {last})")
            last = value

    threads = [threading.Thread(target=compactor), threading.Thread(target=scraper)]
    for t in threads:
        t.start()
    try:
        for pid in range(5000, 5300):
            _dead_worker(mpdir, pid)
            created[0] += 1
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert errors == []
    assert scrape(mpdir)[("sz_count", ())] == 300


# -- compatibility with the official client --------------------------------------------------------
_WRITE_ALL = """
import os, sys, time
from prometheus_client import values, CollectorRegistry, Counter, Gauge, Histogram, Summary
for pid in (3, 1, 2):
    values.ValueClass = values.MultiProcessValue(lambda pid=pid: pid)
    r = CollectorRegistry()
    c = Counter("http_requests", 'Requests "served"\\nper code', ["code", "method"], registry=r)
    c.labels("200", "GET").inc(pid)
    c.labels("500", "POST").inc(0.5)
    c.labels("é", "x").inc(1e10)
    Counter("plain", "Plain", registry=r).inc(pid * 1.5)
    h = Histogram("lat_seconds", "Latency", ["route"], buckets=[0.1, 1, float("inf")], registry=r)
    h.labels("/a").observe(0.05 * pid)
    h.labels("/b").observe(3)
    s = Summary("payload", "Payload", registry=r)
    s.observe(pid)
    for mode in ("all", "liveall", "min", "livemin", "max", "livemax", "sum", "livesum", "mostrecent",
                 "livemostrecent"):
        g = Gauge("g_" + mode, "Gauge " + mode, ["k"], multiprocess_mode=mode, registry=r)
        g.labels("v").set(pid * (-1 if pid == 2 else 1))
        if pid != 3:
            g.labels("only12").set(pid)
    values.ValueClass.close_all_files()
"""

_DUMP = """
import json, sys
from prometheus_client.multiprocess import MultiProcessCollector
files = json.loads(sys.stdin.read())
out = []
for m in MultiProcessCollector.merge(files):
    out.append([m.name, m.type, m.documentation,
                [[s.name, list(s.labels.items()), repr(float(s.value))] for s in m.samples]])
print(json.dumps(out))
"""


def _our_dump(files: List[str]) -> List[Any]:
    return [[m.name, m.type, m.documentation,
             [[s.name, [list(p) for p in s.labels.items()], repr(float(s.value))] for s in m.samples]]
            for m in MultiProcessCollector.merge(files)]


def test_files_written_by_the_official_client_merge_identically(tmp_path: Path, run_official: Any) -> None:
    d = tmp_path / "official"
    d.mkdir()
    run_official(f"import os\nos.environ['PROMETHEUS_MULTIPROC_DIR'] = {str(d)!r}\n" + _WRITE_ALL)
    files = [str(d / n) for n in sorted(os.listdir(d))]
    theirs = json.loads(run_official(_DUMP, stdin=json.dumps(files).encode()))
    assert _our_dump(files) == theirs
    rnd = random.Random(7)
    for _ in range(5):  # any file order
        rnd.shuffle(files)
        assert _our_dump(files) == json.loads(run_official(_DUMP, stdin=json.dumps(files).encode()))


def test_files_written_by_us_merge_identically_in_the_official_client(tmp_path: Path, run_official: Any) -> None:
    d = tmp_path / "ours"
    d.mkdir()
    run_py(_WRITE_ALL, env={"PROMETHEUS_MULTIPROC_DIR": str(d)})
    files = [str(d / n) for n in sorted(os.listdir(d))]
    theirs = json.loads(run_official(_DUMP, stdin=json.dumps(files).encode()))
    assert _our_dump(files) == theirs
    # And the official writer produces the same bytes (apart from our header stamp).
    o = tmp_path / "official"
    o.mkdir()
    run_official(f"import os\nos.environ['PROMETHEUS_MULTIPROC_DIR'] = {str(o)!r}\n" + _WRITE_ALL)
    assert sorted(os.listdir(o)) == sorted(os.listdir(d))
    for name in os.listdir(d):
        ours = bytearray((d / name).read_bytes())
        assert ours[4:8] == b"pcW1"
        ours[4:8] = b"\0\0\0\0"
        if "mostrecent" in name:  # timestamps differ; everything else is the same
            assert no_ts(d / name) == no_ts(o / name)
            continue
        assert bytes(ours) == (o / name).read_bytes(), name


def no_ts(path: Path) -> List[Tuple[str, float]]:
    from prometheus_client.mmap_dict import MmapedDict

    return [(k, v) for k, v, _, _ in MmapedDict.read_all_values_from_file(str(path))]


def test_official_collector_over_a_directory_we_wrote(tmp_path: Path, run_official: Any) -> None:
    """The official collector reads our live files (no compaction yet) with the same totals."""
    d = tmp_path / "ours"
    d.mkdir()
    run_py(_WRITE_ALL, env={"PROMETHEUS_MULTIPROC_DIR": str(d)})
    code = (
        f"from prometheus_client import CollectorRegistry, generate_latest\n"
        f"from prometheus_client.multiprocess import MultiProcessCollector\n"
        f"r = CollectorRegistry()\nMultiProcessCollector(r, {str(d)!r})\n"
        f"import sys\nsys.stdout.write(generate_latest(r).decode())\n"
    )
    theirs = run_official(code).decode()
    r = CollectorRegistry()
    MultiProcessCollector(r, str(d))
    ours = generate_latest(r).decode()
    assert sorted(ours.splitlines()) == sorted(theirs.splitlines())
    # After a compaction the official collector still works: it takes the archive for an
    # empty value file (and so misses what the dead processes counted).
    before = _without_live(scrape(d))
    _mp_compact.compact_dead(str(d))
    assert [n for n in os.listdir(d) if not n.startswith(".")] == ["archive.1.db"]
    assert run_official(code).decode() == ""
    assert scrape(d) == before


def test_wiping_star_db_between_runs_wipes_the_archive_too(mpdir: Path) -> None:
    for pid in (1, 2):
        p = Proc(pid)
        p.metric(Counter, "c").inc()
        p.exit()
        if pid == 1:
            mark_process_dead(1, str(mpdir))
    os.rename(mpdir / "counter_2.db", mpdir / "staged.9.counter_2.db")  # as a crashed compaction leaves it
    assert scrape(mpdir) == {("c_total", ()): 2.0}
    for name in os.listdir(mpdir):
        if name.endswith(".db"):
            os.unlink(mpdir / name)
    assert scrape(mpdir) == {}


_MERGE_CASES = """
import json, sys
from prometheus_client.multiprocess import MultiProcessCollector
out = []
for files in json.loads(sys.stdin.read()):
    case = []
    for m in MultiProcessCollector.merge(files):
        case.append([m.name, m.type, m.documentation,
                     [[s.name, list(s.labels.items()), repr(float(s.value))] for s in m.samples]])
    out.append(case)
print(json.dumps(out))
"""


def _random_case(rnd: random.Random, d: Path) -> List[str]:
    """Value files with random series (in the official writer's byte format) for one merge."""
    from prometheus_client.mmap_dict import MmapedDict, mmap_key
    from prometheus_client.utils import floatToGoString

    metrics = []
    for i in range(rnd.randint(1, 5)):
        typ = rnd.choice(["counter", "summary", "histogram", "gauge"])
        mode = rnd.choice(MODES) if typ == "gauge" else ""
        labelnames = rnd.sample(["a", "b", "zz", "é"], rnd.randint(0, 2))
        help_text = rnd.choice(["help", 'quoted "help"\nline', "ünïcode", ""])
        metrics.append((f"m{i}", typ, mode, labelnames, help_text))
    files = []
    for pid in rnd.sample(range(1, 50), rnd.randint(1, 6)):
        by_file: Dict[str, List[Tuple[str, float, float]]] = {}
        for name, typ, mode, labelnames, help_text in metrics:
            if rnd.random() < 0.3:
                continue
            fname = f"gauge_{mode}_{pid}.db" if typ == "gauge" else f"{typ}_{pid}.db"
            entries = by_file.setdefault(fname, [])
            for _ in range(rnd.randint(1, 3)):
                values_ = [rnd.choice(["x", "y", "1"]) for _ in labelnames]
                value = rnd.choice([0.0, 1.0, 2.5, -3.0, 1e20, float(rnd.randint(0, 9))])
                stamp = rnd.choice([0.0, 0.0, float(rnd.randint(1, 5))]) if "mostrecent" in mode else 0.0
                if typ == "counter":
                    entries.append((mmap_key(name, name + "_total", labelnames, values_, help_text), value, 0.0))
                elif typ == "summary":
                    for suffix in ("_count", "_sum"):
                        entries.append((mmap_key(name, name + suffix, labelnames, values_, help_text), value, 0.0))
                elif typ == "histogram":
                    entries.append((mmap_key(name, name + "_sum", labelnames, values_, help_text), value, 0.0))
                    for bound in rnd.sample([0.1, 1.0, 5.0, float("inf")], rnd.randint(1, 4)):
                        key = mmap_key(name, name + "_bucket", labelnames + ["le"],
                                       values_ + [floatToGoString(bound)], help_text)
                        entries.append((key, float(rnd.randint(0, 3)), 0.0))
                else:
                    entries.append((mmap_key(name, name, labelnames, values_, help_text), value, stamp))
        for fname, entries in by_file.items():
            path = d / fname
            md = MmapedDict(str(path))
            for key, value, stamp in entries:
                md.write_value(key, value, stamp)
            md.close()
            files.append(str(path))
    rnd.shuffle(files)
    return files


def test_random_directories_merge_like_the_official_client(tmp_path: Path, run_official: Any) -> None:
    rnd = random.Random(20261127)
    cases = []
    for n in range(60):
        d = tmp_path / f"case{n}"
        d.mkdir()
        cases.append(_random_case(rnd, d))
    theirs = json.loads(run_official(_MERGE_CASES, stdin=json.dumps(cases).encode()))
    for files, expected in zip(cases, theirs):
        assert _our_dump(files) == expected, files


def test_archive_helpers_roundtrip() -> None:
    sections = [("counter_archive.db", b"\x10\0\0\0" + b"\0" * 12), ("gauge_all_7.db", b"\x08\0\0\0\0\0\0\0")]
    data = _mp_files.encode_archive(sections)
    assert list(_mp_files.decode_archive(data)) == sections
    with pytest.raises(RuntimeError):
        list(_mp_files.decode_archive(data[:20]))
