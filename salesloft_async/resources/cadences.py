"""Cadences and the people on them."""

from __future__ import annotations

from ._generated import (
    CadenceExportsBase,
    CadenceImportsBase,
    CadenceMembershipsBase,
    CadencesBase,
    CadenceStatsBase,
)

__all__ = ["CadenceExports", "CadenceImports", "CadenceMemberships", "CadenceStats", "Cadences"]


class Cadences(CadencesBase):
    """Cadences: sequences of steps people are put through (read-only in v2)."""


class CadenceMemberships(CadenceMembershipsBase):
    """A person's place on a cadence; `create(person_id=..., cadence_id=...)` adds them."""


class CadenceExports(CadenceExportsBase):
    """A cadence exported as JSON, for `cadence_imports.create`."""


class CadenceImports(CadenceImportsBase):
    """Create cadences from an exported cadence's JSON."""


class CadenceStats(CadenceStatsBase):
    """Statistics of one cadence (`get(cadence_id)`)."""
