"""Claim: the webhook receiver verifies, parses and acks a delivery in well under a millisecond of
server time, so "answer 2xx fast" holds even under a burst, with its claim store in memory or in
Redis (one SET round trip more, and one after the handlers).  Talks only to 127.0.0.1; bounded.

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
    ClaimStore,
    RedisClaimStore,
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


REDIS_URL = "redis://127.0.0.1:6379/0"


async def bench_http(
    claims: str, total: int = 3000, concurrency: int = 16
) -> tuple[float, float, float]:
    store: ClaimStore | None = None
    if claims == "redis":
        store = RedisClaimStore(REDIS_URL, prefix=f"bench:webhook:{time.time_ns()}:", ttl=60)
    receiver = WebhookReceiver(
        {"person_updated": TOKEN},
        ack_timeout=None,
        remember=0 if claims == "none" else None,  # None: the default store, or `store`
        claims=store,
    )

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
    if isinstance(store, RedisClaimStore):
        await store.redis.aclose()
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
    print()
    print(
        "| loopback deliveries (aiohttp client -> webhook_app, 16 in flight, 3000 total) |"
        " per second | p50 ms | p99 ms |"
    )
    print("|---|---:|---:|---:|")
    for claims in ("none", "memory", "redis"):
        try:
            rate, p50, p99 = asyncio.run(bench_http(claims))
        except Exception as exc:  # no Redis here: say so instead of a number
            print(f"| claims in {claims} | skipped: {exc} | | |")
            continue
        print(f"| claims in {claims} | {rate:.0f} | {p50:.2f} | {p99:.2f} |")


if __name__ == "__main__":
    main()
