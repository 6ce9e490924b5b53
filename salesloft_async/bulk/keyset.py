"""The keyset cursor: read a time range by `updated_at` so that every page is page 1.

Salesloft charges deep pages up to 30 times a first page, and its own advice for reading
everything is a cursor on ``updated_at``.  That advice has two classic bugs, and this module exists
to avoid both:

* ``updated_at[gt]=<last seen>`` drops records that share the boundary timestamp.  We ask with
  ``[gte]`` instead and skip the ids already handed over at that instant (at most one page of
  them, so memory stays bounded).
* ``[gte]`` loops forever when a whole page shares one timestamp (a bulk import).  When a full
  page has a single timestamp ``T`` the cursor reads ``T`` alone with an exact-match filter
  (``[gte]=T&[lte]=T``) and page numbers, then moves on with ``[gt]=T``.  Those pages are cheap
  (page 1, 2, ... of one timestamp) and the loop ends because ``T`` is a single instant.

A `Cursor` is an immutable value: `params()` says what to ask for next, `advance(page)` says which
records are new and what the next cursor is.  No I/O happens here, so the algorithm is tested on a
fake page source, and a cursor is exactly what a checkpoint stores.

While reading one timestamp by page numbers, a record that is updated meanwhile leaves ``T`` and
shifts later pages down by one, which could hide a record that did not change.  Exact-match pages
therefore start again at page 1 and ask for ``include_paging_counts``; when the count at ``T``
changes (or fewer distinct ids were seen than the server counts) the timestamp is read again from
page 1, de-duplicated by the ids already handed over, a bounded number of times.  The ids handed
over at ``T`` are kept while ``T`` is read: memory grows with the largest one-timestamp cluster
(a bulk import), not with the number of records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs

from ..errors import PaginationError, ResponseDecodeError

if TYPE_CHECKING:
    from ..transport import Transport

__all__ = [
    "MAX_EXACT_RESTARTS",
    "Cursor",
    "ListSource",
    "Page",
    "PageSource",
    "format_ts",
    "parse_ts",
    "record_id",
    "record_ts",
]

Record = dict[str, Any]

#: How many times one timestamp is re-read after its count changed under us.
MAX_EXACT_RESTARTS = 3


@attrs.frozen
class Page:
    """One page as the cursor needs it: the records, and the server's count when it gave one."""

    records: Sequence[Record]
    total_count: int | None = None


class PageSource(Protocol):
    """Anything that answers a list query with a page (the transport, or a fake in tests)."""

    async def fetch(self, params: Mapping[str, Any]) -> Page: ...


class ListSource(Protocol):
    """What `salesloft_async.bulk.read_all` reads off a list resource (``sl.people``...).

    `salesloft_async.resources.ListResource` provides all four; anything else that does can be
    read in bulk too.
    """

    @property
    def list_path(self) -> str:
        """The list operation's path, e.g. ``"/v2/people"``; empty means "not a list"."""
        ...

    @property
    def transport(self) -> Transport:
        """The transport whose budget and retries every page request goes through."""
        ...

    @property
    def supports_updated_at_cursor(self) -> bool:
        """True when the list takes `updated_at` ranges and ``sort_by=updated_at`` (keyset)."""
        ...

    @property
    def model(self) -> type[Any] | None:
        """The class each record is decoded into (None: raw dicts)."""
        ...


def parse_ts(text: str) -> datetime:
    """An API timestamp as an aware UTC datetime (naive means UTC)."""
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def format_ts(value: datetime) -> str:
    """The canonical text of a cursor timestamp: UTC, microseconds, as the query encoder sends."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def record_ts(record: Mapping[str, Any]) -> datetime:
    """`updated_at` of a raw record; a record without one cannot be read by keyset."""
    value = record.get("updated_at")
    if not isinstance(value, str):
        raise _bad_record("a record without a string updated_at", record)
    try:
        return parse_ts(value)
    except ValueError:
        raise _bad_record("a record whose updated_at is not ISO-8601", record) from None


def record_id(record: Mapping[str, Any]) -> int:
    value = record.get("id")
    if not isinstance(value, int) or isinstance(value, bool):
        raise _bad_record("a record without an integer id", record)
    return value


def _bad_record(what: str, record: Mapping[str, Any]) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"keyset reading got {what}",
        status=200,
        body_excerpt=repr({k: record.get(k) for k in ("id", "updated_at")}),
    )


def _ids(values: Iterable[int]) -> frozenset[int]:
    return values if isinstance(values, frozenset) else frozenset(values)


def _ts_or_none(value: str | None) -> datetime | None:
    return None if value is None else parse_ts(value)


@attrs.frozen
class Cursor:
    """Where one slice ``[lo, hi)`` of the time range stands.

    Timestamps are kept as canonical text so that a cursor is its own JSON form.  `after` is the
    last timestamp handed over; `seen` the ids handed over at exactly `after` (one page at most,
    or one timestamp's cluster in exact mode); `strict` means every record at `after` was read
    (ask with ``[gt]``); `exact_page` > 0 means "reading `after` alone, this page number next".
    """

    lo: str | None = None
    hi: str | None = None
    after: str | None = None
    seen: frozenset[int] = attrs.field(default=frozenset(), converter=_ids)
    strict: bool = False
    exact_page: int = 0
    exact_total: int | None = None
    restarts: int = 0
    done: bool = False

    # -- what to ask ----------------------------------------------------------------------------

    def params(self, per_page: int = 100) -> dict[str, Any]:
        """The query (without the caller's own filters) for the next page."""
        base: dict[str, Any] = {
            "sort_by": "updated_at",
            "sort_direction": "ASC",
            "per_page": per_page,
        }
        if self.exact_page:
            assert self.after is not None
            at = parse_ts(self.after)
            base["updated_at"] = {"gte": at, "lte": at}
            base["page"] = self.exact_page
            base["include_paging_counts"] = True
            return base
        window: dict[str, Any] = {}
        if self.after is not None:
            window["gt" if self.strict else "gte"] = parse_ts(self.after)
        elif self.lo is not None:
            window["gte"] = parse_ts(self.lo)
        if self.hi is not None:
            window["lt"] = parse_ts(self.hi)
        if window:
            base["updated_at"] = window
        return base

    @property
    def position(self) -> datetime | None:
        """The earliest timestamp the slice may still hand over (for splitting and progress)."""
        return _ts_or_none(self.after if self.after is not None else self.lo)

    # -- what the answer means -----------------------------------------------------------------

    def advance(self, page: Page, per_page: int = 100) -> tuple[list[Record], Cursor]:
        """The records of `page` not handed over before, and the cursor after them."""
        if self.done:
            return [], self
        if self.exact_page:
            return self._advance_exact(page, per_page)
        return self._advance_keyset(page, per_page)

    def _advance_keyset(self, page: Page, per_page: int) -> tuple[list[Record], Cursor]:
        hi = _ts_or_none(self.hi)
        after = _ts_or_none(self.after)
        fresh: list[Record] = []
        stamps: list[datetime] = []
        for record in page.records:
            ts = record_ts(record)
            if hi is not None and ts >= hi:
                # The slice was narrowed while this page was in flight: the rest is another's.
                return fresh, attrs.evolve(self, done=True)
            if after is not None and (ts < after or (ts == after and self.strict)):
                continue  # the server ignored the filter; never hand a record over twice
            rid = record_id(record)
            if after is not None and ts == after and rid in self.seen:
                continue
            if stamps and ts < stamps[-1]:
                raise _bad_record("a page not sorted by updated_at ascending", record)
            fresh.append(record)
            stamps.append(ts)
        if len(page.records) < per_page:
            return fresh, attrs.evolve(self, done=True)
        first, last = record_ts(page.records[0]), record_ts(page.records[-1])
        if first == last:
            # A whole page at one instant: [gte] would return it again forever.
            seen = {record_id(r) for r in page.records}
            if after == last:
                seen |= self.seen
            return fresh, attrs.evolve(
                self,
                after=format_ts(last),
                seen=seen,
                strict=False,
                # Page 1 again, with a count: it costs one page per cluster, and it is what
                # notices records leaving the instant before the paging started.
                exact_page=1,
                exact_total=None,
                restarts=0,
            )
        boundary = {record_id(r) for r, ts in zip(fresh, stamps, strict=True) if ts == last}
        if after == last:  # only possible when nothing fresh followed; keep what we knew
            boundary |= self.seen
        nxt = attrs.evolve(self, after=format_ts(last), seen=boundary, strict=False)
        if nxt == self:
            # A full page of records already handed over: the server ignores the filter, and the
            # same question would get the same answer forever.
            raise PaginationError(
                f"keyset reading does not advance: a full page at or before {self.after} held"
                " nothing new (the server ignores the updated_at filter); stopped instead of"
                " looping"
            )
        return fresh, nxt

    def _advance_exact(self, page: Page, per_page: int) -> tuple[list[Record], Cursor]:
        assert self.after is not None
        at = parse_ts(self.after)
        fresh: list[Record] = []
        seen = set(self.seen)
        for record in page.records:
            rid = record_id(record)
            if record_ts(record) != at or rid in seen:
                continue
            seen.add(rid)
            fresh.append(record)
        total = page.total_count
        first_total = self.exact_total if self.exact_total is not None else total
        if len(page.records) >= per_page:
            return fresh, attrs.evolve(
                self, seen=seen, exact_page=self.exact_page + 1, exact_total=first_total
            )
        shifted = total is not None and (
            (first_total is not None and total != first_total) or len(seen) < total
        )
        if shifted and self.restarts < MAX_EXACT_RESTARTS:
            # Records left this instant while we paged it: pages may have slid past one.
            return fresh, attrs.evolve(
                self, seen=seen, exact_page=1, exact_total=total, restarts=self.restarts + 1
            )
        return fresh, attrs.evolve(
            self, seen=frozenset(), strict=True, exact_page=0, exact_total=None, restarts=0
        )

    # -- checkpoints --------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        return {
            "lo": self.lo,
            "hi": self.hi,
            "after": self.after,
            "seen": sorted(self.seen),
            "strict": self.strict,
            "exact_page": self.exact_page,
            "exact_total": self.exact_total,
            "restarts": self.restarts,
            "done": self.done,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        def text(name: str) -> str | None:
            value = data.get(name)
            if value is None:
                return None
            if not isinstance(value, str):
                raise ValueError(f"cursor field {name!r} must be a timestamp string")
            return format_ts(parse_ts(value))

        seen: Iterable[Any] = data.get("seen") or ()
        exact_total = data.get("exact_total")
        return cls(
            lo=text("lo"),
            hi=text("hi"),
            after=text("after"),
            seen=frozenset(int(i) for i in seen),
            strict=bool(data.get("strict", False)),
            exact_page=int(data.get("exact_page") or 0),
            exact_total=None if exact_total is None else int(exact_total),
            restarts=int(data.get("restarts") or 0),
            done=bool(data.get("done", False)),
        )
