"""`salesloft-async sandbox`: run the local Salesloft in the foreground until Ctrl-C.

Prints the base URL, the API key to send as Bearer, and the OAuth test client, so that a demo, a
benchmark or another language's test suite can point at it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import Callable
from typing import Any

from ..errors import ConfigurationError
from ..sandbox import FaultRule, Sandbox, SandboxConfig
from ..transport import _is_loopback as is_loopback
from ._common import EXIT_OK, CommandError

__all__ = ["add_arguments", "config_from_args", "parse_fault", "run", "serve"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    defaults = SandboxConfig()
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="default 8787; 0 picks a free port")
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed of the generated data (default 1)"
    )
    parser.add_argument("--people", type=int, default=defaults.people, help="(default 25000)")
    parser.add_argument(
        "--accounts", type=int, default=defaults.accounts, help="(default: a fifth of --people)"
    )
    parser.add_argument("--users", type=int, default=defaults.users, help="(default 25)")
    parser.add_argument("--cadences", type=int, default=defaults.cadences, help="(default 60)")
    parser.add_argument(
        "--window", type=float, default=defaults.window, help="budget window, s (default 60)"
    )
    parser.add_argument(
        "--budget", type=int, default=defaults.budget, help="cost per window (default 600)"
    )
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
    parser.add_argument(
        "--token-ttl",
        type=float,
        default=defaults.token_ttl,
        help="lifetime of an OAuth access token, s (default 7200)",
    )
    parser.add_argument("--latency", type=float, default=0.0, help="added to every answer, s")
    parser.add_argument(
        "--webhook-retry-delay",
        type=float,
        default=defaults.webhook_retry_delay,
        help="seconds between the retries of a failed delivery (default 15)",
    )
    parser.add_argument(
        "--allow-remote-webhooks",
        action="store_true",
        help="deliver webhooks to any http(s) URL (default: loopback URLs only)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        type=parse_fault,
        default=[],
        metavar="PATTERN:KEY=VALUE,...",
        help="misbehave on matching paths, e.g. '/v2/people*:error_rate=0.1,latency=0.2' "
        "(keys: latency, jitter, error_rate, error_status, drop_rate, truncate_rate, times, "
        "regex); repeatable",
    )
    parser.add_argument(
        "--api-key",
        default=None,
        help="or SALESLOFT_SANDBOX_API_KEY (default: a new random one each start)",
    )
    parser.add_argument(
        "--teams",
        type=int,
        default=defaults.teams,
        help="teams served, each with its own data, budget and API key (printed; team t's is"
        " <api-key>_t when --api-key is given)",
    )
    parser.add_argument(
        "--client-id", default=defaults.client_id, help="of the OAuth test client (%(default)s)"
    )
    parser.add_argument(
        "--redirect-uri",
        default=defaults.redirect_uri,
        help="the OAuth test client's redirect URI (%(default)s, as `login` uses)",
    )


#: fault option -> how its value is read
_FAULT_OPTIONS: dict[str, Callable[[str], Any]] = {
    "error_status": int,
    "times": int,
    "regex": lambda value: value.strip().lower() in ("1", "true", "yes"),
    **dict.fromkeys(("latency", "jitter", "error_rate", "drop_rate", "truncate_rate"), float),
}


def parse_fault(text: str) -> FaultRule:
    """'/v2/people*:error_rate=0.1,latency=0.2' -> FaultRule; argparse reports a bad one."""
    pattern, _, options = text.rpartition(":")
    if not pattern or "=" not in options:
        pattern, options = text, ""
    kwargs: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        key = key.strip()
        if key not in _FAULT_OPTIONS:
            raise argparse.ArgumentTypeError(
                f"unknown fault option {key!r} in {text!r}; options: {', '.join(_FAULT_OPTIONS)}"
            )
        try:
            kwargs[key] = _FAULT_OPTIONS[key](value)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"fault option {key}={value!r} in {text!r} is not a number"
            ) from None
    try:
        return FaultRule(pattern, **kwargs)
    except (ValueError, re.error) as exc:
        raise argparse.ArgumentTypeError(f"bad fault {text!r}: {exc}") from None


def config_from_args(args: argparse.Namespace) -> SandboxConfig:
    try:
        return _config(args)
    except ConfigurationError as exc:
        raise CommandError(_as_options(str(exc).removeprefix("sandbox: "))) from None


def _as_options(message: str) -> str:
    """The library's field names (`people`, `token_ttl`) as the options a reader typed."""
    options = {name: "--" + name.replace("_", "-") for name in _FIELDS_AS_OPTIONS}
    return re.sub(r"(?:^|(?<=; )|(?<= x ))(\w+)", lambda m: options.get(m[1], m[1]), message)


#: SandboxConfig fields the command sets from the option of the same name
_FIELDS_AS_OPTIONS = [
    "people",
    "accounts",
    "users",
    "cadences",
    "window",
    "budget",
    "background_spend",
    "token_ttl",
    "latency",
    "webhook_retry_delay",
    "teams",
]


def _config(args: argparse.Namespace) -> SandboxConfig:
    return SandboxConfig(
        faults=tuple(args.fault),
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
        allow_remote_webhooks=args.allow_remote_webhooks,
    )


def exposure_warning(host: str, remote_webhooks: bool) -> str | None:
    """What binding `host` shows to other machines, or None for a loopback address."""
    if is_loopback(host):
        return None
    webhooks = " and it posts webhooks to any URL they subscribe" if remote_webhooks else ""
    return (
        f"warning: --host {host} exposes this sandbox beyond this machine: anyone who can reach"
        " it can read and change all its data with the API key printed below, and authorize"
        f" with its OAuth test client{webhooks}. Use --host 127.0.0.1 unless that is what you"
        " want."
    )


async def serve(args: argparse.Namespace, *, ready: asyncio.Event | None = None) -> None:
    config = config_from_args(args)
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be between 0 and 65535, got {args.port}")
    warning = exposure_warning(args.host, config.allow_remote_webhooks)
    if warning:
        print(warning, file=sys.stderr)
    sandbox = Sandbox(config, host=args.host, port=args.port)
    try:
        await sandbox.start()
    except OSError as exc:
        raise CommandError(
            f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}; pass --port with a"
            " free port (0 picks one)"
        ) from None
    async with sandbox:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        # before the banner: a reader of "listening" may SIGTERM at once and must get a clean stop
        for sig in (signal.SIGTERM, signal.SIGINT):
            # a service manager's SIGTERM stops as cleanly as Ctrl-C
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
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
    return EXIT_OK
