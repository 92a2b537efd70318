"""Every example of the seed README that needs no network peer, run verbatim.

Examples that serve HTTP run in a subprocess on the port they name (8000) and are
scraped from the test; examples that touch the default REGISTRY run in a subprocess
so they cannot leak into other tests.
"""

import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request

import pytest

QUICK_START = '''
from prometheus_client import start_http_server, Summary
import random
import time

# Create a metric to track time spent and requests made.
REQUEST_TIME = Summary('request_processing_seconds', 'Time spent processing request')

# Decorate function with metric.
@REQUEST_TIME.time()
def process_request(t):
    """A dummy function that takes some time."""
    time.sleep(t)

if __name__ == '__main__':
    # Start up the server to expose the metrics.
    start_http_server(8000)
    # Generate some requests.
    while True:
        process_request(random.random())
'''

COUNTER = '''
from prometheus_client import Counter
c = Counter('my_failures', 'Description of counter')
c.inc()     # Increment by 1
c.inc(1.6)  # Increment by given value
'''

COUNT_EXCEPTIONS = COUNTER + '''
@c.count_exceptions()
def f():
  pass

with c.count_exceptions():
  pass

# Count only one type of exception
with c.count_exceptions(ValueError):
  pass
'''

GAUGE = '''
from prometheus_client import Gauge
g = Gauge('my_inprogress_requests', 'Description of gauge')
g.inc()      # Increment by 1
g.dec(10)    # Decrement by given value
g.set(4.2)   # Set to a given value
'''

GAUGE_UTILS = GAUGE + '''
g.set_to_current_time()   # Set to current unixtime

# Increment when entered, decrement when exited.
@g.track_inprogress()
def f():
  pass

with g.track_inprogress():
  pass
'''

GAUGE_CALLBACK = '''
from prometheus_client import Gauge
d = Gauge('data_objects', 'Number of objects')
my_dict = {}
d.set_function(lambda: len(my_dict))
'''

SUMMARY = '''
from prometheus_client import Summary
s = Summary('request_latency_seconds', 'Description of summary')
s.observe(4.7)    # Observe 4.7 (seconds in this case)
'''

SUMMARY_TIME = SUMMARY + '''
@s.time()
def f():
  pass

with s.time():
  pass
'''

HISTOGRAM = '''
from prometheus_client import Histogram
h = Histogram('request_latency_seconds', 'Description of histogram')
h.observe(4.7)    # Observe 4.7 (seconds in this case)
'''

HISTOGRAM_TIME = HISTOGRAM + '''
@h.time()
def f():
  pass

with h.time():
  pass
'''

INFO = '''
from prometheus_client import Info
i = Info('my_build_version', 'Description of info')
i.info({'version': '1.2.3', 'buildhost': 'foo@bar'})
'''

ENUM = '''
from prometheus_client import Enum
e = Enum('my_task_state', 'Description of enum',
        states=['starting', 'running', 'stopped'])
e.state('running')
'''

LABELS = '''
from prometheus_client import Counter
c = Counter('my_requests_total', 'HTTP Failures', ['method', 'endpoint'])
c.labels('get', '/').inc()
c.labels('post', '/submit').inc()
'''

LABELS_KW = '''
from prometheus_client import Counter
c = Counter('my_requests_total', 'HTTP Failures', ['method', 'endpoint'])
c.labels(method='get', endpoint='/').inc()
c.labels(method='post', endpoint='/submit').inc()
'''

PROCESS_COLLECTOR = '''
from prometheus_client import ProcessCollector
ProcessCollector(namespace='mydaemon', pid=lambda: open('/var/run/daemon.pid').read())
'''

START_HTTP_SERVER = '''
from prometheus_client import start_http_server

start_http_server(8000)
'''

TWISTED = '''
from prometheus_client.twisted import MetricsResource
from twisted.web.server import Site
from twisted.web.resource import Resource
from twisted.internet import reactor

root = Resource()
root.putChild(b'metrics', MetricsResource())

factory = Site(root)
reactor.listenTCP(8000, factory)
reactor.run()
'''

WSGI = '''
from prometheus_client import make_wsgi_app
from wsgiref.simple_server import make_server

app = make_wsgi_app()
httpd = make_server('', 8000, app)
httpd.serve_forever()
'''

START_WSGI_SERVER = '''
from prometheus_client import start_wsgi_server

start_wsgi_server(8000)
'''

ASGI = '''
from prometheus_client import make_asgi_app

app = make_asgi_app()
'''

FLASK = '''
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from prometheus_client import make_wsgi_app

# Create my app
app = Flask(__name__)

# Add prometheus wsgi middleware to route /metrics requests
app_dispatch = DispatcherMiddleware(app, {
    '/metrics': make_wsgi_app()
})
'''

TEXTFILE = '''
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile

registry = CollectorRegistry()
g = Gauge('raid_status', '1 if raid array is okay', registry=registry)
g.set(1)
write_to_textfile('/configured/textfile/path/raid.prom', registry)
'''

CUSTOM_COLLECTOR = '''
from prometheus_client.core import GaugeMetricFamily, CounterMetricFamily, REGISTRY

class CustomCollector(object):
    def collect(self):
        yield GaugeMetricFamily('my_gauge', 'Help text', value=7)
        c = CounterMetricFamily('my_counter_total', 'Help text', labels=['foo'])
        c.add_metric(['bar'], 1.7)
        c.add_metric(['baz'], 3.8)
        yield c

REGISTRY.register(CustomCollector())
'''

MULTIPROCESS_GUNICORN_CONFIG = '''
from prometheus_client import multiprocess

def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
'''

PARSER = '''
from prometheus_client.parser import text_string_to_metric_families
for family in text_string_to_metric_families(u"my_gauge 1.0\\n"):
  for sample in family.samples:
    print("Name: {0} Labels: {1} Value: {2}".format(*sample))
'''

SHOW = "\nfrom prometheus_client import generate_latest, REGISTRY\nprint(generate_latest(REGISTRY).decode())\n"


def _run(code: str, env=None) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize(
    "code,expected",
    [
        (COUNTER, ["my_failures_total 2.6", "# TYPE my_failures_total counter", "my_failures_created "]),
        (COUNT_EXCEPTIONS, ["my_failures_total 2.6"]),
        (GAUGE, ["my_inprogress_requests 4.2"]),
        (GAUGE_UTILS, ["# TYPE my_inprogress_requests gauge"]),
        (GAUGE_CALLBACK, ["data_objects 0.0"]),
        (SUMMARY, ["request_latency_seconds_count 1.0", "request_latency_seconds_sum 4.7"]),
        (SUMMARY_TIME, ["request_latency_seconds_count 2.0"]),
        (HISTOGRAM, ['request_latency_seconds_bucket{le="5.0"} 1.0', "request_latency_seconds_count 1.0"]),
        (HISTOGRAM_TIME, ['request_latency_seconds_bucket{le="+Inf"} 2.0']),
        (INFO, ['my_build_version_info{buildhost="foo@bar",version="1.2.3"} 1.0']),
        (ENUM, ['my_task_state{my_task_state="running"} 1.0', 'my_task_state{my_task_state="starting"} 0.0']),
        (LABELS, ['my_requests_total{endpoint="/",method="get"} 1.0',
                  'my_requests_total{endpoint="/submit",method="post"} 1.0']),
        (LABELS_KW, ['my_requests_total{endpoint="/",method="get"} 1.0']),
        (PROCESS_COLLECTOR, ["process_cpu_seconds_total"]),
        (CUSTOM_COLLECTOR, ["my_gauge 7.0", 'my_counter_total{foo="bar"} 1.7', 'my_counter_total{foo="baz"} 3.8']),
        (ASGI, ["python_info"]),
    ],
)
def test_example_in_process(code, expected):
    out = _run(code + SHOW)
    for line in expected:
        assert line in out, (line, out)


def test_gunicorn_config_example_imports():
    _run(MULTIPROCESS_GUNICORN_CONFIG + "\nassert callable(child_exit)\n")


def test_parser_example():
    assert _run(PARSER) == "Name: my_gauge Labels: {} Value: 1.0\n"


def test_flask_example():
    code = FLASK + """
from werkzeug.test import Client
r = Client(app_dispatch).get('/metrics/')
assert r.status_code == 200, r.status_code
print(r.get_data(as_text=True))
"""
    assert "python_info" in _run(code)


def test_textfile_example():
    directory = "/configured/textfile/path"
    created = not os.path.exists("/configured")
    try:
        os.makedirs(directory, exist_ok=True)
    except PermissionError:
        pytest.fail("the textfile example writes to /configured/textfile/path; run the suite as root (as CI does)")
    try:
        _run(TEXTFILE)
        with open(os.path.join(directory, "raid.prom")) as f:
            content = f.read()
        assert "# HELP raid_status 1 if raid array is okay\n# TYPE raid_status gauge\nraid_status 1.0\n" == content
    finally:
        if created:
            shutil.rmtree("/configured", ignore_errors=True)


def _scrape_8000(proc, path="/"):
    deadline = time.monotonic() + 30
    last = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"example exited early: {err}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:8000{path}", timeout=5) as resp:
                return resp.read().decode()
        except OSError as e:
            last = e
            time.sleep(0.1)
    pytest.fail(f"nothing served on :8000: {last}")


@pytest.mark.parametrize(
    "code,path,expected",
    [
        (QUICK_START, "/", "request_processing_seconds_count"),
        (START_HTTP_SERVER + "\nimport time\nwhile True: time.sleep(1)\n", "/", "python_info"),
        (START_WSGI_SERVER + "\nimport time\nwhile True: time.sleep(1)\n", "/", "python_info"),
        (WSGI, "/", "python_info"),
        (TWISTED, "/metrics", "python_info"),
    ],
    ids=["quick-start", "start_http_server", "start_wsgi_server", "wsgi", "twisted"],
)
def test_serving_example(code, path, expected):
    script = textwrap.dedent(code)
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        body = _scrape_8000(proc, path)
        assert expected in body
        if code is QUICK_START:
            # The decorated function keeps being called: the count grows between scrapes.
            first = _count(body)
            deadline = time.monotonic() + 30
            while _count(_scrape_8000(proc, path)) <= first and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _count(_scrape_8000(proc, path)) > first
    finally:
        proc.kill()
        proc.communicate()


def _count(body: str) -> float:
    for line in body.splitlines():
        if line.startswith("request_processing_seconds_count "):
            return float(line.split()[1])
    return -1.0


MULTIPROCESS_APP = '''
from prometheus_client import multiprocess
from prometheus_client import generate_latest, CollectorRegistry, CONTENT_TYPE_LATEST, Gauge

# Example gauge.
IN_PROGRESS = Gauge("inprogress_requests", "help", multiprocess_mode='livesum')


# Expose metrics.
@IN_PROGRESS.track_inprogress()
def app(environ, start_response):
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    data = generate_latest(registry)
    status = '200 OK'
    response_headers = [
        ('Content-type', CONTENT_TYPE_LATEST),
        ('Content-Length', str(len(data)))
    ]
    start_response(status, response_headers)
    return iter([data])
'''


def test_multiprocess_app_example(tmp_path):
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(tmp_path))
    code = MULTIPROCESS_APP + """
statuses = []
body = b"".join(app({"REQUEST_METHOD": "GET"}, lambda status, headers: statuses.append((status, headers))))
print(statuses[0][0])
print(body.decode())
"""
    out = _run(code, env=env)
    assert out.startswith("200 OK\n")
    assert "# TYPE inprogress_requests gauge\ninprogress_requests 1.0\n" in out
