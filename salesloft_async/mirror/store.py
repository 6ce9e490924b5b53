"""What a mirror keeps, and the one rule by which every path writes it.

Per resource one table keyed by `id` (an integer, or text for the lists whose ids are UUIDs:
``conversations``, ``calendar_events``...): `updated_at`, a `deleted` mark and the record's JSON
exactly as the API sent it.  Beside them one state row per resource: the bulk-read checkpoint of the
initial load, the poll cursor, and when the last poll, webhook and reconciliation happened.  The
state is committed with the rows it follows or after them, never before, so a mirror resumes from
the database alone.

The write rule: versions are ordered by ``(updated_at, deleted)`` and a version replaces the stored
row only when it is not lower.  Salesloft stamps every write with a new `updated_at`, so the
newest version wins whichever path (initial load, poll, webhook, sweep) brings it and in whatever
order they race.  A delete is stamped with the `updated_at` of the version it deleted (the body a
`*_deleted` webhook carries, or the stored row for a sweep), and at equal `updated_at` a delete
outranks the live version: a poll that read the record just before it was deleted cannot bring it
back, while any later version (a re-create or update under the same id) still wins by
`updated_at`.  In SQL this is an upsert whose ``DO UPDATE`` carries that comparison as its WHERE.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any, Protocol

import attrs

from ..bulk.keyset import format_ts, parse_ts, record_id, record_ts
from ..errors import ConfigurationError, ResponseDecodeError

__all__ = [
    "JSON_FIELDS",
    "STATE_FIELDS",
    "MirrorStore",
    "ResourceState",
    "ResourceStatus",
    "Row",
    "check_identifier",
    "newest",
    "row_of",
]

#: the state columns `MirrorStore.write` may set beside the rows
STATE_FIELDS = ("checkpoint", "cursor", "last_poll", "last_webhook", "last_sweep", "source")
#: the state fields held as JSON
JSON_FIELDS = ("checkpoint", "cursor", "source")

_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def check_identifier(name: str, what: str = "resource") -> str:
    """Table and schema names go into SQL as identifiers: only plain lower-case names pass."""
    if not isinstance(name, str) or not _IDENTIFIER.match(name):
        raise ConfigurationError(
            f"{what} name {name!r} must be lower-case letters, digits and underscores"
        )
    return name


def _canonical(text: str) -> str:
    return format_ts(parse_ts(text))


@attrs.frozen
class Row:
    """One version of one record, ready to write."""

    #: an integer, or text in a table of text ids (`MirrorStore.prepare`)
    id: int | str
    #: canonical UTC text (`format_ts`): ordered as text and as time alike
    updated_at: str = attrs.field(converter=_canonical)
    deleted: bool
    #: the record's JSON
    record: str

    @property
    def version(self) -> tuple[str, bool]:
        return (self.updated_at, self.deleted)


def row_of(record: Mapping[str, Any], *, deleted: bool = False, text_id: bool = False) -> Row:
    """The row for a record as the API (or a webhook) sent it; ResponseDecodeError without an
    integer id (a non-empty text id when `text_id`) or an ISO `updated_at`."""
    return Row(
        id=_text_id(record) if text_id else record_id(record),
        updated_at=format_ts(record_ts(record)),  # validated here, with the record in the error
        deleted=deleted,
        record=json.dumps(record, separators=(",", ":"), ensure_ascii=False),
    )


def _text_id(record: Mapping[str, Any]) -> str:
    value = record.get("id")
    if isinstance(value, str) and value:
        return value
    raise ResponseDecodeError(
        "the mirror got a record without a text id",
        status=200,
        body_excerpt=repr({k: record.get(k) for k in ("id", "updated_at")}),
    )


def newest(rows: Iterable[Row]) -> list[Row]:
    """One row per id (the highest version), in id order.

    One statement may not upsert an id twice (PostgreSQL refuses), and a fixed order keeps two
    concurrent batches from locking rows in opposite orders.
    """
    best: dict[int | str, Row] = {}
    for row in rows:
        held = best.get(row.id)
        if held is None or row.version >= held.version:
            best[row.id] = row
    return [best[i] for i in sorted(best)]  # one kind of id per table


@attrs.define
class ResourceState:
    """The state row of one resource."""

    resource: str
    checkpoint: dict[str, Any] | None = None
    cursor: dict[str, Any] | None = None
    last_poll: float | None = None
    last_webhook: float | None = None
    last_sweep: float | None = None
    #: where the rows came from: the API's base URL and the credentials' team (`Mirror.open`)
    source: dict[str, Any] | None = None

    @property
    def loaded(self) -> bool:
        """The initial load finished (the poll cursor is set only then)."""
        return self.cursor is not None


@attrs.define
class ResourceStatus(ResourceState):
    """A state row with its table's counts, for `mirror status`."""

    rows: int = 0
    deleted: int = 0

    @classmethod
    def of(cls, state: ResourceState, *, rows: int, deleted: int) -> ResourceStatus:
        return cls(**attrs.asdict(state, recurse=False), rows=rows, deleted=deleted)


class MirrorStore(Protocol):
    """Where a mirror keeps its tables: `SqliteStore` and `PostgresStore` implement it."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def prepare(self, resource: str, *, text_ids: bool = False) -> ResourceState:
        """Create the resource's table (keyed by text ids when `text_ids`, else integers) and
        state row if needed; return the state."""
        ...

    async def write(
        self, resource: str, rows: Sequence[Row], *, revive: bool = False, **state: Any
    ) -> None:
        """Apply `rows` by the write rule and set the given `STATE_FIELDS`.

        `revive`: a live version also replaces a deleted row of the same `updated_at` (for a
        sweep by page numbers, whose pages can shift under it: see `follower`).

        The state is never committed before the rows it follows (one transaction for both, or
        the rows first): a crash can leave rows newer than the state, which only means reading
        them again, never a state that claims rows the database does not have.
        """
        ...

    async def tombstone_missing(
        self, resource: str, seen: Collection[int | str], upto: str, **state: Any
    ) -> int:
        """Mark deleted every live row whose id is not in `seen` and whose `updated_at` is at or
        before `upto` (newer rows were written after the sweep looked); return how many."""
        ...

    async def latest(self, resource: str) -> str | None:
        """The highest `updated_at` stored (canonical text), None for an empty table."""
        ...

    async def records(self, resource: str) -> dict[Any, dict[str, Any]]:
        """Every live (not deleted) record, by id."""
        ...

    async def status(self) -> list[ResourceStatus]: ...


def state_values(state: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The state fields to set, JSON fields as text; rejects names that are not state fields."""
    out: list[tuple[str, Any]] = []
    for name, value in state.items():
        if name not in STATE_FIELDS:
            raise ConfigurationError(f"{name!r} is not a mirror state field")
        if name in JSON_FIELDS and value is not None:
            value = json.dumps(value, separators=(",", ":"), sort_keys=True)
        out.append((name, value))
    return out
