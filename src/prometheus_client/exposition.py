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


# Transports (serving, pushing, textfile) live in private modules; re-exported here.
from ._http import (  # noqa: E402
    MetricsHandler as MetricsHandler,
    ThreadingWSGIServer as ThreadingWSGIServer,
    make_wsgi_app as make_wsgi_app,
    start_http_server as start_http_server,
    start_wsgi_server as start_wsgi_server,
)
from ._push import (  # noqa: E402
    PushGatewayError as PushGatewayError,
    basic_auth_handler as basic_auth_handler,
    default_handler as default_handler,
    delete_from_gateway as delete_from_gateway,
    instance_ip_grouping_key as instance_ip_grouping_key,
    passthrough_redirect_handler as passthrough_redirect_handler,
    push_to_gateway as push_to_gateway,
    pushadd_to_gateway as pushadd_to_gateway,
    tls_auth_handler as tls_auth_handler,
)
from ._textfile import write_to_textfile as write_to_textfile  # noqa: E402
from .asgi import make_asgi_app as make_asgi_app  # noqa: E402
