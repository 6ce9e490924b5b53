"""Fakes for the cost-budget tests: a virtual clock, and an in-memory Salesloft budget.

`FakeTime` is a clock plus a `sleep` that never sleeps: sleepers wake only when a test moves time
forward with `advance`, so every timing in these tests is exact and instant.  `FakeServer` counts
cost the way Salesloft (and the sandbox) does: a fixed window aligned to its wall clock, background
spend by other integrations spread evenly over each window, 429 when a request does not fit.
"""

from __future__ import annotations

import asyncio
import email.utils
import heapq
import itertools
import math
from typing import Any

from salesloft_async.budget import CostBudget, CostReservation

#: 2026-01-01T00:00:00Z: a wall-clock moment on a minute boundary
EPOCH = 1_767_225_600.0


class FakeTime:
    def __init__(self, start: float = 1000.0, wall_at_start: float = EPOCH) -> None:
        self.now = start
        self.wall_offset = wall_at_start - start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self.now + max(0.0, delay), next(self._order), future))
        await future

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking every sleeper on the way at its own moment."""
        target = self.now + seconds
        await settle()
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, future = heapq.heappop(self._sleepers)
            if future.done():
                continue
            self.now = max(self.now, when)
            future.set_result(None)
            await settle()
        self.now = target
        await settle()

    async def run_until(self, moment: float, step: float) -> None:
        while self.now < moment - 1e-12:
            await self.advance(min(step, moment - self.now))


async def settle(rounds: int = 30) -> None:
    """Let every runnable task run until they all wait again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


def date_header(wall: float) -> str:
    return email.utils.formatdate(math.floor(wall), usegmt=True)


def headers(remaining: int, cost: int = 1, *, wall: float | None = None) -> dict[str, str]:
    out = {"x-ratelimit-remaining-minute": str(remaining), "x-ratelimit-endpoint-cost": str(cost)}
    if wall is not None:
        out["Date"] = date_header(wall)
    return out


class FakeServer:
    """Salesloft's budget: window = floor(wall / window), 429 when the cost does not fit."""

    def __init__(
        self, time: FakeTime, *, limit: int = 60, window: float = 2.0, background: int = 0
    ) -> None:
        self.time = time
        self.limit = limit
        self.window = window
        self.background = background
        self.spent: dict[int, int] = {}
        self.limited: dict[int, int] = {}

    def index(self) -> int:
        return math.floor(self.time.wall() / self.window)

    def remaining(self) -> int:
        wall = self.time.wall()
        index = self.index()
        share = (wall - index * self.window) / self.window
        used = self.spent.get(index, 0) + math.floor(self.background * share)
        return max(0, self.limit - used)

    def handle(self, cost: int) -> tuple[int, dict[str, str]]:
        left = self.remaining()
        index = self.index()
        if cost > left:
            self.limited[index] = self.limited.get(index, 0) + 1
            out = headers(left, cost, wall=self.time.wall())
            return 429, out
        self.spent[index] = self.spent.get(index, 0) + cost
        return 200, headers(left - cost, cost, wall=self.time.wall())


async def one_call(
    budget: CostBudget,
    server: FakeServer,
    time: FakeTime,
    *,
    latency: float = 0.002,
    path: str = "/v2/people",
    params: dict[str, Any] | None = None,
    lane: Any = "interactive",
    cost: int = 1,
) -> int:
    """One request through the budget: reserve, reach the server halfway, settle.  Retries 429."""
    while True:
        res: CostReservation = await budget.reserve("GET", path, params, lane)
        try:
            await time.sleep(latency / 2)
            status, hdrs = server.handle(cost)
            await time.sleep(latency / 2)
        except BaseException:
            budget.release(res)
            raise
        budget.settle(res, status, hdrs)
        if status != 429:
            return status
