"""What one hostile answer costs the client: time, memory and bytes read.

Claim: a 500 MB body or an endless chunked body fails with `ResponseTooLargeError` after reading
about `max_response_size` (32 MiB), in well under a second and with about that much memory; and
`RetryPolicy(max_elapsed=5)` gives up at 5 s against a server that never answers, whatever the
per-attempt timeout.

A local aiohttp server on 127.0.0.1 plays the hostile part; "server wrote" is what it managed to
send before the client dropped the connection (kernel buffers included).

    .venv/bin/python benchmarks/hostile_answers.py
"""

from __future__ import annotations

import asyncio
import time
import tracemalloc

from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import RetryPolicy, SalesloftClient

MiB = 1024 * 1024
CHUNK = b"x" * MiB


async def main() -> None:
    written = {"bytes": 0}

    async def stream(request: web.Request) -> web.StreamResponse:
        resp = web.StreamResponse()
        resp.enable_chunked_encoding()
        await resp.prepare(request)
        try:
            for _ in range(int(request.query["mib"])):
                await resp.write(CHUNK)
                written["bytes"] += len(CHUNK)
        except (ConnectionError, RuntimeError):
            pass
        return resp

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.json_response({"data": []})

    app = web.Application()
    app.router.add_get("/stream", stream)
    app.router.add_get("/hang", hang)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    url = str(server.make_url(""))
    print("| answer | error | wall | tracemalloc peak | server wrote |")
    print("| --- | --- | ---: | ---: | ---: |")
    try:
        async with SalesloftClient(
            "ak_bench", base_url=url, timeout=120, retry=RetryPolicy(max_attempts=1)
        ) as sl:
            for label, mib in (("500 MB chunked body", 500), ("endless body (4 GB cap)", 4096)):
                written["bytes"] = 0
                tracemalloc.start()
                began = time.monotonic()
                error = "none"
                try:
                    await sl.request("GET", "/stream", params={"mib": mib})
                except Exception as exc:
                    error = type(exc).__name__
                wall = time.monotonic() - began
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(
                    f"| {label} | {error} | {wall:.2f} s | {peak / MiB:.1f} MiB"
                    f" | {written['bytes'] / MiB:.0f} MiB |"
                )
        policy = RetryPolicy(max_attempts=10, base=0.01, cap=0.01, max_elapsed=5.0)
        async with SalesloftClient("ak_bench", base_url=url, timeout=4.0, retry=policy) as sl:
            began = time.monotonic()
            try:
                await sl.request("GET", "/hang")
            except Exception as exc:
                error = type(exc).__name__
            print(
                f"| no answer, timeout=4, max_elapsed=5 | {error} |"
                f" {time.monotonic() - began:.2f} s | | |"
            )
    finally:
        await server.close()


if __name__ == "__main__":
    asyncio.run(main())
