"""Reading a response body without trusting it.

Both HTTP clients of the package (the API transport and the OAuth token calls) read bodies here,
so both get the same guarantees: a body is read streamed and stops at a size limit (a proxy's
endless chunked body or a 500 MB page must not exhaust memory, nor keep a call busy until its
timeout), the connection is dropped rather than drained past the limit, JSON that cannot be
decoded (cut off, HTML, nested too deeply for the parser) is one `ValueError`, and an excerpt shown
in an error never carries a secret the request held.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aiohttp

from .errors import BODY_EXCERPT, ResponseTooLargeError, redact

__all__ = ["DEFAULT_MAX_RESPONSE_SIZE", "excerpt", "loads", "read_body"]

#: The API's pages are at most 100 records; 32 MiB is far beyond any honest answer.
DEFAULT_MAX_RESPONSE_SIZE = 32 * 1024 * 1024


async def read_body(resp: aiohttp.ClientResponse, limit: int, *, method: str, path: str) -> bytes:
    """The whole body, or `ResponseTooLargeError` as soon as it is known to pass `limit` bytes.

    Checked against ``Content-Length`` first (nothing is read then), and again while streaming
    (a chunked or compressed body declares nothing true).  Past the limit the connection is
    closed, not drained.
    """
    declared = resp.content_length
    if declared is not None and declared > limit:
        resp.close()
        raise ResponseTooLargeError(limit=limit, status=resp.status, method=method, path=path)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        if size > limit:
            resp.close()
            raise ResponseTooLargeError(limit=limit, status=resp.status, method=method, path=path)
        chunks.append(chunk)
    return b"".join(chunks)


def loads(raw: bytes | str) -> Any:
    """Decoded JSON; `ValueError` for anything that is not (RecursionError included)."""
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def excerpt(raw: bytes | str, secrets: Iterable[str] = ()) -> str:
    """The start of a body as text, safe to show: cut short, secrets replaced (before the cut,
    so that a secret straddling it is not shown in part)."""
    secrets = [s for s in secrets if s]
    if isinstance(raw, bytes):
        room = 4 * (BODY_EXCERPT + max((len(s) for s in secrets), default=0))
        raw = raw[:room].decode("utf-8", "replace")
    return redact(raw, secrets)[:BODY_EXCERPT]
