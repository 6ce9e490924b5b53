"""examples/webapp_oauth.py end to end: two users connect through the sandbox, then call the API."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import aiohttp
from aiohttp.test_utils import TestServer

from salesloft_async.auth import OAuthApp

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


async def test_users_connect_and_call_the_api_with_one_budget(tmp_path: Path) -> None:
    example = load_example()
    async with start_oauth_sandbox() as sb:
        info = sb.oauth_client
        oauth = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret, clock=sb.clock)
        web_app = example.make_app(oauth, sb.url, tmp_path)
        server = TestServer(web_app, host="127.0.0.1")
        await server.start_server()
        oauth.redirect_uri = str(server.make_url("/callback"))
        try:
            for user in ("alice", "bob"):
                async with browser() as b, b.get(server.make_url(f"/connect?user={user}")) as resp:
                    assert resp.status == 200, await resp.text()
                    body = await resp.json()
                    assert body["user"] == user and body["salesloft"]["id"] == 1
            assert sorted(n for n in os.listdir(tmp_path) if n.endswith(".json")) == [
                "alice.json",
                "bob.json",
            ]
            assert sb.counters["grant:authorization_code"] == 2
            conn = web_app[example.CONNECTOR]
            assert (
                conn.client_for("alice").transport.budget is conn.client_for("bob").transport.budget
            )
            sb.clock.advance(sb.config.token_ttl)
            async with browser() as b, b.get(server.make_url("/me?user=alice")) as resp:
                assert resp.status == 200
            assert sb.counters["grant:refresh_token"] == 1
            forged = server.make_url("/callback?code=x&state=y")  # no session of its own
            async with browser() as b, b.get(forged) as resp:
                assert resp.status == 400
        finally:
            await server.close()
