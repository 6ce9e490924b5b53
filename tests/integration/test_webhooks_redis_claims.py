"""RedisClaimStore against the real Redis: one winner among concurrent claims, lease and TTL."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from salesloft_async.errors import ConfigurationError
from salesloft_async.webhooks import RedisClaimStore
from tests.redis_support import REDIS_URL, redis_or_skip


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A fresh key prefix, its keys deleted afterwards."""
    name = f"test:claims:{uuid.uuid4().hex}:"
    client = await redis_or_skip()
    yield name
    await client.delete(f"{name}d")
    await client.aclose()


async def test_of_many_concurrent_claims_exactly_one_wins(prefix: str) -> None:
    stores = [RedisClaimStore(REDIS_URL, prefix=prefix) for _ in range(4)]
    try:
        states = await asyncio.gather(*(s.claim("d") for s in stores for _ in range(5)))
        assert sorted(states) == ["claimed"] + ["running"] * 19
        await stores[0].finish("d")
        assert await stores[1].claim("d") == "done"
        await stores[2].release("d")
        assert await stores[3].claim("d") == "claimed"
    finally:
        for s in stores:
            await s.redis.aclose()


async def test_running_lives_for_the_lease_and_done_for_the_ttl(prefix: str) -> None:
    redis: aioredis.Redis = aioredis.from_url(REDIS_URL, decode_responses=True)
    store = RedisClaimStore(redis, prefix=prefix, lease=30, ttl=3600)
    try:
        assert await store.claim("d") == "claimed"
        assert 0 < await redis.pttl(f"{prefix}d") <= 30_000  # a dead worker's claim runs out
        await store.finish("d")
        assert 30_000 < await redis.pttl(f"{prefix}d") <= 3_600_000
        assert await redis.get(f"{prefix}d") == "done"
    finally:
        await redis.aclose()


def test_nonsense_durations_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        RedisClaimStore(REDIS_URL, lease=0)
    with pytest.raises(ConfigurationError):
        RedisClaimStore(REDIS_URL, ttl=-1)
