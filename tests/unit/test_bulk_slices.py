"""Concurrent slices, checkpoints and flow control of `BulkRead`, on a fake page source."""

from __future__ import annotations

import asyncio
import itertools
import random
import re
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from salesloft_async.bulk import FileCheckpoint, MemoryCheckpoint, read_path
from salesloft_async.bulk.keyset import Page
from salesloft_async.bulk.slices import BulkRead, plan_bounds
from salesloft_async.errors import ConfigurationError
from salesloft_async.transport import Response

from .test_bulk_keyset import T0, FakeSource, people


def dataset(n: int = 1_000, cluster: int = 37, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    stamps = sorted(rng.uniform(0, 86_400) for _ in range(n - cluster))
    stamps += [43_200.5] * cluster  # a bulk import: one instant, more than a page
    rng.shuffle(stamps)
    return people(stamps)


def reader(source: FakeSource, **options: Any) -> BulkRead[dict[str, Any]]:
    options.setdefault("concurrency", 4)
    options.setdefault("per_page", 10)
    return BulkRead(source, identity={"path": "/fake"}, decode=list, **options)


class Gate(FakeSource):
    """Counts how many pages are out at once, and how many records are held but not consumed."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        super().__init__(records)
        self.in_flight = 0
        self.peak = 0

    async def fetch(self, params: Mapping[str, Any]) -> Page:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await asyncio.sleep(0)
            return await super().fetch(params)
        finally:
            self.in_flight -= 1


async def test_concurrent_slices_hand_over_every_id_exactly_once() -> None:
    records = dataset()
    source = Gate(records)
    read = reader(source)
    got = [r["id"] async for r in read]
    assert Counter(got) == Counter(r["id"] for r in records)
    assert 2 < source.peak <= 4, "cursors ran concurrently, never more than four"
    assert read.stats.slices >= 5  # 4 planned + the tail (+ splits)
    assert all(c.get("page", 1) <= 4 for c in source.calls), "no deep pages"
    assert read.complete


async def test_idle_cursors_split_the_busiest_slice() -> None:
    # everything in the last quarter of the range: an even time split leaves three cursors idle
    stamps = [0.0] + [float(75_000 + i) for i in range(600)] + [86_400.0]
    source = FakeSource(people(stamps))
    read = reader(source)
    got = [r["id"] async for r in read]
    assert sorted(got) == list(range(1, 603))
    assert read.stats.slices > 5, "idle cursors took over half of the heavy slice"


def test_plan_bounds_cover_the_range_without_gaps() -> None:
    from datetime import timedelta

    bounds = plan_bounds(T0, T0 + timedelta(seconds=10), 3)
    assert bounds[0][0] == T0 and bounds[-1][1] == T0 + timedelta(seconds=10)
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    assert len(plan_bounds(T0, T0 + timedelta(microseconds=2), 8)) == 2


async def test_empty_list_reads_one_page_and_finishes() -> None:
    source = FakeSource([])
    assert [r async for r in reader(source)] == []
    assert len(source.calls) == 1


async def test_a_worker_waits_for_its_page_to_be_consumed() -> None:
    source = Gate(dataset(300, cluster=0))
    read = reader(source, concurrency=3)
    iterator = aiter(read)
    await anext(iterator)
    for _ in range(5):
        await asyncio.sleep(0)
    # planning (2 probes) then one page per cursor, and nothing more until the consumer moves
    assert len(source.calls) <= 2 + 3
    await read.aclose()


async def test_resume_after_the_consumer_raises_loses_nothing() -> None:
    records = dataset()
    store = MemoryCheckpoint()
    first: list[int] = []
    with pytest.raises(RuntimeError):
        async with reader(FakeSource(records), checkpoint=store) as read:
            async for record in read:
                first.append(record["id"])
                if len(first) == 400:
                    raise RuntimeError("consumer crashed")
    assert store.state is not None and not store.state["complete"]
    second_source = FakeSource(records)
    second = [r["id"] async for r in reader(second_source, checkpoint=store)]
    assert set(first) | set(second) == {r["id"] for r in records}
    # what was handed over before the last commit is not handed over again
    committed = store.state is not None and store.state["complete"]
    assert committed
    repeated = set(first) & set(second)
    assert len(repeated) <= 10 * 5, "at most one page per slice is read again"
    assert second_source.calls[0].get("sort_direction") != "DESC", "no new plan on resume"


async def test_resume_after_cancellation_skips_finished_slices() -> None:
    # the first quarter of the day is quiet: its slice finishes long before the others
    rng = random.Random(5)
    stamps = [rng.uniform(0, 21_600) for _ in range(50)]
    stamps += [rng.uniform(21_600, 86_400) for _ in range(950)]
    records = people(stamps)
    store = MemoryCheckpoint()
    seen: list[int] = []

    reached = asyncio.Event()

    async def consume() -> None:
        async with reader(FakeSource(records), checkpoint=store, split=False) as read:
            async for record in read:
                seen.append(record["id"])
                if len(seen) == 500:
                    reached.set()
                    await asyncio.sleep(3600)

    task = asyncio.create_task(consume())
    await reached.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert store.state is not None
    finished = [s for s in store.state["slices"] if s["cursor"]["done"]]
    assert finished, "some slices were finished before the cancel"
    source = FakeSource(records)
    rest = [r["id"] async for r in reader(source, checkpoint=store)]
    assert set(seen) | set(rest) == {r["id"] for r in records}
    assert len(set(seen) & set(rest)) <= 10 * len(store.state["slices"])
    done_bounds = {(s["cursor"]["lo"], s["cursor"]["hi"]) for s in finished}
    for call in source.calls:
        window = call.get("updated_at") or {}
        assert (window.get("gte"), window.get("lt")) not in done_bounds


async def test_a_finished_checkpoint_reads_nothing_and_a_foreign_one_is_refused() -> None:
    store = MemoryCheckpoint()
    records = dataset(100, cluster=0)
    assert len([r async for r in reader(FakeSource(records), checkpoint=store)]) == 100
    again = FakeSource(records)
    assert [r async for r in reader(again, checkpoint=store)] == []
    assert again.calls == []
    other = BulkRead(
        FakeSource(records), identity={"path": "/other"}, decode=list, checkpoint=store
    )
    with pytest.raises(ConfigurationError, match="different read"):
        [r async for r in other]


async def test_a_foreign_checkpoint_file_is_refused_by_its_path(tmp_path: Path) -> None:
    path = tmp_path / "people.ckpt"
    records = dataset(30, cluster=0)
    assert (
        len([r async for r in reader(FakeSource(records), checkpoint=FileCheckpoint(path))]) == 30
    )
    other = BulkRead(
        FakeSource(records),
        identity={"path": "/other"},
        decode=list,
        checkpoint=FileCheckpoint(path),
    )
    with pytest.raises(ConfigurationError, match=f"checkpoint {re.escape(str(path))} belongs to"):
        [r async for r in other]


class FakeTransport:
    """Stands in for `Transport.request`: records the calls, answers from a FakeSource."""

    def __init__(self, source: FakeSource) -> None:
        self.source = source
        self.calls: list[tuple[str, dict[str, Any], str, str]] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        lane: str = "interactive",
        expect: str = "any",
    ) -> Response:
        params = dict(params or {})
        self.calls.append((path, params, lane, expect))
        page = await self.source.fetch(params)
        paging: dict[str, Any] = {}
        if page.total_count is not None:
            paging["total_count"] = page.total_count
        return Response(
            200,
            {"x-ratelimit-endpoint-cost": "1", "x-ratelimit-remaining-minute": "42"},
            {"data": list(page.records), "metadata": {"paging": paging}},
        )


async def test_filters_pass_through_and_every_request_is_on_the_bulk_lane() -> None:
    transport = FakeTransport(FakeSource(dataset(250, cluster=0)))
    read = read_path(transport, "/v2/people", owner_id=[7], concurrency=2, per_page=50)  # type: ignore[arg-type]
    got = [r async for r in read]
    assert len(got) == 250
    assert all(p["owner_id"] == [7] for _, p, _, _ in transport.calls)
    assert all(lane == "bulk" and expect == "list" for _, _, lane, expect in transport.calls)
    assert read.stats.pages == len(transport.calls) and read.stats.cost == len(transport.calls)
    assert read.stats.remaining == 42 and read.stats.total == 250


async def test_since_is_a_lower_bound_and_reserved_filters_are_refused() -> None:
    from datetime import timedelta

    transport = FakeTransport(FakeSource(people([float(i) for i in range(100)])))
    since = T0 + timedelta(seconds=60)
    got = [r["id"] async for r in read_path(transport, "/v2/people", since=since)]  # type: ignore[arg-type]
    assert sorted(got) == list(range(61, 101))
    with pytest.raises(ConfigurationError, match="since="):
        read_path(transport, "/v2/people", updated_at={"gt": since})  # type: ignore[arg-type]


async def test_until_is_an_exclusive_upper_bound_and_no_tail_is_read() -> None:
    from datetime import timedelta

    source = FakeSource(people([float(i) for i in range(500)]))
    transport = FakeTransport(source)
    since, until = T0 + timedelta(seconds=100), T0 + timedelta(seconds=400)
    read = read_path(transport, "/v2/people", since=since, until=until, concurrency=2, per_page=10)  # type: ignore[arg-type]
    got = [r["id"] async for r in read]
    assert sorted(got) == list(range(101, 401))
    assert all((c.get("updated_at") or {}).get("lt", until) <= until for c in source.calls)
    assert all("gt" in w or "gte" in w for c in source.calls if (w := c.get("updated_at")))
