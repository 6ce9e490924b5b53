"""The mirror itself: load once, then follow, writing every version by one rule.

Three paths bring versions of records, and they may race in any order; the store's write rule
(see `store`) makes the newest win, so none of them needs to know about the others:

* **Initial load**: `read_all` on the bulk lane, concurrent, at cost 1 per page.  Its checkpoint
  lives in the state table and is committed with the rows read before it (or after them, never
  before), so a kill at any instant leaves no checkpoint ahead of its rows: the rerun re-reads at
  most the pages after the last commit, and a row read twice is the same upsert again.
* **Poll**: every `poll_interval` one keyset cursor per resource asks for ``updated_at[gte]`` the
  last version seen, sorted ascending, skipping the ids it already has at that instant.  When
  nothing changed that is one request (cost 1) per resource.  The cursor is saved with the rows.
  A list that cannot filter and sort by `updated_at` (``custom_fields``...; the server ignores
  filters its definition does not list, so such a cursor would re-read page 1 forever) is read
  the way `read_all` chooses for it, by page numbers, and its poll is a sweep: the whole list
  again (one request per 100 records, deep pages more), deletes included.  When webhooks bring
  its changes (``tasks``, ``users``...) it is not polled; the sweep every `reconcile_interval`
  catches what they missed.
* **Webhooks** (when a public callback URL is given; see `webhooks`): each delivery is one write.

Deletes never show in a list.  ``*_deleted`` webhooks bring most of them; the reconciliation
sweep finds the rest: every `reconcile_interval` it reads the whole list at cost 1 per page
(refreshing every row on the way), then marks deleted the rows whose ids it did not see and whose
stored version is not newer than both the newest version stored when it began and the newest it
read (a newer row was written while it read: not its to judge; the newest stored version counts
too, or the delete of the most recently changed record would never be found).  It runs for the
resources whose deletes no subscribed webhook announces (all of them when no webhooks are used).

A sweep by page numbers can miss a live record: a write during the read shifts the pages after it
(see `salesloft_async.bulk`).  The record is then marked deleted at its version, which the write
rule would keep for good against the same version read again; so such a sweep writes what it read
with `revive`, and the next sweep that sees the record brings it back.  The price: a ``*_deleted``
webhook landing while a sweep by pages holds the version it deleted is undone until the next sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import typing
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..bulk import BulkRead, BulkStats, Cursor, Page, TransportSource
from ..bulk.keyset import format_ts, record_id, record_ts
from ..errors import ConfigurationError, SalesloftError
from .store import MirrorStore, ResourceState, Row, check_identifier, newest, row_of

if TYPE_CHECKING:
    from .webhooks import MirrorWebhooks

__all__ = ["Mirror", "MirrorStats", "refusal", "text_ids"]

log = logging.getLogger("salesloft_async.mirror")

Record = dict[str, Any]

#: a sweep that read nothing judges every row: the list is empty
_END_OF_TIME = "9999-12-31T23:59:59.999999+00:00"


@attrs.define
class MirrorStats:
    """What one resource's mirror did in this process (for progress lines and benchmarks)."""

    loaded: int = 0
    polls: int = 0
    polled: int = 0
    webhooks: int = 0
    swept: int = 0
    tombstoned: int = 0
    #: requests and their cost spent by polls and sweeps (the load's are in `load_stats`)
    requests: int = 0
    cost: int = 0
    load_stats: BulkStats | None = None


class _LoadCheckpoint:
    """The initial load's checkpoint, kept in the state table together with the rows before it.

    The bulk reader calls `save` after every page it handed over; the rows of those pages are
    buffered here and written with the checkpoint once `batch_size` rows wait (or the read is
    complete); the store never commits the checkpoint before its rows.
    """

    def __init__(
        self,
        store: MirrorStore,
        resource: str,
        saved: Any,
        batch_size: int,
        clock: Callable[[], float],
    ) -> None:
        self.store = store
        self.clock = clock
        self.resource = resource
        self.saved = saved
        self.batch_size = batch_size
        self.rows: list[Row] = []
        self.state: dict[str, Any] | None = None

    async def load(self) -> dict[str, Any] | None:
        return self.saved if isinstance(self.saved, dict) else None

    async def save(self, state: dict[str, Any]) -> None:
        self.state = state
        if len(self.rows) >= self.batch_size or state.get("complete"):
            await self.flush()

    async def flush(self) -> None:
        if self.state is None:
            return
        extra: dict[str, Any] = {"checkpoint": self.state}
        if self.state.get("complete"):
            # the load has just seen every record: the first sweep is due an interval later
            cursor = _follow_on(self.state)
            cursor = cursor if isinstance(cursor, dict) else cursor.to_json()
            extra.update(cursor=cursor, last_sweep=self.clock())
        rows, self.rows = newest(self.rows), []
        await self.store.write(self.resource, rows, **extra)
        self.state = None


#: the "cursor" of a list polled by reading it whole (it cannot be read by `updated_at`)
PAGES: dict[str, Any] = {"pages": True}


def _follow_on(snapshot: dict[str, Any]) -> Cursor | dict[str, Any]:
    """The poll cursor a finished load hands on: its open-ended slice (the tail, or the only
    one), reopened.  A load that found nothing starts polling from the beginning; a list read
    by page numbers gets `PAGES`, the mark of a list that every poll reads whole."""
    if snapshot.get("mode") == "pages":
        return PAGES
    for item in snapshot.get("slices") or ():
        cursor = Cursor.from_json(item.get("cursor") or {})
        if cursor.hi is None:
            return attrs.evolve(cursor, done=False)
    return Cursor()


def _settle(cursor: Cursor, page: Page) -> Cursor:
    """A poll cursor positioned after a final (partial) page, ready for the next poll.

    `Cursor.advance` marks a slice done on a partial page without moving past it (a slice is never
    read again); a poll cursor is, so it moves to the page's last timestamp and remembers the ids
    there, and the next poll asks ``[gte]`` that instant and gets only what changed.
    """
    if not page.records:
        return attrs.evolve(cursor, done=False)
    last = format_ts(record_ts(page.records[-1]))
    ids = {record_id(r) for r in page.records if format_ts(record_ts(r)) == last}
    if last == cursor.after:
        return attrs.evolve(cursor, seen=ids | cursor.seen, exact_page=0, done=False)
    return attrs.evolve(
        cursor, after=last, seen=ids, strict=False, exact_page=0, exact_total=None, done=False
    )


class Mirror:
    """A live copy of a team's lists in a database, exact and fresh.

    Use ``async with Mirror(sl, store, ["people"]) as m: await m.run()`` (runs until cancelled),
    or call `load`, `poll` and `reconcile` yourself.  Stop it and start it again on any host with
    the same database: it goes on from where the database says it stood.

    :param client: a `SalesloftClient` (give it the team's `CostBudget`).
    :param store: a `SqliteStore` or `PostgresStore` (opened and closed with the mirror).
    :param resources: list resources by client name (``"people"``, ``"accounts"``...); those that
        cannot be read by `updated_at` are re-read whole at every poll.
    :param poll_interval: seconds between polls (each costs one request per unchanged resource).
    :param reconcile_interval: seconds between id sweeps (each costs one per 100 records).
    :param webhook_url: the public URL Salesloft should POST to; serve `webhook_app()` there.
    :param sweep_all: sweep every resource, also those whose deletes webhooks announce (catches a
        delete whose every delivery was lost, for one more read of the list per interval).
    :param concurrency: cursors of the initial load and of sweeps.
    :param batch_size: rows per initial-load transaction.
    :param clock: wall-clock seconds, stamped into the state table (injectable for tests).
    :param sleep: how the run loop waits between polls (injectable for tests).
    """

    def __init__(
        self,
        client: Any,
        store: MirrorStore,
        resources: Sequence[str],
        *,
        poll_interval: float = 30.0,
        reconcile_interval: float = 3600.0,
        webhook_url: str | None = None,
        sweep_all: bool = False,
        concurrency: int = 8,
        batch_size: int = 2000,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not resources:
            raise ConfigurationError("a mirror needs at least one resource (e.g. people)")
        if poll_interval <= 0 or reconcile_interval <= 0:
            raise ConfigurationError("poll_interval and reconcile_interval must be positive")
        self.client = client
        self.store = store
        self.resources = list(dict.fromkeys(check_identifier(r) for r in resources))
        self.lists = {name: _list_resource(client, name) for name in self.resources}
        #: the resources keyed by text ids (UUIDs) rather than integers
        self.text_ids = {name for name, res in self.lists.items() if text_ids(type(res))}
        self.poll_interval = poll_interval
        self.reconcile_interval = reconcile_interval
        self.sweep_all = sweep_all
        self.concurrency = concurrency
        self.batch_size = batch_size
        self.clock = clock
        self.sleep = sleep
        self.stats = {name: MirrorStats() for name in self.resources}
        self.states: dict[str, ResourceState] = {}
        self.webhooks: MirrorWebhooks | None = None
        if webhook_url is not None:
            from .webhooks import MirrorWebhooks

            self.webhooks = MirrorWebhooks(self, webhook_url)

    async def __aenter__(self) -> Mirror:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.store.close()

    async def open(self) -> None:
        """Open the store and check that its tables are a copy of this client's team.

        The first run records where its rows come from (the API's base URL and the credentials'
        team, from `/v2/me`: one request); a later run against another server or team is
        refused, naming what differs, before anything is read or written, so two teams' records
        never mix in one table.  Use another database or `--schema` for another team.
        """
        await self.store.open()
        source = await self._source()
        for name in self.resources:
            state = await self._prepare(name)
            if state.source is None:
                await self.store.write(name, [], source=source)
                state.source = source
            elif state.source != source:
                held = state.source
                differ = sorted(k for k in {*held, *source} if held.get(k) != source.get(k))
                raise ConfigurationError(
                    f"the {name} table is a copy of another source ("
                    + ", ".join(f"{k} {held.get(k)!r}, not {source.get(k)!r}" for k in differ)
                    + "): use another database or schema for this one"
                )
            self.states[name] = state

    async def _source(self) -> dict[str, Any]:
        me = await self.client.me.get()
        team = me.team.id if me.team is not None else None
        return {"base_url": self.client.transport.base_url, "team_id": team}

    async def _prepare(self, name: str) -> ResourceState:
        return await self.store.prepare(name, text_ids=name in self.text_ids)

    def _row(self, name: str, record: Record, *, deleted: bool = False) -> Row:
        return row_of(record, deleted=deleted, text_id=name in self.text_ids)

    # -- initial load ------------------------------------------------------------------------------

    async def load(self) -> None:
        """Read every resource whose initial load has not finished (resuming one that started)."""
        for name in self.resources:
            if not self.states[name].loaded:
                await self._load(name)

    async def _load(self, name: str) -> None:
        saved = self.states[name].checkpoint
        ckpt = _LoadCheckpoint(self.store, name, saved, self.batch_size, self.clock)
        reader: BulkRead[Any] = self.lists[name].read_all(
            concurrency=self.concurrency, checkpoint=ckpt, raw=True
        )
        stats = self.stats[name]
        stats.load_stats = reader.stats
        try:
            async with contextlib.aclosing(reader.__aiter__()) as records:  # type: ignore[type-var]
                async for record in records:
                    ckpt.rows.append(self._row(name, record))
                    stats.loaded += 1
        except BaseException:
            # what was handed over and checkpointed is kept; the rest is read again next time
            await asyncio.shield(ckpt.flush())
            raise
        ckpt.state = reader.snapshot()  # complete; also when there was nothing to read
        await ckpt.flush()
        self.states[name] = await self._prepare(name)
        log.info("%s: initial load done, %d records", name, reader.stats.records)

    # -- polling -----------------------------------------------------------------------------------

    async def poll(self) -> dict[str, int]:
        """One keyset poll of every loaded resource; returns the versions written per resource."""
        return {name: await self._poll(name) for name in self.resources}

    async def _poll(self, name: str) -> int:
        state = self.states[name]
        if state.cursor is None:
            return 0
        stats = self.stats[name]
        if not self.by_updated_at(name):
            if name in self._covered():
                return 0  # webhooks bring its changes; the reconciliation sweep the rest
            await self._sweep(name)
            now = self.clock()
            await self.store.write(name, [], last_poll=now)
            state.last_poll = now
            stats.polls += 1
            return 0
        source = TransportSource(self.lists[name].transport, self.lists[name].list_path)
        cursor = attrs.evolve(Cursor.from_json(state.cursor), done=False)
        written = 0
        while True:
            page = await source.fetch(cursor.params())
            fresh, nxt = cursor.advance(page)
            finished = nxt.done
            if finished:
                nxt = _settle(cursor, page)
            saved, now = nxt.to_json(), self.clock()
            rows = newest(self._row(name, r) for r in fresh)
            await self.store.write(name, rows, cursor=saved, last_poll=now)
            state.cursor, state.last_poll = saved, now
            written += len(fresh)
            cursor = nxt
            if finished:
                break
        stats.polls += 1
        stats.polled += written
        stats.requests += source.stats.pages
        stats.cost += source.stats.cost
        return written

    # -- deletes -----------------------------------------------------------------------------------

    def sweep_targets(self) -> list[str]:
        """Resources swept every `reconcile_interval`: those read by `updated_at` whose deletes no
        subscribed webhook announces (all with `sweep_all`), and those read by page numbers whose
        changes webhooks bring (the others are swept at every poll)."""
        hooks = self.webhooks
        announced = hooks.deletes_announced() if hooks is not None and not self.sweep_all else set()
        covered = self._covered()
        return [
            name
            for name in self.resources
            if (name not in announced if self.by_updated_at(name) else name in covered)
        ]

    def _covered(self) -> set[str]:
        return self.webhooks.covered() if self.webhooks is not None else set()

    def by_updated_at(self, name: str) -> bool:
        """Whether `name` is polled by an `updated_at` cursor (else every poll is a sweep)."""
        return bool(self.lists[name].supports_updated_at_cursor)

    async def reconcile(self, *, force: bool = False) -> dict[str, int]:
        """Sweep the resources that are due (all of `sweep_targets` when `force`); returns the
        rows marked deleted per resource swept."""
        done: dict[str, int] = {}
        now = self.clock()
        for name in self.sweep_targets():
            state = self.states[name]
            if not state.loaded:
                continue
            due = state.last_sweep is None or now - state.last_sweep >= self.reconcile_interval
            if force or due:
                done[name] = await self._sweep(name)
        return done

    async def _sweep(self, name: str) -> int:
        stats = self.stats[name]
        revive = not self.by_updated_at(name)  # pages can shift under a read by page numbers
        top = await self.store.latest(name) or ""
        reader: BulkRead[Any] = self.lists[name].read_all(concurrency=self.concurrency, raw=True)
        seen: set[int | str] = set()
        batch: list[Row] = []
        async with contextlib.aclosing(reader.__aiter__()) as records:  # type: ignore[type-var]
            async for record in records:
                row = self._row(name, record)
                seen.add(row.id)
                top = max(top, row.updated_at)
                batch.append(row)
                if len(batch) >= self.batch_size:
                    await self.store.write(name, newest(batch), revive=revive)
                    batch = []
        await self.store.write(name, newest(batch), revive=revive)
        now = self.clock()
        # a row newer than anything the sweep read was written after it looked: not its to judge
        gone = await self.store.tombstone_missing(name, seen, top or _END_OF_TIME, last_sweep=now)
        self.states[name].last_sweep = now
        stats.swept += 1
        stats.requests += reader.stats.pages
        stats.cost += reader.stats.cost
        stats.tombstoned += gone
        if gone:
            log.info("%s: reconciliation marked %d rows deleted", name, gone)
        return gone

    # -- webhooks ----------------------------------------------------------------------------------

    async def apply(self, name: str, records: Iterable[Record], *, deleted: bool = False) -> None:
        """Write versions that arrived outside a list read (a webhook), by the same rule."""
        rows = newest(self._row(name, r, deleted=deleted) for r in records)
        now = self.clock()
        await self.store.write(name, rows, last_webhook=now)
        self.states[name].last_webhook = now
        self.stats[name].webhooks += len(rows)

    def webhook_app(self) -> Any:
        """The aiohttp application to serve at `webhook_url` (mount it, or `serve` it)."""
        if self.webhooks is None:
            raise ConfigurationError("this mirror has no webhook_url")
        return self.webhooks.app()

    # -- the loop ----------------------------------------------------------------------------------

    async def run(self, *, once: bool = False) -> None:
        """Subscribe (with a webhook URL), load, then poll every `poll_interval` and sweep every
        `reconcile_interval` until cancelled; `once` stops after the first poll and sweep check.
        Subscriptions are removed when it stops (not after a kill: the next run reuses them)."""
        if self.webhooks is not None:
            await self.webhooks.subscribe()
        try:
            await self.load()
            while True:
                await self.poll()
                await self.reconcile()
                if once:
                    return
                await self.sleep(self.poll_interval)
        finally:
            if self.webhooks is not None:
                try:
                    await asyncio.shield(self.webhooks.unsubscribe())
                except SalesloftError as exc:  # never hide why the loop stopped
                    log.warning("could not unsubscribe the mirror's webhooks: %s", exc)


def _list_resource(client: Any, name: str) -> Any:
    resource = getattr(client, name, None)
    if resource is None or not getattr(resource, "list_path", None):
        raise ConfigurationError(
            f"{name!r} is not a list resource of the client (try people, accounts, tasks, notes)"
        )
    why = refusal(type(resource))
    if why is not None:
        raise ConfigurationError(f"{name} cannot be mirrored: {why}")
    return resource


def _field_types(resource_cls: type) -> dict[str, tuple[Any, ...]]:
    model = getattr(resource_cls, "model", None)
    if not attrs.has(model):  # type: ignore[arg-type]
        return {}
    fields = attrs.fields_dict(model)
    return {n: typing.get_args(f.type) or (f.type,) for n, f in fields.items()}


def refusal(resource_cls: type) -> str | None:
    """Why a list resource cannot be mirrored, or None when it can.

    The write rule needs a key and a version: records without an `id` cannot be told apart, and
    records without `updated_at` (``tags``, ``groups``, ``custom_roles``...: their documented
    fields have none) cannot be ordered, so a late version could overwrite a newer one.  Such a
    list is refused before anything is read, rather than failing on its first page; `export`
    copies it whole instead.
    """
    types = _field_types(resource_cls)
    if "id" not in types:
        return "its records have no id to key the table by; export it instead"
    if "updated_at" not in types:
        return (
            "its records have no updated_at, so versions cannot be ordered (the write rule);"
            " export it instead"
        )
    return None


def text_ids(resource_cls: type) -> bool:
    """Whether the list's records are keyed by text ids (UUIDs: ``conversations``...)."""
    return str in _field_types(resource_cls).get("id", ())
