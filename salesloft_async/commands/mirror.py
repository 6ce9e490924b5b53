"""`salesloft-async mirror`: keep a live copy of a team's lists in SQLite or PostgreSQL.

    salesloft-async mirror people accounts --db sqlite:///salesloft.db --sandbox
    salesloft-async mirror people --db postgresql://localhost/crm --webhook-url https://x/hooks/ \
        --listen 0.0.0.0:8080
    salesloft-async mirror status --db sqlite:///salesloft.db

Runs until Ctrl-C (exit 130) and can be killed at any point: the next run goes on from what the
database holds.  `--once` catches up (load, one poll, a due sweep) and exits 0.  Exit 1: failed
while running (the database keeps what was done); 2: bad arguments or configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import sqlite3
import sys
import time
from datetime import UTC, datetime
from typing import Any, cast

from ..errors import ConfigurationError, NotFoundError, SalesloftError
from ..mirror import Mirror, MirrorStore, ResourceStatus, open_store
from ..mirror.webhooks import serve
from .export import _client, add_client_arguments
from .export import _Progress as _ExportProgress

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "resource",
        nargs="+",
        help="list resources as the client names them (people accounts ...), or `status`",
    )
    parser.add_argument(
        "--db",
        default="sqlite:///salesloft.db",
        help="sqlite:///FILE.db (default sqlite:///salesloft.db) or postgresql://USER@HOST:PORT/DB",
    )
    parser.add_argument("--schema", default=None, help="PostgreSQL schema (default salesloft)")
    parser.add_argument(
        "--poll", type=float, default=None, help="seconds between polls (30; 2 with --sandbox)"
    )
    parser.add_argument("--reconcile", type=float, default=3600.0, help="seconds between sweeps")
    parser.add_argument("--webhook-url", default=None, help="public URL Salesloft POSTs to")
    parser.add_argument(
        "--sweep-all",
        action="store_true",
        help="sweep also the lists whose deletes webhooks announce (catches lost deliveries)",
    )
    parser.add_argument("--listen", default=None, metavar="HOST:PORT", help="serve webhooks here")
    parser.add_argument("--concurrency", type=int, default=8, help="load cursors (default 8)")
    parser.add_argument("--once", action="store_true", help="catch up once, then exit")
    parser.add_argument(
        "--sandbox-changes", type=float, default=5.0, help="demo writes per second (default 5)"
    )
    add_client_arguments(parser)


def run(args: argparse.Namespace) -> int:
    try:
        store = open_store(args.db, schema=args.schema)
        if args.resource == ["status"]:
            return asyncio.run(status(store))
        listen = _listen(args)
        if args.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        return asyncio.run(follow(args, store, listen))
    except ConfigurationError as exc:
        print(f"mirror: {exc}", file=sys.stderr)
        return 2
    except (SalesloftError, OSError, sqlite3.Error) as exc:
        return _failed(exc)
    except Exception as exc:
        if type(exc).__module__.startswith("asyncpg"):
            return _failed(exc)
        raise


def _failed(exc: BaseException) -> int:
    print(f"\nmirror failed: {exc}", file=sys.stderr)
    print("the database keeps what was done; rerun the same command to go on", file=sys.stderr)
    return 1


def _listen(args: argparse.Namespace) -> tuple[str, int] | None:
    if args.listen is None:
        if args.webhook_url is not None:
            raise ConfigurationError("--webhook-url needs --listen HOST:PORT to receive on")
        return ("127.0.0.1", 0) if args.sandbox else None
    if args.webhook_url is None:
        raise ConfigurationError("--listen needs --webhook-url, the public URL that reaches it")
    host, sep, port = args.listen.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ConfigurationError(f"--listen takes HOST:PORT, got {args.listen!r}")
    return host.strip("[]"), int(port)


async def follow(
    args: argparse.Namespace, store: MirrorStore, listen: tuple[str, int] | None
) -> int:
    poll = args.poll if args.poll is not None else (2.0 if args.sandbox else 30.0)
    async with contextlib.AsyncExitStack() as stack:
        client, budget = await _client(args, stack)
        mirror = Mirror(
            client,
            store,
            args.resource,
            poll_interval=poll,
            reconcile_interval=args.reconcile,
            webhook_url=args.webhook_url or ("pending" if listen else None),
            sweep_all=args.sweep_all,
            concurrency=args.concurrency,
        )
        await stack.enter_async_context(mirror)  # closed after the receiver stops
        if listen is not None and mirror.webhooks is not None:
            runner, port = await serve(mirror.webhook_app(), *listen)
            stack.push_async_callback(runner.cleanup)
            if args.webhook_url is None:  # the demo: the embedded sandbox reaches loopback
                mirror.webhooks.url = f"http://127.0.0.1:{port}/"
            print(f"webhooks: {mirror.webhooks.url} (listening on port {port})", file=sys.stderr)
        progress = _Progress(mirror, budget, args.progress)
        tasks = [asyncio.create_task(progress.tick())]
        if args.sandbox and not args.once:
            tasks.append(asyncio.create_task(_demo_writes(client, args)))
        try:
            await mirror.run(once=args.once)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            progress.show(final=True)
    return 0


async def _demo_writes(client: Any, args: argparse.Namespace) -> None:
    """The demo's other side: people updated, created and deleted through the API."""
    rng = random.Random()
    ids = list(range(1, args.sandbox_people + 1))
    n = 0
    while True:
        await asyncio.sleep(1 / max(args.sandbox_changes, 0.01))
        n += 1
        try:
            roll = rng.random()
            if roll < 0.6:
                await client.people.update(rng.choice(ids), title=f"demo title {n}")
            elif roll < 0.8:
                new = await client.people.create(email_address=f"demo-{n}-{rng.random()}@x.io")
                ids.append(new.id)
            else:
                gone = ids.pop(rng.randrange(len(ids)))
                await client.people.delete(gone)
        except NotFoundError:
            continue


class _Progress(_ExportProgress):
    """The export's status line, one part per resource: loading, then following."""

    def __init__(self, mirror: Mirror, budget: Any, mode: str) -> None:
        options = argparse.Namespace(resource=",".join(mirror.resources), progress=mode)
        super().__init__(options, cast(Any, None), budget)
        self.mirror = mirror

    def show(self, final: bool = False) -> None:
        if not self.enabled:
            return
        b = self.budget.stats
        parts = []
        for name, s in self.mirror.stats.items():
            state = self.mirror.states.get(name)
            load = s.load_stats
            if state is not None and not state.loaded and load is None:
                parts.append(f"{name}: waiting to load")
            elif state is not None and not state.loaded and load is not None:
                total = f"/{load.total:,}" if load.total is not None else ""
                parts.append(f"{name}: loading {load.records:,}{total} ({load.rate:,.0f}/s)")
            else:
                parts.append(
                    f"{name}: {s.loaded:,} loaded, {s.polls} polls (+{s.polled:,}),"
                    f" {s.webhooks:,} webhooks, {s.tombstoned:,} swept away"
                )
        line = " · ".join(parts) + f" · budget left {b.remaining}/{b.limit}"
        if self.inline:
            print(f"\r\x1b[2K{line}", end="\n" if final else "", file=sys.stderr, flush=True)
        else:
            print(line, file=sys.stderr, flush=True)


async def status(store: MirrorStore) -> int:
    """Per resource: rows, the cursor's position, last poll / webhook / sweep, and lag: the
    seconds since the last poll, the most by which a change no webhook brought can be missing."""
    async with contextlib.AsyncExitStack() as stack:
        await store.open()
        stack.push_async_callback(store.close)
        rows = await store.status()
    if not rows:
        print("no mirror in this database yet")
        return 0
    now = time.time()
    header: tuple[str, ...] = ("resource", "rows", "deleted", "cursor", "last poll")
    header += ("last webhook", "last sweep", "lag")
    table = [header] + [_status_row(r, now) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _status_row(s: ResourceStatus, now: float) -> tuple[str, ...]:
    if s.cursor is None:
        done = (s.checkpoint or {}).get("records") or 0
        cursor = f"loading ({done:,} read)"
    else:
        cursor = str(s.cursor.get("after") or s.cursor.get("lo") or "start")
    lag = f"{now - s.last_poll:.0f}s" if s.last_poll is not None else "-"
    when = (_when(s.last_poll), _when(s.last_webhook), _when(s.last_sweep))
    return (s.resource, f"{s.rows:,}", f"{s.deleted:,}", cursor, *when, lag)


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
