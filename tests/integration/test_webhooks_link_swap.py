"""link_swap round trips: the sandbox asks, the receiver (either adapter) answers the new links."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.webhooks import (
    LinkSwapEvent,
    WebhookReceiver,
    subscribe,
    tokens_by_event_type,
    webhook_app,
)
from tests.integration.webhook_servers import ADAPTERS, serve

LINKS = ["http://old.example/pricing", "http://old.example/demo"]


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free loopback port; its base URL (a plain receiver the sandbox may call)."""
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[Sandbox, SalesloftClient]]:
    async with (
        Sandbox(people=20, accounts=5, users=2, cadences=2) as sb,
        SalesloftClient(sb.api_key, base_url=sb.url) as sl,
    ):
        yield sb, sl


@pytest.mark.parametrize("adapter", ADAPTERS)
async def test_the_sandbox_gets_back_the_links_the_handler_swapped(
    adapter: str, sandbox: tuple[Sandbox, SalesloftClient]
) -> None:
    sb, sl = sandbox
    tokens: dict[str, str] = {}
    receiver = WebhookReceiver(tokens)
    asked: list[LinkSwapEvent] = []

    @receiver.on("link_swap")
    async def track(event: LinkSwapEvent) -> dict[str, str]:
        asked.append(event)
        return {LINKS[0]: f"https://track.example/r?person={event.record.person_id}"}

    async with serve(receiver, adapter) as url:
        tokens.update(tokens_by_event_type(await subscribe(sl, url, ["link_swap"])))
        replies = await sb.webhooks.link_swap(LINKS, person={"id": 5, "email": "p@example.com"})
    assert [(r.status, r.problem) for r in replies] == [(200, None)]
    assert replies[0].links == {LINKS[0]: "https://track.example/r?person=5"}
    assert sb.webhooks.link_swaps == replies
    assert [e.record.links for e in asked] == [tuple(LINKS)]


async def test_a_refused_or_malformed_answer_keeps_the_links_and_says_why(
    sandbox: tuple[Sandbox, SalesloftClient],
) -> None:
    sb, sl = sandbox

    async def offers_a_link_nobody_asked_about(request: web.Request) -> web.Response:
        return web.json_response({"links": {"http://evil.example": "https://x.example"}})

    async def swaps_in_a_script(request: web.Request) -> web.Response:
        return web.json_response({"links": {LINKS[0]: "javascript:alert(1)"}})

    async def answers_without_links(request: web.Request) -> web.Response:
        return web.json_response({"swapped": {LINKS[0]: "https://x.example"}})

    app = web.Application()
    app.router.add_post("/bad", offers_a_link_nobody_asked_about)
    app.router.add_post("/script", swaps_in_a_script)
    app.router.add_post("/nolinks", answers_without_links)
    app.add_subapp("/strict/", webhook_app(WebhookReceiver({"link_swap": "not-the-token"})))
    async with serving(app) as base:
        for path in ("/bad", "/script", "/nolinks"):
            await subscribe(sl, base + path, ["link_swap"])
        await subscribe(sl, f"{base}/strict/", ["link_swap"])  # a token the receiver lacks
        replies = await sb.webhooks.link_swap(LINKS)
    problems = sorted(r.problem or "" for r in replies)
    assert problems == [
        "status 401",
        'the answer has no "links" object',
        "the answer swaps a link that was not offered: 'http://evil.example'",
        f"the answer's new link for {LINKS[0]!r} is not an http(s) URL",
    ]
    assert all(r.links == {} for r in replies)


async def test_a_deep_or_endless_answer_is_refused_with_a_reason(
    sandbox: tuple[Sandbox, SalesloftClient],
) -> None:
    sb, sl = sandbox

    async def deep(request: web.Request) -> web.Response:
        return web.Response(body=b"[" * 100_000, content_type="application/json")

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        while True:  # until the sandbox hangs up
            await response.write(b" " * 65536)

    app = web.Application()
    app.router.add_post("/deep", deep)
    app.router.add_post("/endless", endless)
    async with serving(app) as base:
        await subscribe(sl, f"{base}/deep", ["link_swap"])
        await subscribe(sl, f"{base}/endless", ["link_swap"])
        async with asyncio.timeout(20):  # once: a RecursionError, and a read without end
            replies = await sb.webhooks.link_swap(LINKS)
    problems = sorted(r.problem or "" for r in replies)
    assert problems == ["the answer is longer than 1048576 bytes", "the answer is not JSON"]
    assert all(r.links == {} for r in replies)


async def test_an_endless_answer_to_a_delivery_is_not_read_to_its_end(
    sandbox: tuple[Sandbox, SalesloftClient],
) -> None:
    sb, sl = sandbox

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        while True:  # until the sandbox hangs up
            await response.write(b" " * 65536)

    app = web.Application()
    app.router.add_post("/endless", endless)
    async with serving(app) as base:
        await subscribe(sl, f"{base}/endless", ["person_created"])
        await sl.request("POST", "/v2/people", json={"email_address": "ada@example.com"})
        async with asyncio.timeout(20):  # once: read until the sandbox's delivery timeout
            await sb.webhooks.drain()
    assert [(d.event_type, d.status, d.ok) for d in sb.webhooks.deliveries] == [
        ("person_created", 200, True)
    ]
