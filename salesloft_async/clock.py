"""`ManualClock`: time that a test moves, for everything here that takes a `clock` and a `sleep`.

Budgets wait out windows, token managers refresh before expiry, retries back off, and the sandbox
expires tokens and resets windows: all of it reads an injected clock and sleeps through an injected
`sleep`, so one `ManualClock` passed as both makes a 60-second window or a 2-hour token pass in no
real time.  Its `sleep` moves the clock forward by the requested delay at once (then lets other
tasks run), so code that waits simply finds the moment it waited for has come; `advance` moves it
by hand.  It reads epoch seconds, so it also serves where a wall clock is wanted (``wall_clock=``,
token expiry, ``Date`` headers).

The module imports nothing heavy: the pytest plugin re-exports it, and the plugin is loaded in
every pytest run of every project that installs this package.
"""

from __future__ import annotations

import asyncio

__all__ = ["ManualClock"]


class ManualClock:
    """Epoch seconds that stand still until moved; pass it as `clock` (and `sleep=clock.sleep`).

    :param start: the first reading; 2026-01-01T00:00:00Z by default, a whole minute, so a
        60-second budget window starts exactly at it.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.now = float(start)

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move forward by `seconds` and return the new reading."""
        self.now += seconds
        return self.now

    def set(self, now: float) -> None:
        self.now = float(now)

    async def sleep(self, seconds: float) -> None:
        """Sleep in no real time: the clock jumps ahead by `seconds`, then other tasks run.

        A task cancelled before it starts to sleep moves nothing, so a timer that is re-armed
        before it runs does not push time forward.  Tasks that sleep at the same time each move
        it by their own delay, so it tells that a wait passes, not how long several took together.
        """
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now!r})"
