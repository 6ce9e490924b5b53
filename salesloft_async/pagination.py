"""Walking a list endpoint: page numbers, `id[gt]` keysets, or one unpaged answer.

A `Paginator` is what every `list()` returns.  It sends nothing until iterated, iterates records
(`async for person in sl.people.list(...)`), and `.pages()` gives whole pages with their metadata.
Three modes cover the definition's list endpoints:

- ``"page"``: `page`/`per_page`; stops on an empty page, or when `metadata.paging.next_page` is
  missing or null (so a list that answers without a paging block is read once, not forever);
- ``"keyset"``: `id[gt]=<last id>` (bulk jobs and their data); stops on an empty page;
- ``"single"``: one request (groups; users without `page`, which answers everyone).

Every request goes through `transport.request(..., expect="list")`; retries and budgeting are the
transport's business, never the paginator's.

A server that does not advance (a `next_page` that is not past the page just read, a keyset page
that does not move past its `id[gt]`, the very same records as the page before) would make any of
these loops endless: the paginator raises `PaginationError` instead.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import aclosing
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import attrs

from .errors import PaginationError
from .hooks import Lane

if TYPE_CHECKING:
    from .transport import Response, Transport

__all__ = ["Mode", "Page", "Paginator", "Paging"]

T = TypeVar("T")
Mode = Literal["page", "keyset", "single"]


@attrs.frozen
class Paging:
    """The `metadata.paging` block; fields the server left out are None."""

    per_page: int | None = None
    current_page: int | None = None
    next_page: int | None = None
    prev_page: int | None = None
    total_pages: int | None = None
    total_count: int | None = None

    @classmethod
    def parse(cls, block: Any) -> Paging | None:
        if not isinstance(block, Mapping):
            return None

        def num(key: str) -> int | None:
            v = block.get(key)
            return v if isinstance(v, int) and not isinstance(v, bool) else None

        return cls(
            per_page=num("per_page"),
            current_page=num("current_page"),
            next_page=num("next_page"),
            prev_page=num("prev_page"),
            total_pages=num("total_pages"),
            total_count=num("total_count"),
        )


@attrs.frozen
class Page(Generic[T]):
    """One response of a list call: its records, its metadata, and the response itself."""

    records: list[T]
    #: the whole `metadata` object ({} when the list answered without one)
    metadata: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    #: None when the answer carried no paging block
    paging: Paging | None = None
    #: the parameters this page was requested with (a checkpoint can store them)
    params: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    response: Response | None = attrs.field(default=None, repr=False, eq=False)

    @property
    def next_page(self) -> int | None:
        return self.paging.next_page if self.paging else None

    def __len__(self) -> int:
        return len(self.records)


class Paginator(Generic[T]):
    """An async iterator over a list endpoint's records; `.pages()` for whole pages.

    Resources build these (``sl.people.list(...)``); the arguments are the resource's.

    :param transport: sends each page request (auth, budget, retries).
    :param path: the list operation's path.
    :param params: the query of the first page; the paginator adds the page or `id[gt]` itself.
    :param decode: turns a page's ``data`` list into records.
    :param mode: ``"page"``, ``"keyset"`` or ``"single"`` (see the module documentation).
    :param method: the HTTP method of the list operation.
    :param lane: the budget lane every page request reserves on.
    :param max_pages: stop after this many pages (None: read to the end).
    """

    def __init__(
        self,
        transport: Transport,
        path: str,
        params: Mapping[str, Any],
        decode: Callable[[list[Any]], list[T]],
        *,
        mode: Mode = "page",
        method: str = "GET",
        lane: Lane = "interactive",
        max_pages: int | None = None,
    ):
        self._transport = transport
        self.path = path
        self.params: dict[str, Any] = dict(params)
        self._decode = decode
        self.mode: Mode = mode
        self.method = method
        self.lane: Lane = lane
        self.max_pages = max_pages
        #: metadata of the last page read (None before the first request)
        self.metadata: Mapping[str, Any] | None = None
        #: paging block of the last page read
        self.paging: Paging | None = None
        self.pages_read = 0

    def __repr__(self) -> str:
        return f"Paginator({self.method} {self.path}, mode={self.mode!r}, params={self.params!r})"

    async def fetch(self, params: Mapping[str, Any]) -> Page[T]:
        """Exactly one request with exactly these parameters, decoded."""
        response = await self._transport.request(
            self.method, self.path, params=params, lane=self.lane, expect="list"
        )
        body = response.data
        meta = body.get("metadata")
        metadata: Mapping[str, Any] = meta if isinstance(meta, Mapping) else {}
        page = Page(
            records=self._decode(body["data"]),
            metadata=metadata,
            paging=Paging.parse(metadata.get("paging")),
            params=dict(params),
            response=response,
        )
        self.metadata = metadata
        self.paging = page.paging
        self.pages_read += 1
        return page

    async def pages(self) -> AsyncGenerator[Page[T], None]:
        """Every page in order, each with its metadata."""
        params = dict(self.params)
        if self.mode == "page" and params.get("page") is None:
            params["page"] = 1
        count = 0
        previous: list[Any] | None = None
        while True:
            page = await self.fetch(params)
            count += 1
            ids = [_record_id(r) for r in page.records]
            if ids and ids == previous and None not in ids:
                raise self._stalled(params, "answered the same records as the page before")
            previous = ids
            yield page
            if self.mode == "single" or not page.records:
                return
            if self.max_pages is not None and count >= self.max_pages:
                return
            if self.mode == "page":
                nxt = page.next_page
                if nxt is None:
                    return
                asked = params.get("page")
                if isinstance(asked, int) and nxt <= asked:
                    raise self._stalled(params, f"answered next_page={nxt} to page {asked}")
                params = {**params, "page": nxt}
            else:
                last = _last_id(page.records, page)
                if last is None:
                    return
                bound = params.get("id")
                after = bound.get("gt") if isinstance(bound, Mapping) else None
                if isinstance(last, int) and isinstance(after, int) and last <= after:
                    raise self._stalled(params, f"answered id {last} to id[gt]={after}")
                params = {**params, "id": {"gt": last}}

    def _stalled(self, params: Mapping[str, Any], what: str) -> PaginationError:
        return PaginationError(
            f"{self.method} {self.path} does not advance: the server {what}, so reading on would"
            f" never end (asked with {dict(params)!r}); the list was read up to here."
        )

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for record in page.records:
                yield record

    async def collect(self, limit: int | None = None) -> list[T]:
        """Read into a list (all of it, or the first `limit` records, stopping early)."""
        out: list[T] = []
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                out.extend(page.records)
                if limit is not None and len(out) >= limit:
                    return out[:limit]
        return out

    async def first(self) -> T | None:
        """The first record, reading one page at most."""
        async with aclosing(self.pages()) as pages:
            async for page in pages:
                return page.records[0] if page.records else None
        return None


def _record_id(record: Any) -> Any:
    value = getattr(record, "id", None)
    if value is None and isinstance(record, Mapping):
        value = record.get("id")
    return value


def _last_id(records: list[Any], page: Page[Any]) -> Any:
    """The id of the page's last record, from the model or (failing that) the raw JSON."""
    value = _record_id(records[-1])
    if value is None and page.response is not None:
        data = page.response.data.get("data") or []
        if data and isinstance(data[-1], Mapping):
            value = data[-1].get("id")
    return value
