"""The keyset cursor on a fake page source: boundaries, one-timestamp pages, empty ranges."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloft_async.bulk.keyset import Cursor, Page, format_ts, parse_ts
from salesloft_async.errors import PaginationError, ResponseDecodeError

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ts(seconds: float) -> str:
    return format_ts(T0 + timedelta(seconds=seconds))


class FakeSource:
    """A list endpoint in memory, answering like Salesloft (ties ordered by id)."""

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.records = records
        self.calls: list[dict[str, Any]] = []

    async def fetch(self, params: Mapping[str, Any]) -> Page:
        self.calls.append(dict(params))
        rows = [r for r in self.records if self._match(r, params)]
        rows.sort(key=lambda r: (_parsed(r["updated_at"]), r["id"]))
        if params.get("sort_direction") == "DESC":
            rows.reverse()
        per_page = int(params.get("per_page", 25))
        page = int(params.get("page", 1))
        chunk = rows[(page - 1) * per_page : page * per_page]
        total = len(rows) if params.get("include_paging_counts") else None
        return Page([dict(r) for r in chunk], total)

    @staticmethod
    def _match(record: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
        at = _parsed(record["updated_at"])
        window = params.get("updated_at") or {}
        checks = {
            "gt": lambda b: at > b,
            "gte": lambda b: at >= b,
            "lt": lambda b: at < b,
            "lte": lambda b: at <= b,
        }
        return all(checks[op](bound) for op, bound in window.items())


@functools.lru_cache(maxsize=100_000)
def _parsed(text: str) -> datetime:
    return parse_ts(text)


def people(stamps: list[float], first_id: int = 1) -> list[dict[str, Any]]:
    return [{"id": first_id + i, "updated_at": ts(s)} for i, s in enumerate(stamps)]


async def drain(
    source: FakeSource, cursor: Cursor, per_page: int = 10, limit: int = 1000
) -> tuple[list[int], Cursor]:
    got: list[int] = []
    for _ in range(limit):
        if cursor.done:
            return got, cursor
        page = await source.fetch(cursor.params(per_page))
        fresh, cursor = cursor.advance(page, per_page)
        got.extend(r["id"] for r in fresh)
    raise AssertionError("the cursor did not finish: it loops")


async def test_distinct_timestamps_each_id_once_and_every_page_is_page_one() -> None:
    source = FakeSource(people([float(i) for i in range(95)]))
    got, end = await drain(source, Cursor())
    assert sorted(got) == list(range(1, 96))
    assert len(got) == 95
    assert end.done
    assert all(call.get("page", 1) == 1 for call in source.calls)
    assert all(
        call["sort_by"] == "updated_at" and call["sort_direction"] == "ASC" for call in source.calls
    )


async def test_boundary_ids_sharing_the_last_timestamp_are_not_lost_or_repeated() -> None:
    # ids 9-12 share a timestamp that straddles the first page boundary (per_page 10)
    stamps = [float(i) for i in range(8)] + [8.0] * 4 + [float(i) for i in range(9, 20)]
    source = FakeSource(people(stamps))
    got, _ = await drain(source, Cursor())
    assert sorted(got) == list(range(1, len(stamps) + 1))
    assert len(got) == len(set(got))
    second = source.calls[1]["updated_at"]
    assert second == {"gte": T0 + timedelta(seconds=8)}, "[gte] the boundary, not [gt]"


async def test_whole_page_one_timestamp_switches_to_exact_pages_then_moves_on() -> None:
    stamps = [0.0, 1.0] + [2.0] * 35 + [3.0, 4.0, 5.0]
    source = FakeSource(people(stamps))
    got, _ = await drain(source, Cursor())
    assert sorted(got) == list(range(1, 41))
    assert len(got) == 40
    exact = [c for c in source.calls if "lte" in (c.get("updated_at") or {})]
    t2 = T0 + timedelta(seconds=2)
    assert exact and all(c["updated_at"] == {"gte": t2, "lte": t2} for c in exact)
    # page 1 again (with a count, to notice records leaving), then on; pages stay shallow
    assert [c["page"] for c in exact] == [1, 2, 3, 4]
    assert all(c["include_paging_counts"] is True for c in exact)
    after = source.calls[source.calls.index(exact[-1]) + 1]
    assert after["updated_at"] == {"gt": t2}
    assert len(source.calls) < 12, "no loop"


async def test_cluster_at_the_very_start_and_exactly_one_page_long() -> None:
    source = FakeSource(people([0.0] * 10 + [1.0] * 3))
    got, _ = await drain(source, Cursor())
    assert sorted(got) == list(range(1, 14))


async def test_exact_mode_rereads_when_records_leave_the_timestamp_meanwhile() -> None:
    records = people([5.0] * 25 + [6.0])
    source = FakeSource(records)
    cursor = Cursor()
    got: list[int] = []
    page = await source.fetch(cursor.params(10))
    fresh, cursor = cursor.advance(page, 10)
    got += [r["id"] for r in fresh]
    assert cursor.exact_page == 1
    # a write moves record 1 (already read) to a later time: page 2 slides down by one
    records[0]["updated_at"] = ts(100)
    rest, _ = await drain(source, cursor)
    got += rest
    assert set(range(1, 27)) <= set(got), "no unchanged record may be lost"
    assert got.count(1) == 2  # the moved record is seen again, newer version last
    assert len(got) == 27


async def test_empty_range_is_one_request() -> None:
    source = FakeSource([])
    got, end = await drain(source, Cursor(lo=ts(0), hi=ts(10)))
    assert got == [] and end.done
    assert len(source.calls) == 1


async def test_slice_bounds_are_sent_and_respected() -> None:
    source = FakeSource(people([float(i) for i in range(30)]))
    got, _ = await drain(source, Cursor(lo=ts(10), hi=ts(20)))
    assert sorted(got) == list(range(11, 21))
    assert source.calls[0]["updated_at"] == {
        "gte": T0 + timedelta(seconds=10),
        "lt": T0 + timedelta(seconds=20),
    }


async def test_narrowed_slice_drops_what_now_belongs_to_another() -> None:
    cursor = Cursor(lo=ts(0), hi=ts(5))
    page = Page(people([1.0, 2.0, 6.0, 7.0]))
    fresh, nxt = cursor.advance(page, per_page=4)
    assert [r["id"] for r in fresh] == [1, 2]
    assert nxt.done


async def test_unsorted_or_malformed_pages_raise_decode_errors() -> None:
    with pytest.raises(ResponseDecodeError):
        Cursor().advance(Page(people([3.0, 1.0])), per_page=10)
    with pytest.raises(ResponseDecodeError):
        Cursor().advance(Page([{"id": 1}]), per_page=10)
    with pytest.raises(ResponseDecodeError):
        Cursor().advance(Page([{"id": "x", "updated_at": ts(1)}]), per_page=10)


def test_cursor_round_trips_through_json() -> None:
    cursor = Cursor(lo=ts(0), hi=ts(9), after=ts(3), seen=frozenset({4, 5}), exact_page=3)
    assert Cursor.from_json(cursor.to_json()) == cursor


async def test_exact_mode_restarts_from_page_one_when_the_count_drops_mid_paging() -> None:
    records = people([5.0] * 25 + [6.0])
    source = FakeSource(records)
    cursor = Cursor()
    got: list[int] = []
    for _ in range(2):  # the keyset page, then exact page 1 (count 25)
        fresh, cursor = cursor.advance(await source.fetch(cursor.params(10)), 10)
        got += [r["id"] for r in fresh]
    assert cursor.exact_page == 2 and cursor.exact_total == 25
    records[0]["updated_at"] = ts(100)  # leaves the instant: page 2 slides, id 11 -> page 1
    rest, _ = await drain(source, cursor)
    got += rest
    assert set(range(1, 27)) <= set(got)
    assert got.count(11) == 1, "re-reading is de-duplicated by the ids already handed over"
    restarted = [c for c in source.calls if c.get("page") == 1 and "lte" in c["updated_at"]]
    assert len(restarted) == 2


@settings(max_examples=60, deadline=None)
@given(
    stamps=st.lists(st.integers(min_value=0, max_value=40), max_size=120),
    per_page=st.integers(min_value=1, max_value=12),
    bounds=st.tuples(st.integers(-1, 41), st.integers(-1, 42)),
)
async def test_any_ties_any_page_size_exactly_once_and_finishes(
    stamps: list[int], per_page: int, bounds: tuple[int, int]
) -> None:
    lo, hi = bounds
    source = FakeSource(people([float(s) for s in stamps]))
    cursor = Cursor(lo=ts(lo) if lo >= 0 else None, hi=ts(hi) if hi > lo and hi >= 0 else None)
    got, end = await drain(source, cursor, per_page=per_page, limit=2_000)
    want = [
        i + 1
        for i, s in enumerate(stamps)
        if (cursor.lo is None or s >= lo) and (cursor.hi is None or s < hi)
    ]
    assert sorted(got) == want, "every record in the range exactly once"
    assert end.done
    assert all(c.get("page", 1) <= len(stamps) // per_page + 2 for c in source.calls)


def test_a_full_page_with_nothing_new_is_a_pagination_error() -> None:
    """A server that ignores `updated_at[gte]` answers the first page again: stop, do not loop."""
    page = Page([{"id": i, "updated_at": ts(i)} for i in range(1, 4)])
    fresh, cursor = Cursor(lo=ts(0)).advance(page, per_page=3)
    assert [r["id"] for r in fresh] == [1, 2, 3]
    with pytest.raises(PaginationError, match="does not advance"):
        cursor.advance(page, per_page=3)
