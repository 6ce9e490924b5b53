"""The two databases the mirror tests run on.

SQLite lives in the test's temp dir.  PostgreSQL is the one at 127.0.0.1:5432 (database `test`),
skipped by `postgres_support`'s one rule; each test gets its own schema, dropped afterwards.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from salesloft_async.mirror import MirrorStore, PostgresStore, SqliteStore

from .postgres_support import POSTGRES_URL, postgres_or_skip

StoreFactory = Callable[[], MirrorStore]


async def drop_schema(schema: str, url: str = POSTGRES_URL) -> None:
    import asyncpg

    con = await asyncpg.connect(url)
    try:
        await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await con.close()


@asynccontextmanager
async def store_factory(kind: str, tmp_path: Path) -> AsyncIterator[tuple[StoreFactory, list[str]]]:
    """A factory of fresh store objects on one database (a restart opens a new one), and the
    command line's arguments for the same database."""
    if kind == "sqlite":
        path = tmp_path / "mirror.db"
        yield (lambda: SqliteStore(path)), ["--db", f"sqlite:///{path}"]
        return
    await (await postgres_or_skip()).close()
    schema = f"mirror_test_{secrets.token_hex(6)}"
    try:
        yield (
            (lambda: PostgresStore(POSTGRES_URL, schema=schema)),
            ["--db", POSTGRES_URL, "--schema", schema],
        )
    finally:
        await drop_schema(schema)
