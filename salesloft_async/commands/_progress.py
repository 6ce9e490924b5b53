"""The export's status line: one line that fits the terminal and says when the budget holds it up.

On a terminal the line is redrawn in place, so it must never be wider than the terminal: a wrapped
line cannot be erased by a carriage return and leaves a stale copy at every redraw.  Fields are
ranked; the least useful are dropped until the line fits, and what still does not fit is cut.
When output is not a terminal (a log, a pipe) a full plain line is printed every few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Literal, TextIO

from ..bulk import BulkStats

__all__ = ["Progress", "plural"]

SEPARATOR = " · "


def plural(count: int, word: str) -> str:
    """``1 page``, ``2 pages``, ``1,000 pages``."""
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def fit(fields: list[tuple[int, str]], width: int) -> str:
    """Join `fields` ((rank, text), in display order) within `width`, dropping the highest ranks."""
    kept = list(fields)
    while len(kept) > 1 and len(SEPARATOR.join(text for _, text in kept)) > width:
        kept.remove(max(kept, key=lambda field: field[0]))
    line = SEPARATOR.join(text for _, text in kept)
    return line if len(line) <= width else line[: max(0, width - 1)] + "…"


class Progress:
    """Shows a bulk read's `stats` and its `budget`'s on `err` while `running()`.

    :param name: what is read (the resource), first on the line.
    :param stats: the read's live numbers.
    :param budget: the cost budget (anything with a `stats` like `CostBudget.stats`).
    :param mode: "auto" redraws on a terminal and prints plain lines otherwise; "on" always redraws;
        "off" prints nothing.
    :param err: the stream to write to.
    :param width: the terminal's width, asked at every redraw (it can change).
    :param clock: the budget's clock (monotonic seconds), to say how long a wait will last.
    """

    def __init__(
        self,
        name: str,
        stats: BulkStats,
        budget: Any,
        *,
        mode: Literal["auto", "on", "off"],
        err: TextIO,
        width: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.stats = stats
        self.budget = budget
        self.err = err
        self.enabled = mode != "off"
        self.inline = mode == "on" or (mode == "auto" and err.isatty())
        self.every = 0.25 if self.inline else 5.0
        self.width = width or (lambda: shutil.get_terminal_size((80, 24)).columns)
        self.clock = clock

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        ticker = asyncio.create_task(self._tick())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            self.show(final=True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.show()

    def waiting(self) -> float | None:
        """Seconds until the budget's window turns while every request waits for it, else None."""
        b = self.budget.stats
        if not b.queued or b.in_flight:
            return None
        if b.window_start is None:
            return 0.0
        left: float = b.window_start + b.window - self.clock()
        return max(0.0, left)

    def fields(self, final: bool = False) -> list[tuple[int, str]]:
        """(rank, text) in display order; rank 0 is kept longest."""
        s = self.stats
        b = self.budget.stats
        total = f"/{s.total:,}" if s.total is not None else ""
        fields = [(0, f"{self.name}: {s.records:,}{total} records")]
        wait = None if final else self.waiting()
        if wait is not None:
            fields.append((1, f"waiting for budget {wait:.0f}s"))
        if s.eta is not None and not final:
            fields.append((2, f"ETA {s.eta:.0f}s"))
        fields.append((4, f"{s.rate:,.0f} rec/s"))
        fields.append((3, plural(s.pages, "page")))
        fields.append((5, f"cost {s.cost:,}"))
        fields.append((6, f"budget left {b.remaining}/{b.limit}"))
        if b.rate_limited:
            fields.append((7, f"{b.rate_limited} x 429"))
        return fields

    def show(self, final: bool = False) -> None:
        if not self.enabled:
            return
        fields = self.fields(final)
        if self.inline:
            # one column spare: a line that fills the last column wraps on some terminals
            line = fit(fields, self.width() - 1)
            end = "\n" if final else ""
            print(f"\r\x1b[2K{line}", end=end, file=self.err, flush=True)
        else:
            print(SEPARATOR.join(text for _, text in fields), file=self.err, flush=True)
