"""The server-side cost budget: headers, deep-page costs, 429, fixed windows on its clock."""

from __future__ import annotations

import email.utils
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from salesloft_async.sandbox import ManualClock, Sandbox

SMALL = {"people": 50, "accounts": 5, "users": 2, "cadences": 2}


async def hit(
    http: aiohttp.ClientSession, path: str = "/v2/people", **params: str
) -> tuple[int, int, int]:
    async with http.get(path, params=params or None) as resp:
        await resp.read()
        return (
            resp.status,
            int(resp.headers["x-ratelimit-remaining-minute"]),
            int(resp.headers["x-ratelimit-endpoint-cost"]),
        )


@pytest.fixture
async def clocked(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession, ManualClock]]:
    options: dict[str, Any] = dict(SMALL)
    options.update(getattr(request, "param", {}))
    clock = ManualClock(start=6_000.0)  # exactly at a window boundary for 60 s windows
    async with Sandbox(clock=clock, **options) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as http:
            yield sb, http, clock


async def test_headers_and_date_follow_the_sandbox_clock(clocked: Any) -> None:
    sb, http, _ = clocked
    async with http.get("/v2/me") as resp:
        assert resp.headers["x-ratelimit-remaining-minute"] == "599"
        assert resp.headers["x-ratelimit-endpoint-cost"] == "1"
        assert email.utils.parsedate_to_datetime(resp.headers["Date"]).timestamp() == 6_000.0
    async with http.get("/v2/people/99999") as resp:  # a 404 still costs
        assert resp.status == 404 and resp.headers["x-ratelimit-remaining-minute"] == "598"
    assert sb.spend_by_window == {100: 2}


@pytest.mark.parametrize(
    ("clocked", "costs"),
    [
        ({}, {1: 1, 100: 1, 101: 3, 150: 3, 151: 8, 250: 8, 251: 10, 500: 10, 501: 30, 9000: 30}),
        ({"cost_table": "additive"}, {1: 1, 101: 4, 151: 9, 251: 11, 501: 31}),
        ({"cost_table": ((1, 2), (3, 5))}, {1: 2, 2: 2, 3: 5}),
    ],
    indirect=["clocked"],
)
async def test_deep_page_costs(clocked: Any, costs: dict[int, int]) -> None:
    _, http, _ = clocked
    spent = 0
    for page, cost in costs.items():
        status, remaining, charged = await hit(http, page=str(page))
        spent += cost
        assert (status, charged, remaining) == (200, cost, 600 - spent), page
    # a page past the end costs by its number all the same, and non-list reads cost 1
    assert (await hit(http, "/v2/team"))[2] == 1


async def test_429_costs_nothing_and_the_next_window_refills(clocked: Any) -> None:
    sb, http, clock = clocked
    for _ in range(20):
        await hit(http, page="501")  # 20 x 30 = 600
    status, remaining, cost = await hit(http)
    assert (status, remaining, cost) == (429, 0, 1)
    async with http.get("/v2/people") as resp:
        assert await resp.json() == {"error": "API rate limit exceeded"}
    assert sb.counters["rate_limited"] == 2
    assert sb.spend_by_window == {100: 600}
    clock.advance(59.999)
    assert (await hit(http))[0] == 429
    clock.advance(0.001)  # 6060.0: window 101 begins
    assert await hit(http) == (200, 599, 1)
    assert sb.spend_by_window == {100: 600, 101: 1}


@pytest.mark.parametrize("clocked", [{"budget": 40, "window": 10.0}], indirect=True)
async def test_a_request_costing_more_than_is_left_is_refused(clocked: Any) -> None:
    _, http, clock = clocked
    clock.set(1_000.0)
    for _ in range(3):
        await hit(http, page="151")  # 3 x 8 = 24, 16 left
    assert await hit(http, page="501") == (429, 16, 30)
    assert await hit(http, page="151") == (200, 8, 8)
    clock.advance(10.0)
    assert (await hit(http, page="501"))[:2] == (200, 10)


@pytest.mark.parametrize("clocked", [{"background_spend": 300}], indirect=True)
async def test_background_spend_is_spread_over_the_window(clocked: Any) -> None:
    sb, http, clock = clocked
    assert (await hit(http))[1] == 599  # at the window's start the others have spent nothing
    clock.advance(30.0)
    assert (await hit(http))[1] == 600 - 2 - 150
    clock.advance(29.9)
    assert (await hit(http))[1] == 600 - 3 - 299
    clock.advance(0.1)  # next window
    assert (await hit(http))[1] == 599
    assert sb.budget.remaining() == 599


async def test_oauth_routes_are_not_metered_and_401_is_free(clocked: Any) -> None:
    sb, _, _ = clocked
    async with aiohttp.ClientSession(base_url=sb.url) as anonymous:
        async with anonymous.get("/v2/people") as resp:
            assert resp.status == 401
            assert resp.headers["x-ratelimit-endpoint-cost"] == "0"
        async with anonymous.post("/oauth/token", data={"grant_type": "nope"}) as resp:
            assert "x-ratelimit-endpoint-cost" not in resp.headers
    assert sb.budget.remaining() == 600
