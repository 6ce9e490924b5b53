"""Bulk reading: every record of a list at cost 1 per page, concurrently, resumably.

    async with SalesloftClient(api_key=..., budget=CostBudget(600, 60)) as sl:
        async for person in sl.people.read_all(concurrency=8, checkpoint="people.ckpt"):
            ...

How it reads (see `keyset` and `slices` for the why):

* Keyset: ``sort_by=updated_at&sort_direction=ASC&updated_at[gte]=<last seen>&per_page=100``, the
  boundary ids de-duplicated, so every request is a page 1 (cost 1) instead of a deep page (3-30).
  A page whose records all share one timestamp switches to an exact-match read of that instant
  by page numbers, then continues after it: no loop, no loss.
* Concurrency: the range is cut into time slices read by `concurrency` cursors; an idle cursor
  takes half of the busiest slice.  Every request goes through the client's budget on the
  ``"bulk"`` lane, so interactive calls keep their reserve.
* Checkpoints: `checkpoint=` (a path, or any object with async ``load()``/``save(state)``) is
  saved after every page the caller has finished with; a rerun resumes every slice where it
  stood, re-reading at most one page per slice and never a finished slice.  A finished read's
  checkpoint says so, and a rerun with it reads nothing: delete it to read again.
* Memory: at most one page per cursor is held; records stream to the caller.  (While one
  timestamp is read by page numbers, its ids are kept: a bulk import's size, not the list's.)

Guarantees:

* Data that does not change during the read: every record exactly once.
* Records written during the read: every record at least once, and when a record is handed over
  more than once, the later copy is the newer version.  Slices only hold versions older than the
  start of the read; a final tail cursor reads everything written since, after all slices.
  (This assumes what Salesloft's own cursor advice assumes: a write stamps `updated_at` with the
  server's current time, so it never lands behind a cursor.)
* Order: within a slice ascending `updated_at`; slices interleave.  Sort yourself if you need a
  global order.
* An interrupted read (crash, Ctrl-C, an exception in your loop) may hand over again the records
  of the page it was in the middle of; nothing is lost.

Lists that cannot sort by `updated_at` fall back to page-number reading (``stats.mode ==
"pages"``): one cursor, deep pages at their full cost (100,000 records: about 18,550 instead
of about 1,000), resumable by page number, exactly once only while nothing changes; a write
during the read shifts later pages, so a record can then be missed or handed over twice.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from ..errors import ConfigurationError, ResponseDecodeError
from ..query import encode_params
from .checkpoint import CheckpointStore, FileCheckpoint, MemoryCheckpoint, as_store
from .keyset import Cursor, ListSource, Page, PageSource, format_ts, parse_ts
from .slices import BulkRead, BulkStats, PageCursor, plan_bounds

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = [
    "BulkRead",
    "BulkStats",
    "CheckpointStore",
    "Cursor",
    "FileCheckpoint",
    "ListSource",
    "MemoryCheckpoint",
    "Page",
    "PageCursor",
    "PageSource",
    "TransportSource",
    "plan_bounds",
    "read_all",
    "read_path",
]

Record = dict[str, Any]

#: query parameters the reader owns; the caller's filters may not set them
_RESERVED = frozenset(
    {"sort_by", "sort_direction", "page", "per_page", "updated_at", "include_paging_counts"}
)


class TransportSource:
    """Pages straight from the transport on the bulk lane, counted into `stats`.

    :param transport: sends each request (with its auth, budget and retries).
    :param path: the list operation's path, e.g. ``"/v2/people"``.
    :param filters: the list's own query filters, sent with every page.
    :param stats: the counters each page's cost and remaining budget are added to.
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        filters: Mapping[str, Any] | None = None,
        stats: BulkStats | None = None,
    ) -> None:
        self.transport = transport
        self.path = path
        self.filters = dict(filters or {})
        self.stats = stats if stats is not None else BulkStats()

    async def fetch(self, params: Mapping[str, Any]) -> Page:
        response = await self.transport.request(
            "GET", self.path, params={**self.filters, **params}, lane="bulk", expect="list"
        )
        self.stats.record_page(response.cost, response.remaining)
        body = response.data
        records = body["data"]
        for record in records:
            if not isinstance(record, dict):
                raise ResponseDecodeError(
                    f"a list record is a {type(record).__name__}, not an object",
                    status=response.status,
                    body_excerpt=repr(record),
                    method="GET",
                    path=self.path,
                )
        metadata = body.get("metadata")
        paging = metadata.get("paging") if isinstance(metadata, dict) else None
        total = paging.get("total_count") if isinstance(paging, dict) else None
        if not isinstance(total, int) or isinstance(total, bool):
            total = None
        return Page(records, total)


def _saturation(transport: Transport) -> Callable[[], bool] | None:
    """True while requests queue for the budget: another cursor would not read faster then,
    only add a partial page.  Once cursors go idle near the end, nothing queues and idle
    cursors split the remaining work again."""
    budget = getattr(transport, "budget", None)
    if budget is None or not hasattr(budget, "stats"):
        return None

    def saturated() -> bool:
        return bool(getattr(budget.stats, "queued", 0))

    return saturated


def _when(name: str, value: datetime | str | None) -> datetime | None:
    if value is None or isinstance(value, datetime):
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ConfigurationError(f"{name} must be timezone-aware (e.g. datetime.now(UTC))")
        return value
    try:
        return parse_ts(value)
    except ValueError:
        raise ConfigurationError(f"{name}: {value!r} is not an ISO-8601 timestamp") from None


def read_path(
    transport: Transport,
    path: str,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    concurrency: int = 4,
    checkpoint: str | os.PathLike[str] | CheckpointStore | None = None,
    per_page: int = 100,
    mode: Literal["keyset", "pages"] = "keyset",
    decode: Callable[[list[Record]], Sequence[Any]] | None = None,
    split: bool = True,
    on_commit: Callable[[], Awaitable[None]] | None = None,
    **filters: Any,
) -> BulkRead[Any]:
    """Read every record of the list at `path` (raw dicts unless `decode` is given)."""
    reserved = sorted(_RESERVED & filters.keys())
    if reserved:
        raise ConfigurationError(
            f"read_all sets {', '.join(reserved)} itself; use since=/until= for an updated_at range"
        )
    start, end = _when("since", since), _when("until", until)
    if mode == "pages" and (start is not None or end is not None):
        raise ConfigurationError("since/until need a list that can filter on updated_at")
    if start is not None and end is not None and start >= end:
        raise ConfigurationError("since must be earlier than until")
    stats = BulkStats(mode=mode)
    identity = {
        "path": path,
        "filters": [list(pair) for pair in encode_params(filters)],
        "since": format_ts(start) if start else None,
        "until": format_ts(end) if end else None,
    }
    return BulkRead(
        TransportSource(transport, path, filters, stats),
        saturated=_saturation(transport),
        identity=identity,
        decode=decode or list,
        mode=mode,
        since=start,
        until=end,
        concurrency=concurrency,
        per_page=per_page,
        checkpoint=as_store(checkpoint),
        split=split,
        stats=stats,
        on_commit=on_commit,
    )


def read_all(
    resource: ListSource,
    *,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
    concurrency: int = 4,
    checkpoint: str | os.PathLike[str] | CheckpointStore | None = None,
    per_page: int = 100,
    raw: bool = False,
    mode: Literal["keyset", "pages"] | None = None,
    split: bool = True,
    on_commit: Callable[[], Awaitable[None]] | None = None,
    **filters: Any,
) -> BulkRead[Any]:
    """Every record of a list resource (``sl.people``, ``sl.calls``...), as models or raw dicts.

    `filters` are the list's own filters (``owner_id=[1, 2]``...); `since`/`until` bound
    `updated_at` (``[since, until)``).  Resources that cannot sort by `updated_at` are read by
    page numbers (see the module documentation); `mode` forces one or the other.
    """
    path = getattr(resource, "list_path", None)  # checked: an untyped caller may pass anything
    if not isinstance(path, str) or not path or getattr(resource, "transport", None) is None:
        raise ConfigurationError(f"{resource!r} is not a list resource (no list_path)")
    chosen = mode or ("keyset" if resource.supports_updated_at_cursor else "pages")
    decode: Callable[[list[Record]], Sequence[Any]] | None = None
    model = resource.model
    if not raw and model is not None:
        from ..models import structure_many

        def decode(records: list[Record]) -> Sequence[Any]:
            return structure_many(records, model)

    return read_path(
        resource.transport,
        path,
        since=since,
        until=until,
        concurrency=concurrency,
        checkpoint=checkpoint,
        per_page=per_page,
        mode=chosen,
        decode=decode,
        split=split,
        on_commit=on_commit,
        **filters,
    )
