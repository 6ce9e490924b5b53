"""Hostile deliveries against both adapters (aiohttp, and ASGI under uvicorn) over real sockets.

A re-labelled body, a burst of identical deliveries, a failing handler's retry, two receiver
processes sharing one Redis, 200 senders trickling their bodies, and senders that hang up.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from salesloft_async import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.webhooks import (
    Event,
    WebhookReceiver,
    compute_signature,
    subscribe,
    tokens_by_event_type,
)
from tests.integration.webhook_servers import ADAPTERS, serve
from tests.redis_support import REDIS_URL, redis_or_skip

TOKENS = {"person_updated": "token-for-updates", "person_deleted": "token-for-deletes"}
BODY = json.dumps({"id": 7, "first_name": "Ada", "updated_at": "2026-11-23T10:15:30Z"}).encode()

pytestmark = pytest.mark.parametrize("adapter", ADAPTERS)


def signed(event_type: str, body: bytes = BODY, token: str | None = None) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "x-salesloft-event": event_type,
        "x-salesloft-signature": compute_signature(body, token or TOKENS[event_type]),
    }


class Ran:
    """Handler runs, by event type."""

    def __init__(self) -> None:
        self.types: list[str] = []

    async def __call__(self, event: Event[Any]) -> None:
        self.types.append(event.event_type)


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def post(http: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with http.post(url, data=BODY, headers=headers) as resp:
        await resp.read()
        return resp.status


async def test_a_signed_body_relabelled_with_another_event_type_is_refused(
    adapter: str, http: aiohttp.ClientSession
) -> None:
    tokens: dict[str, str] = {}  # filled from what subscribe() made, as an app does
    receiver = WebhookReceiver(tokens)
    ran = Ran()
    receiver.on("person_updated", "person_deleted")(ran)
    async with (
        serve(receiver, adapter) as url,
        Sandbox(people=20, accounts=5, users=2, cadences=2) as sandbox,
        SalesloftClient(sandbox.api_key, base_url=sandbox.url) as sl,
    ):
        subs = await subscribe(sl, url, ["person_updated", "person_deleted"])
        tokens.update(tokens_by_event_type(subs))
        # A genuine person_updated delivery, as an attacker captured it, re-sent as a delete.
        captured = signed("person_updated", token=tokens["person_updated"])
        relabelled = {**captured, "x-salesloft-event": "person_deleted"}
        assert await post(http, url, relabelled) == 401
        assert ran.types == []
        assert await post(http, url, captured) == 204
    assert ran.types == ["person_updated"]


async def test_ten_identical_deliveries_at_once_run_the_handler_once(
    adapter: str, http: aiohttp.ClientSession
) -> None:
    receiver = WebhookReceiver(TOKENS, ack_timeout=None)
    gate = asyncio.Event()
    runs: list[int] = []

    @receiver.on("person_updated")
    async def slow(event: Event[Any]) -> None:
        runs.append(event.record_id or 0)
        await gate.wait()

    async with serve(receiver, adapter) as url:
        sends = [asyncio.create_task(post(http, url, signed("person_updated"))) for _ in range(10)]
        pending: set[asyncio.Task[int]] = set(sends)
        async with asyncio.timeout(10):
            while len(pending) > 1:  # the nine repeats are answered while the first runs
                _, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        gate.set()
        statuses = sorted(await asyncio.gather(*sends))
        later = await post(http, url, signed("person_updated"))
    assert runs == [7]
    assert statuses == [204] + [409] * 9  # repeats of a running delivery: "retry later"
    assert later == 204  # a repeat of a finished one: "already handled"


async def test_a_failed_handlers_retry_runs_it_again(
    adapter: str, http: aiohttp.ClientSession
) -> None:
    receiver = WebhookReceiver(TOKENS)
    attempts: list[int] = []

    @receiver.on("person_updated")
    async def flaky(event: Event[Any]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database briefly unavailable")

    async with serve(receiver, adapter) as url:
        assert await post(http, url, signed("person_updated")) == 500
        assert await post(http, url, signed("person_updated")) == 204  # Salesloft's retry
        assert await post(http, url, signed("person_updated")) == 204  # already handled
    assert len(attempts) == 2


async def test_two_receiver_processes_sharing_redis_run_a_duplicate_once(
    adapter: str, http: aiohttp.ClientSession
) -> None:
    redis = await redis_or_skip()
    prefix = f"test:webhook-claims:{uuid.uuid4().hex}:"
    worker = Path(__file__).with_name("webhook_servers.py")
    procs = []
    try:
        for _ in range(2):
            procs.append(
                await asyncio.create_subprocess_exec(
                    sys.executable,
                    str(worker),
                    adapter,
                    REDIS_URL,
                    prefix,
                    TOKENS["person_updated"],
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                    cwd=str(Path(__file__).parents[2]),
                )
            )
        async with asyncio.timeout(30):
            urls = [(await p.stdout.readline()).decode().strip() for p in procs if p.stdout]
            assert all(u.startswith("http://127.0.0.1:") for u in urls), urls
            # Five copies to each process at once, then a late repeat to each.
            burst = [post(http, url, signed("person_updated")) for url in urls for _ in range(5)]
            statuses = await asyncio.gather(*burst)
            late = [await post(http, url, signed("person_updated")) for url in urls]
        assert await redis.get(f"{prefix}runs") == "1"
        # 409 while the first runs, 204 once it is done (a slow machine may answer some late).
        assert set(statuses) <= {204, 409} and 409 in statuses, statuses
        assert late == [204, 204]
    finally:
        for p in procs:
            if p.stdin:
                p.stdin.close()
        for p in procs:
            try:
                await asyncio.wait_for(p.wait(), 10)
            except TimeoutError:
                p.kill()
                await p.wait()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


async def test_two_hundred_slow_senders_are_cut_off_while_a_delivery_gets_through(
    adapter: str, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver = WebhookReceiver(TOKENS, read_timeout=0.5, ack_timeout=None)
    ran = Ran()
    receiver.on("person_updated")(ran)
    async with serve(receiver, adapter) as url:
        port = int(url.split(":")[2].split("/")[0])
        head = (
            "POST /hooks/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "x-salesloft-event: person_updated\r\n"
            f"x-salesloft-signature: {'0' * 40}\r\nContent-Length: 1000\r\n\r\n{{"
        ).encode()

        async def trickle() -> str:
            """How the server ended it: its answer's status line, or "reset"."""
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(head)
                answer = b""
                while True:  # one byte every 0.1 s, never the whole body, until cut off
                    try:
                        chunk = await asyncio.wait_for(reader.read(4096), 0.1)
                    except TimeoutError:
                        writer.write(b" ")
                        continue
                    if not chunk:
                        return answer.split(b"\r\n", 1)[0].decode()
                    answer += chunk
            except ConnectionResetError:
                # Closing a socket with unread bytes sends a reset, which may overtake the 408.
                return "reset"
            finally:
                writer.close()

        slow = [asyncio.create_task(trickle()) for _ in range(200)]
        await asyncio.sleep(0.05)
        ok = await post(http, url, signed("person_updated"))
        # All cut off well before aiohttp's 10 s lingering read or uvicorn's keep-alive would
        # close them: a bound with room for a loaded machine, not a speed claim.
        async with asyncio.timeout(8):
            answers = await asyncio.gather(*slow)
    assert ok == 204
    assert ran.types == ["person_updated"]
    assert set(answers) <= {"HTTP/1.1 408 Request Timeout", "reset"}, set(answers)
    assert "HTTP/1.1 408 Request Timeout" in answers
    # cut off by us, not an error of ours: no ERROR line and no traceback from either server
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


async def test_every_request_is_answered_by_its_deadline_with_whose_side_was_slow(
    adapter: str, http: aiohttp.ClientSession
) -> None:
    """The request deadline bounds the whole request before the acknowledgement: a body still
    arriving is 408 (the sender's fault), a token lookup still running 503 (ours: retry later),
    handlers still running 202 (they finish in the background)."""
    finished: list[str] = []
    gate = asyncio.Event()

    async def lookup(event_type: str, path: str) -> str | None:
        if event_type == "person_deleted":
            await asyncio.Event().wait()  # a token database that never answers
        return TOKENS.get(event_type)

    # read_timeout alone would wait a minute: the request deadline is what ends each of these
    receiver = WebhookReceiver(lookup, read_timeout=60, request_timeout=0.5, ack_timeout=None)

    @receiver.on("person_updated")
    async def slow(event: Event[Any]) -> None:
        await gate.wait()
        finished.append(event.event_type)

    async with serve(receiver, adapter) as url:
        port = int(url.split(":")[2].split("/")[0])

        async def half_a_body() -> str:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = (
                "POST /hooks/ HTTP/1.1\r\nHost: 127.0.0.1\r\nx-salesloft-event: person_updated"
                "\r\nx-salesloft-signature: " + "0" * 40 + "\r\nContent-Length: 100\r\n\r\n{"
            )
            writer.write(head.encode())
            try:
                return (await reader.read()).split(b"\r\n", 1)[0].decode()
            finally:
                writer.close()

        async with asyncio.timeout(10):
            statuses = await asyncio.gather(
                half_a_body(),
                post(http, url, signed("person_deleted")),
                post(http, url, signed("person_updated")),
            )
        assert finished == []
        gate.set()
        assert await receiver.drain(5)
    assert statuses == ["HTTP/1.1 408 Request Timeout", 503, 202]
    assert finished == ["person_updated"]


async def test_a_sender_that_hangs_up_mid_body_is_logged_once_without_a_traceback(
    adapter: str, caplog: pytest.LogCaptureFixture
) -> None:
    receiver = WebhookReceiver(TOKENS)
    ran = Ran()
    receiver.on("*")(ran)
    caplog.set_level(logging.DEBUG)
    gone = Gone(5)
    logging.getLogger("salesloft_async.webhooks").addHandler(gone)
    async with serve(receiver, adapter) as url:
        port = int(url.split(":")[2].split("/")[0])
        for _ in range(5):
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(
                b"POST /hooks/ HTTP/1.1\r\nHost: x\r\nx-salesloft-event: person_updated\r\n"
                b'Content-Length: 500\r\n\r\n{"id":'
            )
            await writer.drain()
            writer.close()
            await writer.wait_closed()
        try:
            async with asyncio.timeout(10):
                await gone.all_seen.wait()
            await asyncio.sleep(0.1)  # room for anything else the servers would log about it
        finally:
            logging.getLogger("salesloft_async.webhooks").removeHandler(gone)
    records = [r for r in caplog.records if "went away" in r.getMessage()]
    assert len(records) == 5
    assert all(r.levelno <= logging.INFO and r.exc_info is None for r in records)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert [r for r in caplog.records if r.exc_info] == []
    assert ran.types == []


class Gone(logging.Handler):
    """Sets `all_seen` once `expected` "went away" lines were logged."""

    def __init__(self, expected: int) -> None:
        super().__init__()
        self.left = expected
        self.all_seen = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if "went away" in record.getMessage():
            self.left -= 1
            if self.left == 0:
                self.all_seen.set()
