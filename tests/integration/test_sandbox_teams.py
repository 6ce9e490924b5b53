"""A sandbox serving several teams keeps their keys, users, data and budgets apart, and a
one-team sandbox is what it always was."""

from __future__ import annotations

import asyncio
import contextlib
import io

import aiohttp

from salesloft_async import SalesloftClient
from salesloft_async.auth import OAuthApp
from salesloft_async.errors import RateLimitedError
from salesloft_async.retry import RetryPolicy
from salesloft_async.sandbox import Sandbox


async def names(sb: Sandbox, key: str) -> list[str]:
    async with SalesloftClient(api_key=key, base_url=sb.url) as sl:
        page = await sl.request("GET", "/v2/people", params={"per_page": 5})
    return [p["first_name"] for p in page.data["data"]]


async def test_each_team_has_its_own_key_data_me_and_budget() -> None:
    async with Sandbox(teams=2, people=20, users=3, budget=5, api_key="ak_t") as sb:
        one, two = sb.teams[1], sb.teams[2]
        assert (sb.api_key, sb.store, sb.budget) == ("ak_t", one.store, one.budget)
        assert two.api_key == "ak_t_2"
        assert await names(sb, one.api_key) != await names(sb, two.api_key)
        for team in (one, two):
            async with SalesloftClient(api_key=team.api_key, base_url=sb.url) as sl:
                me = (await sl.request("GET", "/v2/me")).data["data"]
                assert me["team"]["id"] == team.id
        no_retry = RetryPolicy(max_attempts=1)
        async with SalesloftClient(api_key=one.api_key, base_url=sb.url, retry=no_retry) as sl:
            while True:  # spend team 1's whole window
                try:
                    await sl.request("GET", "/v2/me")
                except RateLimitedError:
                    break
        assert await names(sb, two.api_key)  # team 2's budget is untouched by team 1's
        assert one.counters["rate_limited"] == 1 and two.counters["rate_limited"] == 0
        assert sb.counters["rate_limited"] == 1


async def test_oauth_users_sign_in_to_the_team_the_login_names() -> None:
    async with Sandbox(teams=2, people=10, users=3) as sb:
        info = sb.oauth_client
        app = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret, clock=sb.clock)
        seen = []
        for team, user in ((2, 3), (1, None)):
            req = app.authorization_url()
            login = f"&team={team}" + (f"&user={user}" if user else "")
            async with (
                aiohttp.ClientSession() as http,
                http.get(req.url + login, allow_redirects=False) as resp,
            ):
                assert resp.status == 302
                cb = OAuthApp.parse_callback(resp.headers["Location"])
            token = await app.exchange_code(
                cb.code, state=cb.state, expected_state=req.state, code_verifier=req.code_verifier
            )
            async with SalesloftClient(api_key=token.access_token, base_url=sb.url) as sl:
                me = (await sl.request("GET", "/v2/me")).data["data"]
            seen.append((me["team"]["id"], me["id"]))
        assert seen == [(2, 3), (1, 1)]
        async with aiohttp.ClientSession() as http:
            for bad in ("&team=3", "&team=2&user=99", "&team=x"):
                url = app.authorization_url().url + bad
                async with http.get(url, allow_redirects=False) as resp:
                    assert resp.status == 400


async def test_the_command_line_serves_teams_and_prints_each_key() -> None:
    import argparse

    from salesloft_async.commands.sandbox import add_arguments, config_from_args, serve

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert config_from_args(parser.parse_args([])).teams == 1
    args = parser.parse_args(["--teams", "3", "--port", "0", "--people", "5", "--api-key", "ak_c"])
    assert config_from_args(args).teams == 3
    ready, out = asyncio.Event(), io.StringIO()
    with contextlib.redirect_stdout(out):
        task = asyncio.create_task(serve(args, ready=ready))
        await asyncio.wait_for(ready.wait(), 10)
    try:
        text = out.getvalue()
        url = text.split("listening on ", 1)[1].split()[0]
        keys = {1: text.split("API key (Bearer):", 1)[1].split()[0]}
        for team in (2, 3):
            keys[team] = text.split(f"team {team} API key:", 1)[1].split()[0]
        assert keys == {1: "ak_c", 2: "ak_c_2", 3: "ak_c_3"}
        for team, key in keys.items():
            async with SalesloftClient(api_key=key, base_url=url) as sl:
                me = (await sl.request("GET", "/v2/me")).data["data"]
            assert me["team"]["id"] == team
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
