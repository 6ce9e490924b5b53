"""Claim: one process, through one SalesloftPool, keeps 25 or more teams at Salesloft's full budget
per core of CPU.

    .venv/bin/python benchmarks/many_teams.py                      # about 1 minute
    .venv/bin/python benchmarks/many_teams.py --teams 4 --teams 8 --windows 3

Salesloft's budget is 600 cost per minute per team; a page of 100 records at cost 1 makes that
about 1,000 records per second per team.  The sandbox (in its own process, so that its CPU is not
the client's) serves N teams with a short window and a budget of `--budget` per window each, i.e.
`budget * 100 / window` records per second per team, several times Salesloft's.  One client
process reads every team at once through one pool: one CostBudget per team (made by the pool's
`budget_for`, the team learned from /v2/me), `--readers` coroutines per team walking
``people.list(per_page=100)`` into Person models.

Measured over `--windows` whole windows after one window of warm-up: each team's share of its
budget the server accepted (target >= 95%, the worst team is shown), 429s (target 0), records per
second, and the client process's CPU time (`time.process_time`, so that other load on a shared
machine does not count).  Records per CPU-second divided by 1,000 is how many teams at Salesloft's
real budget one core can keep at full speed (target >= 25): the client's work per record does not
depend on how fast a team's budget refills.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from typing import Any

from bulk_read import RemoteSandbox, sandbox, table

from salesloft_async import CostBudget, SalesloftPool

SALESLOFT_RECORDS_PER_SECOND = 1_000  # 600 cost a minute, 100 records a page at cost 1


async def run(sb: RemoteSandbox, teams: int, opts: argparse.Namespace) -> list[str]:
    records = 0
    window = opts.window

    async with SalesloftPool(
        base_url=sb.url,
        # nothing interactive runs here: the reads may take the whole budget
        budget_for=lambda team: CostBudget(opts.budget, window, reserve_share=0.0),
    ) as pool:

        async def reader(key: str) -> None:
            nonlocal records
            sl = pool.client(key)  # one client per reader, all on the pool's session
            while True:
                async for _ in sl.people.list(per_page=100):
                    records += 1

        tasks = [
            asyncio.create_task(reader(sb.api_keys[t]))
            for t in range(1, teams + 1)
            for _ in range(opts.readers)
        ]
        # warm up for a window, then measure whole sandbox windows (floor(time / window))
        start_window = math.floor(time.time() / window) + 2
        await asyncio.sleep(start_window * window - time.time())
        cpu0, wall0, records0 = time.process_time(), time.perf_counter(), records
        server0 = sb.stats()["cpu"]
        end_window = start_window + opts.windows
        await asyncio.sleep(end_window * window - time.time())
        cpu, wall, done = (
            time.process_time() - cpu0,
            time.perf_counter() - wall0,
            records - records0,
        )
        server = sb.stats()["cpu"] - server0
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        lookups = pool.lookups
    stats: dict[str, Any] = sb.stats()["teams"]
    uses = [
        sum(stats[t]["spent"].get(w, 0) for w in range(start_window, end_window))
        / (opts.windows * opts.budget)
        for t in range(1, teams + 1)
    ]
    limited = sum(stats[t]["counters"].get("rate_limited", 0) for t in range(1, teams + 1))
    per_cpu = done / cpu
    return [
        f"{teams}",
        f"{done:,}",
        f"{done / wall:,.0f}",
        f"{cpu:.2f} / {server:.2f} / {wall:.2f}",
        f"{per_cpu:,.0f}",
        f"{per_cpu / SALESLOFT_RECORDS_PER_SECOND:.1f}",
        f"{min(uses):.1%} / {statistics.mean(uses):.1%}",
        f"{limited}",
        f"{lookups}",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teams", type=int, action="append", help="repeatable; default 4 8 12")
    parser.add_argument("--budget", type=int, default=20, help="cost per window per team")
    parser.add_argument("--window", type=float, default=2.0, help="seconds")
    parser.add_argument("--windows", type=int, default=4, help="whole windows measured")
    parser.add_argument("--readers", type=int, default=4, help="coroutines per team")
    parser.add_argument("--people", type=int, default=2_000, help="per team")
    opts = parser.parse_args()
    rows = []
    for teams in opts.teams or [4, 8, 12]:
        with sandbox(
            teams=teams,
            people=opts.people,
            accounts=50,
            users=3,
            budget=opts.budget,
            window=opts.window,
        ) as sb:
            rows.append(await run(sb, teams, opts))
    per_team = opts.budget * 100 / opts.window
    table(
        f"one client process, one SalesloftPool; sandbox in its own process; budget {opts.budget}"
        f" per {opts.window:g} s window per team ({per_team:,.0f} records/s per team at 100 per"
        f" page); {opts.readers} readers per team; {opts.windows} whole windows measured",
        [
            "teams",
            "records",
            "records/s",
            "CPU s client / sandbox, wall s",
            "records per CPU-s",
            "teams per core at 1,000 records/s",
            "budget use, worst / mean team",
            "429s",
            "/v2/me lookups",
        ],
        rows,
    )
    print(f"\n(Python {sys.version.split()[0]})")


if __name__ == "__main__":
    asyncio.run(main())
