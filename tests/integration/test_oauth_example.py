"""examples/webapp_oauth.py end to end: users of two teams connect through a two-team sandbox,
their tokens live in PostgreSQL, and each request spends its own team's budget through one pool."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import aiohttp
from aiohttp.test_utils import TestServer

from salesloft_async.auth import OAuthApp
from tests.postgres_support import POSTGRES_URL, scratch_schema

from .test_oauth_sandbox import start_oauth_sandbox

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webapp_oauth.py"


def browser() -> aiohttp.ClientSession:
    # aiohttp's default jar ignores cookies set by an IP-address host such as 127.0.0.1
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webapp_oauth_example", EXAMPLE)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


async def sign_in(b: aiohttp.ClientSession, server: TestServer, team: int, user: int) -> None:
    """The browser's trip: the app, Salesloft's login page (the sandbox's team/user stand-in)."""
    async with b.get(server.make_url("/connect"), allow_redirects=False) as resp:
        assert resp.status == 302
        authorize = resp.headers["Location"] + f"&team={team}&user={user}"
    async with b.get(authorize, allow_redirects=False) as resp:
        assert resp.status == 302
        back = resp.headers["Location"]
    async with b.get(back) as resp:  # the callback, then /me
        assert resp.status == 200, await resp.text()
        body = await resp.json()
        assert (body["team"], body["user"], body["salesloft"]["id"]) == (team, user, user)


async def test_users_of_two_teams_connect_and_spend_their_own_teams_budget() -> None:
    example = load_example()
    async with scratch_schema() as (db, schema), start_oauth_sandbox(teams=2) as sb:
        info = sb.oauth_client
        oauth = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret, clock=sb.clock)
        web_app = example.make_app(oauth, sb.url, POSTGRES_URL, f"{schema}.tokens")
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        oauth.redirect_uri = str(server.make_url("/callback"))
        try:
            async with browser() as ada, browser() as bob:
                await sign_in(ada, server, team=1, user=2)
                await sign_in(bob, server, team=2, user=3)
                rows = await db.fetch(f'SELECT team_id, user_id FROM "{schema}".tokens')
                assert sorted(tuple(r) for r in rows) == [(1, 2), (2, 3)]
                seen = {}
                for who in (ada, bob):
                    async with who.get(server.make_url("/people")) as resp:
                        body = await resp.json()
                        seen[body["team"]] = body["people"]
                assert seen[1] != seen[2]  # each team's own data
                conn = web_app[example.CONNECTOR]
                assert sorted(conn.pool.budgets) == [1, 2]
                for login in ((1, 2), (2, 3)):
                    client = conn.client_for(login)
                    assert client.budget is conn.pool.budget(login[0])
                    assert client.transport.session is conn.pool.session
                assert sb.counters["grant:refresh_token"] == 0
                sb.clock.advance(sb.config.token_ttl)  # every access token has expired
                async with ada.get(server.make_url("/me")) as resp:
                    assert resp.status == 200
                assert sb.counters["grant:refresh_token"] == 1
                fingerprint = await db.fetchval(
                    f'SELECT fingerprint FROM "{schema}".tokens WHERE team_id = 1'
                )
                assert fingerprint == (await conn.manager_for((1, 2)).token()).fingerprint
            for team in sb.teams.values():
                assert team.counters["cost"] > 0 and team.counters["rate_limited"] == 0
            assert sb.counters["grant:authorization_code"] == 2
            assert sb.counters["invalid_grant"] == 0
            async with browser() as b, b.get(server.make_url("/callback?code=x&state=y")) as resp:
                assert resp.status == 400  # no authorization in progress for that browser
        finally:
            await server.close()
