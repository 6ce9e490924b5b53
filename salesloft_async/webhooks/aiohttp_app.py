"""The aiohttp.web adapter: a handler factory and a mountable sub-application.

Only transport concerns live here (bounded body read, headers, the response object); every decision
is `WebhookReceiver.handle`'s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from .receiver import EVENT_HEADER, Outcome, WebhookReceiver
from .signature import SIGNATURE_HEADER

__all__ = ["read_limited", "webhook_app", "webhook_handler"]

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def read_limited(request: web.BaseRequest, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is known to exceed `limit` bytes.

    Checked against Content-Length first (nothing is read), then while reading (a chunked or lying
    sender cannot make us buffer more than `limit` + one chunk).
    """
    if request.content_length is not None and request.content_length > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def webhook_handler(receiver: WebhookReceiver) -> RequestHandler:
    """An aiohttp request handler for ``app.router.add_post("/salesloft/webhooks", ...)``.

    The request path is passed to a callable token source, so one handler can serve routes like
    ``/webhooks/{tenant}`` for many tenants.
    """

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        body = await read_limited(request, receiver.max_body_size)
        if body is None:
            outcome = Outcome(413, f"body is over {receiver.max_body_size} bytes")
        else:
            outcome = await receiver.handle(
                body,
                event_type=request.headers.get(EVENT_HEADER),
                signature=request.headers.get(SIGNATURE_HEADER),
                path=request.path,
            )
        return _response(outcome)

    return handle


def webhook_app(receiver: WebhookReceiver, *, path: str = "/") -> web.Application:
    """A sub-application answering POST `path`; mount it with ``app.add_subapp("/hooks/", sub)``.

    Its cleanup closes the receiver (lets running handlers finish first), so mounting it is all the
    lifecycle wiring an aiohttp app needs.
    """
    app = web.Application()
    app.router.add_post(path, webhook_handler(receiver))

    async def _close(_: web.Application) -> None:
        await receiver.close()

    app.on_cleanup.append(_close)
    return app


def _response(outcome: Outcome) -> web.Response:
    if outcome.status == 204:
        return web.Response(status=204)
    return web.Response(status=outcome.status, text=outcome.message or "ok")
