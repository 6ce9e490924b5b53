"""The small files the package keeps its state in (a token, a checkpoint): read without trusting
them, replaced all at once.

Whatever a path names can be put there by mistake or on purpose: a FIFO (a plain ``open`` waits
for a writer forever), ``/dev/zero`` or a multi-gigabyte log (a plain ``read`` takes all memory).
So the file is opened without blocking, must be a regular file, and is read to its limit and no
further.  Every refusal is an `OSError` naming the path, so each caller's existing handling of an
unreadable file says what went wrong in its own words.

A write goes to a temporary file beside the target (mode 0600, as `tempfile.mkstemp` makes it),
which is then renamed over it: a crash at any instant leaves the old content or the new, never a
torn file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

__all__ = ["read_small", "replace_atomically"]


def read_small(path: str | os.PathLike[str], limit: int) -> tuple[bytes, int]:
    """The bytes of the regular file at `path` and its ``st_mode``.

    `FileNotFoundError` when it does not exist, `IsADirectoryError` for a directory, and an
    `OSError` whose `strerror` says why for anything else that is not a regular file or holds more
    than `limit` bytes.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, "is a directory", os.fspath(path))
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file", os.fspath(path))
        chunks: list[bytes] = []
        size = 0
        while chunk := os.read(fd, min(1 << 20, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:
                raise OSError(errno.EFBIG, f"larger than {limit:,} bytes", os.fspath(path))
        return b"".join(chunks), mode
    finally:
        os.close(fd)


def replace_atomically(path: Path, data: bytes, *, fsync: bool) -> None:
    """Replace `path` with `data` through a temporary file renamed over it (its directory must
    exist).  `fsync` flushes the data to disk before the rename, to survive a power loss too; the
    temporary file is removed whatever fails."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if fsync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
