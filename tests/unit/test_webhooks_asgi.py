"""The ASGI adapter, driven through the ASGI protocol itself (no server needed)."""

from __future__ import annotations

import json
from collections.abc import MutableMapping
from typing import Any

import pytest

from salesloft_async.webhooks import Event, WebhookReceiver, asgi_app, compute_signature

TOKEN = "asgi-token"
BODY = json.dumps({"id": 11, "first_name": "Grace"}).encode()


async def call(
    app: Any,
    *,
    method: str = "POST",
    chunks: list[bytes] | None = None,
    headers: dict[str, str] | None = None,
    disconnect_after: int | None = None,
) -> tuple[int | None, dict[str, str], bytes]:
    chunks = [BODY] if chunks is None else chunks
    if headers is None:
        headers = {
            "X-Salesloft-Event": "person_updated",
            "X-Salesloft-Signature": compute_signature(b"".join(chunks), TOKEN),
        }
    scope = {
        "type": "http",
        "method": method,
        "path": "/webhooks",
        "headers": [(k.encode(), v.encode("latin-1")) for k, v in headers.items()],
    }
    incoming: list[dict[str, Any]] = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    if disconnect_after is not None:
        incoming = [*incoming[:disconnect_after], {"type": "http.disconnect"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return incoming.pop(0) if incoming else {"type": "http.disconnect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    if not sent:
        return None, {}, b""
    start, body = sent
    resp_headers = {k.decode(): v.decode() for k, v in start["headers"]}
    return start["status"], resp_headers, body["body"]


@pytest.fixture
def receiver() -> WebhookReceiver:
    return WebhookReceiver(TOKEN)


async def test_a_signed_delivery_in_several_chunks_is_dispatched(receiver: WebhookReceiver) -> None:
    seen: list[Event[Any]] = []
    receiver.on("person_updated")(lambda e: _append(seen, e))
    status, headers, body = await call(asgi_app(receiver), chunks=[BODY[:5], BODY[5:]])
    assert status == 204
    assert body == b""
    assert headers["content-length"] == "0"
    assert [e.record_id for e in seen] == [11]


async def _append(seen: list[Event[Any]], event: Event[Any]) -> None:
    seen.append(event)


async def test_headers_are_matched_case_insensitively_and_bad_signature_is_401(
    receiver: WebhookReceiver,
) -> None:
    status, _, body = await call(
        asgi_app(receiver),
        headers={"x-salesloft-event": "person_updated", "X-SALESLOFT-SIGNATURE": "0" * 40},
    )
    assert status == 401
    assert b"does not match" in body


async def test_unsigned_is_401(receiver: WebhookReceiver) -> None:
    status, _, _ = await call(asgi_app(receiver), headers={"x-salesloft-event": "person_updated"})
    assert status == 401


async def test_signed_non_json_is_400(receiver: WebhookReceiver) -> None:
    bad = b"not json at all"
    status, _, _ = await call(
        asgi_app(receiver),
        chunks=[bad],
        headers={
            "x-salesloft-event": "person_updated",
            "x-salesloft-signature": compute_signature(bad, TOKEN),
        },
    )
    assert status == 400


async def test_get_is_405_with_allow_header(receiver: WebhookReceiver) -> None:
    status, headers, _ = await call(asgi_app(receiver), method="GET")
    assert status == 405
    assert headers["allow"] == "POST"


async def test_declared_oversize_is_413_without_reading(receiver: WebhookReceiver) -> None:
    small = WebhookReceiver(TOKEN, max_body_size=8)
    status, _, _ = await call(
        asgi_app(small),
        headers={"content-length": "9", "x-salesloft-event": "person_updated"},
        chunks=[b"x" * 9],
    )
    assert status == 413


@pytest.mark.parametrize(
    ("length", "status"),
    [
        ("\xb2", 204),  # a latin-1 superscript two: str.isdigit() says yes, int() says no
        ("9" * 5000, 413),  # more digits than int() parses: far over any limit
        ("-1", 204),
    ],
    ids=["superscript", "huge", "negative"],
)
async def test_a_content_length_that_is_no_number_is_ignored_or_too_big(
    receiver: WebhookReceiver, length: str, status: int
) -> None:
    headers = {
        "content-length": length,
        "x-salesloft-event": "person_updated",
        "x-salesloft-signature": compute_signature(BODY, TOKEN),
    }
    got, _, _ = await call(asgi_app(receiver), headers=headers)
    assert got == status


async def test_streamed_oversize_is_413(receiver: WebhookReceiver) -> None:
    small = WebhookReceiver(TOKEN, max_body_size=8)
    status, _, _ = await call(asgi_app(small), chunks=[b"x" * 5, b"x" * 5])
    assert status == 413


async def test_a_client_that_hangs_up_mid_body_gets_nothing_and_runs_nothing(
    receiver: WebhookReceiver,
) -> None:
    seen: list[Event[Any]] = []
    receiver.on("*")(lambda e: _append(seen, e))
    status, _, _ = await call(asgi_app(receiver), chunks=[BODY[:5], BODY[5:]], disconnect_after=1)
    assert status is None
    assert seen == []


async def test_lifespan_shutdown_closes_the_receiver(receiver: WebhookReceiver) -> None:
    messages = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await asgi_app(receiver)({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]
    status, _, _ = await call(asgi_app(receiver))
    assert status == 503


async def test_websocket_scopes_are_refused(receiver: WebhookReceiver) -> None:
    async def never() -> dict[str, Any]:
        raise AssertionError

    async def drop(message: MutableMapping[str, Any]) -> None:
        raise AssertionError

    with pytest.raises(RuntimeError, match="cannot serve 'websocket'"):
        await asgi_app(receiver)({"type": "websocket"}, never, drop)
