"""Reading a delivery's body for both adapters: bounded in size and in time, quiet when cut off.

A sender that trickles its body (one byte a second) would otherwise hold a connection, a task and
a buffer for as long as it likes; a few hundred of them are a cheap denial of service.  So the body
must arrive by a deadline, or the answer is 408 and the adapter closes the connection.  A sender
that goes away mid-body is not an error of ours: it is logged once at INFO, without a traceback,
and nobody is answered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable

from .receiver import Outcome

__all__ = ["ClientGone", "read_body"]

log = logging.getLogger("salesloft_async.webhooks")


class ClientGone(ConnectionError):
    """The sender closed the connection before its body was read."""


async def read_body(
    chunks: AsyncIterable[bytes],
    *,
    declared: int | None,
    limit: int,
    deadline: float | None,
    peer: object = None,
) -> bytes | Outcome | None:
    """The whole body; or the `Outcome` refusing it (413 too big, 408 too slow); or None when the
    sender went away (there is no one left to answer).

    Content-Length is checked first (nothing is read), then the running size, so a chunked or lying
    sender cannot make us buffer more than `limit` plus one chunk.
    """
    if declared is not None and declared > limit:
        return Outcome(413, f"body is over {limit} bytes")
    parts: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout_at(deadline):
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    return Outcome(413, f"body is over {limit} bytes")
                parts.append(chunk)
    except TimeoutError:
        log.info("webhook sender %s was too slow to send its body: answered 408", peer or "?")
        return Outcome(408, "the request body did not arrive in time")
    except ClientGone:
        log.info("webhook sender %s went away before its body was read", peer or "?")
        return None
    return b"".join(parts)
