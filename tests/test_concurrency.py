"""Exact sums under threads, and no deadlock when metrics are updated re-entrantly."""

import signal
import sys
import threading
import time

import pytest

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Summary, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as om_generate_latest

THREADS = 8
PER_THREAD = 200_000


def _run_threads(target, n=THREADS):
    errors = []

    def wrapped(i):
        try:
            target(i)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=wrapped, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


@pytest.fixture
def fast_switching():
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as the interpreter allows
    yield
    sys.setswitchinterval(old)


def test_exact_sums_one_child_with_concurrent_scrapes(fast_switching):
    registry = CollectorRegistry()
    c = Counter("hits", "h", ["k"], registry=registry)
    g = Gauge("level", "h", registry=registry)
    h = Histogram("lat", "h", registry=registry)
    s = Summary("sz", "h", registry=registry)
    child = c.labels("a")
    stop = threading.Event()
    scrape_errors = []
    scrapes = [0]

    def scraper():
        while not stop.is_set():
            try:
                generate_latest(registry)
                om_generate_latest(registry)
                scrapes[0] += 1
            except Exception as e:  # pragma: no cover - the assertion reports it
                scrape_errors.append(e)

    scraper_threads = [threading.Thread(target=scraper) for _ in range(2)]
    for t in scraper_threads:
        t.start()

    def writer(i):
        inc, ginc, observe, sobserve = child.inc, g.inc, h.observe, s.observe
        for _ in range(PER_THREAD):
            inc()
            ginc()
        for _ in range(PER_THREAD // 10):
            observe(0.3)
            sobserve(2.0)

    try:
        _run_threads(writer)
    finally:
        stop.set()
        for t in scraper_threads:
            t.join()
    assert scrape_errors == []
    assert scrapes[0] > 0
    total = THREADS * PER_THREAD
    assert registry.get_sample_value("hits_total", {"k": "a"}) == total
    assert registry.get_sample_value("level") == total
    assert registry.get_sample_value("lat_count") == total // 10
    assert registry.get_sample_value("lat_bucket", {"le": "0.5"}) == total // 10
    assert registry.get_sample_value("lat_sum") == pytest.approx(0.3 * total // 10)
    assert registry.get_sample_value("sz_count") == total // 10
    assert registry.get_sample_value("sz_sum") == 2.0 * (total // 10)


def test_exact_sums_on_fresh_children(fast_switching):
    registry = CollectorRegistry()
    c = Counter("fresh", "h", ["k"], registry=registry)
    h = Histogram("freshh", "h", ["k"], registry=registry)
    keys = 5000
    stop = threading.Event()
    scrape_errors = []

    def scraper():
        while not stop.is_set():
            try:
                generate_latest(registry)
            except Exception as e:  # pragma: no cover
                scrape_errors.append(e)

    st = threading.Thread(target=scraper)
    st.start()

    def writer(i):
        # Every thread walks the keys from a different offset, so children are
        # created concurrently by whichever thread gets there first.
        for n in range(PER_THREAD // 4):
            k = str((n + i * 997) % keys)
            c.labels(k).inc()
            if n % 8 == 0:
                h.labels(k).observe(1.0)

    try:
        _run_threads(writer)
    finally:
        stop.set()
        st.join()
    assert scrape_errors == []
    samples = [s for m in registry.collect() for s in m.samples]
    totals = [s.value for s in samples if s.name == "fresh_total"]
    assert len(totals) == keys
    assert sum(totals) == THREADS * (PER_THREAD // 4)
    counts = [s.value for s in samples if s.name == "freshh_count"]
    assert sum(counts) == THREADS * len(range(0, PER_THREAD // 4, 8))


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="POSIX interval timers only")
def test_update_from_signal_handler_while_main_thread_updates():
    registry = CollectorRegistry()
    c = Counter("sig", "h", ["k"], registry=registry)
    g = Gauge("sigg", "h", registry=registry)
    h = Histogram("sigh", "h", registry=registry)
    fired = [0]
    busy = [False]

    def handler(signum, frame):
        if busy[0]:  # the timer fired again while a slow handler ran: skip, don't recurse
            return
        busy[0] = True
        try:
            fired[0] += 1
            c.labels("x").inc()
            c.labels(str(fired[0] % 7)).inc()
            g.inc()
            h.observe(0.1)
            generate_latest(registry)
        finally:
            busy[0] = False

    old = signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, 0.001, 0.001)
    loops = 0
    try:
        while fired[0] < 200:
            for _ in range(2000):
                c.labels("x").inc()
                g.inc()
                h.observe(0.1)
            loops += 2000
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        time.sleep(0.05)  # a signal already delivered runs its handler now
        signal.signal(signal.SIGALRM, old)
    expected = loops + fired[0]
    got = registry.get_sample_value("sig_total", {"k": "x"})
    # exact on every interpreter: the locked path defers a handler's nested update
    assert got == expected
    assert registry.get_sample_value("sigg") == expected
    assert registry.get_sample_value("sigh_count") == expected


def test_set_function_and_collector_updating_metrics_during_scrape():
    registry = CollectorRegistry()
    c = Counter("during", "h", ["k"], registry=registry)
    g = Gauge("cb", "h", registry=registry)

    def callback():
        c.labels("from_callback").inc()
        c.labels("new_" + str(len(c._metrics))).inc()
        return 3.0

    g.set_function(callback)

    class Collector:
        def collect(self):
            c.labels("from_collector").inc()
            Gauge("created_during_scrape_" + str(len(c._metrics)), "h", registry=registry)
            return []

    registry.register(Collector())
    for _ in range(3):
        out = generate_latest(registry).decode()
        assert "cb 3.0" in out
    # 3 scrapes; get_sample_value's own collection reads the counter before the gauge's callback runs.
    assert registry.get_sample_value("during_total", {"k": "from_callback"}) == 3
    assert c.labels("from_collector")._value.get() >= 3


def test_nested_timed_functions_complete():
    registry = CollectorRegistry()
    h = Histogram("outer", "h", registry=registry)
    s = Summary("inner", "h", registry=registry)

    @s.time()
    def inner(n):
        return n

    @h.time()
    def outer(n):
        return inner(n) + (outer(n - 1) if n else 0)

    assert outer(5) == 15
    assert registry.get_sample_value("outer_count") == 6
    assert registry.get_sample_value("inner_count") == 6
