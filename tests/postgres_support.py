"""The shared PostgreSQL the PostgreSQL tests use, and the one rule for when they may skip.

Without a PostgreSQL at 127.0.0.1:5432 (database `test`) a test skips, saying why, unless CI is
set: there the machine has one and its absence is a failure, not a reason to pass.  Each test
works in a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

POSTGRES_URL = "postgresql://127.0.0.1:5432/test"


async def postgres_or_skip(url: str = POSTGRES_URL) -> asyncpg.Connection:
    try:
        return await asyncpg.connect(url, timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError):
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no PostgreSQL at {url} (set CI=1 to make this a failure)")


@asynccontextmanager
async def scratch_schema() -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    """A connection and a new, uniquely named schema, dropped with everything in it at the end."""
    conn = await postgres_or_skip()
    schema = f"sl_test_{uuid.uuid4().hex[:12]}"
    await conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield conn, schema
    finally:
        await conn.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await conn.close()
