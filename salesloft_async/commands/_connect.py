"""Where a command's records come from: credentials, host, budget, or the embedded sandbox.

`export` and `mirror` take the same connection options and build their client the same way:
`add_connection_arguments` and `connection_from_args` are the argparse side, `check_connection`
refuses a contradiction before anything connects, and `open_client` builds the client (and its
budget) from `ConnectionOptions`, which `ExportOptions` and `MirrorOptions` extend.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal, TextIO

import attrs

from ..auth import FileTokenStore, Token, TokenManager
from ..auth.errors import TokenStoreError
from ..budget import CostBudget
from ..client import DEFAULT_BASE_URL, SalesloftClient
from ..errors import ConfigurationError
from ..sandbox.config import MAX_RECORDS
from ._common import CommandError, add_client_arguments, client_credentials

__all__ = [
    "ConnectionOptions",
    "SandboxDemo",
    "add_connection_arguments",
    "check_connection",
    "connection_from_args",
    "open_client",
]

#: The demo's sandbox: Salesloft's 600 cost, but per second instead of per minute, so that 25,000
#: people (about 265 pages) are read in seconds instead of half a minute of real budget.
SANDBOX_BUDGET = 600
SANDBOX_WINDOW = 1.0


@attrs.frozen
class SandboxDemo:
    """The embedded sandbox of `--sandbox`: its size, and a window shorter than Salesloft's."""

    people: int = 25_000
    budget: int = SANDBOX_BUDGET
    window: float = SANDBOX_WINDOW
    latency: float = 0.0


def _check_positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0):  # nan and inf pass a plain `<= 0` test
        raise ConfigurationError(
            f"--{attribute.name.replace('_', '-')} must be positive and finite"
        )


def check_connection(c: ConnectionOptions) -> None:
    """Refuse credentials that contradict each other or are missing, naming the flags."""
    if not 0 <= c.reserve_share < 1:
        raise ConfigurationError("--reserve-share must be at least 0 and below 1")
    given = [
        flag
        for flag, value in (
            ("--api-key", c.api_key),
            ("--token-file", c.token_file),
            ("--base-url", c.base_url),
        )
        if value
    ]
    if c.sandbox is not None and given:
        raise ConfigurationError(
            f"--sandbox runs its own server with its own key: drop {' and '.join(given)}"
        )
    if c.sandbox is None and not c.api_key and not c.token_file:
        raise ConfigurationError(
            "no credentials: give --api-key (or set SALESLOFT_API_KEY), --token-file, or --sandbox"
        )
    if c.api_key and c.token_file:
        raise ConfigurationError("give --api-key or --token-file, not both")


@attrs.frozen(kw_only=True)
class ConnectionOptions:
    """Credentials, host and budget, or the embedded sandbox; checked when built.

    Each command's options extend it (`ExportOptions`, `MirrorOptions`), so these are passed by
    keyword there too.

    :param api_key: an API key; or
    :param token_file: a token file written by `salesloft-async login`, refreshed (when due) with
        `client_id` and `client_secret`, at `token_url` (default: Salesloft's, or the sandbox's
        beside `base_url`).
    :param base_url: the API's root (default https://api.salesloft.com).
    :param budget: the team's cost per `window` seconds.
    :param reserve_share: share of each window left to interactive calls.
    :param progress: "auto" (redrawn on a terminal, plain lines otherwise), "on" or "off".
    :param sandbox: an embedded sandbox instead (a demo); no credentials then.
    """

    api_key: str | None = attrs.field(default=None, repr=False)
    token_file: Path | None = None
    client_id: str | None = None
    client_secret: str | None = attrs.field(default=None, repr=False)
    token_url: str | None = None
    base_url: str | None = None
    budget: int = attrs.field(default=600, validator=_check_positive)
    window: float = attrs.field(default=60.0, validator=_check_positive)
    reserve_share: float = 0.1
    progress: Literal["auto", "on", "off"] = "auto"
    sandbox: SandboxDemo | None = None

    def __attrs_post_init__(self) -> None:
        check_connection(self)


def add_connection_arguments(parser: argparse.ArgumentParser, *, demo: str) -> None:
    """Credentials, host, budget, progress and the embedded sandbox (`demo` says what it does)."""
    parser.add_argument(
        "--api-key",
        default=None,
        help="or SALESLOFT_API_KEY (prefer the variable: arguments show in `ps`)",
    )
    parser.add_argument(
        "--token-file",
        default=None,
        help="OAuth token file from `salesloft-async login`; refreshing it when due needs the"
        " client credentials",
    )
    add_client_arguments(parser)
    parser.add_argument("--token-url", default=None, help="OAuth token endpoint override")
    parser.add_argument("--base-url", default=None, help="or SALESLOFT_BASE_URL")
    parser.add_argument("--budget", type=int, default=600, help="team cost per window (600)")
    parser.add_argument("--window", type=float, default=60.0, help="window seconds (60)")
    parser.add_argument(
        "--reserve-share",
        type=float,
        default=0.1,
        help="share of each window left to interactive calls (default 0.1)",
    )
    parser.add_argument(
        "--progress",
        choices=["auto", "on", "off"],
        default="auto",
        help="auto (default): redrawn on a terminal, a line every 5 s into a pipe or log",
    )
    parser.add_argument("--sandbox", action="store_true", help=demo)
    sandbox = SandboxDemo()
    parser.add_argument(
        "--sandbox-people", type=int, default=sandbox.people, help="(default 25000)"
    )
    parser.add_argument(
        "--sandbox-budget",
        type=int,
        default=sandbox.budget,
        help=f"sandbox cost per window (default {sandbox.budget})",
    )
    parser.add_argument(
        "--sandbox-window",
        type=float,
        default=sandbox.window,
        help=f"sandbox window seconds (default {sandbox.window:g})",
    )
    parser.add_argument(
        "--sandbox-latency", type=float, default=sandbox.latency, help="sandbox page latency, s"
    )


def connection_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The connection options of the command line, by `ConnectionOptions`'s field names."""
    env = os.environ if env is None else env
    sandbox = None
    if args.sandbox:
        window = args.sandbox_window
        if (
            not 0 <= args.sandbox_people <= MAX_RECORDS
            or args.sandbox_budget < 1
            or not 0 < window < math.inf
        ):
            raise ConfigurationError(
                f"--sandbox-people must be from 0 to {MAX_RECORDS:,}, --sandbox-budget and"
                " --sandbox-window positive (and finite)"
            )
        if not 0 <= args.sandbox_latency < math.inf:
            raise ConfigurationError("--sandbox-latency must not be negative (nor infinite)")
        sandbox = SandboxDemo(
            args.sandbox_people, args.sandbox_budget, args.sandbox_window, args.sandbox_latency
        )
    token_file = Path(args.token_file).expanduser() if args.token_file else None
    client_id, client_secret = client_credentials(args, env)
    return {
        # the environment fills in only what the command line left open, never beside --sandbox
        "api_key": args.api_key
        or (None if sandbox or token_file else env.get("SALESLOFT_API_KEY")),
        "token_file": token_file,
        "client_id": client_id,
        "client_secret": client_secret,
        "token_url": args.token_url,
        "base_url": args.base_url or (None if sandbox else env.get("SALESLOFT_BASE_URL")),
        "budget": args.budget,
        "window": args.window,
        "reserve_share": args.reserve_share,
        "progress": args.progress,
        "sandbox": sandbox,
    }


async def open_client(
    options: ConnectionOptions, stack: contextlib.AsyncExitStack, err: TextIO
) -> tuple[SalesloftClient, CostBudget]:
    """The client (entered on `stack`, with the embedded sandbox when asked) and its budget."""
    demo = options.sandbox
    if demo is not None:
        from ..sandbox import Sandbox

        started = time.monotonic()
        sandbox = Sandbox(
            people=demo.people, budget=demo.budget, window=demo.window, latency=demo.latency
        )
        await stack.enter_async_context(sandbox)
        print(
            f"sandbox: {demo.people:,} people at {sandbox.url}, budget {demo.budget} cost per"
            f" {demo.window:g}s window (Salesloft's is 600 per 60s: this demo runs"
            f" {60 / demo.window * demo.budget / 600:g}x faster), seeded in"
            f" {time.monotonic() - started:.1f}s",
            file=err,
        )
        budget = CostBudget(demo.budget, demo.window, reserve_share=options.reserve_share)
        client = SalesloftClient(api_key=sandbox.api_key, base_url=sandbox.url, budget=budget)
        return await stack.enter_async_context(client), budget
    base_url = options.base_url or DEFAULT_BASE_URL
    budget = CostBudget(options.budget, options.window, reserve_share=options.reserve_share)
    if options.token_file is not None:
        auth = await _token_auth(options, options.token_file, base_url)
        client = SalesloftClient(auth=auth, base_url=base_url, budget=budget)
    else:
        client = SalesloftClient(api_key=options.api_key, base_url=base_url, budget=budget)
    return await stack.enter_async_context(client), budget


async def _token_auth(
    options: ConnectionOptions, path: Path, base_url: str
) -> TokenManager | _SavedToken:
    """A `TokenManager` when the client credentials are given; else the saved token alone."""
    store = FileTokenStore(path)
    try:
        token = await store.load()
    except TokenStoreError as exc:
        raise CommandError(f"{exc}; check --token-file and its permissions") from None
    if token is None:
        raise CommandError(
            f"no token in {path}: run `salesloft-async login --token-file {path}` first"
        )
    if options.client_id and options.client_secret:
        from .login import build_app

        app = build_app(
            options.client_id,
            options.client_secret,
            base_url=None if base_url == DEFAULT_BASE_URL else base_url,
            token_url=options.token_url,
        )
        return TokenManager(app, store)
    return _SavedToken(token, path)


class _SavedToken:
    """The saved token while it is fresh; asks for the client credentials once a refresh is due."""

    leeway = 60.0

    def __init__(self, token: Token, path: Path) -> None:
        self.token = token
        self.path = path

    async def authorization(self) -> str:
        if not self.token.is_fresh(time.time(), self.leeway):
            raise ConfigurationError(
                f"the token in {self.path} needs a refresh: give --client-id/--client-secret (or"
                " set SALESLOFT_CLIENT_ID/SALESLOFT_CLIENT_SECRET) and rerun"
            )
        return self.token.authorization

    async def on_unauthorized(self, used: str) -> bool:
        return False
