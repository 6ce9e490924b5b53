"""Checkpoint stores and the page-number fallback."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from salesloft_async.bulk import FileCheckpoint, MemoryCheckpoint, read_path
from salesloft_async.bulk.checkpoint import as_store
from salesloft_async.errors import ConfigurationError

from .test_bulk_keyset import FakeSource, people
from .test_bulk_slices import FakeTransport


async def test_file_checkpoint_round_trips_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "read.ckpt"
    store = FileCheckpoint(path)
    assert await store.load() is None
    await store.save({"a": 1})
    await store.save({"a": 2, "b": [1, 2]})
    assert await store.load() == {"a": 2, "b": [1, 2]}
    assert [p.name for p in path.parent.iterdir()] == ["read.ckpt"], "no temporary file left"
    path.write_text("{not json")
    with pytest.raises(ConfigurationError, match="delete it"):
        await store.load()


def test_as_store_takes_paths_and_stores_only() -> None:
    assert isinstance(as_store("x.ckpt"), FileCheckpoint)
    memory = MemoryCheckpoint()
    assert as_store(memory) is memory
    assert as_store(None) is None
    with pytest.raises(ConfigurationError):
        as_store(42)  # type: ignore[arg-type]


async def test_page_number_fallback_reads_every_page_and_resumes_by_page() -> None:
    source = FakeSource(people([float(i) for i in range(250)]))
    transport = FakeTransport(source)
    store = MemoryCheckpoint()
    first: list[int] = []
    with pytest.raises(RuntimeError):
        read = read_path(transport, "/v2/groups", mode="pages", per_page=100, checkpoint=store)  # type: ignore[arg-type]
        async with read:
            async for record in read:
                first.append(record["id"])
                if len(first) == 150:
                    raise RuntimeError("stop")
    assert read.stats.mode == "pages"
    assert store.state is not None
    assert store.state["slices"][0]["cursor"] == {"page": 2, "done": False}
    again = read_path(transport, "/v2/groups", mode="pages", per_page=100, checkpoint=store)  # type: ignore[arg-type]
    rest = [r["id"] async for r in again]
    assert sorted(set(first) | set(rest)) == list(range(1, 251))
    pages: list[Any] = [p.get("page") for _, p, _, _ in transport.calls]
    assert pages == [1, 2, 2, 3], "page 2 (half handed over) is read again, then page 3"
    assert all("sort_by" not in p for _, p, _, _ in transport.calls)
    with pytest.raises(ConfigurationError, match="since"):
        read_path(transport, "/v2/groups", mode="pages", since="2026-01-01T00:00:00Z")  # type: ignore[arg-type]


async def test_checkpoint_is_saved_only_after_the_page_was_handed_over() -> None:
    store = MemoryCheckpoint()
    transport = FakeTransport(FakeSource(people([float(i) for i in range(30)])))
    read = read_path(transport, "/v2/people", per_page=10, concurrency=1, checkpoint=store)  # type: ignore[arg-type]
    iterator = aiter(read)
    for _ in range(10):
        await anext(iterator)
    assert store.saves == 0, "the tenth record is out, but the consumer has not asked for more"
    await anext(iterator)
    assert store.saves == 1
    state = json.loads(json.dumps(store.state))
    assert state["records"] == 10, "the checkpoint counts what was handed over before it"
    assert state["slices"][0]["cursor"]["seen"] == [10]
    await read.aclose()


def test_a_list_that_ignores_paging_is_read_once() -> None:
    from salesloft_async.bulk import Page, PageCursor

    records, nxt = PageCursor().advance(Page(people([1.0] * 150)), per_page=100)
    assert len(records) == 150 and nxt.done
