"""aiohttp integration: ``make_aiohttp_handler`` (importing this package imports aiohttp)."""

from .exposition import make_aiohttp_handler

__all__ = ["make_aiohttp_handler"]
