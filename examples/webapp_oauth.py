"""An aiohttp web app that connects Salesloft users of many teams with OAuth.

    pip install 'salesloft-async[postgres]'
    SALESLOFT_CLIENT_ID=... SALESLOFT_CLIENT_SECRET=... python examples/webapp_oauth.py \
        --port 8765 --database postgresql://127.0.0.1:5432/test

    # against the bundled sandbox, serving two teams (its OAuth server accepts any loopback
    # redirect URI; add &team=2&user=3 to its authorize URL to sign in as user 3 of team 2):
    salesloft-async sandbox --port 9000 --teams 2 &
    SALESLOFT_CLIENT_ID=sandbox-client SALESLOFT_CLIENT_SECRET=... \
        python examples/webapp_oauth.py --base-url http://127.0.0.1:9000

Open http://127.0.0.1:8765/connect.  The pattern:

1. `/connect` makes an authorization URL with a fresh `state` and PKCE `code_verifier`, keeps both
   server side under the browser's session cookie, and redirects the user to Salesloft.
2. `/callback` checks the returned `state` against the kept one (a mismatch is a forged or stale
   callback), exchanges the code with the verifier, asks Salesloft who the user is (`/v2/me`: user
   id and team id), and saves the token in that user's row of the app's PostgreSQL
   (`PostgresTokenStore`, one row per team and user).
3. `/me` and `/people` call the API as the browser's user through a `TokenManager` (refreshing
   when needed, single-flight across every worker process that shares the database).

Every client comes from one `SalesloftPool`: one aiohttp session (one connection pool) for the
whole app, and one `CostBudget` per Salesloft team, since the 600-per-minute limit is per team:
a busy team never slows another one down, and users of one team share its budget.  With several
worker processes, give `budget_for` a `RedisBudget` per team instead.

Browser sessions live in memory to keep the example short; use aiohttp-session (or your
framework's sessions) in a real app.
"""

from __future__ import annotations

import argparse
import os
import secrets
from typing import Any

import asyncpg
from aiohttp import web

from salesloft_async import CostBudget, SalesloftClient, SalesloftPool
from salesloft_async.auth import (
    MemoryTokenStore,
    OAuthApp,
    ReauthorizationRequired,
    StateMismatchError,
    TokenManager,
)
from salesloft_async.errors import SalesloftError
from salesloft_async.postgres import DEFAULT_TABLE, PostgresTokenStore, table_sql

SESSION_COOKIE = "sid"
SALESLOFT_API = "https://api.salesloft.com"

#: (team id, user id) of a connected Salesloft user
Login = tuple[int, int]


class Connector:
    """The app's Salesloft side: OAuth state, token stores in PostgreSQL, one pool of clients."""

    def __init__(self, oauth: OAuthApp, api_url: str, database: str, table: str):
        self.oauth = oauth
        self.database = database
        self.table = table
        self.pool = SalesloftPool(base_url=api_url, budget_for=lambda team: CostBudget(600, 60))
        self.db: Any = None  # the asyncpg pool, opened with the app
        self.pending: dict[str, dict[str, str]] = {}  # browser session -> state, verifier
        self.logins: dict[str, Login] = {}  # browser session -> who connected in it
        self.managers: dict[Login, TokenManager] = {}

    async def open(self) -> None:
        self.db = await asyncpg.create_pool(self.database, min_size=1, max_size=10)
        await self.db.execute(table_sql(self.table))  # or run it in your migrations

    async def close(self) -> None:
        await self.pool.close()
        await self.db.close()

    def manager_for(self, login: Login) -> TokenManager:
        """One manager per user and process: refreshes are single-flight inside it, and its
        store's advisory lock makes them single-flight across processes."""
        if login not in self.managers:
            team, user = login
            store = PostgresTokenStore(self.db, team, user, table=self.table)
            self.managers[login] = TokenManager(self.oauth, store, session=self.pool.session)
        return self.managers[login]

    def client_for(self, login: Login) -> SalesloftClient:
        """Cheap: one per request, on the pool's session and the user's team's budget."""
        return self.pool.client(auth=self.manager_for(login), team_id=login[0])

    async def who(self, manager: TokenManager) -> Login:
        """The Salesloft team and user a new token belongs to."""
        async with self.pool.client(auth=manager) as sl:
            me = (await sl.request("GET", "/v2/me", expect="object")).data["data"]
        return int(me["team"]["id"]), int(me["id"])


CONNECTOR = web.AppKey("connector", Connector)


def _login(request: web.Request) -> Login:
    login = request.app[CONNECTOR].logins.get(request.cookies.get(SESSION_COOKIE, ""))
    if login is None:
        raise web.HTTPFound("/connect")
    return login


async def connect(request: web.Request) -> web.Response:
    conn = request.app[CONNECTOR]
    sid = request.cookies.get(SESSION_COOKIE) or secrets.token_urlsafe(24)
    auth = conn.oauth.authorization_url()
    conn.pending[sid] = {"state": auth.state, "verifier": auth.code_verifier}
    response = web.HTTPFound(auth.url)
    response.set_cookie(SESSION_COOKIE, sid, httponly=True, samesite="Lax")
    raise response


async def callback(request: web.Request) -> web.Response:
    conn = request.app[CONNECTOR]
    sid = request.cookies.get(SESSION_COOKIE, "")
    kept = conn.pending.pop(sid, None)
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
            session=conn.pool.session,
        )
        login = await conn.who(TokenManager(conn.oauth, MemoryTokenStore(token)))
    except StateMismatchError:
        raise web.HTTPForbidden(text="state mismatch: start again from /connect") from None
    except SalesloftError as exc:
        raise web.HTTPBadGateway(text=f"Salesloft refused the authorization: {exc}") from None
    await conn.manager_for(login).adopt(token)  # persist in PostgreSQL, then use
    conn.logins[sid] = login
    raise web.HTTPFound("/me")


async def me(request: web.Request) -> web.Response:
    conn, (team, user) = request.app[CONNECTOR], _login(request)
    try:
        async with conn.client_for((team, user)) as sl:
            response = await sl.request("GET", "/v2/me", expect="object")
    except ReauthorizationRequired:
        raise web.HTTPFound("/connect") from None
    return web.json_response({"team": team, "user": user, "salesloft": response.data["data"]})


async def people(request: web.Request) -> web.Response:
    conn, login = request.app[CONNECTOR], _login(request)
    try:
        async with conn.client_for(login) as sl:
            page = await sl.request("GET", "/v2/people", params={"per_page": 5}, expect="list")
    except ReauthorizationRequired:
        raise web.HTTPFound("/connect") from None
    names = [f"{p.get('first_name')} {p.get('last_name')}" for p in page.data["data"]]
    return web.json_response({"team": login[0], "people": names})


def make_app(
    oauth: OAuthApp, api_url: str, database: str, table: str = DEFAULT_TABLE
) -> web.Application:
    app = web.Application()
    app[CONNECTOR] = Connector(oauth, api_url, database, table)

    async def lifecycle(app: web.Application) -> Any:
        await app[CONNECTOR].open()
        yield
        await app[CONNECTOR].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/connect", connect)
    app.router.add_get("/callback", callback)
    app.router.add_get("/me", me)
    app.router.add_get("/people", people)
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base-url", help="a sandbox URL (API and OAuth); default: Salesloft")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database", default="postgresql://127.0.0.1:5432/test")
    parser.add_argument("--table", default=DEFAULT_TABLE)
    args = parser.parse_args()
    redirect_uri = f"http://127.0.0.1:{args.port}/callback"
    client_id, secret = os.environ["SALESLOFT_CLIENT_ID"], os.environ["SALESLOFT_CLIENT_SECRET"]
    if args.base_url:
        oauth = OAuthApp.for_sandbox(args.base_url, client_id, secret, redirect_uri)
    else:
        oauth = OAuthApp(client_id, secret, redirect_uri)
    web.run_app(
        make_app(oauth, args.base_url or SALESLOFT_API, args.database, args.table),
        host="127.0.0.1",
        port=args.port,
        access_log=None,  # the callback's query string carries the authorization code
    )


if __name__ == "__main__":
    main()
