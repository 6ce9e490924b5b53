"""Which operations a client sent: a helper for the tests that must exercise every one."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from salesloft_async._operations import OPERATIONS
from salesloft_async.client import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.spec import Operation


def _pattern(op: Operation) -> re.Pattern[str]:
    regex = re.sub(r"\\\{[a-z_]+\\\}", "[^/]+", re.escape(op.path))
    return re.compile(f"^{regex}$")


PATTERNS = [(op, _pattern(op)) for op in OPERATIONS]


def operation_of(method: str, path: str) -> str:
    # a literal path beats a templated one (/v2/meetings/settings/searches vs /v2/meetings/{id})
    matches = [op for op, rx in PATTERNS if op.method == method and rx.match(path)]
    matches.sort(key=lambda op: op.path.count("{"))
    assert matches, f"no operation for {method} {path}"
    return matches[0].name


@asynccontextmanager
async def recording_client(sb: Sandbox) -> AsyncIterator[tuple[SalesloftClient, set[str]]]:
    """A client of `sb`, and the set of operation names it has sent so far."""
    async with SalesloftClient(api_key=sb.api_key, base_url=sb.url) as client:
        seen: set[str] = set()
        original = client.transport.request

        async def recording(method: str, path: str, **kw: Any) -> Any:
            seen.add(operation_of(method.upper(), path))
            return await original(method, path, **kw)

        client.transport.request = recording  # type: ignore[method-assign]
        yield client, seen
