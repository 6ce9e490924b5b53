"""pace=True: spend is spread over the window by aiolimiter's leaky bucket, in arrival order.

aiolimiter schedules on the event loop's clock, so these tests point the running loop's `time` and
`call_at` at the fake clock (the way aiolimiter's own tests patch the loop), and nothing sleeps.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from salesloft_async.budget import CostBudget

from .budget_fakes import FakeTime, headers, settle


@pytest.fixture
async def time() -> AsyncIterator[FakeTime]:
    fake = FakeTime()
    loop = asyncio.get_running_loop()

    def call_at(when: float, callback: Callable[..., Any], *args: Any, **_: Any) -> Any:
        async def fire() -> None:
            # A real loop's clock moves on while a callback due "now" runs; this one does not,
            # so a timer due now fires a nanosecond later (aiolimiter re-arms for float dust).
            await fake.sleep(max(when - fake.now, 1e-9))
            callback(*args)

        return loop.create_task(fire())

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loop, "time", fake.clock)
        patch.setattr(loop, "call_at", call_at)
        yield fake
        await settle()


def paced(time: FakeTime) -> CostBudget:
    return CostBudget(60, 2.0, pace=True, clock=time.clock, sleep=time.sleep, wall_clock=time.wall)


async def test_pacing_spreads_spend_over_the_window(time: FakeTime) -> None:
    budget = paced(time)  # 60 per 2 s: 30 per second, bursts of 3
    granted: list[float] = []

    async def caller() -> None:
        for _ in range(30):
            res = await budget.reserve("GET", "/v2/people", None, "interactive")
            granted.append(time.now)
            budget.settle(res, 200, headers(60 - len(granted)))

    task = asyncio.create_task(caller())
    await time.advance(2.0)
    await task
    assert granted[:3] == [1000.0] * 3  # the bucket's burst
    gaps = [b - a for a, b in itertools.pairwise(granted[3:])]
    assert all(gap == pytest.approx(1 / 30, abs=1e-6) for gap in gaps)
    assert granted[-1] == pytest.approx(1000.0 + 27 / 30, abs=1e-6)


async def test_pacing_keeps_arrival_order_for_mixed_costs(time: FakeTime) -> None:
    budget = paced(time)
    order: list[str] = []

    async def call(name: str, page: int | None) -> None:
        res = await budget.reserve("GET", "/v2/people", {"page": page} if page else None, "bulk")
        order.append(name)
        budget.settle(res, 200, headers(50, res.cost))

    names = [("a", None), ("b", None), ("c", None), ("deep", 120), ("d", None), ("e", None)]
    tasks = []
    for name, page in names:
        tasks.append(asyncio.create_task(call(name, page)))
        await settle()
    await time.advance(1.0)
    await asyncio.gather(*tasks)
    assert order == ["a", "b", "c", "deep", "d", "e"]  # aiolimiter alone would put d, e first


async def test_cancelled_while_pacing_leaves_nothing(time: FakeTime) -> None:
    budget = paced(time)
    calls = [
        asyncio.create_task(budget.reserve("GET", "/v2/people", None, "interactive"))
        for _ in range(6)
    ]
    await settle()
    assert sum(c.done() for c in calls) == 1  # the first of the window goes alone
    for c in calls[3:]:
        c.cancel()
    first = calls[0].result()
    budget.settle(first, 200, headers(59))
    await time.advance(0.5)
    assert all(c.done() for c in calls)
    stats = budget.stats
    assert stats.in_flight == 2 and stats.queued == 0 and stats.remaining == 57
