"""Where a grant's newest token lives, and the lock that makes refresh single-flight everywhere.

Salesloft refresh tokens are single-use, so the store is the source of truth: whoever refreshes
must hold the store's lock, re-read, and persist the new token before anyone uses it.  `save` is a
compare-and-set on the token's `fingerprint`, so that a writer that lost a race cannot overwrite a
newer grant state with an older one.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import time
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Protocol, runtime_checkable

from .._files import read_small, replace_atomically
from ..errors import ConfigurationError
from .errors import TokenStoreError
from .token import Token

__all__ = ["FileTokenStore", "MemoryTokenStore", "TokenStore"]

log = logging.getLogger("salesloft_async.auth")

#: A saved token is a few hundred bytes; a longer file is not one (nor is a FIFO or a device).
MAX_TOKEN_FILE = 64 * 1024


@runtime_checkable
class TokenStore(Protocol):
    """What a `TokenManager` needs from a store (memory, file, Redis, an app's own database).

    - `load()` -> the stored `Token`, or None when empty.
    - `save(token, expected=fp)` -> compare-and-set: write `token` only if the stored token's
      `fingerprint` equals `expected` (`expected=None`: only if the store is empty).  Return True
      when written, False when the stored token had changed (nothing written).  Must be atomic
      with respect to other `save` calls, also from other processes.
    - `lock()` -> an async context manager giving mutual exclusion among every holder of the same
      store (processes and hosts included), held while refreshing.  It need not be re-entrant,
      but `save` and `load` must work while the calling task holds it.
    """

    async def load(self) -> Token | None: ...

    async def save(self, token: Token, *, expected: str | None) -> bool: ...

    def lock(self) -> AbstractAsyncContextManager[None]: ...


class _OwnedLock:
    """An asyncio lock that knows which task holds it, so `save` inside `lock()` does not
    deadlock on itself while `save` outside it still excludes other tasks."""

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self.owner: asyncio.Task[object] | None = None

    def held_by_me(self) -> bool:
        return self.owner is not None and self.owner is asyncio.current_task()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[None]:
        async with self._lock:
            self.owner = asyncio.current_task()
            try:
                yield
            finally:
                self.owner = None


class MemoryTokenStore:
    """One process, one grant: for tests, scripts, and client-credentials tokens.

    :param token: the token to start with (None: empty until the first grant is saved).
    """

    def __init__(self, token: Token | None = None):
        self._token = token
        self._lock = _OwnedLock()

    async def load(self) -> Token | None:
        return self._token

    async def save(self, token: Token, *, expected: str | None) -> bool:
        current = self._token.fingerprint if self._token else None
        if current != expected:
            return False
        self._token = token
        return True

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._lock.hold()

    def __repr__(self) -> str:
        return f"MemoryTokenStore({'empty' if self._token is None else 'holding a token'})"


class FileTokenStore:
    """A JSON file (mode 0600) replaced atomically, with an fcntl lock on `<path>.lock`.

    Every save writes a temporary file in the same directory, fsyncs it, renames it over the
    old one and fsyncs the directory: a crash at any instant leaves the old or the new token,
    never a torn file.  The kernel drops the fcntl lock when its holder dies, even by SIGKILL.

    A token file that group or others may read is loaded with one WARNING (its token lets anyone
    who reads it act as the user).  The lock file is never opened through a symbolic link: a
    link planted at `<path>.lock` could make the lock create or truncate its target.  Only a
    regular file of at most `MAX_TOKEN_FILE` bytes is read: a FIFO or a device put at `path` is
    refused (`TokenStoreError`) rather than waited on or read without end.

    :param path: the token file (its directory is created on the first save).
    :param lock_timeout: seconds `lock()` waits for another holder before TokenStoreError.
    """

    def __init__(self, path: str | os.PathLike[str], *, lock_timeout: float = 60.0):
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        if not lock_timeout >= 0:  # nan would wait forever
            raise ConfigurationError(
                f"lock_timeout must be 0 or more seconds, got {lock_timeout!r}"
            )
        self.lock_timeout = lock_timeout
        self._local = _OwnedLock()
        self._warned = False

    def __repr__(self) -> str:
        return f"FileTokenStore({str(self.path)!r})"

    async def load(self) -> Token | None:
        return await asyncio.to_thread(self._read)

    async def save(self, token: Token, *, expected: str | None) -> bool:
        if self._local.held_by_me():
            return await asyncio.to_thread(self._cas_write, token, expected)
        async with self.lock():
            return await asyncio.to_thread(self._cas_write, token, expected)

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._hold()

    @asynccontextmanager
    async def _hold(self) -> AsyncIterator[None]:
        async with self._local.hold():
            fd = await asyncio.to_thread(self._open_lock_file)
            try:
                await self._flock(fd)
                try:
                    yield
                finally:
                    fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    def _open_lock_file(self) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise TokenStoreError(
                    f"the token lock file {str(self.lock_path)!r} is a symbolic link, which a lock"
                    " never follows: remove it (it is recreated as a plain file)"
                ) from None
            raise TokenStoreError(
                f"cannot open the token lock file {str(self.lock_path)!r}: {exc.strerror}"
            ) from None

    async def _flock(self, fd: int) -> None:
        """Poll a non-blocking flock: a thread blocked in flock() cannot be cancelled, and
        would take the lock after its task is gone."""
        deadline = time.monotonic() + self.lock_timeout
        delay = 0.0005
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TokenStoreError(
                        f"could not lock {str(self.lock_path)!r} within {self.lock_timeout} s;"
                        " another process holds it (a hung refresh?)"
                    ) from None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.02)

    def _read(self) -> Token | None:
        try:
            text, mode = read_small(self.path, MAX_TOKEN_FILE)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise TokenStoreError(f"cannot read {str(self.path)!r}: {exc.strerror}") from None
        if mode & 0o044 and not self._warned:
            self._warned = True
            log.warning(
                "token file %r is readable by %s: whoever reads it can act as the user;"
                " chmod 600 it (tokens this store saves are written 0600)",
                str(self.path),
                {0o040: "its group", 0o004: "others"}.get(mode & 0o044, "its group and others"),
            )
        try:
            return Token.from_json(text)
        except ValueError as exc:
            raise TokenStoreError(
                f"{str(self.path)!r} does not hold a saved token ({exc}); delete it and log in"
                " again (salesloft-async login)"
            ) from None

    def _cas_write(self, token: Token, expected: str | None) -> bool:
        current = self._read()
        if (current.fingerprint if current else None) != expected:
            return False
        try:
            self._write(token)
        except OSError as exc:
            raise TokenStoreError(f"cannot write {str(self.path)!r}: {exc.strerror}") from None
        return True

    def _write(self, token: Token) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        self._remove_stale_temps()
        replace_atomically(self.path, token.to_json().encode(), fsync=True)  # written 0600
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)

    def _remove_stale_temps(self) -> None:
        """Temp files left by a writer that died before its rename (we hold the lock)."""
        for stale in self.path.parent.glob(f".{self.path.name}.*.tmp"):
            with contextlib.suppress(OSError):
                stale.unlink()
