"""Webhook delivery from the sandbox to a tiny receiver on loopback: signature, body, retries."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async.sandbox import Sandbox

SMALL = {"people": 20, "accounts": 5, "users": 2, "cadences": 2}


class Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.received.append((dict(request.headers), await request.read()))
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500)
        return web.Response(status=204)


class SleepLog:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def env() -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession, Receiver, str, SleepLog]]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    sleeps = SleepLog()
    async with (
        TestServer(app, host="127.0.0.1") as server,
        Sandbox(**SMALL, sleep=sleeps, webhook_retry_delay=15.0) as sb,
        aiohttp.ClientSession(
            base_url=sb.url, headers={"Authorization": f"Bearer {sb.api_key}"}
        ) as http,
    ):
        yield sb, http, receiver, str(server.make_url("/hook")), sleeps


async def subscribe(http: aiohttp.ClientSession, url: str, event: str, token: str) -> int:
    async with http.post(
        "/v2/webhook_subscriptions",
        json={"callback_url": url, "callback_token": token, "event_type": event},
    ) as resp:
        assert resp.status == 200
        return int((await resp.json())["data"]["id"])


async def test_signed_delivery_of_the_bare_object(env: Any) -> None:
    sb, http, receiver, url, _ = env
    await subscribe(http, url, "person_created", "tok-1")
    await subscribe(http, url, "person_updated", "tok-2")
    async with http.post("/v2/people", json={"email_address": "hook@example.com"}) as resp:
        created = (await resp.json())["data"]
    async with http.put(f"/v2/people/{created['id']}", json={"title": "CEO"}) as resp:
        assert resp.status == 200
    await sb.drain()
    assert len(receiver.received) == 2
    (h1, b1), (h2, b2) = receiver.received
    assert h1["x-salesloft-event"] == "person_created"
    assert h1["x-salesloft-signature"] == hmac.new(b"tok-1", b1, hashlib.sha1).hexdigest()
    assert json.loads(b1) == created  # the bare record, no envelope
    assert h2["x-salesloft-event"] == "person_updated"
    assert h2["x-salesloft-signature"] == hmac.new(b"tok-2", b2, hashlib.sha1).hexdigest()
    assert json.loads(b2)["title"] == "CEO"
    assert sb.counters["webhook:delivered"] == 2


async def test_three_retries_then_give_up(env: Any) -> None:
    sb, http, receiver, url, sleeps = env
    await subscribe(http, url, "account_created", "t")
    receiver.fail_first = 10
    async with http.post(
        "/v2/accounts", json={"name": "Hooked", "domain": "hooked.example"}
    ) as resp:
        assert resp.status == 200
    await sb.drain()
    assert len(receiver.received) == 4  # the delivery and 3 retries
    assert sleeps.calls == [15.0, 15.0, 15.0]
    assert [d.attempt for d in sb.webhooks.deliveries] == [1, 2, 3, 4]
    assert sb.counters["webhook:gave_up"] == 1


async def test_a_retry_that_succeeds(env: Any) -> None:
    sb, http, receiver, url, _ = env
    await subscribe(http, url, "note_created", "t")
    receiver.fail_first = 1
    async with http.post(
        "/v2/notes",
        json={"content": "x", "associated_with_type": "person", "associated_with_id": 1},
    ) as resp:
        assert resp.status == 200
    await sb.drain()
    assert [d.ok for d in sb.webhooks.deliveries] == [False, True]
    assert len({body for _, body in receiver.received}) == 1  # the same bytes both times


async def test_disabled_and_other_events_do_not_fire(env: Any) -> None:
    sb, http, receiver, url, _ = env
    sid = await subscribe(http, url, "person_deleted", "t")
    async with http.put(f"/v2/webhook_subscriptions/{sid}", json={"enabled": False}) as resp:
        assert resp.status == 200
    async with http.delete("/v2/people/3") as resp:
        assert resp.status == 204
    async with http.post("/v2/people", json={"email_address": "quiet@example.com"}) as resp:
        assert resp.status == 200
    await sb.drain()
    assert receiver.received == []


async def test_pending_retries_are_cancelled_on_stop() -> None:
    gate = asyncio.Event()

    async def never(seconds: float) -> None:
        await gate.wait()

    sb = await Sandbox(**SMALL, sleep=never).start()
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as http:
        await subscribe(http, "http://127.0.0.1:9/closed", "person_created", "t")
        async with http.post("/v2/people", json={"email_address": "gone@example.com"}) as resp:
            assert resp.status == 200
    for _ in range(50):
        if sb.webhooks.deliveries:
            break
        await asyncio.sleep(0.01)
    assert sb.webhooks.pending == 1
    await sb.stop()
    assert sb.webhooks.pending == 0
