"""The PostgreSQL store: asyncpg, JSONB records, one schema per mirror.

A big batch (the initial load, a sweep) is COPied in binary into a temporary staging table and
upserted from there (about twice as fast as sending arrays), in parallel chunks on several
connections, since the server parses JSONB on one core per connection; the state is written after
every chunk has committed, never before.  A small batch (a webhook, a quiet poll) goes as arrays
through ``unnest`` in one statement, in one transaction with the state.

The write rule is the same as SQLite's, written with PostgreSQL's row comparison:
``(excluded.updated_at, excluded.deleted) >= (t.updated_at, t.deleted)``.  ON CONFLICT locks the
stored row before evaluating that WHERE, so a webhook and a poll writing one record at once are
decided in order, never both.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Collection, Sequence
from typing import Any

from ..bulk.keyset import format_ts, parse_ts
from ..errors import ConfigurationError
from ..postgres._compat import asyncpg
from .store import (
    JSON_FIELDS,
    ResourceState,
    ResourceStatus,
    Row,
    check_identifier,
    state_values,
)

__all__ = ["PostgresStore"]

_ON_CONFLICT = """ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at,
    deleted = excluded.deleted, record = excluded.record"""
#: the write rule (see `store`): replace only when (updated_at, deleted) is not lower
_RULE = f"""{_ON_CONFLICT}
WHERE (excluded.updated_at, excluded.deleted) >= (t.updated_at, t.deleted)"""
#: `revive`: replace when updated_at is not lower
_REVIVE = f"{_ON_CONFLICT} WHERE excluded.updated_at >= t.updated_at"

_UPSERT = """INSERT INTO {t} AS t (id, updated_at, deleted, record)
SELECT * FROM unnest($1::{key}[], $2::timestamptz[], $3::boolean[], $4::text[]::jsonb[])
{rule}"""

#: one staging table per kind of id (`key`: bigint or text)
_STAGE = """CREATE TEMP TABLE IF NOT EXISTS mirror_stage_{key} (id {key}, updated_at timestamptz,
    deleted boolean, record jsonb) ON COMMIT DELETE ROWS"""

_UPSERT_STAGED = """INSERT INTO {t} AS t (id, updated_at, deleted, record)
SELECT id, updated_at, deleted, record FROM mirror_stage_{key}
{rule}"""

#: from this many rows on, COPY into the staging table beats one statement with arrays
COPY_FROM = 100
#: connections a big batch is written on at once (the pool's size)
PARALLEL = 4


class PostgresStore:
    """A mirror in one PostgreSQL schema: a table per resource plus `mirror_state`.

    :param dsn: a ``postgresql://`` URL (ignored when `pool` is given).
    :param schema: the schema holding the tables (created when missing).
    :param pool: an asyncpg pool of your own; it stays yours (not closed).
    """

    def __init__(
        self,
        dsn: str | None = None,
        *,
        schema: str = "salesloft",
        pool: Any = None,
    ) -> None:
        if dsn is None and pool is None:
            raise ConfigurationError("PostgresStore needs a dsn or a pool")
        self.dsn = dsn
        self.schema = check_identifier(schema, "schema")
        self._pool = pool
        self._own_pool = pool is None
        #: the SQL type of each prepared resource's ids
        self._keys: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"PostgresStore(schema={self.schema!r})"  # the DSN may hold a password

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _q(self, table: str) -> str:
        return f'"{self.schema}"."{check_identifier(table)}"'

    @property
    def pool(self) -> Any:
        if self._pool is None:
            raise ConfigurationError("the PostgreSQL store is not open: use `async with`")
        return self._pool

    async def open(self) -> None:
        pg = asyncpg()  # the `postgres` extra; without it a ConfigurationError saying so
        if self._pool is None:
            try:
                self._pool = await pg.create_pool(self.dsn, min_size=1, max_size=PARALLEL)
            except (OSError, pg.PostgresError) as exc:
                raise ConfigurationError(f"cannot connect to PostgreSQL: {exc}") from None
        async with self.pool.acquire() as con:
            await con.execute(
                f'CREATE SCHEMA IF NOT EXISTS "{self.schema}";'
                f" CREATE TABLE IF NOT EXISTS {self._q('mirror_state')} ("
                " resource text PRIMARY KEY, checkpoint jsonb, cursor jsonb,"
                " last_poll double precision, last_webhook double precision,"
                " last_sweep double precision, source jsonb)"
            )

    async def close(self) -> None:
        if self._pool is not None and self._own_pool:
            await self._pool.close()
            self._pool = None

    async def prepare(self, resource: str, *, text_ids: bool = False) -> ResourceState:
        t = self._q(resource)
        key = self._keys[resource] = "text" if text_ids else "bigint"
        async with self.pool.acquire() as con, con.transaction():
            await con.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (id {key} PRIMARY KEY,"
                " updated_at timestamptz NOT NULL, deleted boolean NOT NULL DEFAULT false,"
                " record jsonb NOT NULL);"
                f' CREATE INDEX IF NOT EXISTS "{resource}_updated_at" ON {t} (updated_at)'
            )
            await con.execute(
                f"INSERT INTO {self._q('mirror_state')} (resource) VALUES ($1)"
                " ON CONFLICT DO NOTHING",
                resource,
            )
        return await self._state(resource)

    async def _state(self, resource: str) -> ResourceState:
        row = await self.pool.fetchrow(
            "SELECT checkpoint, cursor, last_poll, last_webhook, last_sweep, source"
            f" FROM {self._q('mirror_state')} WHERE resource = $1",
            resource,
        )
        if row is None:
            return ResourceState(resource)
        return ResourceState(
            resource,
            checkpoint=json.loads(row[0]) if row[0] else None,
            cursor=json.loads(row[1]) if row[1] else None,
            last_poll=row[2],
            last_webhook=row[3],
            last_sweep=row[4],
            source=json.loads(row[5]) if row[5] else None,
        )

    async def _set_state(self, con: Any, resource: str, state: dict[str, Any]) -> None:
        values = state_values(state)
        if not values:
            return
        columns = ", ".join(
            f"{name} = ${n}::jsonb" if name in JSON_FIELDS else f"{name} = ${n}"
            for n, (name, _) in enumerate(values, start=2)
        )
        await con.execute(
            f"UPDATE {self._q('mirror_state')} SET {columns} WHERE resource = $1",
            resource,
            *[v for _, v in values],
        )

    async def write(
        self, resource: str, rows: Sequence[Row], *, revive: bool = False, **state: Any
    ) -> None:
        t, key = self._q(resource), self._keys.get(resource, "bigint")
        rule = _REVIVE if revive else _RULE
        if len(rows) >= COPY_FROM:
            # Parsing JSONB is the server's bottleneck, one core per connection: a big batch goes
            # in parallel chunks of distinct ids, and the state after every chunk has committed.
            size = -(-len(rows) // PARALLEL)
            chunks = [rows[i : i + size] for i in range(0, len(rows), size)]
            await asyncio.gather(*(self._copy(t, key, rule, chunk) for chunk in chunks))
            rows = ()
        async with self.pool.acquire() as con, con.transaction():
            if rows:
                await con.execute(
                    _UPSERT.format(t=t, key=key, rule=rule),
                    [r.id for r in rows],
                    [parse_ts(r.updated_at) for r in rows],
                    [r.deleted for r in rows],
                    [r.record for r in rows],
                )
            await self._set_state(con, resource, state)

    async def _copy(self, table: str, key: str, rule: str, rows: Sequence[Row]) -> None:
        async with self.pool.acquire() as con, con.transaction():
            await con.execute(_STAGE.format(key=key))
            await con.copy_records_to_table(
                f"mirror_stage_{key}",
                records=[(r.id, parse_ts(r.updated_at), r.deleted, r.record) for r in rows],
            )
            await con.execute(_UPSERT_STAGED.format(t=table, key=key, rule=rule))

    async def tombstone_missing(
        self, resource: str, seen: Collection[int | str], upto: str, **state: Any
    ) -> int:
        t, key = self._q(resource), self._keys.get(resource, "bigint")
        async with self.pool.acquire() as con, con.transaction():
            done = await con.execute(
                f"UPDATE {t} AS t SET deleted = true WHERE NOT t.deleted AND t.updated_at <= $2"
                f" AND NOT EXISTS (SELECT 1 FROM unnest($1::{key}[]) AS s(id) WHERE s.id = t.id)",
                sorted(seen),  # one kind of id per table
                parse_ts(upto),
            )
            await self._set_state(con, resource, state)
        return int(done.split()[-1])

    async def latest(self, resource: str) -> str | None:
        top = await self.pool.fetchval(f"SELECT max(updated_at) FROM {self._q(resource)}")
        return None if top is None else format_ts(top)

    async def records(self, resource: str) -> dict[Any, dict[str, Any]]:
        sql = f"SELECT id, record FROM {self._q(resource)} WHERE NOT deleted"
        rows = await self.pool.fetch(sql)
        return {r[0]: json.loads(r[1]) for r in rows}

    async def status(self) -> list[ResourceStatus]:
        names = await self.pool.fetch(
            f"SELECT resource FROM {self._q('mirror_state')} ORDER BY resource"
        )
        out: list[ResourceStatus] = []
        for (name,) in names:
            counts = await self.pool.fetchrow(
                f"SELECT count(*) FILTER (WHERE NOT deleted), count(*) FILTER (WHERE deleted)"
                f" FROM {self._q(name)}"
            )
            state = await self._state(name)
            out.append(ResourceStatus.of(state, rows=counts[0], deleted=counts[1]))
        return out
