"""Metric objects, their label children, value storage and the exposition answer (``family``)."""

from __future__ import annotations
