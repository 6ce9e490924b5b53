"""Where a bulk read keeps its place between runs.

A checkpoint is one small JSON document (the slices and their cursors), saved whole every time a
page has been handed to the caller.  Saving it whole and atomically means a crash at any instant
leaves either the previous state or the next one, never a mix.  Anything with async `load` and
`save` is a store, so a service can keep its place in Redis or a database instead of a file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any, Protocol, runtime_checkable

from .._files import read_small, replace_atomically
from ..bodies import loads
from ..errors import ConfigurationError

__all__ = [
    "CheckpointStore",
    "FileCheckpoint",
    "MemoryCheckpoint",
    "OutputCheckpoint",
    "as_store",
    "output_digest",
    "read_checkpoint_bytes",
]

#: A checkpoint holds a cursor and at most the ids of records that share one timestamp: a few
#: kilobytes, or megabytes after a mass update; 64 MiB is far beyond any that a read saves.
MAX_CHECKPOINT_SIZE = 64 * 1024 * 1024


@runtime_checkable
class CheckpointStore(Protocol):
    async def load(self) -> dict[str, Any] | None:
        """The last saved state, or None when there is none."""
        ...

    async def save(self, state: dict[str, Any]) -> None:
        """Replace the saved state; must be all-or-nothing."""
        ...


class MemoryCheckpoint:
    """Keeps the state in memory: for tests, and for resuming within one process.

    :param state: a checkpoint document to resume from (None: start from the beginning).
    """

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

    :param path: the checkpoint file; it need not exist yet (then the read starts from the
        beginning).
    :param fsync: flush each new file to disk before it replaces the old one.
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
            raw = read_checkpoint_bytes(self.path)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read checkpoint {self.path}: {exc.strerror}; point checkpoint= at the"
                " file a read saved, or delete it to start over"
            ) from None
        try:
            data = loads(raw)  # not UTF-8 and nested too deeply are ValueErrors too
        except ValueError:
            raise ConfigurationError(
                f"checkpoint {self.path} is not valid JSON; delete it to start over"
            ) from None
        if not isinstance(data, dict):
            raise ConfigurationError(f"checkpoint {self.path} is not a JSON object")
        return data

    def _write(self, text: str) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        replace_atomically(self.path, text.encode("utf-8"), fsync=self.fsync)

    def delete(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def read_checkpoint_bytes(path: str | os.PathLike[str]) -> bytes:
    """A checkpoint file's bytes, refused (`OSError`) when it is no regular file or is over
    `MAX_CHECKPOINT_SIZE`: a FIFO or a device named by mistake must not hang or flood the read."""
    return read_small(path, MAX_CHECKPOINT_SIZE)[0]


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


def output_digest(path: str | os.PathLike[str], offset: int) -> Any | None:
    """A running SHA-256 of the first `offset` bytes of `path`; None when it is shorter.

    Returned as the hash object (not its hex digest) so that a resumed writer can go on feeding it.
    """
    digest = hashlib.sha256()
    left = offset
    with open(path, "rb") as handle:
        while left > 0:
            chunk = handle.read(min(left, 1 << 20))
            if not chunk:
                return None
            digest.update(chunk)
            left -= len(chunk)
    return digest


class OutputCheckpoint:
    """A `FileCheckpoint` that also pins the output file the records were written to.

    Each save records, with the reader's state, the output's byte offset and a SHA-256 of the bytes
    up to it, so that a rerun can prove the output is the one this checkpoint belongs to before it
    cuts the output back to that offset (see `output_digest`).  `identity` is saved alongside, for
    the caller to compare before it trusts the checkpoint.  The output is opened by `open_output`
    on the first write or save, so a run that fails before its first page creates no file.

    :param path: where the checkpoint is kept.
    :param open_output: opens the output for writing, positioned at `offset`.
    :param identity: what the checkpoint belongs to (JSON-serialisable), saved with every state.
    :param offset: bytes of the output already covered by the checkpoint (0 for a fresh output).
    :param digest: the running SHA-256 of those bytes (from `output_digest`); a new one if None.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        open_output: Callable[[], IO[bytes]],
        *,
        identity: Mapping[str, Any],
        offset: int = 0,
        digest: Any | None = None,
    ) -> None:
        self.file = FileCheckpoint(path)
        self.identity = dict(identity)
        self.offset = offset
        self._open = open_output
        self._out: IO[bytes] | None = None
        self._digest = digest if digest is not None else hashlib.sha256()

    def write(self, data: bytes) -> None:
        out = self._output()
        out.write(data)
        self._digest.update(data)
        self.offset += len(data)

    def close(self) -> None:
        if self._out is not None:
            self._out.close()

    async def load(self) -> dict[str, Any] | None:
        return await self.file.load()

    async def save(self, state: dict[str, Any]) -> None:
        self._output().flush()
        output = {"offset": self.offset, "sha256": self._digest.hexdigest()}
        await self.file.save({**state, "output": output, "belongs_to": self.identity})

    def _output(self) -> IO[bytes]:
        if self._out is None:
            self._out = self._open()
        return self._out
