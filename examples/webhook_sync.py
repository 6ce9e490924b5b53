"""Keep a local SQLite table of people and tasks in sync with Salesloft through webhooks.

    SALESLOFT_API_KEY=ak_... python examples/webhook_sync.py \
        --public-url https://my-host.example.com/salesloft/ --port 8080 --db salesloft.db

`--public-url` is the address Salesloft POSTs to (a tunnel or your load balancer in front of
`--host:--port`); the app serves the webhook sub-app under its path.  At startup it subscribes to
the person and task events (re-running does not duplicate subscriptions), and every verified
delivery upserts or deletes one row.  Deliveries can repeat and arrive out of order (Salesloft
retries a failed one 15 s later), so a row is only replaced by a version with a newer
`updated_at`.  A real integration reads everything once first (``sl.people.read_all()``) and then
lets the webhooks keep it fresh; that first read is left out here to keep the example short.

Each event type is subscribed with a token of its own, so a captured delivery re-sent under another
event type fails the signature check.  Run several copies behind one load balancer with
`--redis redis://127.0.0.1:6379/0`: the workers then share one record of the deliveries they
claimed, and a delivery that reaches two of them is handled once.

Pass `--base-url http://127.0.0.1:PORT` to run it against the bundled sandbox.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.webhooks import (
    ClaimStore,
    Event,
    PersonEvent,
    RedisClaimStore,
    TaskEvent,
    WebhookReceiver,
    subscribe,
    tokens_by_event_type,
    webhook_app,
)

PERSON_EVENTS = ["person_created", "person_updated", "person_deleted"]
TASK_EVENTS = ["task_created", "task_updated", "task_completed", "task_deleted"]

log = logging.getLogger("webhook_sync")

SCHEMA = """
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY, email TEXT, first_name TEXT, last_name TEXT, title TEXT,
    updated_at TEXT, raw TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY, person_id INTEGER, subject TEXT, state TEXT, due_date TEXT,
    updated_at TEXT, raw TEXT NOT NULL);
"""


class LocalCopy:
    """The local tables.  sqlite3 blocks, so each statement runs in a worker thread, in turn."""

    def __init__(self, path: str):
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.executescript(SCHEMA)
        self._lock = asyncio.Lock()

    async def _run(self, sql: str, params: tuple[Any, ...]) -> None:
        def work() -> None:
            with self._db:  # one transaction per statement
                self._db.execute(sql, params)

        async with self._lock:
            await asyncio.to_thread(work)

    async def upsert_person(self, event: PersonEvent) -> None:
        p = event.record
        await self._run(
            "INSERT INTO people (id, email, first_name, last_name, title, updated_at, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET email=excluded.email, first_name=excluded.first_name,"
            " last_name=excluded.last_name, title=excluded.title, updated_at=excluded.updated_at,"
            " raw=excluded.raw"
            " WHERE people.updated_at IS NULL OR excluded.updated_at >= people.updated_at",
            (
                p.id,
                p.email_address,
                p.first_name,
                p.last_name,
                p.title,
                _stamp(p.updated_at),
                json.dumps(p.raw),
            ),
        )

    async def upsert_task(self, event: TaskEvent) -> None:
        t = event.record
        await self._run(
            "INSERT INTO tasks (id, person_id, subject, state, due_date, updated_at, raw)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(id) DO UPDATE SET person_id=excluded.person_id,"
            " subject=excluded.subject, state=excluded.state, due_date=excluded.due_date,"
            " updated_at=excluded.updated_at, raw=excluded.raw"
            " WHERE tasks.updated_at IS NULL OR excluded.updated_at >= tasks.updated_at",
            (
                t.id,
                t.person.id if t.person is not None else None,
                t.subject,
                t.current_state,
                _stamp(t.due_date),
                _stamp(t.updated_at),
                json.dumps(t.raw),
            ),
        )

    async def delete(self, table: str, record_id: int | None) -> None:
        assert table in ("people", "tasks")
        await self._run(f"DELETE FROM {table} WHERE id = ?", (record_id,))

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        assert table in ("people", "tasks")
        return self._db.execute(f"SELECT * FROM {table} ORDER BY id").fetchall()

    def close(self) -> None:
        self._db.close()


def _stamp(value: Any) -> str | None:
    # ISO-8601 in UTC with microseconds compares correctly as text.
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    return None if value is None else str(value)


def build_receiver(
    copy: LocalCopy, tokens: dict[str, str], claims: ClaimStore | None = None
) -> WebhookReceiver:
    """The handlers: one per kind, each an idempotent write of one row."""
    # ack_timeout=None: a SQLite write is quick, and a failed one should make Salesloft retry.
    receiver = WebhookReceiver(tokens, ack_timeout=None, claims=claims)

    @receiver.on("person_created", "person_updated")
    async def person_changed(event: Event[Any]) -> None:
        assert isinstance(event, PersonEvent)
        await copy.upsert_person(event)

    @receiver.on("task_created", "task_updated", "task_completed")
    async def task_changed(event: Event[Any]) -> None:
        assert isinstance(event, TaskEvent)
        await copy.upsert_task(event)

    @receiver.on("person_deleted")
    async def person_deleted(event: Event[Any]) -> None:
        await copy.delete("people", event.record_id)

    @receiver.on("task_deleted")
    async def task_deleted(event: Event[Any]) -> None:
        await copy.delete("tasks", event.record_id)

    return receiver


def create_app(
    sl: SalesloftClient, public_url: str, copy: LocalCopy, claims: ClaimStore | None = None
) -> web.Application:
    """The aiohttp app: subscribes on startup, serves the webhook sub-app at the URL's path."""
    tokens: dict[str, str] = {}  # event type -> its own callback token, filled in at startup
    receiver = build_receiver(copy, tokens, claims)

    async def subscriptions(app: web.Application) -> AsyncIterator[None]:
        subs = await subscribe(sl, public_url, PERSON_EVENTS + TASK_EVENTS)
        tokens.update(tokens_by_event_type(subs))
        log.info("subscribed %s to %d event types", public_url, len(subs))
        yield
        # Subscriptions are kept on purpose: deliveries that fail while we are down are retried.

    app = web.Application()
    app.cleanup_ctx.append(subscriptions)
    app.add_subapp(_mount_point(public_url), webhook_app(receiver))
    return app


def _mount_point(public_url: str) -> str:
    path = urlsplit(public_url).path or "/"
    return path if path.endswith("/") else path + "/"


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--public-url", required=True, help="URL Salesloft POSTs deliveries to")
    parser.add_argument("--base-url", default="https://api.salesloft.com")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--db", default="salesloft_sync.db")
    parser.add_argument("--redis", help="share delivery claims with other workers (redis:// URL)")
    args = parser.parse_args()
    api_key = os.environ.get("SALESLOFT_API_KEY")
    if not api_key:
        raise SystemExit("set SALESLOFT_API_KEY")
    logging.basicConfig(level=logging.INFO)

    copy = LocalCopy(args.db)
    async with SalesloftClient(api_key, base_url=args.base_url) as sl:
        claims = RedisClaimStore(args.redis) if args.redis else None
        runner = web.AppRunner(create_app(sl, args.public_url, copy, claims))
        await runner.setup()
        await web.TCPSite(runner, args.host, args.port).start()
        log.info("listening on http://%s:%d", args.host, args.port)
        try:
            await asyncio.Event().wait()  # until Ctrl-C
        finally:
            await runner.cleanup()
            copy.close()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
