"""The team's cost budget as Salesloft enforces it: a fixed window aligned to the clock.

Window index = floor(clock() / window).  Every metered request costs by the page it reads; when the
cost exceeds what is left of the window the answer is 429 and nothing is spent.  Other integrations
of the team (`background_spend`) spend evenly across each window, so what they have taken at a
moment is known without a background task: the simulation stays exact under a fake clock.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from .config import CostTable, page_cost

__all__ = ["ServerBudget"]


class ServerBudget:
    def __init__(
        self,
        *,
        clock: Callable[[], float],
        limit: int,
        window: float,
        cost_table: CostTable,
        background_spend: int = 0,
    ) -> None:
        if window <= 0:
            raise ValueError("window must be positive")
        self.clock = clock
        self.limit = limit
        self.window = window
        self.cost_table = cost_table
        self.background_spend = background_spend
        #: window index -> cost spent by this sandbox's callers (background spend excluded)
        self.spent: dict[int, int] = {}

    def window_index(self, now: float | None = None) -> int:
        return math.floor((self.clock() if now is None else now) / self.window)

    def background_so_far(self, now: float) -> int:
        if not self.background_spend:
            return 0
        start = self.window_index(now) * self.window
        share = min(1.0, max(0.0, (now - start) / self.window))
        return math.floor(self.background_spend * share)

    def remaining(self, now: float | None = None) -> int:
        now = self.clock() if now is None else now
        used = self.spent.get(self.window_index(now), 0) + self.background_so_far(now)
        return max(0, self.limit - used)

    def cost_of(self, page: int) -> int:
        return page_cost(self.cost_table, max(1, page))

    def try_spend(self, cost: int) -> tuple[bool, int]:
        """Spend `cost` if it fits: (accepted, remaining afterwards)."""
        now = self.clock()
        left = self.remaining(now)
        if cost > left:
            return False, left
        index = self.window_index(now)
        self.spent[index] = self.spent.get(index, 0) + cost
        return True, left - cost
