"""RedisBudget survives its Redis going away mid-run: local fallback, then the shared budget again.

The test starts a private ``redis-server`` on a free port (never the shared one), with
persistence off, runs 50 coroutines against the sandbox through a RedisBudget on it, kills
Redis, and starts it again on the same port.  Skipped without a ``redis-server`` binary unless
CI is set.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import socket
from collections import Counter
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from salesloft_async import SalesloftClient
from salesloft_async.redis import RedisBudget, budget_key
from salesloft_async.sandbox import Sandbox

LIMIT, WINDOW, COROUTINES = 40, 1.0, 50
pytestmark = pytest.mark.slow


class PrivateRedis:
    """A throwaway redis-server: no RDB snapshots, no AOF, loopback only."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary is not None
        self.proc = await asyncio.create_subprocess_exec(
            *(binary, "--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", "--appendonly", "no", "--protected-mode", "yes"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        client = aioredis.from_url(self.url)
        try:
            for _ in range(200):
                try:
                    if await client.ping():
                        return
                except (aioredis.ConnectionError, OSError):
                    await asyncio.sleep(0.025)
            raise AssertionError("private redis-server did not start")
        finally:
            await client.aclose()

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()


@pytest.fixture
async def private_redis() -> AsyncIterator[PrivateRedis]:
    if shutil.which("redis-server") is None:
        if os.environ.get("CI"):
            raise AssertionError("redis-server is not on PATH, and CI is set")
        pytest.skip("no redis-server binary on PATH (set CI=1 to make this a failure)")
    server = PrivateRedis()
    await server.start()
    yield server
    await server.kill()


async def test_redis_restarted_mid_run_fallback_then_recovery(
    private_redis: PrivateRedis, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="salesloft_async.redis")
    refused: Counter[int] = Counter()
    async with Sandbox(people=60, accounts=10, users=3, window=WINDOW, budget=LIMIT) as sb:
        try_spend = sb.budget.try_spend

        def counting(cost: int) -> tuple[bool, int]:
            accepted, left = try_spend(cost)
            if not accepted:
                refused[sb.budget.window_index()] += 1
            return accepted, left

        sb.budget.try_spend = counting  # type: ignore[method-assign]
        budget = RedisBudget(
            private_redis.url,
            budget_key("restart"),
            limit=LIMIT,
            window=WINDOW,
            fallback_share=0.5,
            retry_interval=0.1,
            op_timeout=2.0,  # only a dead Redis, not a busy test machine, is an outage
        )
        errors: list[BaseException] = []
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=budget) as sl:

            async def worker() -> None:
                while True:
                    try:
                        await sl.request("GET", "/v2/people", params={"per_page": 1})
                    except asyncio.CancelledError:
                        raise
                    except Exception as exc:  # anything reaching the caller is a failure
                        errors.append(exc)

            tasks = [asyncio.create_task(worker()) for _ in range(COROUTINES)]
            await asyncio.sleep(1.5 * WINDOW)
            shared_before = (await budget.shared_stats()).grants
            await private_redis.kill()
            down_at = sb.budget.window_index()
            await asyncio.sleep(2 * WINDOW)
            assert budget.in_fallback
            during = sum(sb.spend_by_window.get(w, 0) for w in (down_at + 1,))
            await private_redis.start()  # empty: no state survived
            up_at = sb.budget.window_index()
            await asyncio.sleep(2.5 * WINDOW)
            recovered = not budget.in_fallback
            shared_after = (await budget.shared_stats()).grants
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await budget.drain()
        await budget.redis.aclose()

    assert errors == []
    assert shared_before > 0
    assert 0 < during <= LIMIT * 0.5  # the fallback spent, at its share of the limit
    assert recovered and budget.outages == 1
    assert shared_after > 0  # decisions are made in (the new) Redis again
    assert all(n <= 1 for n in refused.values()), refused
    # Loud, once per outage: one WARNING going down, one coming back.
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert sum("falling back" in m for m in messages) == 1, messages
    assert sum("reachable again" in m for m in messages) == 1, messages
    last = max(sb.spend_by_window)
    assert any(sb.spend_by_window.get(w, 0) >= 0.9 * LIMIT for w in range(up_at + 1, last))
