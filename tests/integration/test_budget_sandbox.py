"""CostBudget through the real transport against the sandbox, over loopback sockets.

A short window (60 cost per 2 s) and 50 concurrent coroutines.  Both scenarios run side by side
in one event loop (two sandboxes, two budgets) to keep the wall time to a few seconds; nothing
here asserts speed, only what the server saw.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections import Counter
from typing import Any

from aiohttp import web

from salesloft_async.budget import CostBudget, Settlement
from salesloft_async.client import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.testing import ManualClock

LIMIT, WINDOW, WORKERS = 60, 2.0, 50
RUN_FOR = 2.5 * WINDOW


async def drive(background: int) -> tuple[Sandbox, CostBudget, Counter[int]]:
    limited_by_window: Counter[int] = Counter()
    async with Sandbox(
        people=60, accounts=10, window=WINDOW, budget=LIMIT, background_spend=background
    ) as sb:

        def on_settle(event: Settlement) -> None:
            if event.status == 429:
                limited_by_window[sb.budget.window_index()] += 1

        budget = CostBudget(LIMIT, WINDOW, on_settle=on_settle)
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=budget) as sl:
            deadline = time.monotonic() + RUN_FOR

            async def worker() -> int:
                done = 0
                while time.monotonic() < deadline:
                    response = await sl.request("GET", "/v2/people", params={"per_page": 1})
                    assert response.status == 200
                    done += 1
                return done

            completed = await asyncio.gather(*(worker() for _ in range(WORKERS)))
        assert sum(completed) == budget.stats.requests - budget.stats.rate_limited
        return sb, budget, limited_by_window


async def test_fifty_coroutines_share_the_budget_alone_and_with_other_spenders() -> None:
    (alone, alone_budget, _), (shared, shared_budget, shared_429s) = await asyncio.gather(
        drive(background=0), drive(background=20)
    )
    # Alone: not a single 429, and the server never saw more than the budget in a window.
    assert alone.counters["status:429"] == 0
    assert alone_budget.stats.rate_limited == 0
    assert alone_budget.stats.spent == sum(alone.spend_by_window.values())
    assert max(alone.spend_by_window.values()) <= LIMIT
    assert alone_budget.stats.in_flight == 0 and alone_budget.stats.queued == 0
    # With other integrations spending 20 per window unseen: at most one 429 per window.
    assert all(count <= 1 for count in shared_429s.values()), shared_429s
    assert shared.counters["status:429"] == shared_budget.stats.rate_limited
    assert shared_budget.stats.background > 0 or shared_budget.stats.windows >= 1


async def test_a_429_pauses_everyone_until_the_reset_then_all_succeed() -> None:
    """On a `ManualClock` shared by the sandbox, the budget and the client: the pause passes in
    no real time, and only one task (the budget's timer) sleeps through it."""
    clock = ManualClock()
    async with Sandbox(people=5, accounts=2, window=1.0, budget=5, clock=clock) as sb:
        limited = asyncio.Event()
        budget = CostBudget(
            5,
            1.0,
            on_settle=lambda e: limited.set() if e.status == 429 else None,
            clock=clock,
            sleep=clock.sleep,
            wall_clock=clock,
        )
        async with SalesloftClient(
            api_key=sb.api_key, base_url=sb.url, budget=budget, clock=clock, sleep=clock.sleep
        ) as sl:

            def call() -> asyncio.Task[Any]:
                return asyncio.create_task(sl.request("GET", "/v2/people", params={"per_page": 1}))

            now = sb.clock()  # start early in a window, so that it does not end under us
            clock.advance((sb.budget.window_index(now) + 1.05) * sb.config.window - now)
            paused_at = clock()
            first = await call()
            left = int(first.headers["x-ratelimit-remaining-minute"])
            sb.budget.try_spend(left)  # another integration takes the rest of the window
            refused = call()
            seen = asyncio.create_task(limited.wait())
            await asyncio.wait({refused, seen}, return_when=asyncio.FIRST_COMPLETED)
            seen.cancel()
            later = [call() for _ in range(3)]  # the budget is paused: these wait
            responses = await asyncio.gather(refused, *later)
        assert [r.status for r in responses] == [200] * 4
        assert budget.stats.rate_limited == sb.counters["status:429"] == 1
        assert clock() >= (sb.budget.window_index(paused_at) + 1) * 1.0  # waited for the reset
        assert budget.stats.in_flight == 0 and budget.stats.queued == 0


async def test_a_random_date_on_every_answer_does_not_stall_the_budget() -> None:
    window, limit = 1.0, 20
    sandbox = Sandbox(people=5, accounts=2, window=window, budget=limit)
    rng = random.Random(4)

    async def lie(request: web.Request, response: web.StreamResponse) -> None:
        wrong = time.time() + rng.uniform(-365 * 86400, 365 * 86400)
        response.headers["Date"] = email.utils.formatdate(wrong, usegmt=True)

    sandbox.app.on_response_prepare.append(lie)  # after the sandbox's own, honest, stamp
    async with (
        sandbox as sb,
        SalesloftClient(
            api_key=sb.api_key, base_url=sb.url, budget=CostBudget(limit, window)
        ) as sl,
    ):
        first = sb.budget.window_index() + 1
        deadline = time.monotonic() + 3.5 * window

        async def worker() -> None:
            while time.monotonic() < deadline:
                async with asyncio.timeout(2 * window):  # a stalled budget fails the test here
                    await sl.request("GET", "/v2/people", params={"per_page": 1})

        await asyncio.gather(*(worker() for _ in range(10)))
    whole = [sb.spend_by_window.get(first + k, 0) for k in range(2)]
    assert min(whole) >= limit // 2, sb.spend_by_window  # stalled, it would be 0
    assert max(sb.spend_by_window.values()) <= limit
