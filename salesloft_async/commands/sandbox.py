"""`salesloft-async sandbox`: run the local Salesloft in the foreground until Ctrl-C.

Prints the base URL, the API key to send as Bearer, and the OAuth test client, so that a demo, a
benchmark or another language's test suite can point at it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from ..sandbox import FaultRule, Sandbox, SandboxConfig

__all__ = ["add_arguments", "config_from_args", "parse_fault", "run", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SandboxConfig()
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (loopback)")
    parser.add_argument("--port", type=int, default=8787, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--people", type=int, default=defaults.people)
    parser.add_argument("--accounts", type=int, default=defaults.accounts)
    parser.add_argument("--users", type=int, default=defaults.users)
    parser.add_argument("--cadences", type=int, default=defaults.cadences)
    parser.add_argument("--window", type=float, default=defaults.window, help="budget window, s")
    parser.add_argument("--budget", type=int, default=defaults.budget, help="cost per window")
    parser.add_argument(
        "--cost-table",
        choices=("total", "additive"),
        default="total",
        help="deep-page costs: Salesloft's 'total cost' reading or the guide's additive one",
    )
    parser.add_argument(
        "--background-spend",
        type=int,
        default=0,
        help="cost the team's other integrations spend per window",
    )
    parser.add_argument("--token-ttl", type=float, default=defaults.token_ttl)
    parser.add_argument("--latency", type=float, default=0.0, help="added to every answer, s")
    parser.add_argument("--webhook-retry-delay", type=float, default=defaults.webhook_retry_delay)
    parser.add_argument(
        "--fault",
        action="append",
        default=[],
        metavar="PATTERN:KEY=VALUE,...",
        help="misbehave on matching paths, e.g. '/v2/people*:error_rate=0.1,latency=0.2' "
        "(keys: latency, jitter, error_rate, error_status, drop_rate, truncate_rate, times, "
        "regex); repeatable",
    )
    parser.add_argument("--api-key", default=None, help="or SALESLOFT_SANDBOX_API_KEY")
    parser.add_argument(
        "--teams",
        type=int,
        default=defaults.teams,
        help="teams served, each with its own API key (team t: <api-key>_t), data and budget",
    )
    parser.add_argument("--client-id", default=defaults.client_id)
    parser.add_argument("--redirect-uri", default=defaults.redirect_uri)


def parse_fault(text: str) -> FaultRule:
    """'/v2/people*:error_rate=0.1,latency=0.2' -> FaultRule."""
    pattern, _, options = text.rpartition(":")
    if not pattern or "=" not in options:
        pattern, options = text, ""
    kwargs: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        key = key.strip()
        if key in ("error_status", "times"):
            kwargs[key] = int(value)
        elif key == "regex":
            kwargs[key] = value.strip().lower() in ("1", "true", "yes")
        elif key in ("latency", "jitter", "error_rate", "drop_rate", "truncate_rate"):
            kwargs[key] = float(value)
        else:
            raise argparse.ArgumentTypeError(f"unknown fault option {key!r}")
    return FaultRule(pattern, **kwargs)


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        faults=tuple(parse_fault(text) for text in args.fault),
        seed=args.seed,
        people=args.people,
        accounts=args.accounts,
        users=args.users,
        cadences=args.cadences,
        window=args.window,
        budget=args.budget,
        cost_table=args.cost_table,
        background_spend=args.background_spend,
        token_ttl=args.token_ttl,
        latency=args.latency,
        webhook_retry_delay=args.webhook_retry_delay,
        api_key=args.api_key or os.environ.get("SALESLOFT_SANDBOX_API_KEY") or None,
        client_id=args.client_id,
        client_secret=os.environ.get("SALESLOFT_SANDBOX_CLIENT_SECRET") or None,
        redirect_uri=args.redirect_uri,
        teams=args.teams,
    )


async def serve(args: argparse.Namespace, *, ready: asyncio.Event | None = None) -> None:
    sandbox = Sandbox(config_from_args(args), host=args.host, port=args.port)
    async with sandbox:
        client = sandbox.oauth_client
        print(f"Salesloft sandbox listening on {sandbox.url}")
        print(f"  API key (Bearer):  {sandbox.api_key}")
        for team in list(sandbox.teams.values())[1:]:
            print(f"  team {team.id} API key:    {team.api_key}")
        print(f"  OAuth client_id:   {client.client_id}")
        print(f"  OAuth secret:      {client.client_secret}")
        print(f"  OAuth redirect:    {client.redirect_uri}")
        print(
            f"  data: {sandbox.config.people} people, {sandbox.config.size('accounts')} accounts; "
            f"budget {sandbox.config.budget} per {sandbox.config.window:g} s. Ctrl-C stops."
        )
        sys.stdout.flush()
        if ready is not None:
            ready.set()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            # a service manager's SIGTERM stops as cleanly as Ctrl-C
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
        try:
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.remove_signal_handler(sig)
    print("sandbox stopped", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))
    return 0
