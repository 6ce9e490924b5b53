"""The aiohttp.web adapter: a handler factory and a mountable sub-application.

Only transport concerns live here (reading the body within its size and time limits, headers, the
response object); every decision is `WebhookReceiver.handle`'s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import ClientPayloadError, web

from ._reading import ClientGone, read_body
from .receiver import EVENT_HEADER, Outcome, WebhookReceiver
from .signature import SIGNATURE_HEADER

__all__ = ["webhook_app", "webhook_handler"]

RequestHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def webhook_handler(receiver: WebhookReceiver) -> RequestHandler:
    """An aiohttp request handler for ``app.router.add_post("/salesloft/webhooks", ...)``.

    The request path is passed to a callable token source, so one handler can serve routes like
    ``/webhooks/{tenant}`` for many tenants.
    """

    async def handle(request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            raise web.HTTPMethodNotAllowed(request.method, ["POST"])
        read_by, answer_by = receiver.deadlines()
        body = await read_body(
            _chunks(request),
            declared=request.content_length,
            limit=receiver.max_body_size,
            deadline=read_by,
            peer=request.remote,
        )
        if body is None:  # the sender is gone: aiohttp drops whatever we answer, quietly
            return web.Response(status=400)
        if isinstance(body, Outcome):
            return await _refuse_unread(request, body)
        outcome = await receiver.handle(
            body,
            event_type=request.headers.get(EVENT_HEADER),
            signature=request.headers.get(SIGNATURE_HEADER),
            path=request.path,
            deadline=answer_by,
        )
        return _response(outcome)

    return handle


async def _chunks(request: web.BaseRequest) -> AsyncIterator[bytes]:
    try:
        async for chunk in request.content.iter_any():
            yield chunk
    except (ConnectionError, ClientPayloadError) as exc:
        raise ClientGone from exc


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
    if outcome.payload is not None:
        return web.json_response(outcome.payload, status=outcome.status)
    if outcome.status == 204:
        return web.Response(status=204)
    return web.Response(status=outcome.status, text=outcome.message or "ok")


async def _refuse_unread(request: web.Request, outcome: Outcome) -> web.StreamResponse:
    """Answer, then close at once: aiohttp would otherwise linger up to 10 s reading the rest
    of a body we refused (a trickling sender would keep its connection all that time)."""
    response = _response(outcome)
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()
    return response
