"""Token stores: compare-and-set, atomic replace, file mode, crash leftovers, corrupt files."""

from __future__ import annotations

import asyncio
import logging
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
from salesloft_async.auth.stores import MAX_TOKEN_FILE
from tests.fifo_support import fifo_at

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


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"access_token": "acc-SECRET", "expires_at": "soon"}', "expires_at"),
        ('{"access_token": "acc-SECRET", "token_type": null}', "token_type"),
        ('{"access_token": "acc-SECRET", "expires_at": 1%s}' % ("0" * 400), "expires_at"),
        ('{"refresh_token": "ref-SECRET"}', "access_token"),
        ('{"access_token": ["acc-SECRET"]}', "access_token"),
        ('["acc-SECRET"]', "JSON object"),
        ("[" * 50_000, "nested too deeply"),
        ("\udcff", "not JSON"),
    ],
)
async def test_a_token_file_of_the_wrong_shape_is_a_token_store_error(
    tmp_path: Path, content: str, named: str
) -> None:
    path = tmp_path / "token.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    path.chmod(0o600)
    with pytest.raises(TokenStoreError, match=named) as caught:
        await FileTokenStore(path).load()
    assert str(path) in str(caught.value) and "SECRET" not in str(caught.value)
    with pytest.raises(TokenStoreError):  # and a save's compare-and-set reads it the same way
        await FileTokenStore(path).save(NEW, expected=None)


async def test_a_token_file_others_can_read_is_loaded_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "token.json"
    path.write_text(OLD.to_json())
    path.chmod(0o644)
    store = FileTokenStore(path)
    with caplog.at_level(logging.WARNING, logger="salesloft_async.auth"):
        assert await store.load() == OLD
        assert await store.load() == OLD
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert str(path) in message and "its group and others" in message and "chmod 600" in message
    assert OLD.access_token not in message and "ref-old" not in message
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="salesloft_async.auth"):
        await FileTokenStore(path).load()
    assert caplog.records == []


async def test_a_symlink_at_the_lock_path_is_refused_and_its_target_not_created(
    tmp_path: Path,
) -> None:
    store = FileTokenStore(tmp_path / "token.json")
    target = tmp_path / "elsewhere" / "victim"
    target.parent.mkdir()
    store.lock_path.symlink_to(target)  # dangling
    with pytest.raises(TokenStoreError, match="symbolic link"):
        async with store.lock():
            pass
    with pytest.raises(TokenStoreError, match="symbolic link"):
        await store.save(OLD, expected=None)
    assert not target.exists()
    assert not (tmp_path / "token.json").exists()
    store.lock_path.unlink()  # as the message says: then it works
    assert await store.save(OLD, expected=None)
    assert store.lock_path.is_file() and not store.lock_path.is_symlink()


async def test_a_fifo_or_device_at_the_token_path_is_refused_not_waited_on(tmp_path: Path) -> None:
    fifo = tmp_path / "token.json"
    with fifo_at(fifo), pytest.raises(TokenStoreError, match="not a regular file"):
        await asyncio.wait_for(FileTokenStore(fifo).load(), 10)
    device = tmp_path / "zero.json"
    device.symlink_to("/dev/zero")  # read to its end, it would take all memory
    with pytest.raises(TokenStoreError, match="not a regular file"):
        await asyncio.wait_for(FileTokenStore(device).load(), 10)


async def test_a_token_file_over_the_limit_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "token.json"
    path.write_text(OLD.to_json())
    assert await FileTokenStore(path).load() == OLD
    with path.open("a") as f:
        f.write(" " * MAX_TOKEN_FILE)  # still valid JSON, but no token is that long
    with pytest.raises(TokenStoreError, match="larger than 65,536 bytes"):
        await FileTokenStore(path).load()
