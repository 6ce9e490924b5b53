"""RedisTokenStore's storage and lock, against the real Redis at 127.0.0.1:6379.

Skipped without Redis unless CI is set.  The key scheme and the constructor checks are in
tests/unit/test_redis_config.py; the cross-process behaviour is in test_redis_tokens.py.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from salesloft_async.auth import Token, TokenStore
from salesloft_async.auth.errors import TokenStoreError
from salesloft_async.redis import RedisTokenStore, token_key
from tests.redis_support import REDIS_URL, redis_or_skip

TOKEN = Token(access_token="at-secret", refresh_token="rt-secret", expires_at=2e9, created_at=1e9)


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = await redis_or_skip()
    yield client
    await client.aclose()


@pytest.fixture
async def key(redis: aioredis.Redis) -> AsyncIterator[str]:
    name = token_key(f"unit-{uuid.uuid4().hex[:12]}", 7)
    yield name
    await redis.delete(name, f"{name}:lock")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_store_round_trip_and_protocol(redis: aioredis.Redis, key: str) -> None:
    store = RedisTokenStore(redis, key)
    assert isinstance(store, TokenStore)
    assert await store.load() is None
    assert await store.save(TOKEN, expected=None)
    assert await store.load() == TOKEN
    assert await redis.hget(key, "fp") == TOKEN.fingerprint
    assert "secret" not in repr(store)


async def test_a_url_opens_its_own_client(redis: aioredis.Redis, key: str) -> None:
    store = RedisTokenStore(REDIS_URL, key)
    assert await store.save(TOKEN, expected=None)
    assert await RedisTokenStore(redis, key).load() == TOKEN
    await store.redis.aclose()


async def test_a_foreign_value_is_reported_not_decoded(redis: aioredis.Redis, key: str) -> None:
    await redis.hset(key, mapping={"fp": "x", "token": "not json"})
    with pytest.raises(TokenStoreError, match="does not hold a saved token"):
        await RedisTokenStore(redis, key).load()


async def test_a_value_that_is_not_utf8_is_reported_by_either_client(
    redis: aioredis.Redis, key: str
) -> None:
    raw = aioredis.from_url(REDIS_URL)  # replies as bytes; `redis` decodes them
    try:
        await raw.hset(key, mapping={"fp": "x", "token": b"\xff\xfe"})
        for client in (redis, raw):  # once: UnicodeDecodeError from either
            with pytest.raises(TokenStoreError, match="does not hold a saved token"):
                await RedisTokenStore(client, key).load()
    finally:
        await raw.aclose()


async def test_unreachable_redis_is_a_token_store_error_without_secrets() -> None:
    store = RedisTokenStore(f"redis://127.0.0.1:{closed_port()}/0", "k")
    with pytest.raises(TokenStoreError, match="Redis unreachable") as caught:
        await store.save(TOKEN, expected=None)
    assert "secret" not in str(caught.value)
    with pytest.raises(TokenStoreError):
        await store.load()
    with pytest.raises(TokenStoreError):
        async with store.lock():
            pass  # pragma: no cover
    await store.redis.aclose()


async def test_a_lock_lost_to_its_ttl_is_logged_not_raised(
    redis: aioredis.Redis, key: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = RedisTokenStore(redis, key, lock_ttl=30)
    with caplog.at_level(logging.WARNING, logger="salesloft_async.redis"):
        async with store.lock():
            assert await redis.pttl(f"{key}:lock") > 29_000  # the TTL is on the lock key
            # What expiry does to a holder slower than the TTL: the lock is gone, then taken.
            await redis.delete(f"{key}:lock")
            await redis.set(f"{key}:lock", "someone-else")
    assert await redis.get(f"{key}:lock") == "someone-else"  # not deleted by the old owner
    assert any("expired while held" in r.getMessage() for r in caplog.records)


async def test_a_token_key_of_another_type_is_a_token_store_error_naming_it(
    redis: aioredis.Redis, key: str
) -> None:
    await redis.rpush(key, "something else's")
    store = RedisTokenStore(redis, key)
    with pytest.raises(TokenStoreError, match="holds a list, not the hash") as caught:
        await store.load()
    assert key in str(caught.value) and "DEL" in str(caught.value)
    with pytest.raises(TokenStoreError, match="holds a list"):
        await store.save(TOKEN, expected=None)


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ('{"access_token": "at-secret", "expires_at": "soon"}', "expires_at"),
        ('{"access_token": "at-secret", "token_type": null}', "token_type"),
        ('{"expires_at": 1}', "access_token"),
    ],
)
async def test_a_stored_token_of_the_wrong_shape_is_a_token_store_error(
    redis: aioredis.Redis, key: str, stored: str, field: str
) -> None:
    await redis.hset(key, mapping={"fp": "x", "token": stored})
    with pytest.raises(TokenStoreError, match=field) as caught:
        await RedisTokenStore(redis, key).load()
    assert key in str(caught.value) and "secret" not in str(caught.value)


@pytest.mark.parametrize("squatter", ["hash", "string without expiry"])
async def test_a_lock_key_that_is_no_lock_is_reported_at_once(
    redis: aioredis.Redis, key: str, squatter: str
) -> None:
    if squatter == "hash":
        await redis.hset(f"{key}:lock", "x", "1")
    else:
        await redis.set(f"{key}:lock", "x")
    store = RedisTokenStore(redis, key, lock_wait=30.0)
    with pytest.raises(TokenStoreError, match="never expires") as caught:
        async with asyncio.timeout(5):  # not after lock_wait
            async with store.lock():
                pass
    assert f"{key}:lock" in str(caught.value)
