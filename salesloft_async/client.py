"""`SalesloftClient`: the object users hold.

It owns nothing but a transport and the resource tree built on it.  Nothing is opened at
construction (so a client can be built at import time or in a DI container); the aiohttp session
opens on first use and `async with` / `close()` closes it unless it was injected.
"""

from __future__ import annotations

import asyncio
import time
from types import TracebackType
from typing import Any, Self

import aiohttp

from .auth.apikey import ApiKey
from .bodies import DEFAULT_MAX_RESPONSE_SIZE
from .errors import ConfigurationError
from .hooks import AuthHook, BudgetHook, Lane
from .query import DEFAULT_BASE_URL
from .resources import Resources
from .retry import RetryPolicy
from .transport import Clock, Expect, Response, Sleep, Transport

__all__ = ["DEFAULT_BASE_URL", "SalesloftClient"]


class SalesloftClient(Resources):
    """An asyncio client for the Salesloft v2 API.

    Give exactly one of `api_key` (a personal key, ``ak_...``) or `auth` (any `AuthHook`, e.g. a
    `TokenManager`).  Share one `budget` between every client of the same Salesloft team so that
    together they stay inside the team's cost budget.

    :param api_key: a personal API key.
    :param auth: any `AuthHook` instead of a key (a `TokenManager` for OAuth).
    :param base_url: the API's root (the sandbox's URL in tests).
    :param budget: a `CostBudget` or `RedisBudget` shared by every client of the team, or None.
    :param session: an aiohttp session to use and leave open; by default one is opened lazily.
    :param timeout: seconds for one attempt (cut to what is left of the retry deadline).
    :param retry: when to try again; `RetryPolicy()` by default.
    :param clock: monotonic seconds (injected by tests).
    :param sleep: waits between attempts (injected by tests).
    :param max_response_size: the longest response body read, in bytes (32 MiB by default);
        past it `ResponseTooLargeError` is raised and the connection dropped.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        auth: AuthHook | None = None,
        base_url: str = DEFAULT_BASE_URL,
        budget: BudgetHook | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ):
        if (api_key is None) == (auth is None):
            raise ConfigurationError(
                "give exactly one of api_key='ak_...' or auth=<TokenManager or other auth hook>"
            )
        self.transport = Transport(
            auth if auth is not None else ApiKey(api_key or ""),
            base_url=base_url,
            budget=budget,
            session=session,
            timeout=timeout,
            retry=retry,
            clock=clock or time.monotonic,
            sleep=sleep or asyncio.sleep,
            max_response_size=max_response_size,
        )
        self._init_resources(self.transport)

    @property
    def budget(self) -> BudgetHook | None:
        return self.transport.budget

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        lane: Lane = "interactive",
        expect: Expect = "any",
    ) -> Response:
        """The escape hatch: any path, through the same auth, budget, retries and error mapping.

        Redirects are never followed, by design (the bearer token would go wherever the answer
        points): a 3xx raises `RedirectError`.
        """
        return await self.transport.request(
            method, path, params=params, json=json, lane=lane, expect=expect
        )

    async def close(self) -> None:
        await self.transport.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def __repr__(self) -> str:
        return (
            f"SalesloftClient(base_url={self.transport.base_url!r}, auth={self.transport.auth!r})"
        )
