"""RedisTokenStore: OS processes sharing one OAuth grant through the real Redis and the sandbox.

The cross-process trials live in `shared_grant` (FileTokenStore passes them too); the Redis lock's
TTL is real time, short here.  Needs Redis at 127.0.0.1:6379 (skipped without it unless CI is set).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from salesloft_async.auth import Token
from salesloft_async.auth.errors import TokenStoreError
from salesloft_async.redis import token_key
from tests.redis_support import redis_or_skip

from . import shared_grant as trials

pytestmark = pytest.mark.slow


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[trials.Env]:
    client = await redis_or_skip()
    key = token_key(f"it-{uuid.uuid4().hex[:12]}", 1)
    async with trials.small_sandbox() as sb:
        yield trials.Env(sb, tmp_path, f"redis:{key}")
    await client.delete(key, f"{key}:lock")
    await client.aclose()


async def test_four_processes_twenty_expiries_twenty_refreshes(env: trials.Env) -> None:
    await trials.four_processes_through_twenty_expiries(env)


async def test_a_lock_holder_killed_before_its_token_request_releases_by_ttl(
    env: trials.Env,
) -> None:
    # the next caller waits for the dead holder's lock to expire (real time), then refreshes
    await trials.killed_holding_the_lock(env, max_wait=trials.LOCK_TTL + 5)


async def test_a_lock_holder_killed_after_persisting_leaves_its_new_token(env: trials.Env) -> None:
    await trials.killed_after_persisting(env)


async def test_compare_and_set_refuses_a_stale_writer(env: trials.Env) -> None:
    first = await env.login()
    store = env.store()
    newer = Token(access_token="a2", refresh_token="r2", expires_at=1.0, created_at=0.0)
    older = Token(access_token="a3", refresh_token="r3", expires_at=1.0, created_at=0.0)
    assert not await store.save(newer, expected=None)  # not empty
    assert await store.save(newer, expected=first.fingerprint)
    assert not await store.save(older, expected=first.fingerprint)  # lost the race
    loaded = await store.load()
    assert loaded == newer
    assert "r2" not in repr(store) and "r2" not in repr(loaded)


async def test_lock_excludes_other_holders_and_gives_up_after_lock_wait(env: trials.Env) -> None:
    a, b = env.store(), env.store(lock_wait=0.3)
    async with a.lock():
        assert await a.save(
            Token(access_token="x", refresh_token="y"), expected=None
        )  # save works while this task holds the lock
        with pytest.raises(TokenStoreError, match="could not take the token lock"):
            async with b.lock():
                pass  # pragma: no cover
    async with b.lock():
        loaded = await b.load()
        assert loaded is not None and loaded.access_token == "x"
