"""`salesloft-async login`: authorize once on a loopback callback and keep the token in a file.

The authorization-code flow (with state and PKCE) for scripts, CLIs and local development: the
command prints the URL to open, waits for the browser's redirect to 127.0.0.1, exchanges the code
and writes the token to a `FileTokenStore` (mode 0600) that a `TokenManager` then keeps fresh.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

from ..auth import FileTokenStore, OAuthApp, Token
from ..auth.app import SALESLOFT_AUTHORIZE_URL, SALESLOFT_TOKEN_URL
from ..errors import ConfigurationError, SalesloftError

__all__ = ["add_arguments", "build_app", "login_flow", "run"]

DEFAULT_TOKEN_FILE = "~/.config/salesloft-async/token.json"
OpenUrl = Callable[[str], Awaitable[None] | None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default=None, help="or SALESLOFT_CLIENT_ID")
    parser.add_argument(
        "--client-secret",
        default=None,
        help="or SALESLOFT_CLIENT_SECRET (prefer the variable: arguments show in `ps`)",
    )
    parser.add_argument("--authorize-url", default=None, help=f"default {SALESLOFT_AUTHORIZE_URL}")
    parser.add_argument("--token-url", default=None, help=f"default {SALESLOFT_TOKEN_URL}")
    parser.add_argument(
        "--base-url",
        default=None,
        help="a sandbox's URL: its /oauth/authorize and /oauth/token are used",
    )
    parser.add_argument("--token-file", default=DEFAULT_TOKEN_FILE, help="%(default)s")
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="loopback port of the callback (the redirect URI registered for the app is"
        " http://127.0.0.1:PORT/callback; 0 picks a free port); default %(default)s",
    )
    parser.add_argument("--scope", action="append", default=None, help="repeatable")
    parser.add_argument(
        "--client-auth",
        choices=["client_secret_post", "client_secret_basic"],
        default="client_secret_post",
    )
    parser.add_argument("--open", action="store_true", help="also open the URL in a browser")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds to wait for the callback"
    )


def build_app(args: argparse.Namespace, env: dict[str, str] | None = None) -> OAuthApp:
    env = dict(os.environ) if env is None else env
    client_id = args.client_id or env.get("SALESLOFT_CLIENT_ID")
    secret = args.client_secret or env.get("SALESLOFT_CLIENT_SECRET")
    if not client_id or not secret:
        raise ConfigurationError(
            "give --client-id/--client-secret or set SALESLOFT_CLIENT_ID/SALESLOFT_CLIENT_SECRET"
        )
    authorize_url, token_url = SALESLOFT_AUTHORIZE_URL, SALESLOFT_TOKEN_URL
    if args.base_url:
        base = args.base_url.rstrip("/")
        authorize_url, token_url = f"{base}/oauth/authorize", f"{base}/oauth/token"
    return OAuthApp(
        client_id,
        secret,
        authorize_url=args.authorize_url or authorize_url,
        token_url=args.token_url or token_url,
        revoke_url=None,
        scopes=args.scope,
        client_auth=args.client_auth,
    )


async def login_flow(
    app: OAuthApp,
    store: FileTokenStore,
    *,
    port: int = 8765,
    open_url: OpenUrl | None = None,
    callback_timeout: float = 300.0,
    out: Callable[[str], None] = print,
) -> Token:
    """Serve /callback on 127.0.0.1, hand the authorization URL to `open_url` (and `out`), wait
    for the redirect, exchange the code and persist the token."""
    done: asyncio.Future[Token] = asyncio.get_running_loop().create_future()
    pending: dict[str, str] = {}

    async def callback(request: web.Request) -> web.Response:
        if done.done():
            return web.Response(text="Already handled; you can close this tab.")
        try:
            cb = OAuthApp.parse_callback(request.query)
            token = await app.exchange_code(
                cb.code,
                state=cb.state,
                expected_state=pending["state"],
                code_verifier=pending["verifier"],
                redirect_uri=pending["redirect_uri"],
            )
        except SalesloftError as exc:
            done.set_exception(exc)
            return web.Response(status=400, text=f"Authorization failed: {exc}")
        done.set_result(token)
        return web.Response(text="Authorized. You can close this tab and return to the terminal.")

    server = web.Application()
    server.router.add_get("/callback", callback)
    runner = web.AppRunner(server, access_log=None)  # the access log would show the code
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        actual = runner.addresses[0][1] if runner.addresses else port
        redirect_uri = f"http://127.0.0.1:{actual}/callback"
        req = app.authorization_url(redirect_uri=redirect_uri)
        pending.update(state=req.state, verifier=req.code_verifier, redirect_uri=redirect_uri)
        out(f"Open this URL in a browser to authorize:\n\n  {req.url}\n")
        out(f"Waiting for the redirect to {redirect_uri} ...")
        opener = None
        if open_url is not None:
            result = open_url(req.url)
            if asyncio.iscoroutine(result):
                opener = asyncio.ensure_future(result)
        try:
            token = await asyncio.wait_for(asyncio.shield(done), callback_timeout)
        finally:
            if opener is not None:
                await asyncio.gather(opener, return_exceptions=True)
    except TimeoutError:
        raise ConfigurationError(
            f"no authorization arrived within {callback_timeout:.0f} s; run the command again"
        ) from None
    finally:
        await runner.cleanup()
    async with store.lock():  # a login replaces whatever grant was there before
        current = await store.load()
        await store.save(token, expected=current.fingerprint if current else None)
    return token


def run(args: argparse.Namespace) -> int:
    try:
        app = build_app(args)
        store = FileTokenStore(Path(args.token_file).expanduser())
        opener: OpenUrl | None = None
        if args.open:

            async def opener(url: str) -> None:  # a browser launch may block: not on the loop
                await asyncio.to_thread(webbrowser.open, url)

        token = asyncio.run(
            login_flow(app, store, port=args.port, open_url=opener, callback_timeout=args.timeout)
        )
    except SalesloftError as exc:
        print(f"login failed: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(
            f"login failed: cannot listen on 127.0.0.1:{args.port} ({exc.strerror})",
            file=sys.stderr,
        )
        return 1
    print(f"Saved the token to {store.path} ({token.scope or 'default scope'}).")
    return 0
