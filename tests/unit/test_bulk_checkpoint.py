"""Checkpoint stores and the page-number fallback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from salesloft_async.bulk import FileCheckpoint, MemoryCheckpoint, read_path
from salesloft_async.bulk import checkpoint as checkpoint_module
from salesloft_async.bulk.checkpoint import OutputCheckpoint, as_store, output_digest
from salesloft_async.errors import ConfigurationError
from tests.fifo_support import fifo_at

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


async def test_output_checkpoint_pins_the_output_by_length_and_hash(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    opened: list[int] = []

    def open_output() -> Any:
        opened.append(1)
        return open(out, "wb")

    sink = OutputCheckpoint(tmp_path / "out.ckpt", open_output, identity={"resource": "people"})
    assert not out.exists(), "nothing is created before the first write"
    sink.write(b'{"id":1}\n')
    sink.write(b'{"id":2}\n')
    await sink.save({"complete": False})
    sink.write(b'{"id":3')  # a page cut short by a crash
    sink.close()
    saved = json.loads((tmp_path / "out.ckpt").read_text())
    assert saved["belongs_to"] == {"resource": "people"} and saved["complete"] is False
    assert saved["output"]["offset"] == 18 and opened == [1]
    digest = output_digest(out, 18)
    assert digest is not None and digest.hexdigest() == saved["output"]["sha256"]
    assert output_digest(out, 10_000) is None  # shorter than the checkpoint says
    out.write_bytes(b'{"id":9}\n{"id":2}\n')  # same length, other bytes
    changed = output_digest(out, 18)
    assert changed is not None and changed.hexdigest() != saved["output"]["sha256"]


@pytest.mark.parametrize(
    ("content", "named"),
    [
        (b"\xff\xfe not text", "not valid JSON"),
        (b"[" * 100_000, "not valid JSON"),  # once a RecursionError
        (b"[]", "not a JSON object"),
    ],
    ids=["binary", "deep", "list"],
)
async def test_a_checkpoint_file_that_is_not_one_is_a_configuration_error(
    tmp_path: Path, content: bytes, named: str
) -> None:
    path = tmp_path / "read.ckpt"
    path.write_bytes(content)
    with pytest.raises(ConfigurationError, match=named):
        await FileCheckpoint(path).load()


async def test_a_fifo_device_or_huge_file_as_checkpoint_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo = tmp_path / "fifo.ckpt"
    with fifo_at(fifo), pytest.raises(ConfigurationError, match="not a regular file"):
        await asyncio.wait_for(FileCheckpoint(fifo).load(), 10)
    device = tmp_path / "zero.ckpt"
    device.symlink_to("/dev/zero")
    with pytest.raises(ConfigurationError, match="not a regular file"):
        await FileCheckpoint(device).load()
    monkeypatch.setattr(checkpoint_module, "MAX_CHECKPOINT_SIZE", 10)
    big = tmp_path / "big.ckpt"
    big.write_text('{"after": "2026-01-01"}')
    with pytest.raises(ConfigurationError, match="larger than 10 bytes"):
        await FileCheckpoint(big).load()
