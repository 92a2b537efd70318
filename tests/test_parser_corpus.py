"""Real-world corpus: /metrics pages of a real Prometheus server and a real node_exporter
(Debian packages, started here on free 127.0.0.1 ports) fetched with a text and an
OpenMetrics Accept header, parsed without error, and compared with what the peers' own APIs
report for known series. Prometheus 2.42 and node_exporter 1.5 answer both requests with
text 0.0.4, so real OpenMetrics comes from the official client 0.26.0 serving over HTTP (side
venv): our OpenMetrics parser reads it, and Prometheus, which scrapes it as OpenMetrics, must
report the same values.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

import peers
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse
from prometheus_client.parser import text_string_to_metric_families as text_parse

ACCEPT_TEXT = "text/plain; version=0.0.4; charset=utf-8"
ACCEPT_OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"

TEXTFILE = (
    "# HELP parser_corpus_test A metric written by the parser corpus test.\n"
    "# TYPE parser_corpus_test gauge\n"
    'parser_corpus_test{kind="textfile",quote="a\\"b\\\\c\\nd",utf8="é☃"} 42.5\n'
    "# HELP parser_corpus_events_total Events seen.\n"
    "# TYPE parser_corpus_events_total counter\n"
    'parser_corpus_events_total{source="corpus"} 1234\n'
)

OFFICIAL_SERVER = textwrap.dedent(
    """
    import sys, time
    from prometheus_client import Counter, Gauge, Histogram, Info, Enum, Summary, start_http_server
    c = Counter("corpus_requests", "Requests.", ["method"])
    c.labels("GET").inc(7, exemplar={"trace_id": "abc123"})
    c.labels('odd "quoted" \\\\ value').inc(2)
    Gauge("corpus_temperature_celsius", "Temp.", unit="celsius").set(21.5)
    h = Histogram("corpus_latency_seconds", "Latency.", buckets=(0.1, 1, 10))
    for v in (0.05, 0.5, 5, 50):
        h.observe(v)
    Summary("corpus_size_bytes", "Size.").observe(512)
    Info("corpus_build", "Build.").info({"version": "9.9.9", "commit": "deadbeef"})
    Enum("corpus_state", "State.", states=["starting", "running"]).state("running")
    start_http_server(int(sys.argv[1]), addr="127.0.0.1")
    print("ready", flush=True)
    while True:
        time.sleep(3600)
    """
)


def _families(parse: object, body: str) -> Dict[str, Metric]:
    fams: Dict[str, Metric] = {}
    for m in parse(body):  # type: ignore[operator]
        fams.setdefault(m.name, m)
    return fams


def _fetch(url: str, accept: str) -> Tuple[str, str]:
    import urllib.request

    req = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.headers.get("Content-Type", ""), resp.read().decode("utf-8")


def _parse_any(content_type: str, body: str) -> Dict[str, Metric]:
    if content_type.startswith("application/openmetrics-text"):
        return _families(om_parse, body)
    assert content_type.startswith("text/plain"), content_type
    return _families(text_parse, body)


@pytest.fixture(scope="module")
def stack() -> Iterator[Dict[str, object]]:
    textfile_dir = Path(tempfile.mkdtemp(prefix="corpus-textfile-"))
    (textfile_dir / "corpus.prom").write_text(TEXTFILE, encoding="utf-8")
    started: List[peers.Peer] = []
    official_proc = None
    try:
        # node_exporter with its default collectors (a large real page) plus the textfile one.
        ne_port = peers.free_ports(1)[0]
        ne_dir = Path(tempfile.mkdtemp(prefix="corpus-nodeexp-"))
        ne = peers._spawn("node_exporter", [
            peers.NODE_EXPORTER, f"--web.listen-address=127.0.0.1:{ne_port}",
            f"--collector.textfile.directory={textfile_dir}", "--log.level=warn",
        ], ne_dir, ne_port)
        started.append(ne)
        peers._ready(ne, "/metrics", "node_exporter /metrics")

        off_port = peers.free_ports(1)[0]
        from official_client import official_python_path

        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
        official_proc = subprocess.Popen(
            [official_python_path(), "-I", "-c", OFFICIAL_SERVER, str(off_port)],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=tempfile.gettempdir())
        assert official_proc.stdout is not None
        assert official_proc.stdout.readline().strip() == b"ready"
        official_proc.stdout.close()

        prom_port = peers.free_ports(1)[0]
        config = peers.prometheus_config({
            "prometheus": [f"127.0.0.1:{prom_port}"],
            "node": [f"127.0.0.1:{ne_port}"],
            "official": [f"127.0.0.1:{off_port}"],
        })
        prom = peers.start_prometheus(config, port=prom_port)
        started.append(prom)
        for job in ("prometheus", "node", "official"):
            peers.wait_until(lambda job=job: peers.prom_value(prom, f'up{{job="{job}"}}') == 1.0,
                             f"Prometheus scraped {job}", timeout=90, proc=prom.proc, log=prom.log)
        yield {"prom": prom, "node": ne, "official_url": f"http://127.0.0.1:{off_port}"}
    finally:
        if official_proc is not None:
            official_proc.terminate()
            try:
                official_proc.wait(10)
            except subprocess.TimeoutExpired:
                official_proc.kill()
                official_proc.wait()
        for p in reversed(started):
            p.stop()
        for f in textfile_dir.iterdir():
            f.unlink()
        textfile_dir.rmdir()


@pytest.mark.parametrize("peer", ["prom", "node"])
def test_real_pages_parse_in_both_requested_formats(stack: Dict[str, object], peer: str) -> None:
    p = stack[peer]
    assert isinstance(p, peers.Peer)
    pages = {}
    for accept in (ACCEPT_TEXT, ACCEPT_OM):
        ctype, body = _fetch(p.url + "/metrics", accept)
        fams = _parse_any(ctype, body)
        assert len(fams) > 20, (ctype, len(fams))
        assert sum(len(m.samples) for m in fams.values()) > 100
        pages[accept] = fams
    # Both answers describe (nearly) the same families; a live server adds some over time.
    text_names, om_names = set(pages[ACCEPT_TEXT]), set(pages[ACCEPT_OM])
    assert len(text_names & om_names) >= 0.9 * max(len(text_names), len(om_names))


def test_prometheus_build_info_matches_its_api(stack: Dict[str, object]) -> None:
    prom = stack["prom"]
    assert isinstance(prom, peers.Peer)
    _, body = _fetch(prom.url + "/metrics", ACCEPT_TEXT)
    fams = _families(text_parse, body)
    [sample] = fams["prometheus_build_info"].samples
    assert sample.value == 1
    build = peers.prom_api(prom, "status/buildinfo")
    assert sample.labels["version"] == build["version"]
    assert sample.labels["revision"] == build["revision"]
    assert sample.labels["branch"] == build["branch"]
    assert sample.labels["goversion"] == build["goVersion"]
    [series] = peers.prom_query(prom, 'prometheus_build_info{job="prometheus"}')
    scraped = {k: v for k, v in series["metric"].items() if k not in ("__name__", "job", "instance")}
    assert scraped == sample.labels


def test_node_exporter_series_match_what_prometheus_scraped(stack: Dict[str, object]) -> None:
    prom, ne = stack["prom"], stack["node"]
    assert isinstance(prom, peers.Peer) and isinstance(ne, peers.Peer)
    _, body = _fetch(ne.url + "/metrics", ACCEPT_TEXT)
    fams = _families(text_parse, body)

    [mine] = fams["parser_corpus_test"].samples
    assert mine.labels == {"kind": "textfile", "quote": 'a"b\\c\nd', "utf8": "é☃"}
    assert mine.value == 42.5
    assert fams["parser_corpus_test"].documentation == "A metric written by the parser corpus test."
    [series] = peers.prom_query(prom, 'parser_corpus_test{job="node"}')
    assert {k: v for k, v in series["metric"].items()
            if k not in ("__name__", "job", "instance")} == mine.labels
    assert float(series["value"][1]) == mine.value

    events = fams["parser_corpus_events"]
    assert events.type == "counter"
    assert [(s.name, s.labels, s.value) for s in events.samples] == [
        ("parser_corpus_events_total", {"source": "corpus"}, 1234)]
    assert peers.prom_value(prom, 'parser_corpus_events_total{job="node"}') == 1234.0

    [build] = fams["node_exporter_build_info"].samples
    [series] = peers.prom_query(prom, 'node_exporter_build_info{job="node"}')
    assert {k: v for k, v in series["metric"].items()
            if k not in ("__name__", "job", "instance")} == build.labels


def test_openmetrics_from_a_real_server_matches_prometheus(stack: Dict[str, object]) -> None:
    prom = stack["prom"]
    assert isinstance(prom, peers.Peer)
    ctype, body = _fetch(str(stack["official_url"]) + "/metrics", ACCEPT_OM)
    assert ctype.startswith("application/openmetrics-text"), ctype
    fams = _families(om_parse, body)
    assert {"corpus_requests", "corpus_temperature_celsius", "corpus_latency_seconds", "corpus_size_bytes",
            "corpus_build", "corpus_state", "process_cpu_seconds", "python_info"} <= set(fams)

    req = fams["corpus_requests"]
    assert req.type == "counter"
    by_method = {s.labels["method"]: s for s in req.samples if s.name == "corpus_requests_total"}
    assert by_method["GET"].value == 7.0
    assert by_method["GET"].exemplar is not None and by_method["GET"].exemplar.labels == {"trace_id": "abc123"}
    assert peers.prom_value(prom, 'corpus_requests_total{job="official",method="GET"}') == 7.0
    odd = 'odd "quoted" \\ value'
    assert by_method[odd].value == 2.0
    [series] = [s for s in peers.prom_query(prom, 'corpus_requests_total{job="official"}')
                if s["metric"]["method"] != "GET"]
    assert series["metric"]["method"] == odd

    temp = fams["corpus_temperature_celsius"]
    assert temp.unit == "celsius" and temp.samples[0].value == 21.5
    assert peers.prom_value(prom, 'corpus_temperature_celsius{job="official"}') == 21.5

    lat = {(s.name, s.labels.get("le")): s.value for s in fams["corpus_latency_seconds"].samples}
    assert lat[("corpus_latency_seconds_bucket", "0.1")] == 1.0
    assert lat[("corpus_latency_seconds_bucket", "+Inf")] == 4.0
    assert lat[("corpus_latency_seconds_count", None)] == 4.0
    assert peers.prom_value(prom, 'corpus_latency_seconds_bucket{job="official",le="10.0"}') == 3.0
    assert math.isclose(peers.prom_value(prom, 'corpus_latency_seconds_sum{job="official"}') or 0,
                        lat[("corpus_latency_seconds_sum", None)])

    [info] = fams["corpus_build"].samples
    assert info.labels == {"version": "9.9.9", "commit": "deadbeef"}
    [series] = peers.prom_query(prom, 'corpus_build_info{job="official"}')
    assert series["metric"]["version"] == "9.9.9" and series["metric"]["commit"] == "deadbeef"

    states = {s.labels["corpus_state"]: s.value for s in fams["corpus_state"].samples}
    assert states == {"starting": 0.0, "running": 1.0}
    assert peers.prom_value(prom, 'corpus_state{job="official",corpus_state="running"}') == 1.0

    # The official client's own metadata as Prometheus stored it from the OpenMetrics scrape.
    meta = peers.prom_api(prom, "targets/metadata", match_target='{job="official"}')
    types = {m["metric"]: m["type"] for m in meta}
    for name, fam in fams.items():
        if name in types:
            assert types[name] == fam.type, name


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
