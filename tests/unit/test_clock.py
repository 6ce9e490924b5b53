"""`ManualClock`: a clock and a sleep that take no real time."""

from __future__ import annotations

import asyncio
import time

from salesloft_async.testing import ManualClock


async def test_sleep_moves_the_clock_and_takes_no_real_time() -> None:
    clock = ManualClock(start=100.0)
    began = time.monotonic()
    await clock.sleep(3600)
    await clock.sleep(-5)  # a deadline already passed: no step back
    assert clock() == 3700.0
    assert time.monotonic() - began < 60  # an hour of sleeping did not happen


async def test_a_sleep_cancelled_before_it_starts_moves_nothing() -> None:
    clock = ManualClock(start=0.0)
    task = asyncio.create_task(clock.sleep(60))
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    assert clock() == 0.0


def test_advance_and_set() -> None:
    clock = ManualClock()
    assert clock() == 1_767_225_600.0  # 2026-01-01T00:00:00Z, a whole minute
    assert clock.advance(1.5) == 1_767_225_601.5
    clock.set(7)
    assert clock() == 7.0 and "7.0" in repr(clock)
