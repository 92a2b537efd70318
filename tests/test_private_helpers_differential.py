"""The reference module's private helpers give the official client's results for valid input
(and raise where it raises): a representative set called here and in the side venv, results
compared by ``repr``. Plus: patching module attributes changes behaviour where the official's
does (``exposition.build_opener``, ``_use_gateway``, ``_escape_grouping_key``, ...)."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from typing import Any, List, Tuple
from unittest import mock

import pytest

from prometheus_client import CollectorRegistry, Counter, exposition, push_to_gateway

# (module, function, args) -- every call must give the same repr (or the same exception type).
CASES: List[Tuple[str, str, List[Any]]] = [
    ("parser", "_is_character_escaped", ["a\\\\\\b", 4]),
    ("parser", "_is_character_escaped", ["a\\\\b", 3]),
    ("parser", "_next_unquoted_char", ['a{b="x,y",c="z"}', ",}"]),
    ("parser", "_next_unquoted_char", ['"q w" x', None]),
    ("parser", "_next_unquoted_char", ['a b c', " ", 2]),
    ("parser", "_last_unquoted_char", ['a{b="}"} 1 # {c="}"} 2', "}"]),
    ("parser", "_last_unquoted_char", ["x y", None]),
    ("parser", "_split_quoted", ['a  b "c d" e', " "]),
    ("parser", "_split_quoted", ['a b c d', " ", 2]),
    ("parser", "_split_quoted", ['a,b,', ","]),
    ("parser", "_unquote_unescape", ['  "a\\"b\\nc"  ']),
    ("parser", "_unquote_unescape", ["plain"]),
    ("parser", "_unquote_unescape", [""]),
    ("parser", "_unquote_unescape", ['"open']),
    ("parser", "_replace_escaping", ['a\\\\b\\n\\"c\\t']),
    ("parser", "_replace_help_escaping", ['a\\\\b\\n\\"c']),
    ("parser", "_parse_value", ["12"]),
    ("parser", "_parse_value", ["1.5e3"]),
    ("parser", "_parse_value", ["+Inf"]),
    ("parser", "_parse_value", ["1_0"]),
    ("parser", "_parse_value_and_timestamp", [" 1.5 1700000000123"]),
    ("parser", "_parse_value_and_timestamp", ["\t3\t42"]),
    ("parser", "_parse_value_and_timestamp", ["7"]),
    ("parser", "_next_term", ['a="1",b="2"}', False]),
    ("parser", "_next_term", [',"my.name",x="y"}', True]),
    ("parser", "_next_term", ['"quoted"}', False]),
    ("openmetrics.parser", "_isUncanonicalNumber", ["+Inf"]),
    ("openmetrics.parser", "_isUncanonicalNumber", ["Inf"]),
    ("openmetrics.parser", "_isUncanonicalNumber", ["1.0"]),
    ("openmetrics.parser", "_unescape_help", ['a\\\\b\\"c\\nd\\te\\']),
    ("openmetrics.parser", "_parse_timestamp", ["1700000000"]),
    ("openmetrics.parser", "_parse_timestamp", ["1700000000.123456789123"]),
    ("openmetrics.parser", "_parse_timestamp", ["1e3"]),
    ("openmetrics.parser", "_parse_timestamp", [""]),
    ("openmetrics.parser", "_parse_timestamp", ["NaN"]),
    ("openmetrics.parser", "_parse_sample", ['a_total{x="1",y="2"} 3 1700000000']),
    ("openmetrics.parser", "_parse_sample", ['a_total 3.5']),
    ("openmetrics.parser", "_parse_sample", ['a_bucket{le="1.0"} 2 # {trace_id="abc"} 0.5 1700000000.5']),
    ("openmetrics.parser", "_parse_sample", ['a_total 1 # {id="x"} 2']),
    ("openmetrics.parser", "_parse_sample", ['{"a.b_total",x="1"} 2']),
    ("openmetrics.parser", "_parse_remaining_text", ["1 123 # {a=\"b\"} 2 3"]),
    ("openmetrics.parser", "_parse_remaining_text", ["4"]),
    ("openmetrics.parser", "_parse_remaining_text", ["4 "]),
    ("openmetrics.parser", "_parse_remaining_text", ["4 # {a=\"b\"}"]),
    ("openmetrics.parser", "_parse_nh_struct", [
        "{count:24,sum:100,schema:0,zero_threshold:0.001,zero_count:4,positive_spans:[0:2,1:2],"
        "negative_spans:[0:2,1:2],positive_deltas:[2,1,-3,3],negative_deltas:[2,1,-2,3]}"]),
    ("openmetrics.parser", "_parse_nh_struct", ["{count:4,sum:1.5,schema:3,zero_threshold:0.0,zero_count:4}"]),
    ("openmetrics.parser", "_parse_nh_sample", [
        'nh {count:4,sum:1.5,schema:3,zero_threshold:0.0,zero_count:4}', ("_bucket", "_count")]),
    ("openmetrics.parser", "_parse_nh_sample", [
        'nh{a="b"} {count:4,sum:1.5,schema:3,zero_threshold:0.0,zero_count:4}', ("_bucket",)]),
    ("openmetrics.parser", "_parse_nh_sample", [
        '{"nh.x"} {count:4,sum:1.5,schema:3,zero_threshold:0.0,zero_count:4}', ("_bucket",)]),
    ("openmetrics.parser", "_parse_nh_sample", ['a_total 1 # {a="b"} 1', ("_bucket",)]),
    ("openmetrics.parser", "_parse_nh_sample", ['a_total 1', ("_bucket",)]),
    ("openmetrics.parser", "_compose_spans", [[("positive_spans", "0:2,3:1", ""), ("negative_spans", "1:1", "")],
                                              "positive_spans"]),
    ("openmetrics.parser", "_compose_spans", [[], "negative_spans"]),
    ("openmetrics.parser", "_compose_deltas", [{"positive_deltas": "1, -2,3"}, "positive_deltas"]),
    ("openmetrics.parser", "_compose_deltas", [{}, "negative_deltas"]),
    ("mmap_dict", "_read_all_values", [b"\x28\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00abc\x00"
                                       b"\x00\x00\x00\x00\x00\x00\xf0\x3f\x00\x00\x00\x00\x00\x00\x00\x40"]),
    ("exposition", "_escape_grouping_key", ["job", "a/b c"]),
    ("exposition", "_escape_grouping_key", ["job", ""]),
    ("exposition", "_escape_grouping_key", ["job", "x&y=z"]),
    ("exposition", "_get_best_family", ["127.0.0.1", 0]),
    ("exposition", "_compress_payload", [b"x 1\n", None]),
    ("exposition", "_compress_payload", [b"x 1\n", "brotli"]),
    ("decorator", "get_init", [int]),
]

RUNNER = r'''
import importlib, json, sys
from prometheus_client.samples import Sample
cases = json.loads(sys.stdin.read())
out = []
def fix(v):
    if isinstance(v, list) and v and isinstance(v[0], list):
        return [tuple(x) for x in v]
    return v
for mod, fn, args in cases:
    args = [bytearray(a.encode("latin-1")) if isinstance(a, str) and a.startswith("\0B:") else a for a in args]
    args = [a[3:] if isinstance(a, bytearray) else a for a in args]
    args = [tuple(a) if mod.endswith("parser") and fn == "_parse_nh_sample" and isinstance(a, list) else fix(a)
            for a in args]
    if fn == "get_init":
        args = [int]
    f = getattr(importlib.import_module("prometheus_client." + mod), fn)
    try:
        r = f(*args)
        if hasattr(r, "__next__"):
            r = list(r)
        out.append(["ok", repr(r)])
    except Exception as e:
        out.append(["err", type(e).__name__])
print(json.dumps(out))
'''


def _encode(cases: List[Tuple[str, str, List[Any]]]) -> str:
    def enc(a: Any) -> Any:
        if isinstance(a, bytes):
            return "\0B:" + a.decode("latin-1")
        if isinstance(a, type):
            return "type"
        return a

    return json.dumps([[m, f, [enc(a) for a in args]] for m, f, args in cases])


def test_helpers_match_official(official_python: str) -> None:
    data = _encode(CASES)
    official = subprocess.run([official_python, "-I", "-c", RUNNER], input=data, capture_output=True, text=True,
                              timeout=120)
    assert official.returncode == 0, official.stderr
    ours = subprocess.run([sys.executable, "-c", RUNNER], input=data, capture_output=True, text=True, timeout=120)
    assert ours.returncode == 0, ours.stderr
    got = {f"{m}.{f}{args!r}": r for (m, f, args), r in zip(CASES, json.loads(ours.stdout))}
    want = {f"{m}.{f}{args!r}": r for (m, f, args), r in zip(CASES, json.loads(official.stdout))}
    assert got == want


SIGNATURE_NAMES = [
    ("exposition", n) for n in ("_use_gateway", "_escape_grouping_key", "_make_handler", "_get_best_family",
                                "_get_ssl_ctx", "_compress_payload", "_bake_output")
] + [
    ("parser", n) for n in ("_is_character_escaped", "_next_unquoted_char", "_last_unquoted_char", "_split_quoted",
                            "_unquote_unescape", "_parse_value", "_parse_value_and_timestamp", "_next_term",
                            "_replace_escaping", "_replace_help_escaping", "parse_labels")
] + [
    ("openmetrics.parser", n) for n in ("_parse_sample", "_parse_remaining_text", "_parse_nh_sample",
                                        "_parse_nh_struct", "_compose_spans", "_compose_deltas", "_group_for_sample",
                                        "_check_histogram", "_isUncanonicalNumber", "_parse_timestamp",
                                        "_unescape_help", "_replace_escaping")
] + [
    ("mmap_dict", n) for n in ("_read_all_values", "_pack_integer", "_pack_two_doubles", "mmap_key")
] + [
    ("decorator", n) for n in ("append", "dispatch_on", "get_init", "contextmanager", "decorate", "decorator")
] + [("values", "mmap_key"), ("asgi", "_bake_output")]

SIG_RUNNER = r'''
import importlib, inspect, json, sys
out = []
for mod, name in json.loads(sys.stdin.read()):
    f = getattr(importlib.import_module("prometheus_client." + mod), name)
    params = inspect.signature(f).parameters.values()
    out.append([(p.name, p.kind.name, repr(p.default) if p.default is not p.empty else None) for p in params])
print(json.dumps(out))
'''


def test_helper_signatures_match_official(official_python: str) -> None:
    data = json.dumps(SIGNATURE_NAMES)
    official = subprocess.run([official_python, "-I", "-c", SIG_RUNNER], input=data, capture_output=True,
                              text=True, timeout=120)
    assert official.returncode == 0, official.stderr
    ours = subprocess.run([sys.executable, "-c", SIG_RUNNER], input=data, capture_output=True, text=True,
                          timeout=120)
    assert ours.returncode == 0, ours.stderr
    got = dict(zip(map(str, SIGNATURE_NAMES), json.loads(ours.stdout)))
    want = dict(zip(map(str, SIGNATURE_NAMES), json.loads(official.stdout)))
    assert got == want


def test_decorate_calls_the_caller_with_the_function_as_the_official() -> None:
    from prometheus_client import decorator

    def caller(f: Any, *a: Any, **k: Any) -> Any:
        return ("wrapped", f(*a, **k))

    def g(x: int, y: int = 2) -> int:
        return x * y

    d = decorator.decorate(g, caller)
    assert d(3) == ("wrapped", 6) and d(3, y=4) == ("wrapped", 12)
    assert d.__name__ == "g" and list(inspect.signature(d).parameters) == ["x", "y"]


def test_function_maker_and_contextmanager() -> None:
    from prometheus_client import decorator

    h = decorator.FunctionMaker.create("h(a, b=1)", "return a + b", {}, defaults=(1,))
    assert h(2) == 3 and h.__defaults__ == (1,) and h.__source__.startswith("def h(a, b=1):")
    entered: List[Any] = []

    def gen(x: Any) -> Any:
        entered.append(x)
        yield x

    @decorator.contextmanager(gen)(7)
    def f(a: int, b: int = 2) -> int:
        return a + b

    assert f(1) == 3 and entered == [7]
    params = inspect.signature(f).parameters
    assert list(params) == ["a", "b"] and params["b"].default == 2
    fm = decorator.FunctionMaker(f)
    assert (fm.name, fm.signature, fm.shortsignature) == ("f", "a, b", "a, b")

    @decorator.dispatch_on("obj")
    def kind(obj: Any) -> str:
        return "default"

    @kind.register(int)
    def _int(obj: Any) -> str:
        return "int"

    assert (kind(1), kind(True), kind("s")) == ("int", "int", "default")


# -- patching module attributes changes behaviour, as with the official client ------------------
def _registry() -> CollectorRegistry:
    r = CollectorRegistry()
    Counter("patched_total", "h", registry=r).inc()
    return r


def test_patched_build_opener_is_used() -> None:
    opened: List[Any] = []

    class Resp:
        status = 200
        reason = "OK"
        headers: dict = {}

        def read(self) -> bytes:
            return b""

        def __enter__(self) -> Any:
            return self

        def __exit__(self, *a: Any) -> None:
            pass

    class Opener:
        def open(self, request: Any, timeout: Any = None) -> Resp:
            opened.append((request.get_method(), request.full_url, request.data))
            return Resp()

    with mock.patch("prometheus_client.exposition.build_opener", return_value=Opener()) as bo:
        push_to_gateway("gw.invalid:9091", job="j", registry=_registry())
    assert bo.called
    assert opened[0][0] == "PUT" and opened[0][1] == "http://gw.invalid:9091/metrics/job/j"
    assert b"patched_total 1.0" in opened[0][2]
    # Unpatched afterwards: the real urllib function again.
    import urllib.request

    assert exposition.build_opener is urllib.request.build_opener


def test_patched_use_gateway_and_escape_grouping_key_are_used() -> None:
    with mock.patch("prometheus_client.exposition._use_gateway") as ug:
        push_to_gateway("gw:1", job="j", registry=_registry())
        exposition.delete_from_gateway("gw:1", job="j")
    assert [c.args[0] for c in ug.call_args_list] == ["PUT", "DELETE"]
    seen: List[Any] = []

    def handler(url: str, method: str, timeout: Any, headers: Any, data: bytes) -> Any:
        seen.append(url)
        return lambda: None

    with mock.patch("prometheus_client.exposition._escape_grouping_key", side_effect=lambda k, v: (k.upper(), v)):
        push_to_gateway("gw:1", job="j", registry=_registry(), grouping_key={"a": "b"}, handler=handler)
    assert seen == ["http://gw:1/metrics/JOB/j/A/b"]


def test_patched_parse_qs_and_make_server_are_plain_attributes() -> None:
    import urllib.parse
    import wsgiref.simple_server

    assert exposition.parse_qs is urllib.parse.parse_qs
    assert exposition.make_server is wsgiref.simple_server.make_server
    with mock.patch("prometheus_client.exposition.make_server") as ms:
        assert exposition.make_server is ms
    assert exposition.make_server is wsgiref.simple_server.make_server


@pytest.mark.parametrize("target", ["prometheus_client.asgi._bake_output",
                                    "prometheus_client.exposition._bake_output"])
def test_patched_bake_output_reaches_asgi(target: str) -> None:
    import asyncio

    from prometheus_client import make_asgi_app

    sent: List[Any] = []

    async def receive() -> Any:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(m: Any) -> None:
        sent.append(m)

    with mock.patch(target, return_value=("200 OK", [("Content-Type", "x/y")], b"patched")):
        asyncio.run(make_asgi_app(_registry())({"type": "http", "path": "/", "headers": []}, receive, send))
    assert sent[-1]["body"] == b"patched"
