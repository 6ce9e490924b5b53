"""`salesloft-async export`: a whole resource as JSON lines, at the full budget, resumably.

    salesloft-async export people --sandbox --out people.jsonl

The output and its checkpoint move together: every time a page has been written the checkpoint
records the cursors, the output's byte offset and a SHA-256 of the output up to that offset.  A
rerun cuts the output back to that offset (dropping the lines of the page that was being written
when the process died) and appends from there, so a killed export, rerun, leaves every record
exactly once in the file.

A checkpoint also records what it belongs to: the resource, the filters, `--since`/`--until`, the
base URL, and the team and user the credentials act for (read from ``/v2/me``; never the key or
token itself).  All of it is compared before the output is touched and before "already complete"
is said: a checkpoint of another export is refused, naming what differs, and the output is cut
back only when its bytes still hash to what the checkpoint recorded.  Otherwise the file is left
byte for byte as it was.

`ExportOptions` is the whole command as a value, so `export()` runs without argparse; argparse
lives in `add_arguments` and `options_from_args`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import sys
import time
import typing
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

import attrs

from ..auth import FileTokenStore, Token, TokenManager
from ..budget import CostBudget
from ..bulk import _RESERVED as READER_PARAMS
from ..bulk import BulkRead
from ..bulk.checkpoint import OutputCheckpoint
from ..client import DEFAULT_BASE_URL, SalesloftClient
from ..errors import ConfigurationError
from ..query import encode_value
from ..resources import ListResource, Resources
from ._common import (
    EXIT_FAILED,
    EXIT_OK,
    CommandError,
    add_client_arguments,
    client_credentials,
    os_error,
)
from ._progress import Progress, plural
from ._resume import check_output, compare, output_opener, read_checkpoint, verify_output

__all__ = [
    "ExportOptions",
    "SandboxDemo",
    "add_arguments",
    "export",
    "exportable",
    "options_from_args",
    "run",
]

#: The demo's sandbox: Salesloft's 600 cost, but per second instead of per minute, so that 25,000
#: people (about 265 pages) export in seconds instead of half a minute of real budget.
SANDBOX_BUDGET = 600
SANDBOX_WINDOW = 1.0
#: paging parameters the server takes but the reader sets itself
_NOT_FILTERS = READER_PARAMS | {"limit_paging_counts"}


def exportable() -> dict[str, type[ListResource[Any]]]:
    """Every list resource of the client, by attribute name, known without connecting."""
    found: dict[str, type[ListResource[Any]]] = {}
    for name, cls in sorted(typing.get_type_hints(Resources).items()):
        if isinstance(cls, type) and issubclass(cls, ListResource) and cls.list_path:
            found[name] = cls
    return found


def filter_names(resource: str) -> list[str]:
    """The `--filter` names `resource` takes: its list operation's parameters, paging excluded."""
    return sorted(exportable()[resource].list_params - _NOT_FILTERS)


DESCRIPTION = (
    "Export a resource as JSON lines at the full cost budget, resumably.\n\nresources: "
    + ", ".join(exportable())
)


@attrs.frozen
class SandboxDemo:
    """The embedded sandbox of `--sandbox`: its size, and a window shorter than Salesloft's."""

    people: int = 25_000
    budget: int = SANDBOX_BUDGET
    window: float = SANDBOX_WINDOW
    latency: float = 0.0


def _check_positive(instance: Any, attribute: attrs.Attribute[Any], value: float) -> None:
    if not (math.isfinite(value) and value > 0):  # nan and inf pass a plain `<= 0` test
        flag = "--" + attribute.name.replace("_", "-")
        raise ConfigurationError(f"{flag} must be positive and finite")


@attrs.frozen
class ExportOptions:
    """Everything one export needs; checked when built, before anything is read or written.

    :param resource: a list resource of the client, as it names it (``people``); see `exportable`.
    :param out: the JSON-lines file to write.
    :param checkpoint: the resume state (default: ``OUT.ckpt`` next to the output).
    :param since: only records updated at or after this aware datetime.
    :param until: only records updated before this aware datetime.
    :param filters: list filters of the resource, by the API's names; a tuple for several values.
    :param concurrency: cursors reading at once.
    :param overwrite: replace an output that has no checkpoint.
    :param api_key: an API key; or
    :param token_file: a token file written by `salesloft-async login`, refreshed (when due) with
        `client_id` and `client_secret`, at `token_url` (default: Salesloft's, or the sandbox's
        beside `base_url`).
    :param base_url: the API's root (default https://api.salesloft.com).
    :param budget: the team's cost per `window` seconds.
    :param reserve_share: share of each window left to interactive calls.
    :param progress: "auto" (redrawn on a terminal, plain lines otherwise), "on" or "off".
    :param sandbox: export from an embedded sandbox instead (a demo); no credentials then.
    """

    resource: str
    out: Path = attrs.field(converter=Path)
    checkpoint: Path | None = None
    since: datetime | None = None
    until: datetime | None = None
    filters: Mapping[str, str | tuple[str, ...]] = attrs.field(factory=dict)
    concurrency: int = 8
    overwrite: bool = False
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
        resources = exportable()
        if self.resource not in resources:
            raise ConfigurationError(
                f"{self.resource!r} is not a list resource; choose one of: {', '.join(resources)}"
            )
        unknown = sorted(set(self.filters) - set(filter_names(self.resource)))
        if unknown:
            names = ", ".join(filter_names(self.resource)) or "none"
            raise ConfigurationError(
                f"{self.resource} has no filter {', '.join(unknown)}; its filters: {names}"
                " (use --since/--until for updated_at)"
            )
        for name in ("since", "until"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ConfigurationError(
                    f"--{name} must be timezone-aware (e.g. 2026-01-01T00:00:00Z): a guessed"
                    " time zone would shift the range"
                )
            if value is not None:
                encode_value(f"--{name}", value)  # in range once in UTC, as it will be sent
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise ConfigurationError("--since must be earlier than --until")
        if self.checkpoint_path.resolve() == self.out.resolve():
            # each save would replace the records written so far with the checkpoint
            raise ConfigurationError(
                f"--checkpoint {self.checkpoint_path} is the --out file; give it another name"
                " (by default OUT.ckpt)"
            )
        if self.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        if not 0 <= self.reserve_share < 1:
            raise ConfigurationError("--reserve-share must be at least 0 and below 1")
        given = [
            flag
            for flag, value in (
                ("--api-key", self.api_key),
                ("--token-file", self.token_file),
                ("--base-url", self.base_url),
            )
            if value
        ]
        if self.sandbox is not None and given:
            raise ConfigurationError(
                f"--sandbox runs its own server with its own key: drop {' and '.join(given)}"
            )
        if self.sandbox is None and not self.api_key and not self.token_file:
            raise ConfigurationError(
                "no credentials: give --api-key (or set SALESLOFT_API_KEY), --token-file,"
                " or --sandbox"
            )
        if self.api_key and self.token_file:
            raise ConfigurationError("give --api-key or --token-file, not both")

    @property
    def checkpoint_path(self) -> Path:
        return self.checkpoint or self.out.with_name(self.out.name + ".ckpt")

    @property
    def url(self) -> str:
        """Where the records come from, as the checkpoint records it."""
        if self.sandbox is not None:
            return f"sandbox ({self.sandbox.people} people)"
        return (self.base_url or DEFAULT_BASE_URL).rstrip("/")

    def identity(self) -> dict[str, Any]:
        """What a checkpoint of this export belongs to, but the credentials (known once asked)."""
        pairs = [
            [name, value]
            for name, values in sorted(self.filters.items())
            for value in ((values,) if isinstance(values, str) else values)
        ]
        return {
            "resource": self.resource,
            "filters": pairs,
            # one instant, one text: 02:00+02:00 is the same --since as 00:00Z
            "since": self.since.astimezone(UTC).isoformat() if self.since else None,
            "until": self.until.astimezone(UTC).isoformat() if self.until else None,
            "base_url": self.url,
        }


# -- argparse: the adapter ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", help="a list resource, as the client names it (listed above)")
    parser.add_argument("--out", required=True, help="the JSON-lines file to write")
    parser.add_argument(
        "--since", default=None, help="only records updated at or after (ISO, with a time zone)"
    )
    parser.add_argument("--until", default=None, help="only records updated before (ISO)")
    parser.add_argument("--concurrency", type=int, default=8, help="cursors (default 8)")
    parser.add_argument(
        "--checkpoint", default=None, help="resume state (default: OUT.ckpt next to the output)"
    )
    parser.add_argument(
        "--filter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a list filter of the resource; repeat a name for several values",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an output that has no checkpoint"
    )
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
    parser.add_argument("--progress", choices=["auto", "on", "off"], default="auto")
    parser.add_argument(
        "--sandbox", action="store_true", help="export from an embedded sandbox (a demo)"
    )
    demo = SandboxDemo()
    parser.add_argument("--sandbox-people", type=int, default=demo.people, help="(default 25000)")
    parser.add_argument(
        "--sandbox-budget", type=int, default=demo.budget, help="sandbox cost per window"
    )
    parser.add_argument(
        "--sandbox-window", type=float, default=demo.window, help="sandbox window seconds"
    )
    parser.add_argument(
        "--sandbox-latency", type=float, default=demo.latency, help="sandbox page latency, s"
    )


def options_from_args(
    args: argparse.Namespace, env: Mapping[str, str] | None = None
) -> ExportOptions:
    env = os.environ if env is None else env
    sandbox = None
    if args.sandbox:
        window = args.sandbox_window
        if args.sandbox_people < 0 or args.sandbox_budget < 1 or not 0 < window < math.inf:
            raise ConfigurationError(
                "--sandbox-people must be at least 0, --sandbox-budget and --sandbox-window"
                " positive (and finite)"
            )
        if not 0 <= args.sandbox_latency < math.inf:
            raise ConfigurationError("--sandbox-latency must not be negative (nor infinite)")
        sandbox = SandboxDemo(
            args.sandbox_people, args.sandbox_budget, args.sandbox_window, args.sandbox_latency
        )
    token_file = Path(args.token_file).expanduser() if args.token_file else None
    client_id, client_secret = client_credentials(args, env)
    return ExportOptions(
        resource=args.resource,
        out=Path(args.out),
        checkpoint=Path(args.checkpoint) if args.checkpoint else None,
        since=_when("--since", args.since),
        until=_when("--until", args.until),
        filters=_filters(args.filter),
        concurrency=args.concurrency,
        overwrite=args.overwrite,
        # the environment fills in only what the command line left open, never beside --sandbox
        api_key=args.api_key or (None if sandbox or token_file else env.get("SALESLOFT_API_KEY")),
        token_file=token_file,
        client_id=client_id,
        client_secret=client_secret,
        token_url=args.token_url,
        base_url=args.base_url or (None if sandbox else env.get("SALESLOFT_BASE_URL")),
        budget=args.budget,
        window=args.window,
        reserve_share=args.reserve_share,
        progress=args.progress,
        sandbox=sandbox,
    )


def _when(flag: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ConfigurationError(
            f"{flag}: {text!r} is not an ISO-8601 timestamp (e.g. 2026-01-01T00:00:00Z)"
        ) from None


def _filters(items: list[str]) -> dict[str, str | tuple[str, ...]]:
    filters: dict[str, str | tuple[str, ...]] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--filter takes NAME=VALUE, got {item!r}")
        previous = filters.get(name)
        if previous is None:
            filters[name] = value
        else:
            filters[name] = (*((previous,) if isinstance(previous, str) else previous), value)
    return filters


def run(args: argparse.Namespace) -> int:
    return asyncio.run(export(options_from_args(args)))


# -- the export -----------------------------------------------------------------------------------


async def export(options: ExportOptions, *, err: TextIO | None = None) -> int:
    """Run one export; raises `CommandError` or a `SalesloftError` on a mistake or failure."""
    err = err or sys.stderr
    ckpt = options.checkpoint_path
    saved = read_checkpoint(ckpt)
    if saved is not None:
        compare(ckpt, saved, options.identity())
    check_output(options.out, ckpt, overwrite=options.overwrite, resuming=saved is not None)
    async with contextlib.AsyncExitStack() as stack:
        client, budget = await _client(options, stack, err)
        identity = {**options.identity(), "credentials": await _whoami(client)}
        offset, digest = 0, None
        if saved is not None:
            compare(ckpt, saved, identity)
            if saved.get("complete"):
                print(
                    f"{options.out}: already complete ({ckpt} says so); delete {ckpt} to export"
                    " again"
                )
                return EXIT_OK
            offset, digest = verify_output(options.out, ckpt, saved)
        sink = OutputCheckpoint(
            ckpt,
            output_opener(options.out, offset, resume=saved is not None),
            identity=identity,
            offset=offset,
            digest=digest,
        )
        reader: BulkRead[Any] = getattr(client, options.resource).read_all(
            since=options.since,
            until=options.until,
            concurrency=options.concurrency,
            checkpoint=sink,
            raw=True,
            **{k: list(v) if isinstance(v, tuple) else v for k, v in options.filters.items()},
        )
        if reader.mode == "pages":
            print(
                f"note: {options.resource} cannot be sorted by updated_at: reading by page"
                " numbers (deep pages cost more, one cursor)",
                file=err,
            )
        if saved is not None:
            print(f"resuming from {ckpt}", file=err)
        progress = Progress(options.resource, reader.stats, budget, mode=options.progress, err=err)
        try:
            async with progress.running():
                await _write(reader, sink, options.out)
        except BaseException:
            if ckpt.exists():
                print(f"progress is saved in {ckpt}; rerun the same command to resume", file=err)
            raise
        stats = reader.stats
        print(
            f"wrote {plural(stats.records - stats.resumed_records, 'record')} to {options.out}"
            f" ({stats.records:,} in all) in {stats.elapsed:.1f}s:"
            f" {plural(stats.pages, 'page')}, cost {stats.cost:,}",
            file=err,
        )
    return EXIT_OK


async def _write(reader: AsyncIterator[Any], sink: OutputCheckpoint, out: Path) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    try:
        async with contextlib.aclosing(reader.__aiter__()) as records:  # type: ignore[type-var]
            async for record in records:
                sink.write(dumps(record).encode("utf-8") + b"\n")
        sink.close()
    except OSError as exc:
        if exc.filename is None:  # a write or flush of the output: say which file
            exc.filename = str(out)
        raise os_error(
            exc, "write", "free space or fix the file, then rerun", EXIT_FAILED
        ) from None
    finally:
        with contextlib.suppress(OSError):  # the error that ended the run says it already
            sink.close()


async def _whoami(client: SalesloftClient) -> dict[str, Any]:
    """The team and user the credentials act for: what a checkpoint's owner is compared by."""
    response = await client.request("GET", "/v2/me")
    data = response.data.get("data") if isinstance(response.data, dict) else None
    team = data.get("team") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(team, dict):
        raise CommandError("/v2/me did not say which team and user the credentials belong to", 1)
    return {"team_id": team.get("id"), "user_id": data.get("id")}


async def _client(
    options: ExportOptions, stack: contextlib.AsyncExitStack, err: TextIO
) -> tuple[SalesloftClient, CostBudget]:
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
        auth = await _token_auth(options, base_url)
        client = SalesloftClient(auth=auth, base_url=base_url, budget=budget)
    else:
        client = SalesloftClient(api_key=options.api_key, base_url=base_url, budget=budget)
    return await stack.enter_async_context(client), budget


async def _token_auth(options: ExportOptions, base_url: str) -> TokenManager | _SavedToken:
    """A `TokenManager` when the client credentials are given; else the saved token alone."""
    assert options.token_file is not None
    store = FileTokenStore(options.token_file)
    try:
        token = await store.load()
    except OSError as exc:
        raise os_error(exc, "read the token file", "check its permissions") from None
    if token is None:
        raise CommandError(
            f"no token in {options.token_file}: run `salesloft-async login --token-file"
            f" {options.token_file}` first"
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
    return _SavedToken(token, options.token_file)


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
                " set SALESLOFT_CLIENT_ID/SALESLOFT_CLIENT_SECRET) and rerun to resume"
            )
        return self.token.authorization

    async def on_unauthorized(self, used: str) -> bool:
        return False
