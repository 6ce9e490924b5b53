"""How much of the team's cost budget each strategy spends, and how many 429s it causes.

Claim: with `CostBudget`, many concurrent coroutines spend >= 97% of the budget of every window
with zero 429s when alone, and stay at most one 429 per window while other integrations spend from
the same budget unseen.

For each strategy, 50 coroutines read ``GET /v2/people`` as fast as they are let through, against
the sandbox on 127.0.0.1 with a short window, alone and with background spend (other integrations
of the team, which the sandbox spends evenly over each window).  Strategies:

* ``CostBudget``        this package's budget;
* ``paced``             the same with ``pace=True`` (spend spread evenly over the window);
* ``no budget``         the transport's retry policy on 429 only (what a naive client does);
* ``80% pacer``         a fixed aiolimiter leaky bucket at 80% of the budget, no header reading
                        (what peer connectors do);
* ``random Date``       `CostBudget` against a sandbox whose ``Date`` header is random (up to a
                        year off) on every answer: a hostile clock must not stall the budget.

Only whole windows are measured (the first and the last, partial, are dropped).  "used" is our
cost the server accepted per window as a share of the budget: mean and worst window.

    .venv/bin/python benchmarks/budget_utilization.py [--window 2] [--budget 60] [--windows 5]
"""

from __future__ import annotations

import argparse
import asyncio
import email.utils
import random
import statistics
import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from aiolimiter import AsyncLimiter

from salesloft_async.budget import CostBudget
from salesloft_async.client import SalesloftClient
from salesloft_async.errors import RateLimitedError
from salesloft_async.hooks import BudgetHook, Lane
from salesloft_async.retry import RetryPolicy
from salesloft_async.sandbox import Sandbox


class FixedPacer:
    """A peer connector's approach: a leaky bucket at a fixed share of the budget, blind to
    the server's headers and to everyone else's spend."""

    handles_rate_limit = False

    def __init__(self, limit: int, window: float, share: float = 0.8) -> None:
        self.limiter = AsyncLimiter(limit * share, window)

    async def reserve(
        self, method: str, path: str, params: Mapping[str, Any] | None, lane: Lane
    ) -> object:
        await self.limiter.acquire(1)
        return object()

    def settle(self, reservation: object, status: int, headers: Mapping[str, str]) -> None:
        pass

    def release(self, reservation: object) -> None:
        pass


def random_dates(sb: Sandbox, rng: random.Random) -> None:
    """Make every answer's ``Date`` a random moment up to a year from the truth."""

    async def lie(request: web.Request, response: web.StreamResponse) -> None:
        wrong = sb.clock() + rng.uniform(-365 * 86400, 365 * 86400)
        response.headers["Date"] = email.utils.formatdate(wrong, usegmt=True)

    sb.app.on_response_prepare.append(lie)  # runs after the sandbox's own (honest) stamp


async def run_one(
    name: str, *, limit: int, window: float, windows: int, background: int, workers: int
) -> dict[str, Any]:
    sandbox = Sandbox(
        people=100, accounts=10, window=window, budget=limit, background_spend=background
    )
    if name == "random Date":
        random_dates(sandbox, random.Random(1))
    async with sandbox as sb:
        budget: BudgetHook | None
        if name in ("CostBudget", "random Date"):
            budget = CostBudget(limit, window)
        elif name == "paced":
            budget = CostBudget(limit, window, pace=True)
        elif name == "80% pacer":
            budget = FixedPacer(limit, window)
        else:
            budget = None
        retry = RetryPolicy(max_attempts=8, base=0.05, cap=window, max_elapsed=10 * window)
        async with SalesloftClient(
            api_key=sb.api_key, base_url=sb.url, budget=budget, retry=retry
        ) as sl:
            # Start at an arbitrary moment of a window (as a real process does) and measure the
            # whole windows after it.
            now = sb.clock()
            await asyncio.sleep((sb.budget.window_index(now) + 1.37) * window - now)
            first = sb.budget.window_index() + 1
            deadline = time.monotonic() + (windows + 0.63) * window
            completed = 0
            gave_up = 0

            async def worker() -> None:
                nonlocal completed, gave_up
                while time.monotonic() < deadline:
                    try:
                        # A budget that stalls is stopped a window after the deadline.
                        async with asyncio.timeout(deadline - time.monotonic() + window):
                            await sl.request("GET", "/v2/people", params={"per_page": 1})
                        completed += 1
                    except RateLimitedError:
                        gave_up += 1
                    except TimeoutError:
                        return

            await asyncio.gather(*(worker() for _ in range(workers)))
        spent = [sb.spend_by_window.get(first + k, 0) for k in range(windows)]
        return {
            "strategy": name,
            "background": background,
            "mean_used": statistics.mean(spent) / limit,
            "min_used": min(spent) / limit,
            "r429": sb.counters["status:429"],
            "per_window_429": sb.counters["status:429"] / (windows + 0.63),
            "completed": completed,
            "gave_up": gave_up,
        }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--window", type=float, default=2.0)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--windows", type=int, default=5, help="whole windows measured per run")
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--background", type=float, default=0.2, help="share of the budget")
    parser.add_argument("--strategies", default="CostBudget,paced,no budget,80% pacer,random Date")
    args = parser.parse_args()
    background = round(args.budget * args.background)
    rows = []
    for spend in (0, background):
        for name in args.strategies.split(","):
            rows.append(
                await run_one(
                    name,
                    limit=args.budget,
                    window=args.window,
                    windows=args.windows,
                    background=spend,
                    workers=args.workers,
                )
            )
    print(
        f"sandbox budget {args.budget} per {args.window:g}s window, {args.workers} coroutines, "
        f"{args.windows} whole windows measured per run\n"
    )
    header = (
        f"{'strategy':<12} {'background':>10} {'used (mean)':>11} {'used (worst)':>12} "
        f"{'429s':>5} {'429s/window':>11} {'completed':>9} {'gave up':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['strategy']:<12} {r['background']:>10} {r['mean_used']:>11.1%} "
            f"{r['min_used']:>12.1%} {r['r429']:>5} {r['per_window_429']:>11.2f} "
            f"{r['completed']:>9} {r['gave_up']:>7}"
        )
    print(
        "\nused = our cost the server accepted per whole window / budget.  The sandbox spends the"
        " others' share evenly over each window and only from what is left, so a client that"
        " spends early in the window takes more of it."
    )


if __name__ == "__main__":
    asyncio.run(main())
