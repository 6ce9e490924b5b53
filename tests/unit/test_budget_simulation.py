"""Many coroutines against a simulated Salesloft budget, on a virtual clock.

These check the whole loop (reserve, server, settle) over many windows: the budget is spent to the
last unit, 429s do not happen alone and stay at one per window at most when others spend too, and
cancelling requests at random leaks nothing.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any

from salesloft_async.budget import CostBudget

from .budget_fakes import EPOCH, FakeServer, FakeTime, date_header, one_call, settle

LIMIT, WINDOW = 60, 2.0


def make(time: FakeTime, **kw: Any) -> CostBudget:
    return CostBudget(LIMIT, WINDOW, clock=time.clock, sleep=time.sleep, wall_clock=time.wall, **kw)


async def run(
    server: FakeServer,
    time: FakeTime,
    budget: CostBudget,
    *,
    workers: int = 50,
    windows: int = 8,
    latency: float = 0.004,
    deep_every: int = 0,
) -> list[asyncio.Task[None]]:
    async def worker(n: int) -> None:
        i = 0
        while True:
            i += 1
            deep = deep_every and (n * 7 + i) % deep_every == 0
            await one_call(
                budget,
                server,
                time,
                latency=latency,
                params={"page": 120} if deep else None,
                cost=3 if deep else 1,  # the server's truth: the "total" reading
            )

    tasks = [asyncio.create_task(worker(n)) for n in range(workers)]
    await time.advance(windows * WINDOW)
    for task in tasks:
        task.cancel()
    await settle()
    return tasks


def full_windows(server: FakeServer, windows: int) -> list[int]:
    first = min(server.spent)
    spent = [server.spent.get(first + k, 0) for k in range(1, windows - 1)]
    print("spent per window", spent, "429s", server.limited)
    return spent


async def test_alone_every_window_is_spent_without_a_429() -> None:
    time = FakeTime(wall_at_start=EPOCH + 0.37)
    server = FakeServer(time, limit=LIMIT, window=WINDOW)
    budget = make(time)
    await run(server, time, budget)
    spent = full_windows(server, 8)
    assert server.limited == {}
    assert min(spent) >= 0.97 * LIMIT, spent
    assert budget.stats.rate_limited == 0
    # Timed requests have narrowed the server's clock from Date's 1 s to a few ms: the budget
    # now refills right after the server's boundary (local 999.63 + 2k), not up to 1 s later.
    start = budget.stats.window_start
    assert start is not None
    assert 0.0 <= (start - 999.63) % WINDOW < 0.02, start


async def test_alone_with_deep_pages_learns_their_cost() -> None:
    time = FakeTime(wall_at_start=EPOCH + 1.1)
    server = FakeServer(time, limit=LIMIT, window=WINDOW)
    budget = make(time)
    await run(server, time, budget, deep_every=5)
    assert server.limited == {}
    assert min(full_windows(server, 8)) >= 0.97 * LIMIT - 3  # a 3-cost page may not fit the end
    assert budget.predict("GET", "/v2/people", {"page": 120}) == 3


async def test_with_background_spend_at_most_one_429_per_window() -> None:
    time = FakeTime(wall_at_start=EPOCH + 0.5)
    server = FakeServer(time, limit=LIMIT, window=WINDOW, background=20)
    budget = make(time)
    await run(server, time, budget, windows=10)
    assert all(count <= 1 for count in server.limited.values()), server.limited
    spent = full_windows(server, 10)
    assert min(spent) >= 0.9 * (LIMIT - 20), spent


async def test_a_server_whose_windows_ignore_its_date_header_is_followed() -> None:
    time = FakeTime(wall_at_start=EPOCH)

    class Shifted(FakeServer):
        def index(self) -> int:  # windows begin 0.7 s after the Date header's even seconds
            return int((self.time.wall() - 0.7) // self.window)

        def remaining(self) -> int:
            return max(0, self.limit - self.spent.get(self.index(), 0))

    server = Shifted(time, limit=LIMIT, window=WINDOW)
    budget = make(time)
    await run(server, time, budget, windows=10)
    late = {k: v for k, v in server.limited.items() if k > min(server.spent) + 2}
    assert late == {}, server.limited  # after learning the phase: no more 429s
    assert min(full_windows(server, 10)[2:]) >= 0.97 * LIMIT


async def test_random_cancellation_leaks_nothing() -> None:
    time = FakeTime()
    server = FakeServer(time, limit=LIMIT, window=WINDOW, background=10)
    budget = make(time)
    rng = random.Random(7)

    async def impatient() -> None:
        call = asyncio.create_task(one_call(budget, server, time, latency=0.01))
        await time.sleep(rng.uniform(0.0, 0.3))
        call.cancel()

    tasks = [asyncio.create_task(impatient()) for _ in range(300)]
    await time.run_until(time.now + 3 * WINDOW, step=0.002)
    await asyncio.gather(*tasks, return_exceptions=True)
    await settle()
    stats = budget.stats
    assert (stats.in_flight, stats.queued) == (0, 0)
    # and the budget still works afterwards
    done = asyncio.create_task(one_call(budget, server, time))
    await time.run_until(time.now + 2 * WINDOW, step=0.01)
    assert done.done() and done.result() == 200


class LyingDate(FakeServer):
    """A server whose ``Date`` lies: `lie(n)` seconds off on the n-th answer."""

    def __init__(self, time: FakeTime, lie: Callable[[int], float]) -> None:
        super().__init__(time, limit=LIMIT, window=WINDOW)
        self.lie = lie
        self.answers = 0

    def handle(self, cost: int) -> tuple[int, dict[str, str]]:
        status, hdrs = super().handle(cost)
        self.answers += 1
        hdrs["Date"] = date_header(self.time.wall() + self.lie(self.answers))
        return status, hdrs


async def test_one_date_an_hour_ahead_does_not_stall_the_budget() -> None:
    time = FakeTime(wall_at_start=EPOCH + 0.37)
    server = LyingDate(time, lambda n: 3600.0 if n == 30 else 0.0)
    budget = make(time)
    await run(server, time, budget, windows=10)
    assert min(full_windows(server, 10)) >= 0.97 * LIMIT
    assert server.limited == {}


async def test_a_random_date_on_every_answer_still_gets_the_budget_through() -> None:
    rng = random.Random(11)
    time = FakeTime(wall_at_start=EPOCH + 0.37)
    server = LyingDate(time, lambda n: rng.uniform(-3e7, 3e7))
    budget = make(time)
    await run(server, time, budget, windows=10)
    assert min(full_windows(server, 10)) >= 0.97 * LIMIT
    # Until the first reset shows where the server's windows end, a 429 is waited out by a
    # doubling probe backoff (a sixtieth of the window first): a few 429s, in one window only.
    assert len(server.limited) <= 1 and sum(server.limited.values()) <= 7, server.limited
