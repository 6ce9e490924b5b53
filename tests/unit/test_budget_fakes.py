"""The fakes the cost-budget tests stand on (`budget_fakes`) do what those tests assume."""

from __future__ import annotations

import asyncio

from .budget_fakes import FakeServer, FakeTime


async def test_fake_time_wakes_sleepers_in_order() -> None:
    time = FakeTime()
    woke: list[float] = []

    async def nap(delay: float) -> None:
        await time.sleep(delay)
        woke.append(time.now)

    tasks = [asyncio.create_task(nap(d)) for d in (0.3, 0.1, 0.2)]
    await time.advance(1.0)
    await asyncio.gather(*tasks)
    assert woke == [1000.1, 1000.2, 1000.3]
    assert time.now == 1001.0


def test_fake_server_window_and_background() -> None:
    time = FakeTime()
    server = FakeServer(time, limit=60, window=2.0, background=20)
    assert server.remaining() == 60
    time.now += 1.0  # half the window: the background has spent 10
    assert server.remaining() == 50
    status, hdrs = server.handle(50)
    assert (status, hdrs["x-ratelimit-remaining-minute"]) == (200, "0")
    assert server.handle(1)[0] == 429
    time.now += 1.0  # the next window
    assert server.remaining() == 60
