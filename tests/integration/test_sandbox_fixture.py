"""The pytest plugin's `salesloft_sandbox` fixture and the `salesloft-async sandbox` command."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
from typing import Any

import aiohttp
import pytest

from salesloft_async.commands import sandbox as command
from salesloft_async.sandbox import ManualClock, Sandbox
from salesloft_async.testing import SANDBOX_TEST_DEFAULTS


async def count_people(sb: Sandbox) -> int:
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    async with (
        aiohttp.ClientSession(headers=headers) as http,
        http.get(f"{sb.url}/v2/people", params={"include_paging_counts": "true"}) as resp,
    ):
        body = await resp.json()
        return int(body["metadata"]["paging"]["total_count"])


async def test_default_fixture_is_small_and_live(salesloft_sandbox: Sandbox) -> None:
    assert salesloft_sandbox.url.startswith("http://127.0.0.1:")
    assert salesloft_sandbox.api_key.startswith("ak_")
    assert await count_people(salesloft_sandbox) == SANDBOX_TEST_DEFAULTS["people"]
    assert salesloft_sandbox.config.window == SANDBOX_TEST_DEFAULTS["window"]
    client = salesloft_sandbox.oauth_client
    assert client.client_id and client.client_secret and client.redirect_uri
    assert client.client_secret not in repr(client)


@pytest.mark.salesloft_sandbox(people=12, budget=7, clock=ManualClock(start=60.0))
async def test_marker_configures_the_fixture(salesloft_sandbox: Sandbox) -> None:
    assert await count_people(salesloft_sandbox) == 12
    assert salesloft_sandbox.budget.remaining() == 6
    assert salesloft_sandbox.clock() == 60.0


@pytest.mark.salesloft_sandbox(people=12)
@pytest.mark.parametrize("salesloft_sandbox", [{"people": 9}], indirect=True)
async def test_indirect_parameter_wins(salesloft_sandbox: Sandbox) -> None:
    assert await count_people(salesloft_sandbox) == 9


async def test_command_serves_until_cancelled() -> None:
    parser = argparse.ArgumentParser()
    command.add_arguments(parser)
    args = parser.parse_args(
        [
            "--port",
            "0",
            "--people",
            "15",
            "--accounts",
            "3",
            "--budget",
            "50",
            "--fault",
            "/v2/team:error_rate=1,error_status=502,times=1",
        ]
    )
    config = command.config_from_args(args)
    assert config.budget == 50
    assert (config.faults[0].pattern, config.faults[0].error_status) == ("/v2/team", 502)
    ready = asyncio.Event()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        task = asyncio.create_task(command.serve(args, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
    text = out.getvalue()
    url = text.split("listening on ", 1)[1].split()[0]
    key = text.split("API key (Bearer):", 1)[1].split()[0]
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {key}"}) as http,
        http.get(f"{url}/v2/people", params={"include_paging_counts": "1"}) as resp,
    ):
        assert resp.status == 200
        assert (await resp.json())["metadata"]["paging"]["total_count"] == 15
        assert resp.headers["x-ratelimit-remaining-minute"] == "49"
        async with http.get(f"{url}/v2/team") as team:
            assert team.status == 502
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.mark.salesloft_sandbox(people=7)
async def test_client_fixture_talks_to_the_sandbox(
    salesloft_client: Any, salesloft_sandbox: Sandbox
) -> None:
    response = await salesloft_client.request("GET", "/v2/people", params={"per_page": 100})
    assert len(response.data["data"]) == 7
    assert salesloft_sandbox.counters["path:/v2/people"] == 1
