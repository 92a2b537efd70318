"""Placeholder: being replaced by the exposition/transport work (see docs/CONTRIBUTING.md)."""
# ruff: noqa
from typing import Any

from .registry import REGISTRY
from .utils import floatToGoString

CONTENT_TYPE_PLAIN_0_0_4 = "text/plain; version=0.0.4; charset=utf-8"
CONTENT_TYPE_PLAIN_1_0_0 = "text/plain; version=1.0.0; charset=utf-8"
CONTENT_TYPE_LATEST = CONTENT_TYPE_PLAIN_1_0_0


def generate_latest(registry: Any = REGISTRY, escaping: str = "underscores") -> bytes:
    out = []
    for m in registry.collect():
        mname = m.name + "_total" if m.type == "counter" else m.name
        out.append(f"# HELP {mname} {m.documentation}\n# TYPE {mname} {m.type}\n")
        for s in m.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out.append(f"{s.name}{{{labels}}} {floatToGoString(s.value)}\n" if labels else f"{s.name} {floatToGoString(s.value)}\n")
    return "".join(out).encode()


def _todo(*a: Any, **k: Any) -> Any:
    raise NotImplementedError


MetricsHandler = make_wsgi_app = make_asgi_app = start_http_server = start_wsgi_server = _todo
write_to_textfile = push_to_gateway = pushadd_to_gateway = delete_from_gateway = instance_ip_grouping_key = _todo
