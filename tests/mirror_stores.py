"""The two databases the mirror tests run on, and the one rule for when PostgreSQL may skip.

SQLite lives in the test's temp dir.  PostgreSQL is the one at 127.0.0.1:5432 (database `test`);
each test gets its own schema, dropped afterwards.  Without a PostgreSQL there a test skips, saying
why, unless CI is set: there the machine has one and its absence is a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from salesloft_async.mirror import MirrorStore, PostgresStore, SqliteStore

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"

StoreFactory = Callable[[], MirrorStore]


async def postgres_or_skip(url: str = POSTGRES_URL) -> None:
    import asyncpg

    try:
        con = await asyncpg.connect(url, timeout=5)
    except (OSError, asyncpg.PostgresError):
        if os.environ.get("CI"):
            raise
        pytest.skip("no PostgreSQL at 127.0.0.1:5432 (set CI=1 to make this a failure)")
    await con.close()


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
    await postgres_or_skip()
    schema = f"mirror_test_{secrets.token_hex(6)}"
    try:
        yield (
            (lambda: PostgresStore(POSTGRES_URL, schema=schema)),
            ["--db", POSTGRES_URL, "--schema", schema],
        )
    finally:
        await drop_schema(schema)
