"""Token stores: compare-and-set, atomic replace, file mode, crash leftovers, corrupt files."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import pytest

from salesloft_async.auth import (
    FileTokenStore,
    MemoryTokenStore,
    Token,
    TokenStore,
    TokenStoreError,
)

OLD = Token("acc-old", "ref-old", expires_at=100.0, created_at=0.0)
NEW = Token("acc-new", "ref-new", expires_at=200.0, created_at=100.0)


@pytest.fixture(params=["memory", "file"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> TokenStore:
    if request.param == "memory":
        return MemoryTokenStore()
    return FileTokenStore(tmp_path / "token.json")


async def test_protocol_is_satisfied(store: TokenStore) -> None:
    assert isinstance(store, TokenStore)


async def test_compare_and_set(store: TokenStore) -> None:
    assert await store.load() is None
    assert not await store.save(OLD, expected="someone-else")
    assert await store.save(OLD, expected=None)
    assert not await store.save(NEW, expected=None)  # not empty any more
    assert not await store.save(NEW, expected=NEW.fingerprint)
    assert await store.save(NEW, expected=OLD.fingerprint)
    assert await store.load() == NEW


async def test_save_works_inside_the_lock(store: TokenStore) -> None:
    async with store.lock():
        assert await store.save(OLD, expected=None)
        assert await store.load() == OLD


async def test_lock_excludes_other_tasks(store: TokenStore) -> None:
    order: list[str] = []

    async def holder(name: str) -> None:
        async with store.lock():
            order.append(f"{name}+")
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            order.append(f"{name}-")

    await asyncio.gather(holder("a"), holder("b"))
    assert order in (["a+", "a-", "b+", "b-"], ["b+", "b-", "a+", "a-"])


async def test_file_is_private_and_json(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "token.json"
    store = FileTokenStore(path)
    await store.save(OLD, expected=None)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.lock_path.stat().st_mode) == 0o600
    assert Token.from_json(path.read_text()) == OLD
    assert await FileTokenStore(path).load() == OLD  # another instance (process) reads it


async def test_failed_replace_leaves_old_token_and_no_temp(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "token.json"
    store = FileTokenStore(path)
    await store.save(OLD, expected=None)

    def crash(src: str, dst: str) -> None:
        raise OSError(5, "simulated crash before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(TokenStoreError):
        await store.save(NEW, expected=OLD.fingerprint)
    monkeypatch.undo()
    assert await store.load() == OLD
    assert [n for n in os.listdir(tmp_path) if n.endswith(".tmp")] == []


async def test_temp_left_by_a_killed_writer_is_ignored_then_cleaned(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    store = FileTokenStore(path)
    await store.save(OLD, expected=None)
    torn = tmp_path / ".token.json.abc123.tmp"
    torn.write_text('{"access_token": "acc-new", "refre')  # died mid-write
    assert await store.load() == OLD
    assert await store.save(NEW, expected=OLD.fingerprint)
    assert not torn.exists()
    assert await store.load() == NEW


async def test_corrupt_file_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text("not json")
    with pytest.raises(TokenStoreError, match="log in again"):
        await FileTokenStore(path).load()


async def test_lock_timeout_when_another_holder_never_lets_go(tmp_path: Path) -> None:
    import fcntl

    store = FileTokenStore(tmp_path / "token.json", lock_timeout=0.05)
    fd = os.open(store.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(TokenStoreError, match="could not lock"):
            async with store.lock():
                pass
    finally:
        os.close(fd)
    async with store.lock():  # released by the (simulated) dead holder: usable again
        assert await store.load() is None


def test_reprs_hold_no_token(tmp_path: Path) -> None:
    assert "acc-old" not in repr(MemoryTokenStore(OLD))
    assert "token.json" in repr(FileTokenStore(tmp_path / "token.json"))
