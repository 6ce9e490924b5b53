"""`read_all` over a sandbox that cuts bodies, drops connections and answers 503: nothing lost."""

from __future__ import annotations

from collections import Counter

from salesloft_async import RetryPolicy, SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.sandbox import Sandbox

PEOPLE = 12_000


async def no_sleep(seconds: float) -> None:
    return None


async def test_read_all_survives_cut_bodies_dropped_connections_and_503s() -> None:
    async with Sandbox(people=PEOPLE, budget=1_000_000, window=60) as sb:
        sb.faults.add("/v2/people*", truncate_rate=0.02, drop_rate=0.03, error_rate=0.10)
        async with SalesloftClient(
            api_key=sb.api_key,
            base_url=sb.url,
            budget=CostBudget(1_000_000, 60),
            retry=RetryPolicy(max_attempts=8, base=0.01, cap=0.05),
            sleep=no_sleep,
        ) as sl:
            read = sl.people.read_all(concurrency=4, raw=True)
            ids = Counter([record["id"] async for record in read])
        assert ids.keys() == set(sb.store["people"].ids)
        assert max(ids.values()) == 1, "every record exactly once"
        for fault in ("truncate", "drop", "error"):
            assert sb.counters[f"fault:{fault}"] > 0, f"no {fault} fault was injected"
        print(
            f"\n{PEOPLE} people through faults: {read.stats.pages} pages,"
            f" {sb.counters['fault:truncate']} cut, {sb.counters['fault:drop']} dropped,"
            f" {sb.counters['fault:error']} 503s"
        )
