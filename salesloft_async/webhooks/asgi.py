"""The framework-neutral ASGI adapter: mount it in Starlette, FastAPI, Quart, Django (ASGI)...

``Mount("/salesloft/webhooks", app=asgi_app(receiver))`` in Starlette/FastAPI, or call it from any
ASGI server directly.  It also answers the lifespan protocol (closing the receiver on shutdown) when
it is the top-level app.  Frameworks that hand you a request object instead can call
`WebhookReceiver.handle` with the body and the two headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

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
        headers = _headers(scope)
        outcome: Outcome
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > receiver.max_body_size:
            outcome = Outcome(413, f"body is over {receiver.max_body_size} bytes")
        else:
            try:
                body = await _read_limited(receive, receiver.max_body_size)
            except _ClientGone:
                return  # half a body is not a delivery, and nobody is left to answer
            if body is None:
                outcome = Outcome(413, f"body is over {receiver.max_body_size} bytes")
            else:
                outcome = await receiver.handle(
                    body,
                    event_type=headers.get(EVENT_HEADER),
                    signature=headers.get(SIGNATURE_HEADER),
                    path=str(scope.get("path", "")),
                )
        await _send(send, outcome)

    return app


class _ClientGone(Exception):
    pass


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        out.setdefault(bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
    return out


async def _read_limited(receive: Receive, limit: int) -> bytes | None:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = bytes(message.get("body", b""))
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(
    send: Send, outcome: Outcome, extra: list[tuple[bytes, bytes]] | None = None
) -> None:
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
