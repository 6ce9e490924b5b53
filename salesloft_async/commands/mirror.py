"""`salesloft-async mirror`: keep a live copy of a team's lists in SQLite or PostgreSQL.

    salesloft-async mirror people accounts --db sqlite:///salesloft.db --sandbox
    salesloft-async mirror people --db postgresql://localhost/crm --webhook-url https://x/hooks/ \
        --listen 0.0.0.0:8080
    salesloft-async mirror status --db sqlite:///salesloft.db

Runs until Ctrl-C and can be killed at any point: the next run goes on from what the database
holds.  `--once` catches up (load, one poll, a due sweep) and exits.  The exit codes are every
command's (`_common`); a database failure is exit 1, since the database keeps what was done.

`MirrorOptions` is the whole command as a value, so `mirror()` runs without argparse; its
connection options (credentials, budget, `--sandbox`) are export's (`_connect.ConnectionOptions`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import random
import sqlite3
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO
from urllib.parse import urlsplit

import attrs

from ..bulk import BulkStats
from ..errors import ConfigurationError, NotFoundError
from ..mirror import Mirror, MirrorStore, ResourceStatus, SqliteStore, open_store
from ..mirror.follower import refusal
from ..mirror.webhooks import serve
from ..transport import _is_loopback as is_loopback
from ._common import EXIT_FAILED, EXIT_OK, CommandError, near_misses
from ._connect import (
    ConnectionOptions,
    add_connection_arguments,
    check_connection,
    connection_from_args,
    open_client,
)
from ._progress import Progress, plural
from .export import exportable

__all__ = ["MirrorOptions", "add_arguments", "mirror", "mirrorable", "options_from_args", "run"]


def mirrorable() -> list[str]:
    """The list resources a mirror takes: those whose records carry an `id` and `updated_at`."""
    return [name for name, cls in exportable().items() if refusal(cls) is None]


DESCRIPTION = (
    "Keep a live copy of lists in SQLite or PostgreSQL (or `mirror status --db ...`).\n\n"
    "resources: " + ", ".join(mirrorable())
)


@attrs.frozen
class MirrorOptions(ConnectionOptions):
    """One mirror run; checked when built, before anything connects.

    :param resources: list resources as the client names them (``people``...).
    :param db: ``sqlite:///FILE.db`` or ``postgresql://USER@HOST:PORT/DB``.
    :param schema: the PostgreSQL schema (default ``salesloft``).
    :param poll: seconds between polls (default 30; 2 with the sandbox).
    :param reconcile: seconds between id sweeps.
    :param webhook_url: the public URL Salesloft POSTs to (needs `listen`).
    :param listen: (host, port) to serve webhooks on; the sandbox demo listens on loopback.
    :param sweep_all: sweep also the lists whose deletes webhooks announce.
    :param concurrency: cursors of the load and of sweeps.
    :param once: catch up once, then return.
    :param sandbox_changes: the demo's writes per second.

    The connection options (credentials, budget, `sandbox`) are `ConnectionOptions`'s, by keyword.
    """

    resources: tuple[str, ...] = attrs.field(converter=tuple)
    db: str = "sqlite:///salesloft.db"
    schema: str | None = None
    poll: float | None = None
    reconcile: float = 3600.0
    webhook_url: str | None = None
    listen: tuple[str, int] | None = None
    sweep_all: bool = False
    concurrency: int = 8
    once: bool = False
    sandbox_changes: float = 5.0

    def __attrs_post_init__(self) -> None:
        check_connection(self)
        known = exportable()
        unknown = [r for r in self.resources if r not in known]
        if not self.resources or unknown:
            choices = mirrorable()
            what = f"no list resource {near_misses(unknown, choices)}" if unknown else "nothing"
            raise ConfigurationError(f"{what} to mirror; choose from: {', '.join(choices)}")
        for name in self.resources:
            why = refusal(known[name])
            if why is not None:
                raise ConfigurationError(f"{name} cannot be mirrored: {why}")
        if self.concurrency < 1:
            raise ConfigurationError("--concurrency must be at least 1")
        for flag, value in (
            ("--poll", self.poll),
            ("--reconcile", self.reconcile),
            ("--sandbox-changes", self.sandbox_changes),
        ):
            if value is not None and not 0 < value < math.inf:  # nan fails both tests
                raise ConfigurationError(f"{flag} must be a finite number above 0, got {value}")
        if self.listen is not None and self.webhook_url is None:
            raise ConfigurationError("--listen needs --webhook-url, the public URL that reaches it")
        if self.webhook_url is not None and self.listen is None:
            raise ConfigurationError("--webhook-url needs --listen HOST:PORT to receive on")
        host = urlsplit(self.webhook_url).hostname if self.webhook_url else None
        if self.sandbox is not None and host is not None and not is_loopback(host):
            # the embedded sandbox would refuse the subscription (a 422) after seeding
            raise ConfigurationError(
                "--sandbox delivers webhooks only to loopback URLs: drop --webhook-url and"
                " --listen (the demo listens on loopback by itself), or give a loopback one"
            )

    @property
    def poll_interval(self) -> float:
        if self.poll is not None:
            return self.poll
        return 2.0 if self.sandbox is not None else 30.0

    @property
    def receive_on(self) -> tuple[str, int] | None:
        """Where webhooks are served: `listen`, or a free loopback port for the sandbox demo."""
        if self.listen is None and self.sandbox is not None:
            return ("127.0.0.1", 0)
        return self.listen


# -- argparse: the adapter ----------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "resource",
        nargs="+",
        help="list resources as the client names them (listed above), or `status`",
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
    parser.add_argument(
        "--reconcile", type=float, default=3600.0, help="seconds between id sweeps (default 3600)"
    )
    parser.add_argument(
        "--webhook-url", default=None, help="public URL Salesloft POSTs to (needs --listen)"
    )
    parser.add_argument(
        "--sweep-all",
        action="store_true",
        help="sweep also the lists whose deletes webhooks announce (catches lost deliveries)",
    )
    parser.add_argument(
        "--listen",
        default=None,
        metavar="HOST:PORT",
        help="serve webhooks here (needs --webhook-url)",
    )
    parser.add_argument("--concurrency", type=int, default=8, help="load cursors (default 8)")
    parser.add_argument("--once", action="store_true", help="catch up once, then exit")
    parser.add_argument(
        "--sandbox-changes", type=float, default=5.0, help="demo writes per second (default 5)"
    )
    add_connection_arguments(parser, demo="mirror an embedded sandbox that keeps changing (a demo)")


def options_from_args(args: argparse.Namespace) -> MirrorOptions:
    return MirrorOptions(
        resources=args.resource,
        **connection_from_args(args),
        db=args.db,
        schema=args.schema,
        poll=args.poll,
        reconcile=args.reconcile,
        webhook_url=args.webhook_url,
        listen=_listen(args.listen),
        sweep_all=args.sweep_all,
        concurrency=args.concurrency,
        once=args.once,
        sandbox_changes=args.sandbox_changes,
    )


def _listen(text: str | None) -> tuple[str, int] | None:
    if text is None:
        return None
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ConfigurationError(f"--listen takes HOST:PORT (a port from 0 to 65535), got {text!r}")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    store = open_store(args.db, schema=args.schema)  # a wrong --db is named first
    if args.resource == ["status"]:
        if isinstance(store, SqliteStore) and not store.path.exists():  # asking must not create it
            print(f"no mirror in this database yet: {store.path} does not exist (check --db)")
            return EXIT_OK
        with _database_errors():
            return asyncio.run(status(store))
    if "status" in args.resource:
        raise ConfigurationError(
            "`mirror status` takes no resources: run `mirror status --db ...` on its own"
        )
    options = options_from_args(args)
    with _database_errors():
        return asyncio.run(mirror(options, store))


@contextlib.contextmanager
def _database_errors() -> Iterator[None]:
    """A database's own error (sqlite3, asyncpg) as one line and exit 1: rerunning may succeed."""
    try:
        yield
    except sqlite3.Error as exc:
        raise _failed(exc) from exc
    except Exception as exc:
        if type(exc).__module__.startswith("asyncpg"):
            raise _failed(exc) from exc
        raise


def _failed(exc: BaseException) -> CommandError:
    return CommandError(
        f"database: {exc}; it keeps what was done, rerun the same command to go on", EXIT_FAILED
    )


# -- the mirror ---------------------------------------------------------------------------------


async def mirror(options: MirrorOptions, store: MirrorStore, *, err: TextIO | None = None) -> int:
    """Follow until cancelled (or once); raises `CommandError` or a `SalesloftError` on failure."""
    err = err or sys.stderr
    listen = options.receive_on
    async with contextlib.AsyncExitStack() as stack:
        client, budget = await open_client(options, stack, err)
        follower = Mirror(
            client,
            store,
            options.resources,
            poll_interval=options.poll_interval,
            reconcile_interval=options.reconcile,
            webhook_url=options.webhook_url or ("pending" if listen else None),
            sweep_all=options.sweep_all,
            concurrency=options.concurrency,
        )
        await stack.enter_async_context(follower)  # closed after the receiver stops
        if listen is not None and follower.webhooks is not None:
            try:
                runner, port = await serve(follower.webhook_app(), *listen)
            except OSError as exc:
                host, wanted = listen
                raise CommandError(
                    f"cannot listen on {host}:{wanted} for webhooks: {exc.strerror or exc}; pass"
                    " --listen with a free port"
                ) from None
            stack.push_async_callback(runner.cleanup)
            if options.webhook_url is None:  # the demo: the embedded sandbox reaches loopback
                follower.webhooks.url = f"http://127.0.0.1:{port}/"
            print(f"webhooks: {follower.webhooks.url} (listening on port {port})", file=err)
        progress = MirrorProgress(follower, budget, mode=options.progress, err=err)
        demo = options.sandbox
        async with progress.running(), contextlib.AsyncExitStack() as tasks:
            if demo is not None and not options.once:
                writer = asyncio.create_task(_demo_writes(client, demo.people, options))
                tasks.push_async_callback(_stop, writer)
            await follower.run(once=options.once)
    return EXIT_OK


async def _demo_writes(client: Any, people: int, options: MirrorOptions) -> None:
    """The demo's other side: people updated, created and deleted through the API."""
    rng = random.Random()
    ids = list(range(1, people + 1))
    n = 0
    while True:
        await asyncio.sleep(1 / max(options.sandbox_changes, 0.01))
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


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class MirrorProgress(Progress):
    """The export's status line, one field per resource: loading, then following."""

    def __init__(self, mirror: Mirror, budget: Any, *, mode: Any, err: TextIO) -> None:
        super().__init__(",".join(mirror.resources), BulkStats(), budget, mode=mode, err=err)
        self.mirror = mirror

    def fields(self, final: bool = False) -> list[tuple[int, str]]:
        fields = []
        for name, s in self.mirror.stats.items():
            state = self.mirror.states.get(name)
            load = s.load_stats
            if state is not None and not state.loaded and load is None:
                text = f"{name}: waiting to load"
            elif state is not None and not state.loaded and load is not None:
                total = f"/{load.total:,}" if load.total is not None else ""
                text = f"{name}: loading {load.records:,}{total} ({load.rate:,.0f}/s)"
            else:
                text = (
                    f"{name}: {s.loaded:,} loaded, {plural(s.polls, 'poll')} (+{s.polled:,}),"
                    f" {plural(s.webhooks, 'webhook')}, {s.tombstoned:,} swept away"
                )
            fields.append((0, text))
        b = self.budget.stats
        fields.append((1, f"budget left {b.remaining}/{b.limit}"))
        return fields


async def status(store: MirrorStore) -> int:
    """Per resource: rows, the cursor's position, last poll / webhook / sweep, and lag: the
    seconds since the last poll, the most by which a change no webhook brought can be missing."""
    async with contextlib.AsyncExitStack() as stack:
        await store.open()
        stack.push_async_callback(store.close)
        rows = await store.status()
    if not rows:
        print("no mirror in this database yet")
        return EXIT_OK
    now = time.time()
    header: tuple[str, ...] = ("resource", "rows", "deleted", "cursor", "last poll")
    header += ("last webhook", "last sweep", "lag")
    table = [header] + [_status_row(r, now) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return EXIT_OK


def _status_row(s: ResourceStatus, now: float) -> tuple[str, ...]:
    if s.cursor is not None and s.cursor.get("pages"):
        cursor = "whole list each poll"
    elif s.cursor is None:
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
