"""CRM activities, their field mappings, and CRM users."""

from __future__ import annotations

from ._generated import (
    AccountTeamMemberRolesBase,
    CrmAccountTeamMembersBase,
    CrmActivitiesBase,
    CrmActivityFieldsBase,
    CrmUsersBase,
)

__all__ = [
    "AccountTeamMemberRoles",
    "CrmAccountTeamMembers",
    "CrmActivities",
    "CrmActivityFields",
    "CrmUsers",
]


class CrmActivities(CrmActivitiesBase):
    """Activities as they were (or will be) written to the CRM."""


class CrmActivityFields(CrmActivityFieldsBase):
    """Fields available on CRM activities."""


class CrmUsers(CrmUsersBase):
    """CRM users mapped to Salesloft users."""


class AccountTeamMemberRoles(AccountTeamMemberRolesBase):
    """The roles a member of a CRM account team can hold."""


class CrmAccountTeamMembers(CrmAccountTeamMembersBase):
    """Members of CRM account teams (CRM-side ids and names)."""
