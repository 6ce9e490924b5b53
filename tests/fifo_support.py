"""A FIFO where a state file belongs: what a plain ``open`` would wait on for ever.

The tests that put one there bound their own wait; this frees a reader that is stuck in ``open``
anyway (by opening the write end once), so that a regression fails its test instead of hanging
the run at exit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def fifo_at(path: Path) -> Iterator[Path]:
    os.mkfifo(path)
    try:
        yield path
    finally:
        with contextlib.suppress(OSError):  # ENXIO: no reader was waiting, as it should be
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
