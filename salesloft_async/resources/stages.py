"""Stages and tiers that people and accounts move through."""

from __future__ import annotations

from ._generated import AccountStagesBase, AccountTiersBase, PersonStagesBase

__all__ = ["AccountStages", "AccountTiers", "PersonStages"]


class PersonStages(PersonStagesBase):
    """Person stages."""


class AccountStages(AccountStagesBase):
    """Account stages."""


class AccountTiers(AccountTiersBase):
    """Account tiers."""
