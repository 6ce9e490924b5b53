"""Both budgets against a hostile local server over loopback: a 429's pause is always bounded.

The server refuses the first request of each client with a hostile ``Retry-After`` (huge, not
finite, a date in year 9999) and then answers 200.  The budget is driven the way the transport
drives it (reserve, send, settle) so that only the budget's own wait is measured.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import SalesloftClient
from salesloft_async.budget import CostBudget
from salesloft_async.redis import RedisBudget, budget_key
from salesloft_async.sandbox import Sandbox
from salesloft_async.testing import ManualClock
from tests.redis_support import redis_or_skip

WINDOW = 1.0


@contextlib.asynccontextmanager
async def serving(people: Callable[[web.Request], Awaitable[web.Response]]) -> AsyncIterator[str]:
    """A loopback server whose /v2/people is `people`; its base URL."""
    app = web.Application()
    app.router.add_get("/v2/people", people)
    async with TestServer(app, host="127.0.0.1") as server:
        yield str(server.make_url("")).rstrip("/")


@pytest.fixture
async def hostile() -> AsyncIterator[str]:
    refused: set[str] = set()

    async def people(request: web.Request) -> web.Response:
        """The first answer to each client is a 429 whose Retry-After is the client's name;
        client "silent" gets no Retry-After and, like a bare mock, no Date at all."""
        who = request.query["client"]
        silent = {"Date": ""} if who == "silent" else {}
        if who not in refused:
            refused.add(who)
            hostile = {} if who == "silent" else {"Retry-After": who}
            return web.json_response(
                {"error": "rate limited"}, status=429, headers={**hostile, **silent}
            )
        return web.json_response({"data": []}, headers={"x-ratelimit-endpoint-cost": "1", **silent})

    async with serving(people) as url:
        yield url


async def call(http: aiohttp.ClientSession, url: str, budget: Any, who: str) -> float:
    """One request through the budget; the seconds its reservation waited."""
    res = await budget.reserve("GET", "/v2/people", None, "interactive")
    async with http.get(f"{url}/v2/people", params={"client": who}) as resp:
        await resp.read()
        budget.settle(res, resp.status, resp.headers)
    return res.waited


@pytest.mark.parametrize("cap", [None, 0.5])
async def test_a_hostile_retry_after_never_pauses_past_the_cap(
    hostile: str, cap: float | None
) -> None:
    values = ["999999999", "inf", "1e400", "Fri, 31 Dec 9999 23:59:59 GMT", "7"]
    async with aiohttp.ClientSession() as http:

        async def client(value: str) -> tuple[float, CostBudget]:
            # each budget on a clock of its own, read at the server's time (its Date is real)
            clock = ManualClock(start=time.time())
            budget = CostBudget(
                20, WINDOW, max_pause=cap, clock=clock, sleep=clock.sleep, wall_clock=clock
            )
            await call(http, hostile, budget, value)  # 429 with the hostile header
            return await call(http, hostile, budget, value), budget

        async with asyncio.timeout(10):  # only keeps a regression from hanging
            results = await asyncio.gather(*(client(v) for v in values))
    for value, (waited, budget) in zip(values, results, strict=True):
        assert budget.stats.rate_limited == 1
        assert 0 < waited <= budget.max_pause, (value, waited)


async def test_a_hostile_retry_after_never_freezes_the_shared_budget(hostile: str) -> None:
    redis = await redis_or_skip()
    key = budget_key(f"hostile-{uuid.uuid4().hex[:12]}")
    clock = ManualClock(start=time.time())  # the scripts' time too, so waits are exact
    budget = RedisBudget(
        redis,
        key,
        limit=20,
        window=WINDOW,
        clock=clock,
        sleep=clock.sleep,
        wall_clock=clock,
        now=clock,
    )
    try:
        async with aiohttp.ClientSession() as http, asyncio.timeout(10):
            await call(http, hostile, budget, "999999999")
            await budget.drain()
            paused = (await budget.shared_stats()).paused_until
            assert paused is None or paused <= (await budget.shared_stats()).now + budget.max_pause
            waited = await call(http, hostile, budget, "999999999")
        assert 0 < waited <= budget.max_pause
        assert budget.stats.rate_limited == 1
    finally:
        await budget.reset()
        await redis.aclose()


async def test_a_429_without_date_or_retry_after_is_not_waited_out_through_the_client(
    hostile: str,
) -> None:
    # Salesloft's minute: a whole window would be 60 s.  The budget's time is a manual clock, so
    # its wait is measured exactly and costs no real second.
    clock = ManualClock()
    budget = CostBudget(600, 60.0, clock=clock, sleep=clock.sleep, wall_clock=clock)
    async with SalesloftClient(api_key="ak_test", base_url=hostile, budget=budget) as sl:
        async with asyncio.timeout(10):
            response = await sl.request("GET", "/v2/people", params={"client": "silent"})
    assert response.status == 200 and budget.stats.rate_limited == 1
    assert budget.stats.wait_time <= 1.5  # the probe backoff's 1 s
    assert budget.stats.wait_time > 0  # and it did wait: a probe, not a retry at once


HUGE = "1" + "0" * 400  # an integer; as a float (Lua's numbers, and Python's arithmetic) infinite


@pytest.fixture
async def absurd_counts() -> AsyncIterator[str]:
    """Answers 200 with a remaining count and a cost no server could mean: `HUGE` or `-HUGE`."""

    async def people(request: web.Request) -> web.Response:
        sign = request.query.get("sign", "")
        headers = {
            "x-ratelimit-remaining-minute": sign + HUGE,
            "x-ratelimit-endpoint-cost": sign + HUGE,
        }
        return web.json_response({"data": []}, headers=headers)

    async with serving(people) as url:
        yield url


@pytest.mark.parametrize("sign", ["", "-"])
async def test_absurd_counts_are_read_as_absent_by_both_budgets(
    absurd_counts: str, sign: str, caplog: pytest.LogCaptureFixture
) -> None:
    redis = await redis_or_skip()
    key = budget_key(f"absurd-{uuid.uuid4().hex[:12]}")
    shared = RedisBudget(redis, key, limit=20, window=WINDOW)
    try:
        for budget in (CostBudget(20, WINDOW), shared):
            async with SalesloftClient(
                api_key="ak_test", base_url=absurd_counts, budget=budget
            ) as sl:
                async with asyncio.timeout(10):  # once: OverflowError, or a settle lost in Redis
                    for _ in range(5):
                        response = await sl.request("GET", "/v2/people", params={"sign": sign})
                        assert response.status == 200
                        assert response.remaining is None and response.cost is None
        await shared.drain()
        stats = await shared.shared_stats()
        assert stats.in_flight == 0  # every settle reached Redis (a refused one stays in flight)
        assert "background update of the shared budget failed" not in caplog.text
    finally:
        await shared.reset()
        await redis.aclose()


@pytest.mark.parametrize("at", [2, 5], ids=["second-answer", "last-of-the-window"])
@pytest.mark.parametrize("ahead", [3600.0, 365 * 86400.0], ids=["an-hour", "a-year"])
async def test_one_date_far_ahead_does_not_stall_the_budget(ahead: float, at: int) -> None:
    """The sandbox (5 cost per 60 s window, on an injected clock) stamps one answer's ``Date`` an
    hour or a year ahead.  Twelve calls one after another need the budget to wait for two window
    ends.  Before `ServerClock`, that `Date` made the budget wait for the hour (or the year), or,
    told on the window's last answer, let a call into a 429."""
    clock = ManualClock()
    sandbox = Sandbox(people=3, accounts=1, window=60.0, budget=5, clock=clock)
    answers = 0

    async def lie(request: web.Request, response: web.StreamResponse) -> None:
        nonlocal answers
        answers += 1
        if answers == at:
            response.headers["Date"] = email.utils.formatdate(clock() + ahead, usegmt=True)

    sandbox.app.on_response_prepare.append(lie)  # after the sandbox's own, honest, stamp
    budget = CostBudget(5, 60.0, clock=clock, sleep=clock.sleep, wall_clock=clock)
    start = clock()
    async with (
        sandbox as sb,
        SalesloftClient(
            api_key=sb.api_key, base_url=sb.url, budget=budget, clock=clock, sleep=clock.sleep
        ) as sl,
    ):
        for _ in range(12):
            await sl.request("GET", "/v2/people", params={"per_page": 1})
    assert answers >= 12
    assert sb.counters["status:429"] == 0
    assert clock() - start <= 3 * 60.0  # stalled, it would be past `ahead`
