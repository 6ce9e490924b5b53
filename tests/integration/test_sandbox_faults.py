"""Faults on demand: latency, 5xx, dropped connections and truncated bodies, per path pattern."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from salesloft_async.sandbox import FaultRule, Sandbox

SMALL = {"people": 30, "accounts": 5, "users": 2, "cadences": 2}


class SleepLog:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
async def env(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession, SleepLog]]:
    sleeps = SleepLog()
    options: dict[str, Any] = {**SMALL, **getattr(request, "param", {})}
    async with Sandbox(sleep=sleeps, **options) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        # a fresh connection per request so a dropped one cannot poison the next
        connector = aiohttp.TCPConnector(force_close=True)
        async with aiohttp.ClientSession(
            base_url=sb.url, headers=headers, connector=connector
        ) as http:
            yield sb, http, sleeps


async def status_of(http: aiohttp.ClientSession, path: str) -> int:
    async with http.get(path) as resp:
        await resp.read()
        return resp.status


async def test_latency_fixed_and_jitter(env: Any) -> None:
    sb, http, sleeps = env
    sb.faults.add("/v2/people*", latency=0.25, jitter=0.1)
    assert await status_of(http, "/v2/people") == 200
    assert await status_of(http, "/v2/accounts") == 200
    assert len(sleeps.calls) == 1 and 0.25 <= sleeps.calls[0] <= 0.35
    assert sb.counters["fault:latency"] == 1


@pytest.mark.parametrize("env", [{"latency": 0.05}], indirect=True)
async def test_configured_base_latency_applies_to_api_calls(env: Any) -> None:
    _, http, sleeps = env
    await status_of(http, "/v2/me")
    assert sleeps.calls == [0.05]


async def test_error_rate_and_times(env: Any) -> None:
    sb, http, _ = env
    rule = sb.faults.add("/v2/accounts", error_rate=1.0, error_status=502, times=2)
    statuses = [await status_of(http, "/v2/accounts") for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert rule.hits == 2 and sb.counters["fault:error"] == 2
    async with http.get("/v2/accounts.json") as resp:
        assert resp.status == 200  # the .json form matches the same pattern (rule now spent)


async def test_partial_error_rate_is_deterministic_by_seed(env: Any) -> None:
    async def run() -> list[int]:
        async with Sandbox(**SMALL, seed=7) as sb:
            sb.faults.add(r"^/v2/(people|accounts)$", regex=True, error_rate=0.5)
            headers = {"Authorization": f"Bearer {sb.api_key}"}
            async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as http:
                return [await status_of(http, "/v2/people") for _ in range(20)]

    first, second = await run(), await run()
    assert first == second
    assert 0 < first.count(503) < 20


async def test_dropped_connection(env: Any, caplog: pytest.LogCaptureFixture) -> None:
    sb, http, _ = env
    sb.faults.add("/v2/me", drop_rate=1.0, methods={"get"})
    with caplog.at_level(logging.ERROR), pytest.raises(aiohttp.ServerDisconnectedError):
        await status_of(http, "/v2/me")
    assert sb.counters["fault:drop"] >= 1  # aiohttp itself may retry an idempotent GET once
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    sb.faults.clear()
    assert await status_of(http, "/v2/me") == 200


async def test_truncated_body(env: Any) -> None:
    sb, http, _ = env
    sb.faults.add("/v2/people", truncate_rate=1.0)
    with pytest.raises(aiohttp.ClientPayloadError):
        async with http.get("/v2/people") as resp:
            assert resp.status == 200
            assert int(resp.headers["Content-Length"]) > 100
            await resp.read()
    assert sb.counters["fault:truncate"] == 1


@pytest.mark.parametrize(
    "env", [{"faults": (FaultRule("/v2/team", error_rate=1.0, error_status=500),)}], indirect=True
)
async def test_faults_from_the_configuration(env: Any) -> None:
    sb, http, _ = env
    assert await status_of(http, "/v2/team") == 500
    assert sb.counters["status:500"] == 1
    sb.faults.remove(sb.faults.rules[0])
    assert await status_of(http, "/v2/team") == 200
