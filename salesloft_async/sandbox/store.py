"""The sandbox's data: one in-memory collection per resource, kept sorted for cheap paging.

Each collection holds the records as the API shows them (JSON-ready dicts) plus, per record, its
`created_at`/`updated_at` as integer microseconds.  Three orders are maintained incrementally with
bisect -- (updated_us, id), (created_us, id) and id -- so the common reads (default sort, the
cursor poller's `updated_at[gt]` ascending, id order) are a slice, never a sort.  Serialized JSON
is cached per record and dropped on write.
"""

from __future__ import annotations

import json
from bisect import bisect_left, insort
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["Collection", "Store", "iso_from_us", "us_from_iso", "us_from_seconds"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


_DAYS: dict[int, str] = {}


def iso_from_us(us: int) -> str:
    """ISO-8601 with microseconds and a Z, as Salesloft writes its timestamps."""
    seconds, micro = divmod(us, 1_000_000)
    day, rest = divmod(seconds, 86_400)
    date = _DAYS.get(day)
    if date is None:
        date = _DAYS[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{date}T{hours:02d}:{minutes:02d}:{secs:02d}.{micro:06d}Z"


def us_from_seconds(seconds: float) -> int:
    return round(seconds * 1_000_000)


def us_from_iso(text: str) -> int:
    """Parse an ISO-8601 timestamp to epoch microseconds; naive means UTC.  Raises ValueError."""
    parsed = datetime.fromisoformat(text.strip().replace(" ", "+") if "T" in text else text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    delta = parsed - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


Record = dict[str, Any]
Getter = Callable[[Record], Any]


class Collection:
    """One resource's records, ordered three ways."""

    def __init__(self, name: str, path: str) -> None:
        self.name = name
        self.path = path  # "/v2/people": where a record's _href points
        self.records: dict[int, Record] = {}
        self.times: dict[int, tuple[int, int]] = {}  # id -> (created_us, updated_us)
        self.by_updated: list[tuple[int, int]] = []
        self.by_created: list[tuple[int, int]] = []
        self.ids: list[int] = []
        self.next_id = 1
        self._json: dict[int, str] = {}
        #: optional unique keys (field name -> value -> id), e.g. people's email_address
        self.unique: dict[str, dict[Any, int]] = {}
        #: equality-filter indexes, built on first use and kept current by every write
        self._indexes: dict[str, tuple[Getter, bool, dict[Any, set[int]]]] = {}

    def __len__(self) -> int:
        return len(self.records)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self.records

    def get(self, record_id: int) -> Record | None:
        return self.records.get(record_id)

    def load(self, records: list[Record], times: list[tuple[int, int]]) -> None:
        """Bulk insert at seeding time: one sort instead of many insorts."""
        for record, (created, updated) in zip(records, times, strict=True):
            rid = record["id"]
            self.records[rid] = record
            self.times[rid] = (created, updated)
            for key, index in self.unique.items():
                value = record.get(key)
                if value is not None:
                    index[_norm(value)] = rid
        self.by_updated = sorted((u, i) for i, (_, u) in self.times.items())
        self.by_created = sorted((c, i) for i, (c, _) in self.times.items())
        self.ids = sorted(self.records)
        self.next_id = (self.ids[-1] + 1) if self.ids else 1

    def allocate_id(self) -> int:
        rid = self.next_id
        self.next_id += 1
        return rid

    def insert(self, record: Record, now_us: int) -> Record:
        rid = record.get("id")
        if not isinstance(rid, int):
            rid = self.allocate_id()
            record["id"] = rid
        else:
            self.next_id = max(self.next_id, rid + 1)
        record["created_at"] = record["updated_at"] = iso_from_us(now_us)
        self.records[rid] = record
        self.times[rid] = (now_us, now_us)
        insort(self.by_updated, (now_us, rid))
        insort(self.by_created, (now_us, rid))
        insort(self.ids, rid)
        self._index_unique(record, None)
        self._reindex(rid, None, record)
        return record

    def update(self, rid: int, changes: Record, now_us: int) -> Record:
        """Apply `changes` and bump updated_at (never backwards: a write always moves a cursor)."""
        record = self.records[rid]
        before = dict(record)
        record.update(changes)
        created, updated = self.times[rid]
        new_updated = max(now_us, updated)
        self._remove_sorted(self.by_updated, (updated, rid))
        insort(self.by_updated, (new_updated, rid))
        self.times[rid] = (created, new_updated)
        record["updated_at"] = iso_from_us(new_updated)
        self._index_unique(record, before)
        self._reindex(rid, before, record)
        self._json.pop(rid, None)
        return record

    def forget(self, rid: int) -> None:
        """Drop the cached JSON of a record changed in place."""
        self._json.pop(rid, None)

    def delete(self, rid: int) -> Record | None:
        record = self.records.pop(rid, None)
        if record is None:
            return None
        created, updated = self.times.pop(rid)
        self._remove_sorted(self.by_updated, (updated, rid))
        self._remove_sorted(self.by_created, (created, rid))
        index = bisect_left(self.ids, rid)
        del self.ids[index]
        for key, values in self.unique.items():
            value = record.get(key)
            if value is not None and values.get(_norm(value)) == rid:
                del values[_norm(value)]
        self._reindex(rid, record, None)
        self._json.pop(rid, None)
        return record

    def index(self, key: str, getter: Getter, many: bool) -> dict[Any, set[int]]:
        """value -> ids for one filter (values lower-cased; None for missing/empty)."""
        found = self._indexes.get(key)
        if found is not None:
            return found[2]
        values: dict[Any, set[int]] = {}
        for rid, record in self.records.items():
            for value in _index_values(getter, many, record):
                values.setdefault(value, set()).add(rid)
        self._indexes[key] = (getter, many, values)
        return values

    def _reindex(self, rid: int, before: Record | None, after: Record | None) -> None:
        for getter, many, values in self._indexes.values():
            if before is not None:
                for value in _index_values(getter, many, before):
                    bucket = values.get(value)
                    if bucket is not None:
                        bucket.discard(rid)
            if after is not None:
                for value in _index_values(getter, many, after):
                    values.setdefault(value, set()).add(rid)

    def find_unique(self, key: str, value: Any) -> int | None:
        return self.unique.get(key, {}).get(_norm(value))

    def json_of(self, rid: int) -> str:
        text = self._json.get(rid)
        if text is None:
            text = json.dumps(self.records[rid], separators=(",", ":"))
            self._json[rid] = text
        return text

    def _index_unique(self, record: Record, before: Record | None) -> None:
        for key, values in self.unique.items():
            old = before.get(key) if before else None
            new = record.get(key)
            if old is not None and old != new and values.get(_norm(old)) == record["id"]:
                del values[_norm(old)]
            if new is not None:
                values[_norm(new)] = record["id"]

    @staticmethod
    def _remove_sorted(items: list[tuple[int, int]], key: tuple[int, int]) -> None:
        index = bisect_left(items, key)
        if index < len(items) and items[index] == key:
            del items[index]


def _index_values(getter: Getter, many: bool, record: Record) -> list[Any]:
    got = getter(record)
    if many or isinstance(got, list | tuple):
        items = [_norm(v) for v in (got or ())]
        return items or [None]
    return [_norm(got)]


def _norm(value: Any) -> Any:
    """A hashable, case-insensitive form: strings lower-cased, embedded references by id."""
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, dict):
        return value.get("id")
    if isinstance(value, list | set):
        return None
    return value


class Store:
    """All collections by resource name (SalesloftClient attribute names: people, calls...)."""

    def __init__(self, base_url: str) -> None:
        #: where `_href`s point; settable, so a store can be built before its server's port is known
        self.base_url = base_url
        self.collections: dict[str, Collection] = {}
        #: singletons: "team" and other one-record resources
        self.singletons: dict[str, Record] = {}

    def collection(self, name: str, path: str | None = None) -> Collection:
        found = self.collections.get(name)
        if found is None:
            found = Collection(name, path or f"/v2/{name}")
            self.collections[name] = found
        return found

    def __getitem__(self, name: str) -> Collection:
        return self.collections[name]

    def __contains__(self, name: object) -> bool:
        return name in self.collections

    def ref(self, name: str, rid: int | None) -> dict[str, Any] | None:
        """A nested reference as the API embeds it: {"_href": ..., "id": n}."""
        if rid is None:
            return None
        path = self.collections[name].path if name in self.collections else f"/v2/{name}"
        return {"_href": f"{self.base_url}{path}/{rid}", "id": rid}
