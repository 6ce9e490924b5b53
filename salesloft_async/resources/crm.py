"""CRM activities, their field mappings, and CRM users."""

from __future__ import annotations

from ._generated import CrmActivitiesBase, CrmActivityFieldsBase, CrmUsersBase

__all__ = ["CrmActivities", "CrmActivityFields", "CrmUsers"]


class CrmActivities(CrmActivitiesBase):
    """Activities as they were (or will be) written to the CRM."""


class CrmActivityFields(CrmActivityFieldsBase):
    """Fields available on CRM activities."""


class CrmUsers(CrmUsersBase):
    """CRM users mapped to Salesloft users."""
