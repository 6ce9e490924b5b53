"""An aiohttp web app that connects each of its users to Salesloft with OAuth.

    SALESLOFT_CLIENT_ID=... SALESLOFT_CLIENT_SECRET=... python examples/webapp_oauth.py \
        --port 8765 --token-dir ./tokens

    # against the bundled sandbox (its OAuth server accepts any loopback redirect URI):
    salesloft-async sandbox --port 9000 &
    SALESLOFT_CLIENT_ID=sandbox-client SALESLOFT_CLIENT_SECRET=... \
        python examples/webapp_oauth.py --base-url http://127.0.0.1:9000

Open http://127.0.0.1:8765/connect?user=alice.  The pattern:

1. `/connect` makes an authorization URL with a fresh `state` and PKCE `code_verifier`, keeps both
   server side under the browser's session cookie, and redirects the user to Salesloft.
2. `/callback` checks the returned `state` against the kept one (a mismatch is a forged or stale
   callback), exchanges the code with the verifier, and saves the token in that user's store.
3. `/me` calls the API as that user through a `TokenManager` (refreshing in the background of the
   call when needed).  Every user's client shares ONE `CostBudget`: the cost limit is per
   Salesloft team, not per user, so N users must not each assume the full 600 per minute.

Sessions live in memory to keep the example short; use aiohttp-session (or your framework's
sessions) in a real app, and a `TokenStore` on your database or Redis when you run several workers.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from salesloft_async import CostBudget, SalesloftClient
from salesloft_async.auth import (
    FileTokenStore,
    OAuthApp,
    ReauthorizationRequired,
    StateMismatchError,
    TokenManager,
)
from salesloft_async.errors import SalesloftError

SESSION_COOKIE = "sid"
SALESLOFT_API = "https://api.salesloft.com"


class Connector:
    """Per-user OAuth state and API clients of one web app, sharing one budget and session."""

    def __init__(self, oauth: OAuthApp, api_url: str, token_dir: Path):
        self.oauth = oauth
        self.api_url = api_url
        self.token_dir = token_dir
        self.budget = CostBudget()  # one per Salesloft team, shared by every user's client
        self.pending: dict[str, dict[str, str]] = {}  # session id -> state, verifier, user
        self.managers: dict[str, TokenManager] = {}
        self.session: aiohttp.ClientSession | None = None

    def store_for(self, user: str) -> FileTokenStore:
        return FileTokenStore(self.token_dir / f"{user}.json")

    def manager_for(self, user: str) -> TokenManager:
        if user not in self.managers:
            self.managers[user] = TokenManager(
                self.oauth, self.store_for(user), session=self.session
            )
        return self.managers[user]

    def client_for(self, user: str) -> SalesloftClient:
        return SalesloftClient(
            auth=self.manager_for(user),
            base_url=self.api_url,
            budget=self.budget,
            session=self.session,  # not closed by the client: the app owns it
        )


def _user(request: web.Request) -> str:
    user = request.query.get("user", "")
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", user):
        raise web.HTTPBadRequest(text="pass ?user=<local user name> (letters, digits, _ or -)")
    return user


async def connect(request: web.Request) -> web.Response:
    conn: Connector = request.app[CONNECTOR]
    user = _user(request)
    sid = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
    auth = conn.oauth.authorization_url()
    conn.pending[sid] = {"state": auth.state, "verifier": auth.code_verifier, "user": user}
    response = web.HTTPFound(auth.url)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
    raise response


async def callback(request: web.Request) -> web.Response:
    conn: Connector = request.app[CONNECTOR]
    kept = conn.pending.pop(request.cookies.get(SESSION_COOKIE, ""), None)
    if kept is None:
        raise web.HTTPBadRequest(
            text="no authorization in progress for this browser: /connect again"
        )
    try:
        cb = OAuthApp.parse_callback(request.query)
        token = await conn.oauth.exchange_code(
            cb.code,
            state=cb.state,
            expected_state=kept["state"],
            code_verifier=kept["verifier"],
            session=conn.session,
        )
    except StateMismatchError:
        raise web.HTTPForbidden(text="state mismatch: start again from /connect") from None
    except SalesloftError as exc:
        raise web.HTTPBadGateway(text=f"Salesloft refused the authorization: {exc}") from None
    await conn.manager_for(kept["user"]).adopt(token)  # persist, then use
    raise web.HTTPFound(f"/me?user={kept['user']}")


async def me(request: web.Request) -> web.Response:
    conn: Connector = request.app[CONNECTOR]
    user = _user(request)
    try:
        async with conn.client_for(user) as sl:
            response = await sl.request("GET", "/v2/me")
    except ReauthorizationRequired:
        raise web.HTTPFound(f"/connect?user={user}") from None
    data: Any = response.data
    return web.json_response({"user": user, "salesloft": data.get("data") if data else None})


CONNECTOR = web.AppKey("connector", Connector)


def make_app(oauth: OAuthApp, api_url: str, token_dir: Path) -> web.Application:
    app = web.Application()
    app[CONNECTOR] = Connector(oauth, api_url, token_dir)

    async def lifecycle(app: web.Application) -> Any:
        app[CONNECTOR].session = aiohttp.ClientSession()
        yield
        await app[CONNECTOR].session.close()  # type: ignore[union-attr]

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/connect", connect)
    app.router.add_get("/callback", callback)
    app.router.add_get("/me", me)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a sandbox URL (API and OAuth); default: Salesloft")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--token-dir", type=Path, default=Path("tokens"))
    args = parser.parse_args()
    redirect_uri = f"http://127.0.0.1:{args.port}/callback"
    client_id, secret = os.environ["SALESLOFT_CLIENT_ID"], os.environ["SALESLOFT_CLIENT_SECRET"]
    if args.base_url:
        oauth = OAuthApp.for_sandbox(args.base_url, client_id, secret, redirect_uri)
    else:
        oauth = OAuthApp(client_id, secret, redirect_uri)
    web.run_app(
        make_app(oauth, args.base_url or SALESLOFT_API, args.token_dir),
        host="127.0.0.1",
        port=args.port,
        access_log=None,  # the callback's query string carries the authorization code
    )


if __name__ == "__main__":
    main()
