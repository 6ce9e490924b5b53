"""Serve a `WebhookReceiver` on a loopback port through either adapter, for the webhook tests.

``aiohttp``: the sub-app mounted in an aiohttp application.  ``asgi``: `asgi_app` under uvicorn,
the usual production ASGI server.  Run as a script it is one receiver process of a multi-process
deployment (the Redis claim store test starts two): it prints its port, counts each handler run
in Redis, and stops when its standard input closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import AsyncIterator
from typing import Any

import uvicorn
from aiohttp import web

from salesloft_async.webhooks import WebhookReceiver, asgi_app, webhook_app

ADAPTERS = ("aiohttp", "asgi")


@contextlib.asynccontextmanager
async def serve(receiver: WebhookReceiver, adapter: str) -> AsyncIterator[str]:
    """Serve `receiver` at ``http://127.0.0.1:PORT/hooks/``; yields that URL."""
    if adapter == "aiohttp":
        app = web.Application()
        app.add_subapp("/hooks/", webhook_app(receiver))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0, backlog=1024).start()
        port = runner.addresses[0][1]
        try:
            yield f"http://127.0.0.1:{port}/hooks/"
        finally:
            await runner.cleanup()
        return
    config = uvicorn.Config(
        asgi_app(receiver),
        host="127.0.0.1",
        port=0,
        lifespan="on",
        log_level="warning",
        log_config=None,  # uvicorn's own config stops its loggers propagating: tests see them
        access_log=False,
        backlog=1024,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        yield f"http://127.0.0.1:{port}/hooks/"
    finally:
        server.should_exit = True
        await task


async def _worker(adapter: str, redis_url: str, prefix: str, token: str) -> None:
    import redis.asyncio as aioredis

    from salesloft_async.webhooks import RedisClaimStore

    redis = aioredis.from_url(redis_url, decode_responses=True)
    receiver = WebhookReceiver(
        {"person_updated": token},
        claims=RedisClaimStore(redis, prefix=prefix),
        ack_timeout=None,
    )

    @receiver.on("person_updated")
    async def count(event: Any) -> None:
        await redis.incr(f"{prefix}runs")
        await asyncio.sleep(0.2)  # long enough for the repeats to arrive while it runs

    async with serve(receiver, adapter) as url:
        print(url, flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(_worker(*sys.argv[1:5]))
