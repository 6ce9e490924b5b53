"""End to end: a write through the client -> a signed sandbox delivery -> our receiver on loopback.

Also: forged, replayed-with-changed-body and unsigned deliveries are refused with no handler run,
and the sandbox's retries after a failing handler are observed (its retry sleep is injected, so the
15 s gaps are recorded, not waited for).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.webhooks import (
    Event,
    PersonEvent,
    TaskEvent,
    WebhookReceiver,
    compute_signature,
    list_subscriptions,
    subscribe,
    unsubscribe,
    webhook_app,
)


class Harness:
    """A sandbox, a client on it, and a receiver app on its own loopback port."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.tokens: dict[str, str] = {}
        self.receiver = WebhookReceiver(self.tokens, ack_timeout=None)
        self.seen: list[Event[Any]] = []
        self.signatures: list[str] = []  # what the sandbox actually sent, captured on the wire

        @self.receiver.on("*")
        async def record(event: Event[Any]) -> None:
            self.seen.append(event)

    async def fake_sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        await asyncio.sleep(0)

    async def __aenter__(self) -> Harness:
        self.sandbox = await Sandbox(
            sleep=self.fake_sleep, people=20, accounts=5, users=2, cadences=2
        ).start()
        self.sl = SalesloftClient(self.sandbox.api_key, base_url=self.sandbox.url)

        @web.middleware
        async def capture(request: web.Request, handler: Any) -> web.StreamResponse:
            self.signatures.append(request.headers.get("x-salesloft-signature", ""))
            return await handler(request)  # type: ignore[no-any-return]

        app = web.Application(middlewares=[capture])
        app.add_subapp("/hooks/", webhook_app(self.receiver))
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        host, port = self.runner.addresses[0][:2]
        self.hook_url = f"http://{host}:{port}/hooks/"
        self.http = aiohttp.ClientSession()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()
        await self.sl.close()
        await self.sandbox.stop()
        await self.runner.cleanup()

    async def subscribe(self, *types: str) -> str:
        subs = await subscribe(self.sl, self.hook_url, list(types))
        for s in subs:
            assert s.event_type is not None and s.callback_token is not None
            self.tokens[s.event_type] = s.callback_token
        return subs[0].callback_token or ""

    async def create_person(self, **fields: Any) -> dict[str, Any]:
        resp = await self.sl.request("POST", "/v2/people", json=fields)
        data: dict[str, Any] = resp.data["data"]
        return data

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        async with self.http.post(self.hook_url, data=body, headers=headers) as resp:
            return resp.status


@pytest.fixture
async def h() -> AsyncIterator[Harness]:
    async with Harness() as harness:
        yield harness


async def test_a_write_through_the_client_is_delivered_verified_and_dispatched(h: Harness) -> None:
    await h.subscribe("person_created", "person_updated")
    person = await h.sl.people.create(email_address="ada@example.com", first_name="Ada")
    await h.sandbox.drain()  # waits for the delivery (and any retries) to finish

    assert len(h.seen) == 1
    event = h.seen[0]
    assert isinstance(event, PersonEvent)
    assert event.action == "created"
    assert event.record.id == person.id
    assert event.record.email_address == "ada@example.com"
    deliveries = h.sandbox.webhooks.deliveries
    assert [(d.event_type, d.attempt, d.status) for d in deliveries] == [("person_created", 1, 204)]

    await h.sl.people.update(person.id, title="Countess")
    await h.sandbox.drain()
    assert [e.event_type for e in h.seen] == ["person_created", "person_updated"]
    assert isinstance(h.seen[1], PersonEvent)
    assert h.seen[1].record.title == "Countess"


async def test_forged_replayed_and_unsigned_deliveries_are_refused(h: Harness) -> None:
    token = await h.subscribe("person_created")
    await h.create_person(email_address="grace@example.com", first_name="Grace")
    await h.sandbox.drain()
    assert len(h.seen) == 1
    # Rebuild the exact bytes the sandbox sent and check them against the captured signature.
    original = json.dumps(h.seen[0].raw, separators=(",", ":")).encode()
    signature = h.signatures[0]
    assert compute_signature(original, token) == signature

    headers = {"x-salesloft-event": "person_created", "x-salesloft-signature": signature}
    changed = original.replace(b"grace@example.com", b"mallory@example.com")
    assert changed != original
    forged = {**headers, "x-salesloft-signature": compute_signature(original, "guessed-token")}
    unsigned = {"x-salesloft-event": "person_created"}

    assert await h.post(changed, headers) == 401  # replayed with a changed body
    assert await h.post(original, forged) == 401  # signed with the wrong token
    assert await h.post(original, unsigned) == 401  # no signature at all
    assert await h.post(b"{not json", {**headers, "x-salesloft-signature": "0" * 40}) == 401
    assert len(h.seen) == 1  # no handler ran for any of them
    # A byte-for-byte replay verifies (Salesloft signs no timestamp) but is not handled twice.
    assert await h.post(original, headers) == 204
    assert len(h.seen) == 1


async def test_sandbox_retries_after_a_failing_handler_until_it_succeeds(h: Harness) -> None:
    failures_left = 2
    calls: list[int] = []

    @h.receiver.on("task_created")
    async def flaky(event: TaskEvent) -> None:
        nonlocal failures_left
        calls.append(event.record_id or 0)
        if failures_left:
            failures_left -= 1
            raise RuntimeError("database briefly unavailable")

    await h.subscribe("task_created")
    person = await h.create_person(email_address="retry@example.com")
    resp = await h.sl.request(
        "POST",
        "/v2/tasks",
        json={
            "person_id": person["id"],
            "user_id": 1,
            "subject": "call back",
            "task_type": "call",
            "current_state": "scheduled",
            "due_date": "2026-12-01",
        },
    )
    task_id = resp.data["data"]["id"]
    await h.sandbox.drain()

    attempts = [(d.attempt, d.status) for d in h.sandbox.webhooks.deliveries]
    assert attempts == [(1, 500), (2, 500), (3, 204)]
    assert calls == [task_id, task_id, task_id]
    assert h.sleeps == [15.0, 15.0]  # Salesloft's 15 s between attempts, recorded not waited


async def test_a_handler_that_keeps_failing_is_given_up_after_three_retries(h: Harness) -> None:
    @h.receiver.on("person_created")
    async def broken(event: Event[Any]) -> None:
        raise RuntimeError("always")

    await h.subscribe("person_created")
    await h.create_person(email_address="never@example.com")
    await h.sandbox.drain()
    assert [d.status for d in h.sandbox.webhooks.deliveries] == [500, 500, 500, 500]
    assert h.sandbox.counters["webhook:gave_up"] == 1


async def test_subscribe_is_idempotent_and_unsubscribe_stops_deliveries(h: Harness) -> None:
    first = await subscribe(h.sl, h.hook_url, ["person_created", "person_updated"])
    again = await subscribe(h.sl, h.hook_url, ["person_updated", "person_created"])
    assert sorted(s.id or 0 for s in again) == sorted(s.id or 0 for s in first)
    assert len(await list_subscriptions(h.sl, callback_url=h.hook_url)) == 2

    deleted = await unsubscribe(h.sl, first)
    assert sorted(deleted) == sorted(s.id or 0 for s in first)
    assert await list_subscriptions(h.sl, callback_url=h.hook_url) == []
    await h.create_person(email_address="quiet@example.com")
    await h.sandbox.drain()
    assert h.sandbox.webhooks.deliveries == []
    assert h.seen == []
