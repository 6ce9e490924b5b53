"""`read_all` over a sandbox that cuts bodies, drops connections and answers 503: nothing lost.

The sandbox cuts a body by promising a Content-Length and closing halfway.  A proxy in front of
a server can do worse: lose the end of the body and send the rest as if it were whole (a 200 whose
JSON simply stops).  `cutting_proxy` does that to 2% of answers, on top of the sandbox's faults.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import RetryPolicy, SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.sandbox import Sandbox

PEOPLE = 12_000
FORWARDED = ("Content-Type", "Date", "x-ratelimit-endpoint-cost", "x-ratelimit-remaining-minute")


async def no_sleep(seconds: float) -> None:
    return None


@asynccontextmanager
async def cutting_proxy(target: str, every: int, cuts: Counter[str]) -> AsyncIterator[str]:
    """A proxy to `target` that sends one in `every` successful answers with half its body."""

    async def forward(request: web.Request) -> web.StreamResponse:
        headers = {"Authorization": request.headers.get("Authorization", "")}
        try:
            async with upstream.request(
                request.method, target + request.path_qs, headers=headers, allow_redirects=False
            ) as resp:
                body = await resp.read()
                status = resp.status
                kept = {k: resp.headers[k] for k in FORWARDED if k in resp.headers}
        except aiohttp.ClientError:  # the sandbox dropped or cut it: what a proxy says then
            cuts["bad gateway"] += 1
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        cuts["ok"] += status == 200
        if status == 200 and cuts["ok"] % every == every // 2:
            cuts["cut"] += 1
            body = body[: len(body) // 2]
        return web.Response(status=status, body=body, headers=kept)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    connector = aiohttp.TCPConnector(force_close=True)
    async with aiohttp.ClientSession(connector=connector) as upstream:
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        try:
            yield str(server.make_url("")).rstrip("/")
        finally:
            await server.close()


@pytest.mark.parametrize("proxy", [False, True], ids=["sandbox-faults", "and-a-cutting-proxy"])
async def test_read_all_survives_cut_bodies_dropped_connections_and_503s(proxy: bool) -> None:
    cuts: Counter[str] = Counter()
    async with Sandbox(people=PEOPLE, budget=1_000_000, window=60) as sb:
        sb.faults.add("/v2/people*", truncate_rate=0.02, drop_rate=0.03, error_rate=0.10)
        async with (
            cutting_proxy(sb.url, 50, cuts) if proxy else nullcontext(sb.url) as url,
            SalesloftClient(
                api_key=sb.api_key,
                base_url=url,
                budget=CostBudget(1_000_000, 60),
                retry=RetryPolicy(max_attempts=8, base=0.01, cap=0.05),
                sleep=no_sleep,
            ) as sl,
        ):
            read = sl.people.read_all(concurrency=4, raw=True)
            ids = Counter([record["id"] async for record in read])
        assert ids.keys() == set(sb.store["people"].ids)
        assert max(ids.values()) == 1, "every record exactly once"
        for fault in ("truncate", "drop", "error"):
            assert sb.counters[f"fault:{fault}"] > 0, f"no {fault} fault was injected"
        assert cuts["cut"] > 0 or not proxy
        print(
            f"\n{PEOPLE} people through faults: {read.stats.pages} pages,"
            f" {sb.counters['fault:truncate']} cut, {sb.counters['fault:drop']} dropped,"
            f" {sb.counters['fault:error']} 503s, {cuts['cut']} cut by the proxy"
        )
