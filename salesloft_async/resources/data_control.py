"""Data-control requests: redaction, soft deletion and the right to be forgotten."""

from __future__ import annotations

from ._generated import DataControlBase, DataControlRequestsBase

__all__ = ["DataControl", "DataControlRequests"]


class DataControl(DataControlBase):
    """Submit redaction, soft-deletion and right-to-be-forgotten requests (`dry_run` first)."""


class DataControlRequests(DataControlRequestsBase):
    """The data-control requests submitted, and how far each has run."""
