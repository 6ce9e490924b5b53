"""Imports: the batches people were added in."""

from __future__ import annotations

from ._generated import ImportsBase

__all__ = ["Imports"]


class Imports(ImportsBase):
    """Imports, to group people created together."""
