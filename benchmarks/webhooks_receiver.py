"""Claim: the webhook receiver verifies, parses and acks a delivery in well under a millisecond of
server time, so "answer 2xx fast" holds even under a burst.  Talks only to 127.0.0.1; bounded.

    .venv/bin/python benchmarks/webhooks_receiver.py
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import aiohttp
from aiohttp import web

from salesloft_async.webhooks import (
    WebhookReceiver,
    compute_signature,
    verify_signature,
    webhook_app,
)

TOKEN = "bench-token"


def person(i: int, pad: int = 0) -> bytes:
    return json.dumps(
        {
            "id": i,
            "first_name": "Ada",
            "email_address": f"p{i}@example.com",
            "updated_at": "2026-11-23T10:00:00.000000Z",
            "notes": "x" * pad,
        },
        separators=(",", ":"),
    ).encode()


def bench_verify() -> list[tuple[str, int, float]]:
    rows = []
    for size in (1_000, 64_000, 1_000_000):
        body = person(1, size)
        sig = compute_signature(body, TOKEN)
        n = max(50, 20_000_000 // size)
        t = time.perf_counter()
        for _ in range(n):
            verify_signature(body, sig, TOKEN)
        rows.append(("verify_signature", len(body), (time.perf_counter() - t) / n * 1e6))
    return rows


async def bench_http(total: int = 3000, concurrency: int = 16) -> tuple[float, float, float]:
    receiver = WebhookReceiver(TOKEN, ack_timeout=None, remember=0)

    @receiver.on("person_updated")
    async def handler(event: object) -> None:
        return None

    app = web.Application()
    app.add_subapp("/hooks/", webhook_app(receiver))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    url = f"http://{host}:{port}/hooks/"
    bodies = [person(i) for i in range(total)]
    latencies: list[float] = []
    queue = iter(bodies)

    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for body in queue:
                headers = {
                    "x-salesloft-event": "person_updated",
                    "x-salesloft-signature": compute_signature(body, TOKEN),
                }
                t = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as resp:
                    assert resp.status == 204, resp.status
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.wait_for(asyncio.gather(*(worker() for _ in range(concurrency))), 120)
        elapsed = time.perf_counter() - start
    await runner.cleanup()
    latencies.sort()
    return (
        total / elapsed,
        statistics.median(latencies) * 1e3,
        latencies[int(len(latencies) * 0.99)] * 1e3,
    )


def main() -> None:
    print("| what | body bytes | µs per call |")
    print("|---|---:|---:|")
    for name, size, us in bench_verify():
        print(f"| {name} | {size} | {us:.1f} |")
    rate, p50, p99 = asyncio.run(bench_http())
    print()
    print(
        "| loopback deliveries (aiohttp client -> webhook_app, 16 in flight, 3000 total) | value |"
    )
    print("|---|---:|")
    print(f"| deliveries per second (verify + parse + dispatch + 204) | {rate:.0f} |")
    print(f"| latency p50 (ms) | {p50:.2f} |")
    print(f"| latency p99 (ms) | {p99:.2f} |")


if __name__ == "__main__":
    main()
