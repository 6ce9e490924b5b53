"""A live copy of a team's Salesloft lists in SQLite or PostgreSQL, exact and fresh.

    store = SqliteStore("salesloft.db")              # or PostgresStore("postgresql://...")
    async with SalesloftClient(api_key=..., budget=CostBudget(600, 60)) as sl:
        async with Mirror(sl, store, ["people", "accounts"], poll_interval=30) as mirror:
            await mirror.run()

An initial load (`read_all`, resumable from the database), then a keyset poll per resource every
`poll_interval`, webhooks when a public URL is given, and an id sweep every `reconcile_interval`
for deletes no webhook announces.  Every path writes by one rule: the newest `updated_at` wins.
"""

from __future__ import annotations

from ..errors import ConfigurationError
from .follower import Mirror, MirrorStats
from .postgres import PostgresStore
from .sqlite import SqliteStore
from .store import MirrorStore, ResourceState, ResourceStatus, Row

__all__ = [
    "Mirror",
    "MirrorStats",
    "MirrorStore",
    "PostgresStore",
    "ResourceState",
    "ResourceStatus",
    "Row",
    "SqliteStore",
    "open_store",
]


def open_store(url: str, *, schema: str | None = None) -> MirrorStore:
    """A store for ``sqlite:///path.db`` (``sqlite:////abs/path.db``) or ``postgresql://...``.

    `schema` names the PostgreSQL schema (default ``salesloft``); SQLite has none.
    """
    if url.startswith("sqlite:///"):
        if schema is not None:
            raise ConfigurationError("--schema is for PostgreSQL; a SQLite file is its own schema")
        path = url[len("sqlite:///") :]
        if not path:
            raise ConfigurationError("sqlite:/// needs a file path, e.g. sqlite:///salesloft.db")
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url, schema=schema or "salesloft")
    raise ConfigurationError(
        "--db takes sqlite:///FILE.db or postgresql://USER@HOST:PORT/DB (got a URL of neither kind)"
    )
