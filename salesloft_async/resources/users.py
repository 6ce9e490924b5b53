"""Users, the current user and team, groups and roles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..pagination import Mode
from ..spec import Operation
from ._generated import CustomRolesBase, GroupsBase, MeBase, ProfilesBase, TeamBase, UsersBase

__all__ = ["CustomRoles", "Groups", "Me", "Profiles", "Team", "Users"]


class Users(UsersBase):
    """Users of the team; `list()` without `page` answers everyone in one request."""

    def _list_mode(self, op: Operation, params: Mapping[str, Any]) -> Mode:
        # /v2/users answers the whole team when no page is asked for, so one request is all;
        # with an explicit page it pages like every other list.
        return "page" if params.get("page") is not None else "single"


class Me(MeBase):
    """The user the token belongs to: `await sl.me.get()`."""


class Team(TeamBase):
    """The token's team: `await sl.team.get()`."""


class Groups(GroupsBase):
    """Groups of users; the list is not paged."""


class CustomRoles(CustomRolesBase):
    """The team's custom roles."""


class Profiles(ProfilesBase):
    """The current user's profile: `await sl.profiles.get()`."""
