"""Opt-in pytest plugin: the ``prometheus_registry`` fixture.

Not registered as a pytest entry point, so it is never loaded on its own. Enable it in a
``conftest.py``::

    pytest_plugins = ["prometheus_client.testing.pytest_plugin"]

or on the command line with ``-p prometheus_client.testing.pytest_plugin``.
"""

from typing import Iterator

import pytest

from ..registry import CollectorRegistry
from . import fresh_registry


@pytest.fixture
def prometheus_registry() -> Iterator[CollectorRegistry]:
    """The default ``REGISTRY``, emptied for the test and restored afterwards."""
    with fresh_registry() as registry:
        yield registry
