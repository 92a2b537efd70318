"""A Django class-based view serving metrics."""

from __future__ import annotations

import os
from typing import Dict, List, Optional

import django.views
from django.http import HttpRequest, HttpResponse

from .. import _lazy
from ..registry import Collector, CollectorRegistry

# The reference module's other names. ``_bake_output`` is resolved at each use, and the view
# prefers a value patched onto this module.
__getattr__, __dir__ = _lazy.install(
    __name__,
    {
        "View": "django.views:View",
        "prometheus_client": "prometheus_client",
        "multiprocess": ".multiprocess",
        "_bake_output": ".exposition:_bake_output",
    },
    uncached=["_bake_output"],
)

__all__ = ["PrometheusDjangoView"]


def _multiprocess_env() -> bool:
    return "PROMETHEUS_MULTIPROC_DIR" in os.environ or "prometheus_multiproc_dir" in os.environ


class PrometheusDjangoView(django.views.View):  # type: ignore[misc]
    """Serves the metrics on GET (and HEAD); OPTIONS lists the allowed methods.

    ``registry`` defaults to the default registry, or, in multiprocess mode (the environment
    variable ``PROMETHEUS_MULTIPROC_DIR`` set when this module was imported), to a fresh
    registry collecting from the multiprocess directory. Use
    ``PrometheusDjangoView.as_view(registry=my_registry)`` to choose another one.

    Unlike the official view, every ``?name[]=`` value is used (the official one passes the
    last value as a string, which selects the set of its characters).
    """

    multiprocess_mode: bool = _multiprocess_env()
    registry: Optional[Collector] = None

    def get(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        from .. import exposition

        if self.registry is None:
            if self.multiprocess_mode:
                from ..multiprocess import MultiProcessCollector

                self.registry = CollectorRegistry()
                MultiProcessCollector(self.registry)
            else:
                # The package attribute, read now, so that callers may rebind it.
                import prometheus_client

                self.registry = prometheus_client.REGISTRY
        # All values of each parameter (so that several ?name[]= select several names).
        params: Dict[str, List[str]] = {k: request.GET.getlist(k) for k in request.GET.keys()}
        bake = globals().get("_bake_output") or exposition._bake_output  # a patch here wins
        status, headers, output = bake(
            self.registry,
            request.headers.get("Accept"),
            request.headers.get("Accept-Encoding"),
            params,
            False,
        )
        return HttpResponse(output, status=int(status.split(" ", 1)[0]), headers=dict(headers))

    def options(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        return HttpResponse(status=200, headers={"Allow": "OPTIONS,GET"})
