"""Where a bulk read keeps its place between runs.

A checkpoint is one small JSON document (the slices and their cursors), saved whole every time a
page has been handed to the caller.  Saving it whole and atomically means a crash at any instant
leaves either the previous state or the next one, never a mix.  Anything with async `load` and
`save` is a store, so a service can keep its place in Redis or a database instead of a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from ..errors import ConfigurationError

__all__ = ["CheckpointStore", "FileCheckpoint", "MemoryCheckpoint", "as_store"]


@runtime_checkable
class CheckpointStore(Protocol):
    async def load(self) -> dict[str, Any] | None:
        """The last saved state, or None when there is none."""
        ...

    async def save(self, state: dict[str, Any]) -> None:
        """Replace the saved state; must be all-or-nothing."""
        ...


class MemoryCheckpoint:
    """Keeps the state in memory: for tests, and for resuming within one process."""

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        self.state = state
        self.saves = 0

    async def load(self) -> dict[str, Any] | None:
        return json.loads(json.dumps(self.state)) if self.state is not None else None

    async def save(self, state: dict[str, Any]) -> None:
        self.state = json.loads(json.dumps(state))
        self.saves += 1


class FileCheckpoint:
    """A JSON file replaced atomically (write a temporary file, then `os.replace`).

    `fsync=True` also survives power loss at the price of a disk flush per page; a process that is
    killed (SIGKILL, Ctrl-C) loses nothing without it, since `os.replace` is atomic.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.path = Path(path)
        self.fsync = fsync

    def __repr__(self) -> str:
        return f"FileCheckpoint({str(self.path)!r})"

    async def load(self) -> dict[str, Any] | None:
        return await asyncio.to_thread(self._load)

    async def save(self, state: dict[str, Any]) -> None:
        text = json.dumps(state, separators=(",", ":"), sort_keys=True)
        await asyncio.to_thread(self._write, text)

    def _load(self) -> dict[str, Any] | None:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        try:
            data = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigurationError(
                f"checkpoint {self.path} is not valid JSON; delete it to start over"
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"checkpoint {self.path} is not a JSON object")
        return data

    def _write(self, text: str) -> None:
        directory = self.path.parent
        directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
                if self.fsync:
                    handle.flush()
                    os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def as_store(checkpoint: str | os.PathLike[str] | CheckpointStore | None) -> CheckpointStore | None:
    """A path becomes a `FileCheckpoint`; a store is used as it is."""
    if checkpoint is None:
        return None
    if isinstance(checkpoint, str | os.PathLike):
        return FileCheckpoint(checkpoint)
    if isinstance(checkpoint, CheckpointStore):
        return checkpoint
    raise ConfigurationError(
        "checkpoint= takes a file path or an object with async load() and save(state)"
    )
