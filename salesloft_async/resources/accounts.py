"""Accounts: companies, with `upsert()` keyed on id, crm_id or domain."""

from __future__ import annotations

from ._generated import AccountsBase

__all__ = ["Accounts"]


class Accounts(AccountsBase):
    """Accounts (`/v2/accounts`), and `upsert()` (`/v2/account_upserts`)."""
