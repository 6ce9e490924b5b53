"""Webhook delivery as Salesloft does it: the bare object, signed, retried 3 more times.

Each matching write schedules one delivery task per enabled subscription of that event type.  The
body is the record's JSON; `x-salesloft-signature` is the hex HMAC-SHA1 of exactly those bytes keyed
with the subscription's `callback_token`.  Tasks are tracked so that `drain()` can wait for them
and `close()` cancels whatever is still retrying when the sandbox stops.

``link_swap`` is a question, not a notice.  Salesloft asks it when it sends an email, which no API
call makes it do, so no write here sends one: `link_swap(links)` POSTs the email's links to every
``link_swap`` subscription, waits for each answer as Salesloft does, checks it is
``{"links": {old: new}}`` about the links offered, and records what came back (`link_swaps`).
An answer that fails the check keeps the original links, and is not retried; it is read to
`MAX_ANSWER` bytes and no further, so a receiver under test cannot flood the sandbox.
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

from ..bodies import loads, read_body
from ..errors import ResponseTooLargeError
from .store import Collection

__all__ = ["Delivery", "LinkSwapReply", "WebhookDispatcher", "sign"]

#: A link_swap answer maps the links of one email, any other answer is read only to be done with:
#: 1 MiB is far beyond any honest one.
MAX_ANSWER = 1024 * 1024


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


@dataclass(frozen=True, slots=True)
class LinkSwapReply:
    """One subscriber's answer to a link_swap: the links it swapped, or why it was refused."""

    subscription_id: int
    status: int | None  # None: connection failed or no answer in time
    links: dict[str, str]  # old -> new as answered; empty when refused
    problem: str | None = None  # why the answer was not used (None: it was)


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
        self.link_swaps: list[LinkSwapReply] = []
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

    async def link_swap(
        self,
        links: list[str],
        *,
        user: dict[str, Any] | None = None,
        person: dict[str, Any] | None = None,
        email_id: int = 1,
        mailing_id: int = 1,
        team_id: int = 1,
    ) -> list[LinkSwapReply]:
        """Ask every enabled link_swap subscription which of `links` to swap; await the answers."""
        payload = {
            "user": user or {"id": 1, "email": "sandbox.user@example.com"},
            "team": {"id": team_id},
            "mailing": {"id": mailing_id},
            "email": {"id": email_id},
            "person": person or {"id": 1, "email": "sandbox.person@example.com"},
            "links": list(links),
        }
        body = json.dumps(payload, separators=(",", ":")).encode()
        subs = [
            sub
            for sub in list(self.subscriptions.records.values())
            if sub.get("event_type") == "link_swap" and sub.get("enabled", True)
        ]
        replies = await asyncio.gather(*(self._ask(sub, body, set(links)) for sub in subs))
        self.counters["webhook:event:link_swap"] += 1
        self.link_swaps.extend(replies)
        return list(replies)

    async def _ask(self, sub: dict[str, Any], body: bytes, offered: set[str]) -> LinkSwapReply:
        status: int | None = None
        try:
            session = self._get_session()
            headers = _headers(sub, "link_swap", body)
            async with session.post(sub["callback_url"], data=body, headers=headers) as resp:
                status = resp.status
                answer = await read_body(resp, MAX_ANSWER, method="POST", path="link_swap")
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            return LinkSwapReply(sub["id"], status, {}, f"no answer: {type(exc).__name__}")
        except ResponseTooLargeError:
            answer = None
        links = _read_links(status, answer, offered)
        if isinstance(links, str):
            self.counters["webhook:link_swap_refused"] += 1
            return LinkSwapReply(sub["id"], status, {}, links)
        self.counters["webhook:link_swap_answered"] += 1
        return LinkSwapReply(sub["id"], status, links)

    async def _deliver(self, sub: dict[str, Any], event_type: str, body: bytes) -> None:
        headers = _headers(sub, event_type, body)
        for attempt in range(1, self.retries + 2):
            status: int | None = None
            try:
                session = self._get_session()
                async with session.post(sub["callback_url"], data=body, headers=headers) as resp:
                    status = resp.status
                    await read_body(resp, MAX_ANSWER, method="POST", path="webhook")
            except ResponseTooLargeError:
                pass  # the status is the answer: an endless body after it is not read
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


def _headers(sub: dict[str, Any], event_type: str, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-salesloft-event": event_type,
        "x-salesloft-signature": sign(body, str(sub.get("callback_token") or "")),
    }


def _read_links(
    status: int | None, answer: bytes | None, offered: set[str]
) -> dict[str, str] | str:
    """The ``{old: new}`` map of a link_swap answer, or why it cannot be used (a str); `answer`
    is None when it was longer than `MAX_ANSWER`."""
    if status != 200:
        return f"status {status}"
    if answer is None:
        return f"the answer is longer than {MAX_ANSWER} bytes"
    try:
        data = loads(answer)  # nested too deeply is a ValueError too
    except ValueError:
        return "the answer is not JSON"
    links = data.get("links") if isinstance(data, dict) else None
    if not isinstance(links, dict):
        return 'the answer has no "links" object'
    for old, new in links.items():
        if old not in offered:
            return f"the answer swaps a link that was not offered: {old[:80]!r}"
        if not isinstance(new, str) or not new.startswith(("http://", "https://")):
            return f"the answer's new link for {old[:80]!r} is not an http(s) URL"
    return links
