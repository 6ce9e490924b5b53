"""`salesloft-async login`: authorize once on a loopback callback and keep the token in a file.

The authorization-code flow (with state and PKCE) for scripts, CLIs and local development: the
command prints the URL to open, waits for the browser's redirect to 127.0.0.1, exchanges the code
and writes the token to a `FileTokenStore` (mode 0600) that a `TokenManager` then keeps fresh.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import webbrowser
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web

from ..auth import FileTokenStore, OAuthApp, Token
from ..auth.app import SALESLOFT_AUTHORIZE_URL, SALESLOFT_TOKEN_URL, ClientAuthMethod
from ..auth.errors import TokenStoreError
from ..errors import ConfigurationError, SalesloftError
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_client_arguments,
    client_credentials,
    os_error,
)

__all__ = ["add_arguments", "build_app", "login_flow", "run"]

DEFAULT_TOKEN_FILE = "~/.config/salesloft-async/token.json"
OpenUrl = Callable[[str], Awaitable[None] | None]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_client_arguments(parser)
    parser.add_argument("--authorize-url", default=None, help=f"default {SALESLOFT_AUTHORIZE_URL}")
    parser.add_argument("--token-url", default=None, help=f"default {SALESLOFT_TOKEN_URL}")
    parser.add_argument(
        "--base-url",
        default=None,
        help="a sandbox's URL: its /oauth/authorize and /oauth/token are used",
    )
    parser.add_argument(
        "--token-file",
        default=DEFAULT_TOKEN_FILE,
        help="where to save the token (default %(default)s)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8765,
        help="loopback port of the callback (the redirect URI registered for the app is"
        " http://127.0.0.1:PORT/callback; 0 picks a free port); default %(default)s",
    )
    parser.add_argument(
        "--scope",
        action="append",
        default=None,
        help="an OAuth scope to ask for; repeatable (default: the app's scopes)",
    )
    parser.add_argument(
        "--client-auth",
        choices=["client_secret_post", "client_secret_basic"],
        default="client_secret_post",
        help="how the token request sends the client secret (default %(default)s)",
    )
    parser.add_argument("--open", action="store_true", help="also open the URL in a browser")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="seconds to wait for the callback (default 300)",
    )


def build_app(
    client_id: str | None,
    client_secret: str | None,
    *,
    base_url: str | None = None,
    authorize_url: str | None = None,
    token_url: str | None = None,
    scopes: Sequence[str] | None = None,
    client_auth: ClientAuthMethod = "client_secret_post",
) -> OAuthApp:
    """The OAuth application of the command line: Salesloft's endpoints, or a sandbox's."""
    if not client_id or not client_secret:
        raise ConfigurationError(
            "give --client-id/--client-secret or set SALESLOFT_CLIENT_ID/SALESLOFT_CLIENT_SECRET"
        )
    default_authorize, default_token = SALESLOFT_AUTHORIZE_URL, SALESLOFT_TOKEN_URL
    if base_url:
        base = base_url.rstrip("/")
        default_authorize, default_token = f"{base}/oauth/authorize", f"{base}/oauth/token"
    return OAuthApp(
        client_id,
        client_secret,
        authorize_url=authorize_url or default_authorize,
        token_url=token_url or default_token,
        revoke_url=None,
        scopes=scopes,
        client_auth=client_auth,
    )


def _page(status: int, title: str, detail: str = "") -> web.Response:
    """A small HTML page; everything from the request is escaped."""
    body = f"<!doctype html><title>{html.escape(title)}</title><h1>{html.escape(title)}</h1>"
    if detail:
        body += f"<p>{html.escape(detail)}</p>"
    return web.Response(status=status, text=body, content_type="text/html")


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
    for the redirect, exchange the code and persist the token.

    Only a request that carries this login's `state` can end it: any other (a stray tab, a port
    scanner, a forged redirect) gets a 400 page and the callback keeps waiting.  The first request
    with the right state claims the code, so two at once exchange it exactly once and both see
    the same outcome.

    The token file is locked and read first: one that cannot be written fails (an `OSError`
    naming it) before anyone authorizes, not after the single-use code has been spent.
    """
    try:
        async with store.lock():
            await store.load()
    except TokenStoreError as exc:
        raise CommandError(f"{exc}; nothing was authorized: choose another --token-file") from None
    done: asyncio.Future[Token] = asyncio.get_running_loop().create_future()
    pending: dict[str, str] = {}
    claimed: list[web.Request] = []  # the one request whose code is exchanged

    async def callback(request: web.Request) -> web.Response:
        query = request.query
        if not pending or query.get("state") != pending["state"]:
            return _page(
                400,
                "Not this login's redirect",
                "This request does not carry the state of the login that is waiting, so it was"
                " ignored. Finish the login from the URL the terminal shows.",
            )
        if not query.get("code") and not query.get("error"):
            return _page(400, "No authorization code", "This request carries no code; ignored.")
        if not claimed:
            claimed.append(request)  # before the first await: a second request must not pass
            try:
                cb = OAuthApp.parse_callback(query)
                token = await app.exchange_code(
                    cb.code,
                    state=cb.state,
                    expected_state=pending["state"],
                    code_verifier=pending["verifier"],
                    redirect_uri=pending["redirect_uri"],
                )
            except SalesloftError as exc:
                done.set_exception(exc)
            else:
                done.set_result(token)
        with contextlib.suppress(SalesloftError):
            await asyncio.shield(done)
        if done.exception() is not None:
            return _page(400, "Authorization failed", str(done.exception()))
        return _page(200, "Authorized", "You can close this tab and return to the terminal.")

    server = web.Application()
    server.router.add_get("/callback", callback)
    runner = web.AppRunner(server, access_log=None)  # the access log would show the code
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", port)
        await site.start()
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
        raise CommandError(
            f"no authorization arrived within {callback_timeout:.0f} s; run the command again",
            EXIT_FAILED,
        ) from None
    finally:
        await runner.cleanup()
    async with store.lock():  # a login replaces whatever grant was there before
        current = await store.load()
        await store.save(token, expected=current.fingerprint if current else None)
    return token


def run(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, got {args.port}")
    if not args.timeout > 0:  # nan too: it would neither wait nor give up
        raise CommandError(f"--timeout must be a positive number of seconds, got {args.timeout}")
    client_id, secret = client_credentials(args)
    app = build_app(
        client_id,
        secret,
        base_url=args.base_url,
        authorize_url=args.authorize_url,
        token_url=args.token_url,
        scopes=args.scope,
        client_auth=args.client_auth,
    )
    store = FileTokenStore(Path(args.token_file).expanduser())
    opener: OpenUrl | None = None
    if args.open:

        async def opener(url: str) -> None:  # a browser launch may block: not on the loop
            await asyncio.to_thread(webbrowser.open, url)

    try:
        token = asyncio.run(
            login_flow(app, store, port=args.port, open_url=opener, callback_timeout=args.timeout)
        )
    except OSError as exc:
        if exc.filename:
            raise os_error(exc, "save the token to", "choose another --token-file") from None
        raise CommandError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}; pass --port with a"
            " free port (the app's registered redirect URI must name it)"
        ) from None
    print(f"Saved the token to {store.path} ({token.scope or 'default scope'}).")
    return EXIT_OK
