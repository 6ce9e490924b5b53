"""Shared by the OAuth integration tests (no tests here): a small running sandbox whose clock is
a `ManualClock`, so a test expires tokens by advancing it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from salesloft_async.sandbox import ManualClock, Sandbox

OAuthSandbox = Sandbox


class ClockedSandbox(Sandbox):
    clock: ManualClock


@asynccontextmanager
async def start_oauth_sandbox(token_ttl: float = 100.0, **kw: Any) -> AsyncIterator[Any]:
    sizes = {"people": 20, "accounts": 5, "users": 3, "cadences": 2}
    async with Sandbox(token_ttl=token_ttl, clock=ManualClock(), **{**sizes, **kw}) as sb:
        yield sb
