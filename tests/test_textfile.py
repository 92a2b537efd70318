"""write_to_textfile: atomic rewrite, cleanup on failure, and a real node_exporter reading it."""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from peers import Peer, http_get, start_node_exporter, wait_until
from prometheus_client import CollectorRegistry, Counter, Gauge, exposition, write_to_textfile
from prometheus_client.metrics_core import Metric


def _reg() -> CollectorRegistry:
    r = CollectorRegistry()
    Gauge("raid_status", "1 if raid array is okay", registry=r).set(1)
    return r


def test_writes_generate_latest_with_utf8_escaping(tmp_path: Path) -> None:
    r = CollectorRegistry()
    Gauge("tf_gauge", "G", ["lbl"], registry=r).labels("é").set(2)
    Counter("tf_c", "C", registry=r).inc()
    path = tmp_path / "out.prom"
    write_to_textfile(str(path), r)
    assert path.read_bytes() == exposition.generate_latest(r, "allow-utf-8")
    write_to_textfile(str(path), r, escaping="underscores")
    assert path.read_bytes() == exposition.generate_latest(r, "underscores")
    assert os.listdir(tmp_path) == ["out.prom"]


def test_replaces_existing_file_and_leaves_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "raid.prom"
    path.write_text("old content\n")
    write_to_textfile(str(path), _reg())
    assert b"raid_status 1.0" in path.read_bytes()
    assert os.listdir(tmp_path) == ["raid.prom"]


def test_tmpdir(tmp_path: Path) -> None:
    out = tmp_path / "out"
    tmp = tmp_path / "tmp"
    out.mkdir()
    tmp.mkdir()
    write_to_textfile(str(out / "x.prom"), _reg(), tmpdir=str(tmp))
    assert os.listdir(out) == ["x.prom"] and os.listdir(tmp) == []


class _Broken:
    def collect(self) -> List[Metric]:
        raise RuntimeError("collector failed")


def test_failing_collector_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "raid.prom"
    path.write_text("previous\n")
    r = _reg()
    r.register(_Broken())
    with pytest.raises(RuntimeError, match="collector failed"):
        write_to_textfile(str(path), r)
    assert path.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["raid.prom"]


def test_failing_write_removes_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "raid.prom"
    path.write_text("previous\n")

    def no_space(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(OSError, match="No space left"):
        write_to_textfile(str(path), _reg())
    assert path.read_text() == "previous\n"
    assert os.listdir(tmp_path) == ["raid.prom"]


def test_failing_rename_removes_temp(tmp_path: Path) -> None:
    target = tmp_path / "adir.prom"
    target.mkdir()  # renaming a file over a directory fails
    with pytest.raises(OSError):
        write_to_textfile(str(target), _reg())
    assert sorted(os.listdir(tmp_path)) == ["adir.prom"]


def test_missing_directory_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_to_textfile(str(tmp_path / "nope" / "x.prom"), _reg())


# ------------------------------------------------------------------------------- node_exporter
@pytest.fixture
def node_exporter(tmp_path: Path) -> Iterator[Any]:
    textdir = tmp_path / "textfile"
    textdir.mkdir()
    with start_node_exporter(textdir) as peer:
        yield peer, textdir


N_SERIES = 40
REWRITES = 1000


def _versioned_registry(version: int) -> CollectorRegistry:
    r = CollectorRegistry()
    Gauge("tf_version", "Rewrite number", registry=r).set(version)
    g = Gauge("tf_series", "Series that all carry the rewrite number", ["i"], registry=r)
    for i in range(N_SERIES):
        g.labels(str(i)).set(version)
    return r


_SERIES = re.compile(rb'^tf_series\{i="(\d+)"\} (\S+)$', re.MULTILINE)
_VERSION = re.compile(rb"^tf_version (\S+)$", re.MULTILINE)


def _consistent(body: bytes) -> float:
    """The version of a complete, untorn rendering; fails otherwise."""
    versions = _VERSION.findall(body)
    assert len(versions) == 1, body[-300:]
    version = float(versions[0])
    series = _SERIES.findall(body)
    assert len(series) == N_SERIES, (len(series), body[-300:])
    assert {float(v) for _, v in series} == {version}, body[-300:]
    return version


def test_node_exporter_sees_only_whole_files(node_exporter: Any) -> None:
    peer, textdir = node_exporter
    assert isinstance(peer, Peer)
    path = textdir / "app.prom"
    write_to_textfile(str(path), _versioned_registry(0))
    wait_until(lambda: b"tf_version 0" in http_get(peer.url + "/metrics")[1], "node_exporter serves the file")

    stop = threading.Event()
    problems: List[str] = []
    reads = {"file": 0, "scrape": 0}

    def file_reader() -> None:
        last = -1.0
        while not stop.is_set():
            with open(path, "rb") as f:
                body = f.read()
            try:
                v = _consistent(body)
                assert v >= last, (v, last)
                last = v
                reads["file"] += 1
            except AssertionError as exc:
                problems.append(f"file: {exc}")
                return

    def scraper() -> None:
        last = -1.0
        while not stop.is_set():
            status, body = http_get(peer.url + "/metrics")
            try:
                assert status == 200, status
                assert b"node_textfile_scrape_error 0" in body, body[-500:]
                v = _consistent(body)
                assert v >= last, (v, last)
                last = v
                reads["scrape"] += 1
            except AssertionError as exc:
                problems.append(f"scrape: {exc}")
                return

    threads = [threading.Thread(target=file_reader), threading.Thread(target=scraper)]
    for t in threads:
        t.start()
    try:
        for version in range(1, REWRITES + 1):
            write_to_textfile(str(path), _versioned_registry(version))
            if problems:
                break
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    assert not problems, problems[:3]
    assert reads["file"] > 0 and reads["scrape"] > 0
    status, body = http_get(peer.url + "/metrics")
    assert _consistent(body) == REWRITES
    assert sorted(os.listdir(textdir)) == ["app.prom"]
