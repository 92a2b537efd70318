"""What ``import prometheus_client`` loads (docs/design.md, "What import loads").

Import time is held down by what the import loads, so these tests pin the module set, not
a wall time: the package modules an instrumenting program needs (metric objects, value
storage, registry, the default collectors) and nothing of the exposition side (encoders,
parsers, protobuf, remote write, snappy, sketches, multiprocess, transports), which loads on
first use. A change that puts a module on the import path has to add it here, on purpose.
Each check runs in a fresh interpreter (``-I``, this worktree's ``src`` first on the path).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

SRC = Path(__file__).resolve().parent.parent / "src"

# Exactly the package modules ``import prometheus_client`` loads.
LOADED_AT_IMPORT = {
    "prometheus_client",
    "prometheus_client._formats",
    "prometheus_client._formats.skipped",
    "prometheus_client._lazy",
    "prometheus_client._metrics",
    "prometheus_client._metrics.atomic",
    "prometheus_client._metrics.base",
    "prometheus_client._metrics.buffers",
    "prometheus_client._metrics.collector",
    "prometheus_client._metrics.family",
    "prometheus_client._metrics.metrics",
    "prometheus_client._metrics.observed",
    "prometheus_client._metrics.redefine",
    "prometheus_client._reexport",
    "prometheus_client.context_managers",
    "prometheus_client.decorator",
    "prometheus_client.gc_collector",
    "prometheus_client.metrics",
    "prometheus_client.metrics_core",
    "prometheus_client.platform_collector",
    "prometheus_client.process_collector",
    "prometheus_client.registry",
    "prometheus_client.samples",
    "prometheus_client.utils",
    "prometheus_client.validation",
    "prometheus_client.values",
}

# Standard-library modules the import must not load (each costs more than it is worth before
# first use; the official client loads most of them).
STDLIB_NOT_AT_IMPORT = {
    "asyncio", "contextlib", "gzip", "http.server", "importlib", "inspect", "json", "logging", "mmap",
    "numbers", "platform", "resource", "socket", "ssl", "struct", "threading", "urllib.request", "weakref",
    "wsgiref.simple_server", "zlib",
}


def _run(code: str, env: Dict[str, str] | None = None) -> Any:
    """Run ``code`` in a fresh isolated interpreter; it prints one JSON value."""
    prelude = f"import json, sys\nsys.path.insert(0, {str(SRC)!r})\n"
    proc = subprocess.run([sys.executable, "-I", "-c", prelude + code], capture_output=True, text=True,
                          timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_loads_exactly_the_instrumentation_modules() -> None:
    loaded = _run(
        "before = set(sys.modules)\n"
        "import prometheus_client\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    ours = {m for m in loaded if m.split(".")[0] == "prometheus_client"}
    assert sorted(ours - LOADED_AT_IMPORT) == [], "new modules on the import path"
    assert sorted(LOADED_AT_IMPORT - ours) == [], "update LOADED_AT_IMPORT (a module left the import path)"
    # (what ``typing`` itself imports is not ours to avoid: Python 3.9's imports contextlib)
    by_typing = set(_run("before = set(sys.modules)\nimport typing\n"
                         "print(json.dumps(sorted(set(sys.modules) - before)))\n"))
    assert sorted(STDLIB_NOT_AT_IMPORT & set(loaded) - by_typing) == []


def test_import_loads_no_encoder_parser_or_transport() -> None:
    # The same boundary from the other side, by layer (a new module in these layers stays lazy).
    loaded = _run("import prometheus_client\nprint(json.dumps(sorted(sys.modules)))\n")
    lazy_layers = ("prometheus_client._sketch", "prometheus_client._multiprocess", "prometheus_client._transport",
                   "prometheus_client.openmetrics", "prometheus_client.exposition", "prometheus_client.parser",
                   "prometheus_client.remote_write", "prometheus_client.protobuf", "prometheus_client.asgi",
                   "prometheus_client.multiprocess", "prometheus_client.mmap_dict")
    eager = [m for m in loaded if m.startswith(lazy_layers)
             or m.startswith("prometheus_client._formats.") and m != "prometheus_client._formats.skipped"]
    assert eager == []


def test_first_use_loads_what_it_needs_and_names_resolve() -> None:
    out = _run(
        "import prometheus_client as p\n"
        "names = sorted(n for n in ('exposition', 'openmetrics', 'generate_latest', 'CONTENT_TYPE_LATEST',\n"
        "                           'make_wsgi_app', 'start_http_server', 'write_to_textfile') if n not in dir(p))\n"
        "c = p.Counter('import_cost_demo', 'Demo', ['path'])\n"
        "c.labels('/').inc()\n"
        "instrumented = 'prometheus_client._formats.text' in sys.modules\n"
        "body = p.generate_latest().decode()\n"
        "from prometheus_client import exposition\n"
        "print(json.dumps({\n"
        "    'missing_from_dir': names,\n"
        "    'encoder_loaded_by_instrumenting': instrumented,\n"
        "    'same_objects': [p.generate_latest is exposition.generate_latest,\n"
        "                     p.CONTENT_TYPE_LATEST == exposition.CONTENT_TYPE_LATEST,\n"
        "                     p.make_wsgi_app is exposition.make_wsgi_app,\n"
        "                     p.openmetrics.exposition.generate_latest is not None],\n"
        "    'sample': 'import_cost_demo_total{path=\"/\"} 1.0' in body,\n"
        "    'python_info': 'python_info{' in body,\n"
        "}))\n"
    )
    assert out == {"missing_from_dir": [], "encoder_loaded_by_instrumenting": False,
                   "same_objects": [True, True, True, True], "sample": True, "python_info": True}


def test_default_platform_collector_reads_platform_on_first_collect() -> None:
    out = _run(
        "import prometheus_client as p\n"
        "from prometheus_client import REGISTRY, PLATFORM_COLLECTOR, PlatformCollector\n"
        "loaded_at_import = 'platform' in sys.modules\n"
        "try:\n"
        "    PlatformCollector()  # its name is registered already, as the official client's is\n"
        "    duplicate = None\n"
        "except ValueError as e:\n"
        "    duplicate = str(e)\n"
        "import platform\n"
        "eager = PlatformCollector(registry=None, platform=platform)\n"
        "first = [(s.name, s.labels, s.value) for m in PLATFORM_COLLECTOR.collect() for s in m.samples]\n"
        "print(json.dumps({\n"
        "    'loaded_at_import': loaded_at_import,\n"
        "    'duplicate': duplicate,\n"
        "    'describe_left_behind': hasattr(PLATFORM_COLLECTOR, 'describe'),\n"
        "    'same_as_eager': first == [(s.name, s.labels, s.value) for m in eager.collect() for s in m.samples],\n"
        "    'version': first[0][1]['version'] == platform.python_version(),\n"
        "}))\n"
    )
    assert out == {"loaded_at_import": False, "duplicate": "Duplicated timeseries in CollectorRegistry: "
                   "{'python_info'}", "describe_left_behind": False, "same_as_eager": True, "version": True}


def test_collectors_honour_their_patched_platform_module() -> None:
    out = _run(
        "from unittest import mock\n"
        "from prometheus_client import CollectorRegistry, gc_collector, platform_collector\n"
        "r = CollectorRegistry()\n"
        "with mock.patch.object(gc_collector, 'platform') as plat:\n"
        "    plat.python_implementation.return_value = 'PyPy'\n"
        "    gc_collector.GCCollector(registry=r)\n"
        "skipped_off_cpython = list(r.collect()) == []\n"
        "gc_collector.GCCollector(registry=r)\n"
        "on_cpython = len(list(r.collect())) == 3\n"
        "fake = mock.Mock()\n"
        "fake.python_version_tuple.return_value = ('9', '8', '7')\n"
        "fake.python_version.return_value = '9.8.7'\n"
        "fake.python_implementation.return_value = 'Fake'\n"
        "fake.system.return_value = 'Linux'\n"
        "with mock.patch.object(platform_collector, 'pf', fake):\n"
        "    c = platform_collector.PlatformCollector(registry=None)\n"
        "labels = list(c.collect())[0].samples[0].labels\n"
        "print(json.dumps([skipped_off_cpython, on_cpython, labels]))\n"
    )
    assert out == [True, True, {"version": "9.8.7", "implementation": "Fake", "major": "9", "minor": "8",
                                "patchlevel": "7"}]


def test_reference_names_of_lazy_stdlib_imports() -> None:
    # Names the reference modules have because they import the standard library at their top
    # level resolve to the same objects (loaded on access).
    out = _run(
        "import prometheus_client\n"
        "from prometheus_client import decorator, gc_collector, metrics, platform_collector, process_collector\n"
        "from prometheus_client import registry, values\n"
        "import platform, resource, threading\n"
        "print(json.dumps([metrics.Lock is threading.Lock, registry.Lock is threading.Lock,\n"
        "                  values.Lock is threading.Lock, gc_collector.platform is platform,\n"
        "                  platform_collector.pf is platform, process_collector.resource is resource,\n"
        "                  process_collector._PAGESIZE == resource.getpagesize(),\n"
        "                  decorator.getargspec(lambda a, *b, c=1: 0) == (['a'], 'b', None, None),\n"
        "                  decorator.ArgSpec._fields == ('args', 'varargs', 'varkw', 'defaults')]))\n"
    )
    assert out == [True] * 9


def test_fork_replaces_the_locks_of_every_factory() -> None:
    # Lock owners are kept per lock factory (registries: Lock; metric parents: RLock).
    out = _run(
        "import prometheus_client as p\n"
        "from prometheus_client import values\n"
        "r = p.CollectorRegistry()\n"
        "c = p.Counter('fork_demo', 'Demo', ['x'], registry=r)\n"
        "old = (r._lock, c._lock)\n"
        "r._lock.acquire(); c._lock.acquire()  # as if other threads held them at fork time\n"
        "values._reset_locks_in_child()\n"
        "print(json.dumps([r._lock is not old[0], c._lock is not old[1], type(r._lock) is type(old[0]),\n"
        "                  type(c._lock) is type(old[1]), r._lock.acquire(blocking=False),\n"
        "                  c._lock.acquire(blocking=False)]))\n"
    )
    assert out == [True] * 6


COMPILES_AT_IMPORT = (
    "import builtins\n"
    "compiled = []\n"
    "def watch(frame, event, arg):\n"
    "    if event == 'c_call' and arg is builtins.compile:\n"
    "        compiled.append('%s:%d' % (frame.f_code.co_filename, frame.f_lineno))\n"
    "sys.setprofile(watch)\n"
    "import prometheus_client\n"
    "sys.setprofile(None)\n"
    "print(json.dumps(compiled))\n"
)


def test_nothing_is_compiled_at_import() -> None:
    # A string in a runtime typing construct (``TypeVar(bound="Name")``, evaluated NamedTuple
    # fields under postponed annotations) becomes a ForwardRef, which compiles its source:
    # that cost a fresh import more than the rest of the metric layer.
    assert _run(COMPILES_AT_IMPORT) == []
