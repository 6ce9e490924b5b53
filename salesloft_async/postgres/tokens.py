"""`PostgresTokenStore`: each connected user's newest OAuth token, in the app's own PostgreSQL.

One row per (team, user) in one table (`table_sql` gives its definition, `create_table` runs it):

    team_id      bigint       the Salesloft team the user belongs to
    user_id      bigint       the Salesloft user (or any id the app gives the grant)
    fingerprint  text         Token.fingerprint of `token`: the compare-and-set key
    token        jsonb        the token (access token, refresh token, expiry): a secret
    updated_at   timestamptz  when the row was last written
    PRIMARY KEY (team_id, user_id)

A save is one statement (an INSERT that does nothing when a row exists, or an UPDATE whose WHERE
names the fingerprint it replaces), so a row is always a whole token and a writer that lost a race
changes nothing.  The refresh lock is a session-level advisory lock on a key hashed from (table,
team, user), taken on a pooled connection and held only while the refresh runs.  PostgreSQL drops
it with its connection, so a holder killed by SIGKILL frees it at once.  A holder whose connection
is lost mid-refresh (a restart, `pg_terminate_backend`) finishes its save on another connection:
the token it was just given by Salesloft is not thrown away, and the compare-and-set still refuses
it if someone else wrote first.  Its lock is gone with the connection, though: a second process may
refresh with the same refresh token meanwhile, be refused (``invalid_grant``) and re-read the
store, finding the first one's token only if its save has landed by then.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, TypeVar

from ..auth.errors import TokenStoreError
from ..auth.token import Token
from ..errors import ConfigurationError
from ._compat import asyncpg, unreachable

__all__ = ["DEFAULT_TABLE", "PostgresTokenStore", "table_sql"]

log = logging.getLogger("salesloft_async.postgres")

DEFAULT_TABLE = "salesloft_tokens"
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
T = TypeVar("T")


def _quoted(table: str) -> str:
    parts = table.split(".")
    if len(parts) > 2 or not all(_NAME.fullmatch(p) for p in parts):
        raise ConfigurationError(
            f"table must be a plain name or schema.name (letters, digits, _), got {table!r}"
        )
    return ".".join(f'"{p}"' for p in parts)


def table_sql(table: str = DEFAULT_TABLE) -> str:
    """The CREATE TABLE statement of the store's table, for an app's own migrations."""
    return (
        f"CREATE TABLE IF NOT EXISTS {_quoted(table)} (\n"
        "    team_id     bigint      NOT NULL,\n"
        "    user_id     bigint      NOT NULL,\n"
        "    fingerprint text        NOT NULL,\n"
        "    token       jsonb       NOT NULL,\n"
        "    updated_at  timestamptz NOT NULL DEFAULT now(),\n"
        "    PRIMARY KEY (team_id, user_id)\n"
        ")"
    )


def _advisory_key(name: str) -> int:
    """A bigint advisory-lock key for `name`, unlikely to meet another application's keys."""
    digest = hashlib.sha256(f"salesloft_async:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _int_id(name: str, value: object) -> int:
    """An id the table's bigint columns hold (a larger one would fail every query instead)."""
    if not isinstance(value, int) or isinstance(value, bool) or not -(2**63) <= value < 2**63:
        raise ConfigurationError(
            f"{name} must be an int a PostgreSQL bigint holds (a Salesloft id), got {value!r}"
        )
    return value


class PostgresTokenStore:
    """Implements `salesloft_async.auth.TokenStore` in one row of a PostgreSQL table.

    :param db: an ``asyncpg`` pool, shared by every user's store (the usual case), or a
        ``postgresql://`` DSN, for which the store opens a small pool of its own (`close` it).
    :param team_id: the Salesloft team of the user.
    :param user_id: the Salesloft user whose grant this is.
    :param table: the table, ``name`` or ``schema.name`` (see `table_sql`).
    :param lock_timeout: seconds `lock()` waits for another holder before giving up.
    """

    def __init__(
        self,
        db: Any,
        team_id: int,
        user_id: int,
        *,
        table: str = DEFAULT_TABLE,
        lock_timeout: float = 60.0,
    ):
        if not lock_timeout > 0:
            raise ConfigurationError("lock_timeout must be a positive number of seconds")
        if not isinstance(db, str) and not hasattr(db, "acquire"):
            raise ConfigurationError(
                f"db must be an asyncpg pool or a postgresql:// DSN, got {type(db).__name__}"
            )
        self.team_id = _int_id("team_id", team_id)
        self.user_id = _int_id("user_id", user_id)
        self.table = table
        self.lock_timeout = lock_timeout
        #: the advisory lock's key (a signed bigint); pg_locks shows it split in two oids:
        #: ``classid = (key & (2**64 - 1)) >> 32``, ``objid = key & (2**32 - 1)``, ``objsubid = 1``
        self.lock_key = _advisory_key(f"{table}:{team_id}:{user_id}")
        self._pg = asyncpg()
        self._unreachable = unreachable()
        name = _quoted(table)
        self._sql_table = table_sql(table)
        self._select = (
            f"SELECT fingerprint, token::text FROM {name} WHERE team_id=$1 AND user_id=$2"
        )
        self._insert = (
            f"INSERT INTO {name} (team_id, user_id, fingerprint, token)"
            " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (team_id, user_id) DO NOTHING"
        )
        self._update = (
            f"UPDATE {name} SET fingerprint=$3, token=$4::jsonb, updated_at=now()"
            " WHERE team_id=$1 AND user_id=$2 AND fingerprint=$5"
        )
        self._dsn = db if isinstance(db, str) else None
        self._db: Any = None if isinstance(db, str) else db
        self._opening = asyncio.Lock()
        self._holder: tuple[asyncio.Task[Any] | None, Any] | None = None

    def __repr__(self) -> str:
        return (
            f"PostgresTokenStore(table={self.table!r}, team_id={self.team_id},"
            f" user_id={self.user_id})"
        )

    # --- TokenStore ---------------------------------------------------------------------------

    async def load(self) -> Token | None:
        row = await self._run("read", lambda c: c.fetchrow(self._select, *self._ids))
        if row is None:
            return None
        return self._token_of(row[0], row[1])

    async def save(self, token: Token, *, expected: str | None) -> bool:
        values = (*self._ids, token.fingerprint, token.to_json())
        if expected is None:
            status = await self._run("write", lambda c: c.execute(self._insert, *values))
            return bool(status == "INSERT 0 1")
        status = await self._run("write", lambda c: c.execute(self._update, *values, expected))
        return bool(status == "UPDATE 1")

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._hold()

    # --- setup --------------------------------------------------------------------------------

    async def create_table(self) -> None:
        """Create the table if it does not exist (safe to run from many processes at once)."""

        async def create(conn: Any) -> None:
            async with conn.transaction():
                # concurrent CREATE TABLE IF NOT EXISTS can still collide in the catalog
                await conn.execute("SELECT pg_advisory_xact_lock($1)", _advisory_key(self.table))
                await conn.execute(self._sql_table)

        await self._run("create", create)

    async def close(self) -> None:
        """Close the pool this store opened from a DSN; a pool that was passed in stays open."""
        if self._dsn is not None and self._db is not None:
            await self._db.close()
            self._db = None

    # --- internals ----------------------------------------------------------------------------

    @property
    def _ids(self) -> tuple[int, int]:
        return self.team_id, self.user_id

    async def _pool(self) -> Any:
        if self._db is None:
            async with self._opening:
                if self._db is None:
                    self._db = await self._pg.create_pool(self._dsn, min_size=0, max_size=2)
        return self._db

    async def _run(self, what: str, query: Callable[[Any], Awaitable[T]]) -> T:
        """Run on the lock's connection when this task holds the lock (so that a full pool of
        lock holders cannot deadlock waiting for a second connection), else on any pooled one."""
        try:
            held = self._holder
            if held is not None and held[0] is asyncio.current_task() and held[1] is not None:
                try:
                    return await query(held[1])
                except self._pg.DataError:
                    raise  # the server refused the values: the connection is fine
                except Exception as exc:
                    # Whatever broke the lock's connection, finish on another (a query that is
                    # itself wrong fails there too, and is reported from there).  A save that did
                    # land before the break is refused by the compare-and-set and then found by
                    # the token manager's re-read, so trying again is safe.
                    log.warning(
                        "the PostgreSQL connection holding the token lock of %r failed (%s);"
                        " finishing on another connection",
                        self,
                        type(exc).__name__,
                    )
                    self._holder = (held[0], None)
            async with (await self._pool()).acquire() as conn:
                return await query(conn)
        except self._unreachable as exc:
            raise self._down(what, exc) from None
        except self._pg.DataError as exc:
            # PostgreSQL's own message quotes the JSON it refused, that is the token: not shown
            raise TokenStoreError(
                f"PostgreSQL refused the token of team {self.team_id}, user {self.user_id}"
                f" ({what}: {type(exc).__name__}); jsonb holds no NUL character nor unpaired"
                " surrogate, so a token with one cannot be kept here: connect the user again"
            ) from None
        except self._pg.UndefinedTableError:
            raise TokenStoreError(
                f"the token table {self.table!r} does not exist: run `await store.create_table()`"
                " once (or postgres.table_sql() in your migrations)"
            ) from None

    @asynccontextmanager
    async def _hold(self) -> AsyncIterator[None]:
        try:
            pool = await self._pool()
            conn = await pool.acquire()
        except self._unreachable as exc:
            raise self._down("lock", exc) from None
        try:
            try:
                await conn.execute(f"SET lock_timeout = {max(1, round(self.lock_timeout * 1000))}")
                await conn.execute("SELECT pg_advisory_lock($1)", self.lock_key)
            except self._pg.LockNotAvailableError:
                raise TokenStoreError(
                    f"could not take the token lock of team {self.team_id}, user {self.user_id}"
                    f" within {self.lock_timeout} s; another process holds it (a hung refresh?)"
                ) from None
            except self._unreachable as exc:
                raise self._down("lock", exc) from None
            self._holder = (asyncio.current_task(), conn)
            try:
                yield
            finally:
                self._holder = None
                try:
                    await conn.execute("SELECT pg_advisory_unlock($1)", self.lock_key)
                except self._unreachable:
                    log.warning(
                        "the connection holding the token lock of %r was lost; PostgreSQL"
                        " released the lock with it",
                        self,
                    )
        finally:
            # a released connection is reset (pg_advisory_unlock_all), or closed if it broke
            with contextlib.suppress(*self._unreachable):
                await pool.release(conn)

    def _token_of(self, fingerprint: str, raw: str) -> Token:
        try:
            token = Token.from_json(raw)
            well_formed = (
                token.fingerprint == fingerprint
                and all(
                    isinstance(v, int | float) or v is None
                    for v in (token.expires_at, token.created_at)
                )
                and isinstance(token.refresh_token, str | None)
            )
        except ValueError:
            well_formed = False
        if not well_formed:
            raise TokenStoreError(
                f"the {self.table!r} row of team {self.team_id}, user {self.user_id} does not hold"
                " a saved token (written by something else?); delete it and connect the user again"
            )
        return token

    def _down(self, what: str, exc: BaseException) -> TokenStoreError:
        return TokenStoreError(
            f"PostgreSQL unreachable for the token store ({what}, team {self.team_id}, user"
            f" {self.user_id}): {type(exc).__name__}. The token manager keeps its cached token"
            " until PostgreSQL is back."
        )
