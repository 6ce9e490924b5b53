"""The aiohttp adapter over a real loopback socket: status codes, sub-app mounting, body limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from salesloft_async.webhooks import (
    Event,
    PersonEvent,
    WebhookReceiver,
    compute_signature,
    webhook_app,
    webhook_handler,
)

TOKEN = "loopback-token"
BODY = json.dumps({"id": 7, "first_name": "Ada", "last_name": "Lovelace"}).encode()


async def serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@pytest.fixture
async def setup() -> AsyncIterator[
    tuple[WebhookReceiver, list[Event[Any]], str, aiohttp.ClientSession]
]:
    receiver = WebhookReceiver(TOKEN, max_body_size=4096)
    seen: list[Event[Any]] = []

    @receiver.on("*")
    async def record(event: Event[Any]) -> None:
        seen.append(event)

    main = web.Application()
    main.add_subapp("/salesloft/", webhook_app(receiver))
    runner, base = await serve(main)
    async with aiohttp.ClientSession() as session:
        yield receiver, seen, f"{base}/salesloft/", session
    await runner.cleanup()


def headers(body: bytes, event_type: str = "person_updated", token: str = TOKEN) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Salesloft-Event": event_type,
        "X-Salesloft-Signature": compute_signature(body, token),
    }


async def test_a_signed_delivery_reaches_the_handler(setup: Any) -> None:
    _, seen, url, session = setup
    async with session.post(url, data=BODY, headers=headers(BODY)) as resp:
        assert resp.status == 204
    assert len(seen) == 1
    assert isinstance(seen[0], PersonEvent)
    assert seen[0].record.last_name == "Lovelace"


@pytest.mark.parametrize(
    ("body", "hdrs", "status"),
    [
        (BODY, {"X-Salesloft-Event": "person_updated"}, 401),  # unsigned
        (BODY, headers(BODY, token="forger-token"), 401),  # forged
        (BODY.replace(b"Ada", b"Eve"), headers(BODY), 401),  # replayed with a changed body
        (b"<html/>", headers(b"<html/>"), 400),  # signed but not JSON
        (BODY, {**headers(BODY), "X-Salesloft-Event": ""}, 400),
    ],
)
async def test_refused_deliveries_run_no_handler(
    setup: Any, body: bytes, hdrs: dict[str, str], status: int
) -> None:
    _, seen, url, session = setup
    async with session.post(url, data=body, headers=hdrs) as resp:
        assert resp.status == status
        assert TOKEN not in await resp.text()
    assert seen == []


async def test_oversize_bodies_are_413_declared_or_streamed(setup: Any) -> None:
    _, seen, url, session = setup
    big = b'{"id": 1, "x": "' + b"a" * 5000 + b'"}'
    async with session.post(url, data=big, headers=headers(big)) as resp:
        assert resp.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"a" * 1000

    async with session.post(url, data=chunks(), headers=headers(big)) as resp:
        assert resp.status == 413
    assert seen == []


async def test_only_post_is_routed(setup: Any) -> None:
    _, _, url, session = setup
    async with session.get(url) as resp:
        assert resp.status == 405


async def test_cleanup_of_the_main_app_closes_the_receiver() -> None:
    receiver = WebhookReceiver(TOKEN)
    main = web.Application()
    main.add_subapp("/hooks/", webhook_app(receiver))
    runner, _ = await serve(main)
    await runner.cleanup()
    outcome = await receiver.handle(BODY, event_type="person_updated", signature="0" * 40)
    assert outcome.status == 503


async def test_the_handler_factory_serves_a_route_with_a_tenant_path_segment() -> None:
    tokens = {"acme": "acme-token", "globex": "globex-token"}

    def lookup(event_type: str, path: str) -> str | None:
        return tokens.get(path.rsplit("/", 1)[-1])

    receiver = WebhookReceiver(lookup)
    seen: list[str] = []

    @receiver.on("person_updated")
    async def record(event: Event[Any]) -> None:
        seen.append(event.event_type)

    app = web.Application()
    app.router.add_post("/hooks/{tenant}", webhook_handler(receiver))
    runner, base = await serve(app)
    try:
        async with aiohttp.ClientSession() as session:
            ok = headers(BODY, token="acme-token")
            async with session.post(f"{base}/hooks/acme", data=BODY, headers=ok) as resp:
                assert resp.status == 204
            async with session.post(f"{base}/hooks/globex", data=BODY, headers=ok) as resp:
                assert resp.status == 401
            async with session.post(f"{base}/hooks/nobody", data=BODY, headers=ok) as resp:
                assert resp.status == 401
    finally:
        await runner.cleanup()
    assert seen == ["person_updated"]
