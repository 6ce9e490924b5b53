"""The shared Redis the Redis tests use, and the one rule for when they may skip.

Without a Redis at 127.0.0.1:6379 a test skips, saying why, unless CI is set: there the machine
has one and its absence is a failure, not a reason to pass.
"""

from __future__ import annotations

import os

import pytest
import redis.asyncio as aioredis

REDIS_URL = "redis://127.0.0.1:6379/0"


async def redis_or_skip(url: str = REDIS_URL) -> aioredis.Redis:
    client = aioredis.from_url(url, decode_responses=True)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError):
        await client.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379 (set CI=1 to make this a failure)")
    return client
