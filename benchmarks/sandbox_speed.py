"""Claim: the sandbox starts in under 2 s with 25,000 people and serves a 100-record page in a
few milliseconds, so that benchmarks measure the client, not the sandbox.

Run: .venv/bin/python benchmarks/sandbox_speed.py [--people 25000] [--repeat 3]
Talks only to 127.0.0.1; bounded (well under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp

from salesloft_async.sandbox import Sandbox, SandboxConfig
from salesloft_async.sandbox.store import iso_from_us


async def timed(fn: Callable[[], Awaitable[object]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


async def main(people: int, repeat: int) -> None:
    config = SandboxConfig(people=people, budget=10**9)
    starts, cpu = [], []
    for _ in range(repeat):
        begin, begin_cpu = time.perf_counter(), time.process_time()
        sb = await Sandbox(config).start()
        starts.append(time.perf_counter() - begin)
        cpu.append(time.process_time() - begin_cpu)
        await sb.stop()
    rows: list[tuple[str, str, str]] = [
        (
            f"start-up, {people:,} people (+ all collections), wall",
            f"{min(starts):.2f} s",
            f"{statistics.median(starts):.2f} s",
        ),
        (
            "start-up, CPU time of this process",
            f"{min(cpu):.2f} s",
            f"{statistics.median(cpu):.2f} s",
        ),
    ]
    async with Sandbox(config) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        records = sum(len(c) for c in sb.store.collections.values())
        async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as http:
            page = iter(range(1, 10**6))

            async def get(params: dict[str, str]) -> None:
                async with http.get("/v2/people", params=params) as resp:
                    assert resp.status == 200
                    await resp.read()

            async def cold() -> None:  # a page never served before: serialization included
                await get({"per_page": "100", "page": str(next(page))})

            async def warm() -> None:
                await get({"per_page": "100", "page": "1"})

            stamps = sorted(u for _, u in sb.store["people"].times.values())
            cursor = iso_from_us(stamps[len(stamps) // 2])

            async def poller() -> None:
                await get(
                    {
                        "per_page": "100",
                        "sort_by": "updated_at",
                        "sort_direction": "ASC",
                        "updated_at[gt]": cursor,
                    }
                )

            async def filtered() -> None:
                await get({"per_page": "100", "account_id[]": "7", "include_paging_counts": "1"})

            async def counted() -> None:
                await get({"per_page": "100", "page": "120", "include_paging_counts": "true"})

            await warm()
            await filtered()  # builds the equality index once
            for label, fn in (
                ("GET 100-record page, first time (cold)", cold),
                ("GET 100-record page, served before (warm)", warm),
                ("cursor poller page (updated_at[gt], ASC)", poller),
                ("filtered page (account_id[], with counts)", filtered),
                ("page 120 with include_paging_counts", counted),
            ):
                samples = await timed(fn, 40)
                rows.append(
                    (label, f"{min(samples):.2f} ms", f"{statistics.median(samples):.2f} ms")
                )
    width = max(len(r[0]) for r in rows)
    print(f"sandbox speed ({records:,} records seeded; round trips over 127.0.0.1, aiohttp client)")
    print(f"{'measure':<{width}}  {'best':>9}  {'median':>9}")
    print(f"{'-' * width}  {'-' * 9}  {'-' * 9}")
    for label, best, median in rows:
        print(f"{label:<{width}}  {best:>9}  {median:>9}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=25_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.repeat))
