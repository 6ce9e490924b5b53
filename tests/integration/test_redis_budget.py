"""RedisBudget across OS processes, against the sandbox and the real Redis.

The sandbox runs in the test process (60 cost per 2 s window, on the real clock); each child
process runs 50 coroutines through one SalesloftClient whose budget is a RedisBudget on a shared,
test-unique key.  Run as a module (``python -m tests.integration.test_redis_budget child ...``)
this file is the child.  Needs Redis at 127.0.0.1:6379 (skipped without it unless CI is set).
"""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.errors import RateLimitedError
from salesloft_async.redis import RedisBudget, budget_key
from salesloft_async.sandbox import Sandbox
from tests.redis_support import REDIS_URL, redis_or_skip

LIMIT, WINDOW = 60, 2.0
PROCESSES, COROUTINES, WINDOWS = 4, 50, 4
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


# --- child side --------------------------------------------------------------------------------


async def child(url: str, api_key: str, redis_url: str, key: str) -> None:
    budget = RedisBudget(redis_url, key, limit=LIMIT, window=WINDOW)
    done = limited = 0
    async with SalesloftClient(api_key=api_key, base_url=url, budget=budget) as sl:
        print("ready", flush=True)
        line = await asyncio.to_thread(sys.stdin.readline)
        start, end = (float(x) for x in line.split()[1:3])
        await asyncio.sleep(max(0.0, start - time.time()))

        async def worker() -> None:
            nonlocal done, limited
            while True:
                try:
                    await sl.request("GET", "/v2/people", params={"per_page": 1})
                    done += 1
                except RateLimitedError:
                    limited += 1

        tasks = [asyncio.create_task(worker()) for _ in range(COROUTINES)]
        await asyncio.sleep(max(0.0, end - time.time()))
        for task in tasks:
            task.cancel()  # mid-wait and mid-request: reservations must be given back
        await asyncio.gather(*tasks, return_exceptions=True)
        await budget.drain()
    stats = budget.stats
    print(
        json.dumps(
            {
                "done": done,
                "limited": limited,
                "rate_limited": stats.rate_limited,
                "outages": budget.outages,
                "in_flight": stats.in_flight,
            }
        ),
        flush=True,
    )
    await budget.redis.aclose()


# --- parent side -------------------------------------------------------------------------------


@pytest.fixture
async def redis_key() -> AsyncIterator[str]:
    client = await redis_or_skip()
    key = budget_key(f"it-{uuid.uuid4().hex[:12]}")
    yield key
    keys = [k async for k in client.scan_iter(f"{key}*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def count_429s_by_window(sb: Sandbox) -> Counter[int]:
    """Wrap the sandbox's budget to record each refusal under the window it fell in."""
    refused: Counter[int] = Counter()
    try_spend = sb.budget.try_spend

    def counting(cost: int) -> tuple[bool, int]:
        accepted, left = try_spend(cost)
        if not accepted:
            refused[sb.budget.window_index()] += 1
        return accepted, left

    sb.budget.try_spend = counting  # type: ignore[method-assign]
    return refused


async def spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "tests.integration.test_redis_budget", "child", *args),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO,
    )


async def readline(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()


async def test_four_processes_spend_the_shared_budget_with_at_most_one_429_per_window(
    redis_key: str,
) -> None:
    async with Sandbox(people=100, accounts=10, users=3, window=WINDOW, budget=LIMIT) as sb:
        refused = count_429s_by_window(sb)
        args = [sb.url, sb.api_key, REDIS_URL, redis_key]
        procs = [await spawn(*args) for _ in range(PROCESSES)]
        try:
            assert [await readline(p) for p in procs] == ["ready"] * PROCESSES
            first = math.floor(time.time() / WINDOW) + 1  # start on a window boundary
            start, end = first * WINDOW, (first + WINDOWS) * WINDOW
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(f"go {start} {end}\n".encode())
                await p.stdin.drain()
            results: list[dict[str, Any]] = [json.loads(await readline(p)) for p in procs]
        finally:
            for p in procs:
                if p.returncode is None and p.stdin is not None:
                    p.stdin.close()
            codes = await asyncio.gather(*(asyncio.wait_for(p.wait(), 30) for p in procs))
        assert codes == [0] * PROCESSES

    measured = range(first, first + WINDOWS)
    spend = [sb.spend_by_window.get(w, 0) for w in measured]
    assert all(s >= 0.95 * LIMIT for s in spend), spend
    assert all(s <= LIMIT for s in spend), spend
    assert all(refused[w] <= 1 for w in measured), refused
    assert sum(r["done"] for r in results) >= 0.95 * LIMIT * WINDOWS
    assert all(r["limited"] == 0 and r["outages"] == 0 for r in results), results
    assert all(r["in_flight"] == 0 for r in results), results
    assert sum(r["rate_limited"] for r in results) == sb.counters["rate_limited"]


async def test_other_integrations_spending_unseen_cost_at_most_one_429_per_window(
    redis_key: str,
) -> None:
    """Two budgets on one key (two workers, one event loop) beside 20/window of foreign spend."""
    async with Sandbox(
        people=100, accounts=10, users=3, window=WINDOW, budget=LIMIT, background_spend=20
    ) as sb:
        refused = count_429s_by_window(sb)
        budgets = [RedisBudget(REDIS_URL, redis_key, limit=LIMIT, window=WINDOW) for _ in "ab"]
        clients = [SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=b) for b in budgets]
        first = math.floor(time.time() / WINDOW) + 1
        end = (first + 2) * WINDOW

        async def worker(sl: SalesloftClient) -> None:
            while time.time() < end:
                await sl.request("GET", "/v2/people", params={"per_page": 1})

        await asyncio.sleep(first * WINDOW - time.time())
        try:
            await asyncio.wait_for(
                asyncio.gather(*(worker(sl) for sl in clients for _ in range(25))), 4 * WINDOW
            )
        finally:
            for sl in clients:
                await sl.close()
            for b in budgets:
                await b.drain()
                await b.redis.aclose()
    measured = range(first, first + 2)
    assert all(refused[w] <= 1 for w in measured), refused
    ours = [sb.spend_by_window.get(w, 0) for w in measured]
    assert all(s >= LIMIT - 20 for s in ours), ours  # what the others left us, at least


if __name__ == "__main__":
    asyncio.run(child(*sys.argv[2:6]))
