"""Claim: N worker processes sharing one RedisBudget spend the team's whole budget, without 429s.

For 1, 2 and 4 OS processes (each running `--coroutines` coroutines reading people from one
sandbox), prints the share of the budget the server accepted per window, the 429s it served and
the requests completed, for three ways of budgeting:

- ``redis``: one RedisBudget shared by every process (this package);
- ``local-full``: each process its own CostBudget at the full limit (processes unaware of each
  other: they overspend together and collect 429s);
- ``local-split``: each process its own CostBudget at limit/N (the static split people configure
  without shared state: safe, but a process's unused share is lost).

Two workloads: ``even`` (every process runs `--coroutines` busy coroutines) and ``skewed`` (one
busy process; the others make one request every quarter window, like a web app beside an export).

The sandbox runs in this process on the real clock with a short window; Redis is the one at
``--redis`` (default 127.0.0.1:6379), under a key unique to the run, deleted afterwards.

    .venv/bin/python benchmarks/multiprocess.py [--window 2 --limit 60 --windows 4]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import statistics
import sys
import time
import uuid
from collections import Counter
from typing import Any

from salesloft_async import SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.errors import RateLimitedError
from salesloft_async.hooks import BudgetHook
from salesloft_async.redis import RedisBudget, budget_key
from salesloft_async.sandbox import Sandbox

MODES = ("redis", "local-full", "local-split")


# --- child ------------------------------------------------------------------------------------


async def child(opts: argparse.Namespace) -> None:
    budget: BudgetHook
    if opts.mode == "redis":
        budget = RedisBudget(opts.redis, opts.key, limit=opts.limit, window=opts.window)
    elif opts.mode == "local-full":
        budget = CostBudget(opts.limit, opts.window)
    else:
        budget = CostBudget(max(1, opts.limit // opts.processes), opts.window)
    done = failed = 0
    async with SalesloftClient(api_key=opts.api_key, base_url=opts.url, budget=budget) as sl:
        print("ready", flush=True)
        start, end = (float(x) for x in sys.stdin.readline().split()[1:3])
        await asyncio.sleep(max(0.0, start - time.time()))

        async def worker() -> None:
            nonlocal done, failed
            while True:
                try:
                    await sl.request("GET", "/v2/people", params={"per_page": 1})
                    done += 1
                except RateLimitedError:
                    failed += 1
                if opts.think:
                    await asyncio.sleep(opts.think)

        tasks = [asyncio.create_task(worker()) for _ in range(opts.coroutines)]
        await asyncio.sleep(max(0.0, end - time.time()))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if isinstance(budget, RedisBudget):
            await budget.drain()
            await budget.redis.aclose()
    print(json.dumps({"done": done, "failed": failed}), flush=True)


# --- parent -----------------------------------------------------------------------------------


async def run(opts: argparse.Namespace, mode: str, processes: int, workload: str) -> dict[str, Any]:
    key = budget_key(f"bench-{uuid.uuid4().hex[:12]}")
    refused: Counter[int] = Counter()
    async with Sandbox(
        people=200, accounts=10, users=3, window=opts.window, budget=opts.limit
    ) as sb:
        try_spend = sb.budget.try_spend

        def counting(cost: int) -> tuple[bool, int]:
            accepted, left = try_spend(cost)
            if not accepted:
                refused[sb.budget.window_index()] += 1
            return accepted, left

        sb.budget.try_spend = counting  # type: ignore[method-assign]
        args = [
            *("--child", "--mode", mode, "--url", sb.url, "--api-key", sb.api_key),
            *("--redis", opts.redis, "--key", key, "--limit", str(opts.limit)),
            *("--window", str(opts.window), "--processes", str(processes)),
        ]
        light = ["--coroutines", "1", "--think", str(opts.window / 4)]
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable,
                __file__,
                *args,
                *(light if workload == "skewed" and n else ["--coroutines", str(opts.coroutines)]),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
            for n in range(processes)
        ]
        for p in procs:
            assert p.stdout is not None
            assert (await p.stdout.readline()).strip() == b"ready"
        first = math.floor(time.time() / opts.window) + 1
        start, end = first * opts.window, (first + opts.windows) * opts.window
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(f"go {start} {end}\n".encode())
            await p.stdin.drain()
        results = []
        for p in procs:
            assert p.stdout is not None
            results.append(json.loads(await p.stdout.readline()))
            await p.wait()
    if mode == "redis":
        import redis.asyncio as aioredis

        client = aioredis.from_url(opts.redis)
        keys = [k async for k in client.scan_iter(f"{key}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()
    measured = range(first, first + opts.windows)
    spend = [sb.spend_by_window.get(w, 0) / opts.limit for w in measured]
    return {
        "workload": workload,
        "mode": mode,
        "processes": processes,
        "mean": statistics.mean(spend),
        "min": min(spend),
        "429s": sum(refused[w] for w in measured),
        "max429": max(refused[w] for w in measured),
        "done": sum(r["done"] for r in results),
        "failed": sum(r["failed"] for r in results),
    }


async def main(opts: argparse.Namespace) -> None:
    print(
        f"sandbox budget {opts.limit} per {opts.window:g} s window; {opts.coroutines} coroutines"
        f" per process; {opts.windows} measured windows per run\n"
    )
    header = (
        f"{'workload':<8} {'budget':<12} {'procs':>5} {'spent/window':>13} {'worst window':>13}"
        f" {'429s':>5} {'max 429s/window':>16} {'requests ok':>12} {'gave up':>8}"
    )
    print(header)
    print("-" * len(header))
    for workload in ("even", "skewed"):
        for mode in opts.modes:
            for processes in opts.process_counts:
                if workload == "skewed" and processes == 1:
                    continue
                await row(opts, mode, processes, workload)


async def row(opts: argparse.Namespace, mode: str, processes: int, workload: str) -> None:
    r = await run(opts, mode, processes, workload)
    print(
        f"{r['workload']:<8} {r['mode']:<12} {r['processes']:>5} {r['mean']:>12.1%}"
        f" {r['min']:>13.1%} {r['429s']:>5} {r['max429']:>16} {r['done']:>12} {r['failed']:>8}",
        flush=True,
    )


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--mode", default="redis", help=argparse.SUPPRESS)
    p.add_argument("--url", help=argparse.SUPPRESS)
    p.add_argument("--api-key", help=argparse.SUPPRESS)
    p.add_argument("--key", help=argparse.SUPPRESS)
    p.add_argument("--processes", type=int, default=1, help=argparse.SUPPRESS)
    p.add_argument("--think", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    p.add_argument("--limit", type=int, default=60)
    p.add_argument("--window", type=float, default=2.0)
    p.add_argument("--windows", type=int, default=4, help="measured windows per run")
    p.add_argument("--coroutines", type=int, default=50)
    p.add_argument("--process-counts", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES))
    return p.parse_args()


if __name__ == "__main__":
    options = parse()
    asyncio.run(child(options) if options.child else main(options))
