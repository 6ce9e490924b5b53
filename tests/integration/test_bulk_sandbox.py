"""`read_all` against the sandbox over real sockets: exactly once, cost 1 per page, resumable.

The big sandbox (25,000 people with a same-timestamp cluster larger than a page) is shared by the
read-only tests of this module; tests that write use a small one of their own.  Budgets are
generous so that the tests measure correctness, not speed.
"""

from __future__ import annotations

import asyncio
import math
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from salesloft_async import SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.bulk import BulkRead, FileCheckpoint, MemoryCheckpoint
from salesloft_async.bulk.keyset import Page, parse_ts
from salesloft_async.models import Person
from salesloft_async.sandbox import Sandbox

PEOPLE = 25_000
BIG_BUDGET = 1_000_000

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def big() -> AsyncIterator[Sandbox]:
    async with Sandbox(people=PEOPLE, budget=BIG_BUDGET, window=60) as sandbox:
        yield sandbox


def client(sb: Sandbox) -> SalesloftClient:
    return SalesloftClient(
        api_key=sb.api_key, base_url=sb.url, budget=CostBudget(BIG_BUDGET, 60, reserve_share=0.05)
    )


def spy(read: BulkRead[Any]) -> list[tuple[dict[str, Any], list[int]]]:
    """Record the parameters and ids of every page the reader fetches."""
    pages: list[tuple[dict[str, Any], list[int]]] = []
    source = read.source
    fetch = source.fetch

    async def recording(params: Mapping[str, Any]) -> Page:
        page = await fetch(params)
        pages.append((dict(params), [r["id"] for r in page.records]))
        return page

    source.fetch = recording  # type: ignore[method-assign]
    return pages


def largest_cluster(sb: Sandbox) -> int:
    return max(Counter(u for u, _ in sb.store["people"].by_updated).values())


async def test_every_person_exactly_once_at_cost_one_per_page(big: Sandbox) -> None:
    assert largest_cluster(big) > 100, "the sandbox has a same-timestamp cluster beyond a page"
    before_cost, before_requests = big.counters["cost"], big.counters["requests"]
    async with client(big) as sl:
        read = sl.people.read_all(concurrency=8, raw=True)
        ids = Counter([r["id"] async for r in read])
    assert ids.keys() == set(big.store["people"].ids)
    assert max(ids.values()) == 1, "every id exactly once"
    cost = big.counters["cost"] - before_cost
    requests = big.counters["requests"] - before_requests
    assert requests == read.stats.pages and cost == read.stats.cost
    assert cost <= 1.02 * requests, "every page costs 1 (no deep pages)"
    ideal = math.ceil(PEOPLE / 100)
    # one boundary record per page (1%), one partial page per slice, two probes, the tail
    assert requests <= ideal * 1.02 + 2 * read.stats.slices + 3
    print(f"\n25,000 people: {requests} pages ({requests / ideal:.3f}x ideal), cost {cost}")


async def test_killed_halfway_resumes_with_nothing_lost_and_one_page_per_slice(
    big: Sandbox, tmp_path: Path
) -> None:
    path = tmp_path / "people.ckpt"
    first: list[int] = []
    async with client(big) as sl:
        with pytest.raises(KeyboardInterrupt):
            async with sl.people.read_all(concurrency=8, raw=True, checkpoint=path) as read:
                async for record in read:
                    first.append(record["id"])
                    if len(first) == PEOPLE // 2:
                        raise KeyboardInterrupt  # what Ctrl-C does to the consumer
        saved = await FileCheckpoint(path).load()
        assert saved is not None and not saved["complete"]
        unfinished = sum(1 for s in saved["slices"] if not s["cursor"]["done"])
        requests = big.counters["requests"]
        again = sl.people.read_all(concurrency=8, raw=True, checkpoint=path)
        pages = spy(again)
        second = [r["id"] async for r in again]
    assert set(first) | set(second) == set(big.store["people"].ids)
    assert len(first) == len(set(first)) and len(second) == len(set(second))
    already = set(first)
    reread = [ids for _, ids in pages if already & set(ids)]
    assert len(reread) <= unfinished, "at most one page re-read per unfinished slice"
    # only records of the page being consumed at the interrupt are handed over twice
    assert len(already & set(second)) <= 100
    assert big.counters["requests"] - requests == len(pages)
    assert all(params["per_page"] == 100 for params, _ in pages), "no new plan (probes)"


async def test_cancelled_task_resumes_without_rereading_finished_slices() -> None:
    store = MemoryCheckpoint()
    seen: list[int] = []
    reached = asyncio.Event()
    async with Sandbox(people=6_000, budget=BIG_BUDGET, window=60) as small, client(small) as sl:

        async def consume() -> None:
            async with sl.people.read_all(concurrency=4, raw=True, checkpoint=store) as read:
                async for record in read:
                    seen.append(record["id"])
                    if len(seen) == 5_000:
                        reached.set()
                        await asyncio.sleep(3600)

        task = asyncio.create_task(consume())
        await reached.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert store.state is not None
        done = {
            (s["cursor"]["lo"], s["cursor"]["hi"])
            for s in store.state["slices"]
            if s["cursor"]["done"]
        }
        rest_read = sl.people.read_all(concurrency=4, raw=True, checkpoint=store)
        pages = spy(rest_read)
        rest = [r["id"] async for r in rest_read]
        everyone = set(small.store["people"].ids)
    assert set(seen) | set(rest) == everyone
    assert len(set(seen) & set(rest)) <= 100
    assert len(pages) <= math.ceil(len(set(rest)) / 99) + len(store.state["slices"])
    for params, _ in pages:  # a finished slice is never asked for again
        window = params.get("updated_at") or {}
        bounds = (window.get("gte"), window.get("lt"))
        assert not any(bounds == (parse_ts(lo), parse_ts(hi)) for lo, hi in done if hi)


async def test_models_since_and_concurrent_writes() -> None:
    async with Sandbox(people=3_000, budget=BIG_BUDGET, window=60) as sb, client(sb) as sl:
        col = sb.store["people"]
        since_us = sorted(u for u, _ in col.by_updated)[1_000]
        since = datetime.fromtimestamp(since_us / 1e6, UTC)
        models = [p async for p in sl.people.read_all(since=since, concurrency=3)]
        assert all(isinstance(p, Person) for p in models)
        assert sorted(p.id for p in models) == sorted(i for u, i in col.by_updated if u >= since_us)

        # writes during the read: at least once, and the newest version last
        versions: dict[int, list[str]] = {}
        touched = [col.ids[i] for i in range(0, 3_000, 150)]
        async with sl.people.read_all(concurrency=4, raw=True) as read:
            async for record in read:
                versions.setdefault(record["id"], []).append(record.get("title") or "")
                if sum(map(len, versions.values())) == 1_500:
                    for rid in touched:
                        await sl.people.update(rid, title=f"new-{rid}")
        assert versions.keys() == set(col.ids)
        for rid in touched:
            assert versions[rid][-1] == f"new-{rid}", "the newest version is seen last"
        assert all(len(v) == 1 for rid, v in versions.items() if rid not in touched)


async def test_a_tight_budget_throttles_the_read_and_loses_nothing() -> None:
    # 10 cost a second and 8 cursors: the budget, not latency, sets the pace (about 2 s)
    async with Sandbox(people=2_000, budget=10, window=1) as sb:
        budget = CostBudget(10, 1.0, reserve_share=0.1)
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, budget=budget) as sl:
            read = sl.people.read_all(concurrency=8, raw=True)
            ids = [r["id"] async for r in read]
        assert sorted(ids) == sb.store["people"].ids
        assert len(sb.spend_by_window) >= 2, "the read spanned several windows"
        assert max(sb.spend_by_window.values()) <= 9, "the bulk lane left the reserve alone"
        assert budget.stats.spent == read.stats.cost == sb.counters["cost"]
        assert read.stats.pages <= 20 + 2 * read.stats.slices + 3
