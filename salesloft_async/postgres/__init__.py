"""OAuth tokens in the app's own PostgreSQL: one row per connected (team, user).

Needs the ``postgres`` extra (``pip install 'salesloft-async[postgres]'``, which brings asyncpg).
"""

from __future__ import annotations

from .tokens import DEFAULT_TABLE, PostgresTokenStore, table_sql

__all__ = ["DEFAULT_TABLE", "PostgresTokenStore", "table_sql"]
