"""Custom field definitions of the team."""

from __future__ import annotations

from ._generated import CustomFieldsBase

__all__ = ["CustomFields"]


class CustomFields(CustomFieldsBase):
    """Custom fields of people, accounts and opportunities."""
