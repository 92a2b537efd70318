"""Django integration: ``PrometheusDjangoView`` (importing this package imports Django)."""

from .exposition import PrometheusDjangoView

__all__ = ["PrometheusDjangoView"]
