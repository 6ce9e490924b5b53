"""Webhook delivery as Salesloft does it: the bare object, signed, retried 3 more times.

Each matching write schedules one delivery task per enabled subscription of that event type.  The
body is the record's JSON; `x-salesloft-signature` is the hex HMAC-SHA1 of exactly those bytes keyed
with the subscription's `callback_token`.  Tasks are tracked so that `drain()` can wait for them
and `close()` cancels whatever is still retrying when the sandbox stops.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .store import Collection

__all__ = ["Delivery", "WebhookDispatcher", "sign"]


def sign(body: bytes, callback_token: str) -> str:
    return hmac.new(callback_token.encode(), body, hashlib.sha1).hexdigest()


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt, kept for tests: which subscription, event, attempt number and outcome."""

    subscription_id: int
    event_type: str
    attempt: int
    status: int | None  # None: connection failed
    ok: bool


class WebhookDispatcher:
    def __init__(
        self,
        subscriptions: Collection,
        counters: Counter[str],
        *,
        retries: int,
        retry_delay: float,
        sleep: Callable[[float], Awaitable[None]],
        timeout: float = 10.0,
    ) -> None:
        self.subscriptions = subscriptions
        self.counters = counters
        self.retries = retries
        self.retry_delay = retry_delay
        self.sleep = sleep
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._tasks: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    def emit(self, event_type: str, record: dict[str, Any]) -> int:
        """Schedule deliveries of `record` for `event_type`; returns how many were scheduled."""
        scheduled = 0
        for sub in list(self.subscriptions.records.values()):
            if sub.get("event_type") != event_type or not sub.get("enabled", True):
                continue
            body = json.dumps(record, separators=(",", ":")).encode()
            task = asyncio.get_running_loop().create_task(self._deliver(sub, event_type, body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            scheduled += 1
        if scheduled:
            self.counters[f"webhook:event:{event_type}"] += 1
        return scheduled

    async def _deliver(self, sub: dict[str, Any], event_type: str, body: bytes) -> None:
        headers = {
            "Content-Type": "application/json",
            "x-salesloft-event": event_type,
            "x-salesloft-signature": sign(body, str(sub.get("callback_token") or "")),
        }
        for attempt in range(1, self.retries + 2):
            status: int | None = None
            try:
                session = self._get_session()
                async with session.post(sub["callback_url"], data=body, headers=headers) as resp:
                    status = resp.status
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError, OSError, ValueError):
                status = None
            ok = status is not None and 200 <= status < 300
            self.deliveries.append(Delivery(sub["id"], event_type, attempt, status, ok))
            if ok:
                self.counters["webhook:delivered"] += 1
                return
            self.counters["webhook:failed_attempt"] += 1
            if attempt <= self.retries:
                await self.sleep(self.retry_delay)
        self.counters["webhook:gave_up"] += 1

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self) -> None:
        """Wait until every scheduled delivery (with its retries) has finished."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
