"""Bulk reading: throughput and budget use, cost at 100,000 records, and memory.

    .venv/bin/python benchmarks/bulk_read.py            # about 1.5 minutes
    .venv/bin/python benchmarks/bulk_read.py --quick    # smaller, for a smoke run

Three claims, each measured against a sandbox running in its own process on 127.0.0.1 (so that
its CPU and memory are not the client's):

1. With realistic page latency (200 ms) and a short budget window, page-number reading and one
   keyset cursor are capped by latency and leave most of the budget unused; concurrent keyset
   slices spend the budget (target: >= 95% of every full window).
2. Reading 100,000 records by page numbers costs about 18,550 (deep pages); by keyset about one
   per page (target: >= 15x less).
3. Peak memory of a keyset read (tracemalloc, client process only) does not grow with the number
   of records (10,000 vs 100,000).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import multiprocessing as mp
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

from salesloft_async import SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.bulk import read_path


def _serve(conn: Connection, options: dict[str, Any]) -> None:
    """Child process: run a sandbox until told to stop; answer stats requests (sandbox-wide
    counters, team 1's spend by window, each team's own under "teams", and its CPU seconds)."""
    from salesloft_async.sandbox import Sandbox

    async def main() -> None:
        async with Sandbox(**options) as sb:
            conn.send((sb.url, {t.id: t.api_key for t in sb.teams.values()}))
            loop = asyncio.get_running_loop()
            while True:
                message = await loop.run_in_executor(None, conn.recv)
                if message == "stats":
                    teams = {
                        t.id: {"counters": dict(t.counters), "spent": dict(t.budget.spent)}
                        for t in sb.teams.values()
                    }
                    totals = {
                        "counters": dict(sb.counters),
                        "spent": teams[1]["spent"],
                        "cpu": time.process_time(),
                    }
                    conn.send({**totals, "teams": teams})
                else:
                    break

    asyncio.run(main())


class RemoteSandbox:
    def __init__(self, **options: Any) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(target=_serve, args=(child, options), daemon=True)
        self.process.start()
        self.url, self.api_keys = self.conn.recv()
        self.api_key = self.api_keys[1]
        self.window = float(options.get("window", 60.0))
        self.budget = int(options.get("budget", 600))

    def stats(self) -> dict[str, Any]:
        self.conn.send("stats")
        stats: dict[str, Any] = self.conn.recv()
        return stats

    def stop(self) -> None:
        self.conn.send("stop")
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


@contextmanager
def sandbox(**options: Any) -> Iterator[RemoteSandbox]:
    remote = RemoteSandbox(**options)
    try:
        yield remote
    finally:
        remote.stop()


async def read(
    sb: RemoteSandbox,
    *,
    mode: str,
    concurrency: int,
    budget: CostBudget | None = None,
    measure_memory: bool = False,
    stop_after: int | None = None,
) -> dict[str, Any]:
    before = sb.stats()
    async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=budget) as sl:
        reader = read_path(sl.transport, "/v2/people", mode=mode, concurrency=concurrency)  # type: ignore[arg-type]
        if measure_memory:
            gc.collect()
            tracemalloc.start()
        started_wall = time.time()
        started = time.perf_counter()
        count = 0
        async with reader:
            async for _ in reader:
                count += 1
                if count == stop_after:
                    break
        elapsed = time.perf_counter() - started
        ended_wall = time.time()
        peak = tracemalloc.get_traced_memory()[1] if measure_memory else 0
        if measure_memory:
            tracemalloc.stop()
    after = sb.stats()
    cost = after["counters"].get("cost", 0) - before["counters"].get("cost", 0)
    requests = after["counters"].get("requests", 0) - before["counters"].get("requests", 0)
    limited = after["counters"].get("rate_limited", 0) - before["counters"].get("rate_limited", 0)
    # budget use: spend in the windows that lie wholly inside the read
    first = math.ceil(started_wall / sb.window)
    last = math.floor(ended_wall / sb.window) - 1
    full = [after["spent"].get(w, 0) for w in range(first, last + 1)]
    use = sum(full) / (len(full) * sb.budget) if full else float("nan")
    return {
        "records": count,
        "seconds": elapsed,
        "rate": count / elapsed,
        "cost": cost,
        "requests": requests,
        "limited": limited,
        "use": use,
        "windows": len(full),
        "overall": cost / (elapsed / sb.window * sb.budget),
        "peak": peak,
    }


def table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    print(f"\n{title}")
    print("| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


async def throughput(
    people: int, sample: int, latency: float, budget: int, window: float, n: int
) -> None:
    with sandbox(people=people, latency=latency, budget=budget, window=window) as sb:
        rows = []
        for label, mode, concurrency, stop in (
            ("page numbers (1 cursor)", "pages", 1, sample),
            ("keyset, 1 cursor", "keyset", 1, sample),
            (f"keyset, {n} concurrent slices", "keyset", n, None),
        ):
            # reserve_share 0: nothing interactive runs here, the bulk lane may take it all
            costs = CostBudget(budget, window, reserve_share=0.0)
            r = await read(sb, mode=mode, concurrency=concurrency, budget=costs, stop_after=stop)
            rows.append(
                [
                    label,
                    f"{r['records']:,}",
                    f"{r['seconds']:.1f}",
                    f"{r['rate']:,.0f}",
                    f"{r['requests']:,}",
                    f"{r['cost']:,}",
                    f"{r['use']:.1%} ({r['windows']})",
                    f"{r['overall']:.1%}",
                    f"{r['limited']}",
                ]
            )
    table(
        f"1. {people:,} people, {latency * 1000:.0f} ms per page, budget {budget} per {window:g}s"
        f" window (the one-cursor readers stop after {sample:,} records: their pace is steady)",
        [
            "reader",
            "records",
            "seconds",
            "records/s",
            "pages",
            "cost",
            "budget use, full windows (n)",
            "budget use, whole read",
            "429s",
        ],
        rows,
    )


async def cost_at_scale(people: int) -> None:
    with sandbox(people=people, budget=10_000_000, window=60) as sb:
        pages = await read(sb, mode="pages", concurrency=1)
        keyset = await read(sb, mode="keyset", concurrency=8)
    rows = [
        ["page numbers", f"{pages['records']:,}", f"{pages['requests']:,}", f"{pages['cost']:,}"],
        [
            "keyset, 8 slices",
            f"{keyset['records']:,}",
            f"{keyset['requests']:,}",
            f"{keyset['cost']:,}",
        ],
    ]
    table(f"2. cost of reading {people:,} people", ["reader", "records", "pages", "cost"], rows)
    print(f"keyset costs {pages['cost'] / keyset['cost']:.1f}x less than page numbers")


async def memory(sizes: list[int]) -> None:
    rows = []
    for size in sizes:
        with sandbox(people=size, budget=10_000_000, window=60) as sb:
            r = await read(sb, mode="keyset", concurrency=8, measure_memory=True)
        rows.append([f"{size:,}", f"{r['records']:,}", f"{r['peak'] / 1e6:.2f}"])
    table(
        "3. peak traced memory of the client during a keyset read (8 slices, records dropped)",
        ["people", "records", "peak MB"],
        rows,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a smoke run")
    parser.add_argument("--part", type=int, choices=[1, 2, 3], action="append")
    args = parser.parse_args()
    parts = set(args.part or [1, 2, 3])
    started = time.perf_counter()
    scale = 10 if args.quick else 1
    if 1 in parts:
        await throughput(30_000 // scale, 5_000 // scale, 0.2, 20, 1.0, 16)
    if 2 in parts:
        await cost_at_scale(100_000 // scale)
    if 3 in parts:
        await memory([10_000 // scale, 100_000 // scale])
    print(f"\n(total {time.perf_counter() - started:.0f}s, Python {sys.version.split()[0]})")


if __name__ == "__main__":
    asyncio.run(main())
