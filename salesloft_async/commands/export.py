"""`salesloft-async export`: a whole resource as JSON lines, at the full budget, resumably.

    salesloft-async export people --sandbox --out people.jsonl

The output and its checkpoint move together: every time a page has been written the checkpoint
records the cursors *and* the output's byte offset.  A rerun truncates the output to that offset
(dropping the lines of the page that was being written when the process died) and appends from
there, so a killed export, rerun, leaves every record exactly once in the file.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO, Any

from ..budget import CostBudget
from ..bulk import BulkRead, FileCheckpoint
from ..client import DEFAULT_BASE_URL, SalesloftClient
from ..errors import ConfigurationError, SalesloftError

__all__ = ["add_arguments", "export", "run"]

#: The demo's sandbox: Salesloft's 600 cost, but per second instead of per minute, so that 25,000
#: people (about 265 pages) export in seconds instead of half a minute of real budget.
SANDBOX_BUDGET = 600
SANDBOX_WINDOW = 1.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("resource", help="a list resource, as the client names it: people, ...")
    parser.add_argument("--out", required=True, help="the JSON-lines file to write")
    parser.add_argument("--since", default=None, help="only records updated at or after (ISO)")
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
    add_client_arguments(parser)


def add_client_arguments(parser: argparse.ArgumentParser) -> None:
    """Credentials, host, budget, progress and the embedded sandbox: what `_client` reads."""
    parser.add_argument(
        "--api-key",
        default=None,
        help="or SALESLOFT_API_KEY (prefer the variable: arguments show in `ps`)",
    )
    parser.add_argument(
        "--token-file",
        default=None,
        help="OAuth token file from `salesloft-async login` (with SALESLOFT_CLIENT_ID and"
        " SALESLOFT_CLIENT_SECRET set, to refresh it)",
    )
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
    parser.add_argument("--sandbox-people", type=int, default=25_000, help="(default 25000)")
    parser.add_argument(
        "--sandbox-budget", type=int, default=SANDBOX_BUDGET, help="sandbox cost per window"
    )
    parser.add_argument(
        "--sandbox-window", type=float, default=SANDBOX_WINDOW, help="sandbox window seconds"
    )
    parser.add_argument(
        "--sandbox-latency", type=float, default=0.0, help="sandbox page latency in seconds"
    )


def run(args: argparse.Namespace) -> int:
    out = Path(args.out)
    ckpt = Path(args.checkpoint) if args.checkpoint else out.with_name(out.name + ".ckpt")
    if args.token_file:
        args.token_file = os.path.expanduser(args.token_file)
    try:
        filters = _filters(args.filter)
        if args.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        offset, complete = _resume_point(out, ckpt, overwrite=args.overwrite)
        if complete:
            print(f"{out}: already complete ({ckpt} says so); delete {ckpt} to export again")
            return 0
        handle = _open_output(out, offset)
    except ConfigurationError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    try:
        with handle:
            return asyncio.run(export(args, handle, ckpt, filters, resumed=offset is not None))
    except ConfigurationError as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 2
    except SalesloftError as exc:
        print(f"\nexport failed: {exc}", file=sys.stderr)
        print(f"progress is saved in {ckpt}; rerun the same command to resume", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"\nexport failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"\nprogress is saved in {ckpt}; rerun the same command to resume", file=sys.stderr)
        raise


def _filters(items: list[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigurationError(f"--filter takes NAME=VALUE, got {item!r}")
        if name in filters:
            previous = filters[name]
            filters[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            filters[name] = value
    return filters


def _resume_point(out: Path, ckpt: Path, *, overwrite: bool) -> tuple[int | None, bool]:
    """(byte offset to truncate the output to, or None for a fresh start; already complete)."""
    try:
        saved = json.loads(ckpt.read_text(encoding="utf-8"))
    except FileNotFoundError:
        saved = None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"cannot read checkpoint {ckpt}: {exc}; delete it") from None
    if saved is None:
        if out.exists() and out.stat().st_size > 0 and not overwrite:
            raise ConfigurationError(
                f"{out} exists and there is no checkpoint {ckpt} to resume from;"
                " pass --overwrite to replace it"
            )
        return None, False
    output = saved.get("output") if isinstance(saved, dict) else None
    offset = output.get("offset") if isinstance(output, dict) else None
    if not isinstance(offset, int) or offset < 0:
        raise ConfigurationError(f"{ckpt} is not an export checkpoint; delete it to start over")
    size = out.stat().st_size if out.exists() else 0
    if size < offset:
        raise ConfigurationError(
            f"{out} is shorter ({size} bytes) than checkpoint {ckpt} records ({offset});"
            " delete both to start over"
        )
    return offset, bool(saved.get("complete"))


def _open_output(out: Path, offset: int | None) -> IO[bytes]:
    out.parent.mkdir(parents=True, exist_ok=True)
    if offset is None:
        return open(out, "wb")  # closed by run()
    handle = open(out, "r+b")  # noqa: SIM115 - closed by run()
    handle.truncate(offset)  # the lines of the page in progress at the crash
    handle.seek(offset)
    return handle


class _ExportCheckpoint:
    """The bulk checkpoint plus the output offset, written together atomically."""

    def __init__(self, path: Path, out: IO[bytes]) -> None:
        self.file = FileCheckpoint(path)
        self.out = out

    async def load(self) -> dict[str, Any] | None:
        return await self.file.load()

    async def save(self, state: dict[str, Any]) -> None:
        self.out.flush()
        await self.file.save({**state, "output": {"offset": self.out.tell()}})


async def export(
    args: argparse.Namespace,
    out: IO[bytes],
    ckpt: Path,
    filters: dict[str, Any],
    *,
    resumed: bool = False,
) -> int:
    async with contextlib.AsyncExitStack() as stack:
        client, budget = await _client(args, stack)
        resource = getattr(client, args.resource, None)
        if resource is None or not hasattr(resource, "list_path"):
            raise ConfigurationError(
                f"{args.resource!r} is not a list resource of the client (try people, accounts,"
                " calls, emails, tasks, notes, cadences, cadence_memberships, users)"
            )
        reader: BulkRead[Any] = resource.read_all(
            since=args.since,
            until=args.until,
            concurrency=args.concurrency,
            checkpoint=_ExportCheckpoint(ckpt, out),
            raw=True,
            **filters,
        )
        if reader.mode == "pages":
            print(
                f"note: {args.resource} cannot be sorted by updated_at: reading by page numbers"
                " (deep pages cost more, one cursor)",
                file=sys.stderr,
            )
        if resumed:
            print(f"resuming from {ckpt}", file=sys.stderr)
        progress = _Progress(args, reader, budget)
        ticker = asyncio.create_task(progress.tick())
        try:
            await _write(reader, out)
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            progress.show(final=True)
        out.flush()
        stats = reader.stats
        print(
            f"wrote {stats.records - stats.resumed_records:,} records to {args.out}"
            f" ({stats.records:,} in all) in {stats.elapsed:.1f}s: {stats.pages:,} pages,"
            f" cost {stats.cost:,}",
            file=sys.stderr,
        )
    return 0


async def _write(reader: AsyncIterator[Any], out: IO[bytes]) -> None:
    dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
    async with contextlib.aclosing(reader.__aiter__()) as records:  # type: ignore[type-var]
        async for record in records:
            out.write(dumps(record).encode("utf-8") + b"\n")


async def _client(
    args: argparse.Namespace, stack: contextlib.AsyncExitStack
) -> tuple[SalesloftClient, CostBudget]:
    env = os.environ
    if args.sandbox:
        from ..sandbox import Sandbox

        started = time.monotonic()
        sandbox = Sandbox(
            people=args.sandbox_people,
            budget=args.sandbox_budget,
            window=args.sandbox_window,
            latency=args.sandbox_latency,
        )
        await stack.enter_async_context(sandbox)
        print(
            f"sandbox: {args.sandbox_people:,} people at {sandbox.url}, budget"
            f" {args.sandbox_budget} cost per {args.sandbox_window:g}s window (Salesloft's is 600"
            f" per 60s: this demo runs {60 / args.sandbox_window * args.sandbox_budget / 600:g}x"
            f" faster), seeded in {time.monotonic() - started:.1f}s",
            file=sys.stderr,
        )
        budget = CostBudget(
            args.sandbox_budget, args.sandbox_window, reserve_share=args.reserve_share
        )
        client = SalesloftClient(api_key=sandbox.api_key, base_url=sandbox.url, budget=budget)
        return await stack.enter_async_context(client), budget
    base_url = args.base_url or env.get("SALESLOFT_BASE_URL") or DEFAULT_BASE_URL
    budget = CostBudget(args.budget, args.window, reserve_share=args.reserve_share)
    api_key = args.api_key or env.get("SALESLOFT_API_KEY")
    if args.token_file:
        from ..auth import FileTokenStore, TokenManager
        from .login import build_app

        app = build_app(
            argparse.Namespace(
                client_id=None,
                client_secret=None,
                authorize_url=None,
                token_url=args.token_url,
                base_url=args.base_url,
                scope=None,
                client_auth="client_secret_post",
            )
        )
        manager = TokenManager(app, FileTokenStore(args.token_file))
        client = SalesloftClient(auth=manager, base_url=base_url, budget=budget)
    elif api_key:
        client = SalesloftClient(api_key=api_key, base_url=base_url, budget=budget)
    else:
        raise ConfigurationError(
            "no credentials: give --api-key (or set SALESLOFT_API_KEY), --token-file, or --sandbox"
        )
    return await stack.enter_async_context(client), budget


class _Progress:
    """One status line on stderr: redrawn in place on a terminal, a line every few seconds else."""

    def __init__(self, args: argparse.Namespace, reader: BulkRead[Any], budget: CostBudget):
        self.reader = reader
        self.budget = budget
        self.name = args.resource
        self.enabled = args.progress != "off"
        self.inline = args.progress == "on" or sys.stderr.isatty()
        self.every = 0.25 if self.inline else 5.0

    async def tick(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            self.show()

    def show(self, final: bool = False) -> None:
        if not self.enabled:
            return
        s = self.reader.stats
        b = self.budget.stats
        total = f"/{s.total:,}" if s.total is not None else ""
        eta = f" · ETA {s.eta:.0f}s" if s.eta is not None and not final else ""
        line = (
            f"{self.name}: {s.records:,}{total} records · {s.pages:,} pages · cost {s.cost:,}"
            f" · budget left {b.remaining}/{b.limit} · {b.rate_limited} x 429"
            f" · {s.rate:,.0f} rec/s{eta}"
        )
        if self.inline:
            end = "\n" if final else ""
            print(f"\r\x1b[2K{line}", end=end, file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)
