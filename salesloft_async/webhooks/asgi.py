"""The framework-neutral ASGI adapter: mount it in Starlette, FastAPI, Quart, Django (ASGI)...

``Mount("/salesloft/webhooks", app=asgi_app(receiver))`` in Starlette/FastAPI, or call it from any
ASGI server directly.  It also answers the lifespan protocol (closing the receiver on shutdown) when
it is the top-level app.  Frameworks that hand you a request object instead can call
`WebhookReceiver.handle` with the body and the two headers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

from ._reading import ClientGone, read_body
from .receiver import EVENT_HEADER, Outcome, WebhookReceiver
from .signature import SIGNATURE_HEADER

__all__ = ["ASGIApp", "asgi_app"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def asgi_app(receiver: WebhookReceiver) -> ASGIApp:
    """An ASGI 3 application that answers every POST to its mount point with the receiver."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receiver, receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"webhook ASGI app cannot serve {scope['type']!r} connections")
        if scope.get("method") != "POST":
            await _send(send, Outcome(405, "only POST is allowed"), [(b"allow", b"POST")])
            return
        read_by, answer_by = receiver.deadlines()
        headers = _headers(scope)
        client = scope.get("client")
        body = await read_body(
            _chunks(receive),
            declared=_content_length(headers.get("content-length", "")),
            limit=receiver.max_body_size,
            deadline=read_by,
            peer=client[0] if client else None,
        )
        if body is None:
            return  # half a body is not a delivery, and nobody is left to answer
        if isinstance(body, Outcome):
            # The body was not read to its end: tell the server to close the connection.
            await _send(send, body, [(b"connection", b"close")])
            return
        outcome = await receiver.handle(
            body,
            event_type=headers.get(EVENT_HEADER),
            signature=headers.get(SIGNATURE_HEADER),
            path=str(scope.get("path", "")),
            deadline=answer_by,
        )
        await _send(send, outcome)

    return app


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
    return out


def _content_length(value: str) -> int | None:
    """The declared length, None when it is no decimal number (``str.isdigit`` also says yes to
    ``"\xb2"``, and ``int`` refuses more than 4,300 digits: either would be a ValueError)."""
    if not (value.isascii() and value.isdigit()):
        return None
    return int(value) if len(value) <= 18 else sys.maxsize


async def _chunks(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        yield bytes(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send(
    send: Send, outcome: Outcome, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    if outcome.payload is not None:
        body = json.dumps(outcome.payload, separators=(",", ":")).encode("utf-8")
        headers = [(b"content-type", b"application/json")]
    else:
        body = b"" if outcome.status == 204 else (outcome.message or "ok").encode("utf-8")
        headers = [(b"content-type", b"text/plain; charset=utf-8")] if body else []
    headers.append((b"content-length", str(len(body)).encode("ascii")))
    headers.extend(extra or [])
    await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receiver: WebhookReceiver, receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await receiver.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
