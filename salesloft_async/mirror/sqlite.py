"""The embedded store: one SQLite file, written from one thread.

The standard library's `sqlite3` is used, on a single worker thread that owns the connection:
SQLite allows one writer at a time anyway, so one thread is all the concurrency it can use, and
the event loop never blocks on a disk write.  (`aiosqlite` does the same thing, a thread per
connection, as a dependency.)  WAL journal with ``synchronous=NORMAL``: a killed process loses
nothing that was committed; a power cut may lose the last transactions, but rows and the state
that describes them commit together, so a restart is still exact.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..errors import ConfigurationError
from .store import ResourceState, ResourceStatus, Row, check_identifier, state_values

__all__ = ["SqliteStore"]

T = TypeVar("T")

_STATE = """CREATE TABLE IF NOT EXISTS mirror_state (
    resource TEXT PRIMARY KEY, checkpoint TEXT, cursor TEXT,
    last_poll REAL, last_webhook REAL, last_sweep REAL, source TEXT)"""

_UPSERT = """INSERT INTO "{t}" (id, updated_at, deleted, record) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, deleted = excluded.deleted,
    record = excluded.record
WHERE {rule}"""
#: the write rule (see `store`): replace only when (updated_at, deleted) is not lower
_RULE = """excluded.updated_at > "{t}".updated_at
   OR (excluded.updated_at = "{t}".updated_at AND excluded.deleted >= "{t}".deleted)"""
#: `revive`: replace when updated_at is not lower
_REVIVE = 'excluded.updated_at >= "{t}".updated_at'


class SqliteStore:
    """A mirror in one SQLite file: a table per resource plus `mirror_state`.

    :param path: the database file (created with its directory when missing).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            raise ConfigurationError("the SQLite store is not open (use `async with` or open())")
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="salesloft-mirror-sqlite")
        try:
            await self._call(self._connect)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    async def close(self) -> None:
        if self._executor is None:
            return
        try:
            await self._call(self._disconnect)
        finally:
            self._executor.shutdown(wait=True)
            self._executor = None

    # -- the worker thread's side -----------------------------------------------------------------

    def _connect(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute(_STATE)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open SQLite database {self.path}: {exc}") from None
        self._conn = conn

    def _disconnect(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _db(self) -> sqlite3.Connection:
        assert self._conn is not None
        return self._conn

    def _transaction(self, work: Callable[[sqlite3.Connection], T]) -> T:
        conn = self._db()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

    def _prepare(self, resource: str, text_ids: bool) -> ResourceState:
        t = check_identifier(resource)
        key = "TEXT" if text_ids else "INTEGER"

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                f'CREATE TABLE IF NOT EXISTS "{t}" (id {key} PRIMARY KEY,'
                " updated_at TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0,"
                " record TEXT NOT NULL)"
            )
            conn.execute(f'CREATE INDEX IF NOT EXISTS "{t}_updated_at" ON "{t}" (updated_at)')
            conn.execute("INSERT OR IGNORE INTO mirror_state (resource) VALUES (?)", (t,))

        self._transaction(work)
        return self._state(t)

    def _state(self, resource: str) -> ResourceState:
        row = (
            self._db()
            .execute(
                "SELECT checkpoint, cursor, last_poll, last_webhook, last_sweep, source"
                " FROM mirror_state WHERE resource = ?",
                (resource,),
            )
            .fetchone()
        )
        if row is None:
            return ResourceState(resource)
        checkpoint, cursor, poll, hook, sweep, source = row
        return ResourceState(
            resource,
            checkpoint=json.loads(checkpoint) if checkpoint else None,
            cursor=json.loads(cursor) if cursor else None,
            last_poll=poll,
            last_webhook=hook,
            last_sweep=sweep,
            source=json.loads(source) if source else None,
        )

    def _set_state(self, conn: sqlite3.Connection, resource: str, state: dict[str, Any]) -> None:
        values = state_values(state)
        if values:
            columns = ", ".join(f"{name} = ?" for name, _ in values)
            conn.execute(
                f"UPDATE mirror_state SET {columns} WHERE resource = ?",
                [v for _, v in values] + [resource],
            )

    def _write(
        self, resource: str, rows: Sequence[Row], revive: bool, state: dict[str, Any]
    ) -> None:
        t = check_identifier(resource)
        sql = _UPSERT.format(t=t, rule=(_REVIVE if revive else _RULE).format(t=t))

        def work(conn: sqlite3.Connection) -> None:
            if rows:
                conn.executemany(
                    sql, [(r.id, r.updated_at, int(r.deleted), r.record) for r in rows]
                )
            self._set_state(conn, t, state)

        self._transaction(work)

    def _tombstone(
        self, resource: str, seen: Collection[int | str], upto: str, state: dict[str, Any]
    ) -> int:
        t = check_identifier(resource)

        def work(conn: sqlite3.Connection) -> int:
            # no type: it holds integer and text ids alike, each compared as it is
            conn.execute("CREATE TEMP TABLE IF NOT EXISTS mirror_seen (id PRIMARY KEY)")
            conn.execute("DELETE FROM mirror_seen")
            conn.executemany("INSERT INTO mirror_seen (id) VALUES (?)", [(i,) for i in seen])
            cur = conn.execute(
                f'UPDATE "{t}" SET deleted = 1 WHERE deleted = 0 AND updated_at <= ?'
                " AND id NOT IN (SELECT id FROM mirror_seen)",
                (upto,),
            )
            conn.execute("DELETE FROM mirror_seen")
            self._set_state(conn, t, state)
            return cur.rowcount

        return self._transaction(work)

    def _latest(self, resource: str) -> str | None:
        t = check_identifier(resource)
        top: str | None = self._db().execute(f'SELECT max(updated_at) FROM "{t}"').fetchone()[0]
        return top

    def _records(self, resource: str) -> dict[Any, dict[str, Any]]:
        t = check_identifier(resource)
        rows = self._db().execute(f'SELECT id, record FROM "{t}" WHERE deleted = 0')
        return {rid: json.loads(text) for rid, text in rows}

    def _status(self) -> list[ResourceStatus]:
        names = [r[0] for r in self._db().execute("SELECT resource FROM mirror_state ORDER BY 1")]
        out: list[ResourceStatus] = []
        for name in names:
            state = self._state(name)
            live, gone = (
                self._db()
                .execute(
                    "SELECT count(*) - coalesce(sum(deleted), 0), coalesce(sum(deleted), 0)"
                    f' FROM "{name}"'
                )
                .fetchone()
            )
            out.append(ResourceStatus.of(state, rows=live, deleted=gone))
        return out

    # -- the event loop's side --------------------------------------------------------------------

    async def prepare(self, resource: str, *, text_ids: bool = False) -> ResourceState:
        return await self._call(self._prepare, resource, text_ids)

    async def write(
        self, resource: str, rows: Sequence[Row], *, revive: bool = False, **state: Any
    ) -> None:
        await self._call(self._write, resource, rows, revive, state)

    async def latest(self, resource: str) -> str | None:
        return await self._call(self._latest, resource)

    async def tombstone_missing(
        self, resource: str, seen: Collection[int | str], upto: str, **state: Any
    ) -> int:
        return await self._call(self._tombstone, resource, seen, upto, state)

    async def records(self, resource: str) -> dict[Any, dict[str, Any]]:
        return await self._call(self._records, resource)

    async def status(self) -> list[ResourceStatus]:
        return await self._call(self._status)
