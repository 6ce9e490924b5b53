"""PostgresTokenStore: OS processes sharing one OAuth grant through the real PostgreSQL and the
sandbox, a lock holder killed or cut off mid-refresh, and rows that are not tokens.

The cross-process trials live in `shared_grant` (FileTokenStore and RedisTokenStore pass them too).
Needs PostgreSQL at 127.0.0.1:5432/test (skipped without it unless CI is set); every test works
in a schema of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.auth import Token, TokenManager
from salesloft_async.auth.errors import TokenStoreError
from salesloft_async.errors import ConfigurationError
from salesloft_async.postgres import PostgresTokenStore
from tests.postgres_support import POSTGRES_URL, postgres_or_skip, scratch_schema

from . import shared_grant as trials

pytestmark = pytest.mark.slow


@pytest.fixture
async def table() -> AsyncIterator[str]:
    async with scratch_schema() as (_, schema):
        name = f"{schema}.tokens"
        store = PostgresTokenStore(POSTGRES_URL, 1, 1, table=name)
        await store.create_table()
        await store.create_table()  # idempotent
        await store.close()
        yield name


@pytest.fixture
async def env(tmp_path: Path, table: str) -> AsyncIterator[trials.Env]:
    async with trials.small_sandbox() as sb:
        yield trials.Env(sb, tmp_path, f"postgres:{table}")


async def test_four_processes_twenty_expiries_twenty_refreshes(env: trials.Env) -> None:
    await trials.four_processes_through_twenty_expiries(env)


async def test_a_lock_holder_killed_before_its_token_request_frees_the_lock_at_once(
    env: trials.Env,
) -> None:
    # PostgreSQL drops a session's advisory lock with its connection: no TTL to wait out
    await trials.killed_holding_the_lock(env, max_wait=5)


async def test_a_lock_holder_killed_after_persisting_leaves_its_new_token(env: trials.Env) -> None:
    await trials.killed_after_persisting(env)


async def lock_holders(store: PostgresTokenStore) -> list[int]:
    """Backends holding the store's advisory lock (pg_locks splits a bigint key in two oids)."""
    key = store.lock_key & (2**64 - 1)
    conn = await postgres_or_skip()
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND classid = $1::bigint::oid AND objid = $2::bigint::oid AND objsubid = 1",
            key >> 32,
            key & 0xFFFFFFFF,
        )
    finally:
        await conn.close()
    return [r["pid"] for r in rows]


async def test_connection_lost_mid_refresh_the_token_is_saved_whole_and_the_next_refresh_works(
    tmp_path: Path, table: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="salesloft_async")
    at_server, answer = asyncio.Event(), asyncio.Event()

    async def gate(seconds: float) -> None:  # the sandbox's latency: hold the token request
        at_server.set()
        await answer.wait()

    async with trials.small_sandbox(sleep=gate) as sb:
        env = trials.Env(sb, tmp_path, f"postgres:{table}")
        first = await env.login()
        env.tick(trials.TTL)
        sb.faults.add("/oauth/token", latency=1.0, times=1)
        store = env.store()
        assert isinstance(store, PostgresTokenStore)
        mgr = TokenManager(env.app(), store, leeway=10)
        refreshing = asyncio.create_task(mgr.authorization())
        await asyncio.wait_for(at_server.wait(), 30)  # refreshing, the lock held
        [holder] = await lock_holders(store)
        conn = await postgres_or_skip()
        assert await conn.fetchval("SELECT pg_terminate_backend($1)", holder)
        await conn.close()
        answer.set()
        header = await asyncio.wait_for(refreshing, 30)
        stored = await env.stored()  # a whole token (the store checks its fingerprint)
        assert stored is not None and header == stored.authorization
        assert stored.refresh_token != first.refresh_token
        assert await lock_holders(store) == []
        async with SalesloftClient(auth=mgr, base_url=sb.url) as sl:
            assert (await sl.request("GET", "/v2/me")).status == 200
            env.tick(trials.TTL)
            assert (await sl.request("GET", "/v2/me")).status == 200  # the next refresh
        await store.close()
        assert sb.counters["grant:refresh_token"] == 2
        assert sb.counters["invalid_grant"] == 0
        latest = await env.stored()
        assert latest is not None and latest.refresh_token
    # the lost connection was logged, and no log line names a token
    assert "finishing on another connection" in caplog.text
    secrets = [first.access_token, first.refresh_token, stored.access_token, stored.refresh_token]
    for secret in [*secrets, latest.access_token, latest.refresh_token]:
        assert secret and secret not in caplog.text and secret not in repr(store)


async def test_compare_and_set_refuses_a_stale_writer_and_lock_gives_up(table: str) -> None:
    store = PostgresTokenStore(POSTGRES_URL, 3, 4, table=table)
    other = PostgresTokenStore(POSTGRES_URL, 3, 4, table=table, lock_timeout=0.3)
    first = Token(access_token="a1", refresh_token="r1", expires_at=1.0, created_at=0.0)
    newer = Token(access_token="a2", refresh_token="r2", expires_at=1.0, created_at=0.0)
    older = Token(access_token="a3", refresh_token="r3", expires_at=1.0, created_at=0.0)
    try:
        assert await store.load() is None
        assert await store.save(first, expected=None)
        assert not await store.save(newer, expected=None)  # not empty
        assert await lock_holders(store) == []
        async with store.lock():
            assert len(await lock_holders(store)) == 1  # held while the refresh would run
            assert await store.save(newer, expected=first.fingerprint)  # inside its own lock
            assert not await other.save(older, expected=first.fingerprint)  # lost the race
            with pytest.raises(TokenStoreError, match="could not take the token lock"):
                async with other.lock():
                    pass  # pragma: no cover
        assert await lock_holders(store) == []  # and only then
        async with other.lock():
            assert await other.load() == newer
        assert await lock_holders(store) == []
        assert await PostgresTokenStore(POSTGRES_URL, 3, 5, table=table).load() is None
        assert "r2" not in repr(store) and "a2" not in repr(store)
    finally:
        await store.close()
        await other.close()


@pytest.mark.parametrize(
    "token",
    [
        '{"no": "token"}',
        '"a string"',
        '{"access_token": "a", "refresh_token": "r", "expires_at": "soon"}',
        "SAME_BUT_OTHER_FINGERPRINT",
    ],
)
async def test_a_malformed_row_is_a_token_store_error(table: str, token: str) -> None:
    good = Token(access_token="a", refresh_token="r")
    fingerprint = good.fingerprint
    if token == "SAME_BUT_OTHER_FINGERPRINT":
        token, fingerprint = good.to_json(), "0" * 32
    conn = await postgres_or_skip()
    await conn.execute(
        f"INSERT INTO {table} (team_id, user_id, fingerprint, token) VALUES (9, 9, $1, $2)",
        fingerprint,
        token,
    )
    await conn.close()
    store = PostgresTokenStore(POSTGRES_URL, 9, 9, table=table)
    try:
        with pytest.raises(TokenStoreError, match="delete it and connect the user again") as err:
            await store.load()
        assert token not in str(err.value)
    finally:
        await store.close()


async def test_a_token_postgresql_cannot_hold_is_refused_without_showing_it(
    table: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = PostgresTokenStore(POSTGRES_URL, 5, 6, table=table)
    good = Token(access_token="at_good", refresh_token="rt_good")
    bad = Token(access_token="at_SECRET\x00", refresh_token="rt_SECRET")
    try:
        assert await store.save(good, expected=None)
        for held in (False, True):
            async with store.lock() if held else contextlib.nullcontext():
                with pytest.raises(TokenStoreError, match="NUL") as err:
                    await store.save(bad, expected=good.fingerprint)
            shown = [str(err.value), repr(err.value), repr(err.value.__cause__), caplog.text]
            assert not any("SECRET" in text for text in shown)
            assert err.value.__suppress_context__
        assert await store.load() == good  # the row is untouched
        assert "finishing on another connection" not in caplog.text  # nothing broke but the token
    finally:
        await store.close()


async def test_a_missing_table_or_server_says_what_to_do(table: str) -> None:
    missing = PostgresTokenStore(POSTGRES_URL, 1, 1, table=table + "_nope")
    down = PostgresTokenStore("postgresql://app:pw_hidden@127.0.0.1:1/test", 1, 1)
    try:
        with pytest.raises(TokenStoreError, match="create_table"):
            await missing.load()
        with pytest.raises(TokenStoreError, match="PostgreSQL unreachable") as unreachable:
            await down.load()
        with pytest.raises(TokenStoreError, match="PostgreSQL unreachable") as locking:
            async with down.lock():
                pass  # pragma: no cover
        for text in (repr(down), str(unreachable.value), str(locking.value)):
            assert "pw_hidden" not in text  # the DSN's password
    finally:
        await missing.close()
        await down.close()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"table": "x; DROP TABLE y"},
        {"team_id": "1"},
        {"team_id": 2**63},
        {"user_id": -(2**63) - 1},
        {"lock_timeout": 0},
        {"db": object()},
    ],
)
def test_bad_arguments_are_configuration_errors(kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {"db": POSTGRES_URL, "team_id": 1, "user_id": 1, **kwargs}
    with pytest.raises(ConfigurationError):
        PostgresTokenStore(args.pop("db"), args.pop("team_id"), args.pop("user_id"), **args)


async def test_many_stores_create_the_table_at_once(table: str) -> None:
    fresh = table + "_fresh"
    stores = [PostgresTokenStore(POSTGRES_URL, 1, user, table=fresh) for user in range(6)]
    try:
        await asyncio.gather(*(s.create_table() for s in stores))
        assert await stores[0].load() is None
    finally:
        await asyncio.gather(*(s.close() for s in stores))
