"""Concurrent cursors over slices of the time range, streamed to one consumer, resumably.

One keyset cursor waits a round trip per page, so a single cursor spends only a fraction of the
team's budget.  The range ``[first updated_at, last updated_at)`` is cut into slices, read by
`concurrency` workers at once; a worker that runs out of slices takes half of the slice with the
most work left (when it has at least `min_split_pages` left and the budget is not what limits the
read), so every cursor stays busy to the end.  Every slice ends on a partial page, so slices are
kept at least `min_split_pages` long: more cursors than that would buy speed with cost.

Records updated while the read runs land after the last timestamp seen at the start: a final
*tail* cursor reads them after every slice is finished, which is what makes "the newest version
is seen last" true.

Flow control is one rule: a worker fetches its next page only after the consumer has taken every
record of its previous page.  That single rule gives all three properties at once: memory is at
most one page per worker (records stream, nothing accumulates); the checkpoint, saved when a page
has been handed over, is never more than one page behind any slice (a rerun re-reads at most one
page per slice); and a consumer slower than the network slows the read instead of filling memory.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any, Generic, Literal, Protocol, Self, TypeVar

import attrs

from ..errors import ConfigurationError, PaginationError
from .checkpoint import CheckpointStore
from .keyset import Cursor, Page, PageSource, format_ts, parse_ts, record_ts

__all__ = ["BulkRead", "BulkStats", "PageCursor", "plan_bounds"]

T = TypeVar("T")
Record = dict[str, Any]
Mode = Literal["keyset", "pages"]
FORMAT = "salesloft_async.bulk/1"


class _CursorLike(Protocol):
    done: bool

    def params(self, per_page: int = 100) -> dict[str, Any]: ...

    def to_json(self) -> dict[str, Any]: ...


@attrs.frozen
class PageCursor:
    """Page-number reading, for lists that cannot sort by `updated_at`.

    Honestly the slow, expensive way: pages past 100 cost 3 to 30 each, pages are read one after
    another, and records written during the read can shift pages (a record may be missed or seen
    twice).  It is still resumable: the checkpoint holds the next page number.
    """

    page: int = 1
    done: bool = False
    hi: str | None = None  # unused; keeps the slice code uniform

    def params(self, per_page: int = 100) -> dict[str, Any]:
        return {"page": self.page, "per_page": per_page}

    def advance(self, page: Page, per_page: int = 100) -> tuple[list[Record], PageCursor]:
        records = list(page.records)
        # More than asked for: the list ignores paging (it answered everything at once).
        done = len(records) < per_page or len(records) > per_page
        return records, PageCursor(self.page + 1, done=done)

    @property
    def position(self) -> datetime | None:
        return None

    def to_json(self) -> dict[str, Any]:
        return {"page": self.page, "done": self.done}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PageCursor:
        return cls(page=int(data.get("page") or 1), done=bool(data.get("done", False)))


@attrs.define
class BulkStats:
    """Live numbers of one read, for progress displays and benchmarks."""

    mode: Mode = "keyset"
    records: int = 0
    pages: int = 0
    #: sum of `x-ratelimit-endpoint-cost` (1 per page when the server does not say)
    cost: int = 0
    #: the last `x-ratelimit-remaining-minute` seen
    remaining: int | None = None
    #: the server's count of matching records at the start (None when it gave none)
    total: int | None = None
    #: records already handed over in earlier runs (part of `records`)
    resumed_records: int = 0
    slices: int = 0
    slices_done: int = 0
    started: float = attrs.field(factory=time.monotonic)

    def record_page(self, cost: int | None, remaining: int | None) -> None:
        self.pages += 1
        self.cost += 1 if cost is None else cost
        if remaining is not None:
            self.remaining = remaining

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    @property
    def rate(self) -> float:
        """Records per second in this run."""
        done = self.records - self.resumed_records
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the total is known and the rate measurable."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.records) / self.rate)


@attrs.define(eq=False)
class _Slice:
    index: int
    cursor: Any  # Cursor | PageCursor: what is committed (handed over)
    tail: bool = False
    start: datetime | None = None  # lower bound, for density estimates
    position: datetime | None = None  # nothing before it may go to a split-off slice
    read: int = 0  # records received in this run
    density: float | None = None  # records per second of updated_at in the last page
    primed: Page | None = None  # the plan's first page, already fetched for this slice
    active: bool = False

    @property
    def hi(self) -> str | None:
        hi: str | None = self.cursor.hi
        return hi


@attrs.define(eq=False)
class _Handoff:
    slice: _Slice
    records: list[Record]
    cursor: Any
    taken: asyncio.Event = attrs.field(factory=asyncio.Event)


_END = object()


def plan_bounds(lo: datetime, hi: datetime, n: int) -> list[tuple[datetime, datetime]]:
    """`n` slices of equal duration covering ``[lo, hi)`` (fewer when the span is tiny)."""
    span = hi - lo
    step_us = span // timedelta(microseconds=1)
    n = max(1, min(n, step_us))
    cuts = [lo + timedelta(microseconds=step_us * i // n) for i in range(n)] + [hi]
    return [(cuts[i], cuts[i + 1]) for i in range(n) if cuts[i] < cuts[i + 1]]


class BulkRead(Generic[T]):
    """An async iterator over every record of a list, read by concurrent keyset cursors.

    Use it as ``async for record in reader`` (or inside ``async with reader:``, which also stops
    the workers if the loop is left early).  `stats` is live while it runs.  Most callers get one
    from ``sl.<resource>.read_all(...)`` or `salesloft_async.bulk.read_path`, which fill in the
    source, identity and decoder.

    :param source: answers one list query with one page (`PageSource`).
    :param identity: what this read is (path, filters, range), stored in the checkpoint; a
        checkpoint saved under another identity is refused instead of resumed.
    :param decode: turns one page of raw records into what the caller receives.
    :param mode: ``"keyset"`` (cursor on ``updated_at``, every page a page 1) or ``"pages"``
        (page numbers, one cursor, for lists that cannot sort by ``updated_at``).
    :param since: read only records updated at or after this aware datetime.
    :param until: read only records updated before this aware datetime.
    :param concurrency: cursors reading at once (keyset only; ``"pages"`` uses one).
    :param per_page: records per request, 1 to 100.
    :param checkpoint: where progress is saved after each page the caller has finished with, and
        resumed from; None keeps no checkpoint.
    :param split: let an idle cursor take half of the busiest slice (keyset only).
    :param min_split_pages: the fewest pages a slice keeps when it is planned or split: each slice
        ends on a partial page, so shorter slices would add cost without adding speed.
    :param saturated: returns True while requests queue for the budget; no slice is split then,
        since another cursor would not read faster.
    :param stats: the live counters to fill (a new `BulkStats` by default).
    :param on_commit: awaited after each page is committed (checkpoint saved), e.g. to report
        progress.
    """

    def __init__(
        self,
        source: PageSource,
        *,
        identity: Mapping[str, Any],
        decode: Callable[[list[Record]], Sequence[T]],
        mode: Mode = "keyset",
        since: datetime | None = None,
        until: datetime | None = None,
        concurrency: int = 4,
        per_page: int = 100,
        checkpoint: CheckpointStore | None = None,
        split: bool = True,
        min_split_pages: int = 10,
        saturated: Callable[[], bool] | None = None,
        stats: BulkStats | None = None,
        on_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ConfigurationError("concurrency must be at least 1")
        if not 1 <= per_page <= 100:
            raise ConfigurationError("per_page must be between 1 and 100")
        for name, value in (("since", since), ("until", until)):
            if value is not None and value.tzinfo is None:
                raise ConfigurationError(f"{name} must be a timezone-aware datetime")
        self.source = source
        self.identity = dict(identity)
        self.decode = decode
        self.mode: Mode = mode
        self.since = since
        self.until = until
        self.concurrency = concurrency if mode == "keyset" else 1
        self.per_page = per_page
        self.store = checkpoint
        self.split = split and mode == "keyset"
        self.min_split_pages = min_split_pages
        self.saturated = saturated
        self.stats = stats or BulkStats(mode=mode)
        self.on_commit = on_commit
        self.complete = False
        self._slices: list[_Slice] = []
        self._pending: list[_Slice] = []
        self._density: float | None = None  # records per second of updated_at, from the plan
        self._iterator: AsyncIterator[T] | None = None

    # -- the public face -------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterator is None:
            self._iterator = self._run()
        return self._iterator

    async def __anext__(self) -> T:
        return await self.__aiter__().__anext__()

    async def aclose(self) -> None:
        """Stop the workers; what was handed over is checkpointed, the rest is read next time."""
        if self._iterator is not None:
            close = getattr(self._iterator, "aclose", None)
            if close is not None:
                await close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- setup -----------------------------------------------------------------------------------

    async def _prepare(self) -> None:
        saved = await self.store.load() if self.store is not None else None
        if saved is not None:
            self._restore(saved)
        elif self.mode == "pages":
            self._add(PageCursor())
        else:
            await self._plan()
        self.stats.slices = len(self._slices)
        self.stats.slices_done = sum(1 for s in self._slices if s.cursor.done)

    def _restore(self, saved: Mapping[str, Any]) -> None:
        if saved.get("format") != FORMAT:
            raise ConfigurationError("the checkpoint is not a bulk-read checkpoint of this version")
        if saved.get("identity") != self.identity or saved.get("mode") != self.mode:
            path = getattr(self.store, "path", None)  # a FileCheckpoint's: say which file
            raise ConfigurationError(
                f"the checkpoint{f' {path}' if path else ''} belongs to a different read (other"
                " resource, filters or since); delete it or choose another checkpoint to start over"
            )
        self.complete = bool(saved.get("complete"))
        self.stats.total = saved.get("total")
        self.stats.records = self.stats.resumed_records = int(saved.get("records") or 0)
        density = saved.get("density")
        self._density = float(density) if density is not None else None
        for item in saved.get("slices") or ():
            data = item.get("cursor") or {}
            cursor = Cursor.from_json(data) if self.mode == "keyset" else PageCursor.from_json(data)
            self._add(cursor, tail=bool(item.get("tail")))

    async def _plan(self) -> None:
        """Read the first page (with a count), find the last timestamp, cut the range.

        The first page is not a probe: it is the first slice's first page and is handed over
        like any other.  When one cursor will do (concurrency 1, or a small read) the range is
        not cut at all: a single open-ended cursor already meets a record written during the
        read again, newer, after its older version.
        """
        base: dict[str, Any] = {"sort_by": "updated_at"}
        window: dict[str, Any] = {}
        if self.since is not None:
            window["gte"] = self.since
        if self.until is not None:
            window["lt"] = self.until
        if window:
            base["updated_at"] = window
        first = await self._fetch(
            {
                **base,
                "sort_direction": "ASC",
                "per_page": self.per_page,
                "include_paging_counts": True,
            }
        )
        total = first.total_count
        self.stats.total = total
        if not first.records:
            self.complete = True
            return
        lo = self.since or record_ts(first.records[0])
        wanted = self.concurrency
        if total is not None:
            # each slice ends on a partial page: keep slices long enough for that to be noise
            wanted = max(1, min(wanted, total // (self.per_page * self.min_split_pages)))
        if wanted == 1 or len(first.records) < self.per_page:
            until = format_ts(self.until) if self.until is not None else None
            self._add(Cursor(lo=format_ts(lo), hi=until)).primed = first
            return
        last = await self._fetch({**base, "sort_direction": "DESC", "per_page": 1})
        top = max(record_ts(last.records[0]), lo) if last.records else lo
        # cut where the records are; the last slice still reaches `until`
        end = top if self.until is None else min(self.until, top + timedelta(microseconds=1))
        span = (end - lo).total_seconds()
        if total is not None and span > 0:
            self._density = total / span
        if end > lo:
            bounds = plan_bounds(lo, end, wanted)
            if self.until is not None:
                bounds[-1] = (bounds[-1][0], self.until)
            for a, b in bounds:
                self._add(Cursor(lo=format_ts(a), hi=format_ts(b)))
        if self.until is None:
            # Everything written from the start's last timestamp on, read after all slices.
            self._add(Cursor(lo=format_ts(top)), tail=True)
        elif not self._slices:
            self._add(Cursor(lo=format_ts(lo), hi=format_ts(self.until)))
        self._slices[0].primed = first  # every plan's first slice starts at `lo`

    def _add(self, cursor: Any, *, tail: bool = False) -> _Slice:
        start = cursor.position if isinstance(cursor, Cursor) else None
        sl = _Slice(len(self._slices), cursor, tail=tail, start=start, position=start)
        self._slices.append(sl)
        return sl

    # -- the consumer side -------------------------------------------------------------------------

    async def _run(self) -> AsyncIterator[T]:
        await self._prepare()
        if self.complete:
            return
        out: asyncio.Queue[Any] = asyncio.Queue(maxsize=self.concurrency + 1)
        producer = asyncio.create_task(self._produce(out), name="salesloft-bulk-producer")
        try:
            while True:
                item = await out.get()
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    raise item
                decoded = self.decode(item.records) if item.records else ()
                for record in decoded:
                    self.stats.records += 1
                    yield record
                # The consumer has asked for the record after this page: commit the page.
                await self._commit(item)
            self.complete = True
            await self._save()
        finally:
            if not producer.done():
                producer.cancel()
            await asyncio.gather(producer, return_exceptions=True)

    async def _commit(self, item: _Handoff) -> None:
        sl = item.slice
        cursor = item.cursor
        if isinstance(cursor, Cursor) and sl.hi != cursor.hi:
            cursor = attrs.evolve(cursor, hi=sl.hi)  # keep a narrowing done meanwhile
        sl.cursor = cursor
        if cursor.done:
            self.stats.slices_done += 1
        await self._save()
        if self.on_commit is not None:
            await self.on_commit()
        item.taken.set()

    async def _save(self) -> None:
        if self.store is None:
            return
        await self.store.save(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        """The checkpoint document: every slice's committed cursor."""
        return {
            "format": FORMAT,
            "identity": self.identity,
            "mode": self.mode,
            "complete": self.complete,
            "records": self.stats.records,
            "total": self.stats.total,
            "density": self._density,
            "slices": [{"tail": s.tail, "cursor": s.cursor.to_json()} for s in self._slices],
        }

    # -- the producer side ---------------------------------------------------------------------

    async def _produce(self, out: asyncio.Queue[Any]) -> None:
        try:
            body = [s for s in self._slices if not s.tail and not s.cursor.done]
            tails = [s for s in self._slices if s.tail and not s.cursor.done]
            for phase, workers in ((body, self.concurrency), (tails, 1)):
                if not phase:
                    continue
                self._pending = list(phase)
                async with asyncio.TaskGroup() as group:
                    for n in range(min(workers, len(phase))):
                        group.create_task(self._worker(out), name=f"salesloft-bulk-{n}")
            await out.put(_END)
        except asyncio.CancelledError:
            raise
        except BaseExceptionGroup as group:
            await out.put(_first_error(group))
        except Exception as exc:
            await out.put(exc)

    async def _worker(self, out: asyncio.Queue[Any]) -> None:
        while True:
            sl = self._claim()
            if sl is None:
                return
            sl.active = True
            try:
                await self._read_slice(sl, out)
            finally:
                sl.active = False

    async def _read_slice(self, sl: _Slice, out: asyncio.Queue[Any]) -> None:
        cursor = sl.cursor
        previous: list[Any] = []
        while not cursor.done:
            if isinstance(cursor, Cursor):
                cursor = attrs.evolve(cursor, hi=sl.hi)
                sl.position = cursor.position
            page, sl.primed = sl.primed, None
            if page is None:
                page = await self._fetch(cursor.params(self.per_page))
            if isinstance(cursor, Cursor) and cursor.hi != sl.hi:
                cursor = attrs.evolve(cursor, hi=sl.hi)  # narrowed while the page was in flight
            fresh, nxt = cursor.advance(page, self.per_page)
            previous = _check_progress(cursor, page, previous, self.per_page)
            sl.read += len(page.records)
            sl.density = _density(page)
            # A split must cut after everything fetched so far, handed over or not.
            sl.position = None if nxt.done else getattr(nxt, "position", None)
            handoff = _Handoff(sl, fresh, nxt)
            await out.put(handoff)
            await handoff.taken.wait()
            cursor = sl.cursor

    async def _fetch(self, params: Mapping[str, Any]) -> Page:
        return await self.source.fetch(params)

    # -- keeping every cursor busy -------------------------------------------------------------

    def _claim(self) -> _Slice | None:
        if self._pending:
            return self._pending.pop(0)
        if not self.split:
            return None
        if self.saturated is not None and self.saturated():
            # The budget, not latency, is the limit: another cursor would only add a page.
            return None
        best: tuple[float, _Slice, datetime] | None = None
        for sl in self._slices:
            if not sl.active or sl.tail or sl.cursor.done or sl.hi is None:
                continue
            pos, hi = sl.position, parse_ts(sl.hi)
            if pos is None or hi - pos <= timedelta(microseconds=1):
                continue
            left = self._estimate(sl, pos, hi)
            if best is None or left > best[0]:
                best = (left, sl, pos)
        if best is None or best[0] < self.min_split_pages * self.per_page:
            return None
        _, heavy, pos = best
        hi = parse_ts(heavy.hi or "")
        mid = pos + (hi - pos) / 2
        if not pos < mid < hi:
            return None
        heavy.cursor = attrs.evolve(heavy.cursor, hi=format_ts(mid))
        fresh = self._add(Cursor(lo=format_ts(mid), hi=format_ts(hi)))
        self.stats.slices += 1
        return fresh

    def _estimate(self, sl: _Slice, pos: datetime, hi: datetime) -> float:
        """Records left in a slice, at the rate of its last page (else the whole range's).

        The last page, not the slice's average, because data comes in bursts: a slice that
        crossed a quiet month and then hit a busy week is about to be busy, not quiet.
        """
        remaining = (hi - pos).total_seconds()
        density = sl.density if sl.density is not None else self._density
        return math.inf if density is None else density * remaining


def _check_progress(cursor: Any, page: Page, previous: list[Any], per_page: int) -> list[Any]:
    """The page's ids; `PaginationError` when a full page repeats the page before it.

    Every next page of a slice asks for something new (a later page number, or a later
    timestamp), so the same full page twice means the server ignores the question.  One repeat is
    expected: when a full page shares one timestamp, page 1 of that instant is asked for next and
    is that very page.
    """
    ids = [record.get("id") for record in page.records]
    entering_exact = isinstance(cursor, Cursor) and cursor.exact_page == 1
    if len(ids) >= per_page and ids == previous and not entering_exact:
        raise PaginationError(
            f"the list does not advance: asked with {cursor.params(per_page)!r}, the server"
            " answered the same records as for the page before; stopped instead of looping"
        )
    return ids


def _density(page: Page) -> float | None:
    records = page.records
    if len(records) < 2:
        return None
    span = (record_ts(records[-1]) - record_ts(records[0])).total_seconds()
    return math.inf if span <= 0 else len(records) / span


def _first_error(group: BaseExceptionGroup[BaseException]) -> BaseException:
    for exc in group.exceptions:
        if isinstance(exc, BaseExceptionGroup):
            return _first_error(exc)
        return exc
    return group
