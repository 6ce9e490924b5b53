"""List reads the way Salesloft answers them: filters, sorting, paging and metadata.

Parsing is strict where Salesloft is strict (a bad value for a known filter answers 422) and lax
where it is lax (`per_page` is clamped to 1..100, a page past the end is an empty page).  A list
honours only the filters and sort keys its definition lists and ignores the rest, as Salesloft
does: `custom_fields` does not filter by `updated_at`, so a reader that needs an `updated_at`
cursor must notice that it has none (an unlisted sort key leaves the default order).  Execution
walks one of the collection's maintained orders, so the default and cursor-poller reads are
slices; other filters are predicates evaluated lazily, stopping as soon as the page (and the
knowledge of whether a next page exists) is complete.
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..spec import Operation, Param
from .resources import accessor_for
from .store import Collection, us_from_iso

__all__ = ["ListQuery", "QueryError", "parse_list_query", "run_list"]

RANGE_OPS = ("gt", "gte", "lt", "lte")
_KEY = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:\[(?P<sub>[A-Za-z_]*)\])?$")
_BIG = 1 << 62


class QueryError(Exception):
    """A 422: {"errors": {field: [messages]}}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("invalid query")
        self.errors = errors


Predicate = Callable[[dict[str, Any]], bool]


def normalize(value: Any) -> Any:
    """Equality filters compare case-insensitively, as Salesloft does for emails and names."""
    return value.lower() if isinstance(value, str) else value


@dataclass(frozen=True)
class EqFilter:
    """`name[]=a&name[]=b`: the record's value (or one of its values) is among the wanted ones."""

    key: str
    getter: Callable[[dict[str, Any]], Any]
    many: bool
    wanted: frozenset[Any]
    allow_null: bool


@dataclass
class ListQuery:
    page: int = 1
    per_page: int = 25
    page_given: bool = False
    include_counts: bool = False
    limit_counts: bool = False
    sort_by: str = "updated_at"
    descending: bool = True
    #: (field, op, microseconds) on created_at/updated_at
    time_ranges: list[tuple[str, str, int]] = field(default_factory=list)
    predicates: list[Predicate] = field(default_factory=list)
    equals: list[EqFilter] = field(default_factory=list)
    ids: set[int] | None = None
    filtering: dict[str, Any] = field(default_factory=dict)


def _split(raw: Iterable[tuple[str, str]]) -> dict[str, dict[str | None, list[str]]]:
    """name -> {sub-key or None: values}; `ids[]=1&ids[]=2` and `ids=1` both give {None: [...]}."""
    out: dict[str, dict[str | None, list[str]]] = {}
    for key, value in raw:
        match = _KEY.match(key)
        if not match:
            continue
        sub = match.group("sub") or None
        out.setdefault(match.group("name"), {}).setdefault(sub, []).append(value)
    return out


def _bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "t", "yes"):
        return True
    if lowered in ("false", "0", "f", "no"):
        return False
    raise QueryError({name: ["must be true or false"]})


def _int(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise QueryError({name: ["must be an integer"]}) from None


def _time(name: str, value: str) -> int:
    try:
        return us_from_iso(value)
    except ValueError:
        raise QueryError({name: ["must be an ISO-8601 timestamp"]}) from None


def _allowed_sorts(param: Param | None) -> tuple[list[str], str]:
    default = "updated_at"
    if param is None or "must be one of" not in param.description:
        return [], default
    text = param.description.split("must be one of:", 1)[1]
    allowed_text, _, default_text = text.partition("Defaults to")
    allowed = [a.strip(" .") for a in allowed_text.split(",") if a.strip(" .")]
    if default_text.strip():
        default = default_text.strip(" .")
    return allowed, default


def parse_list_query(
    raw: Iterable[tuple[str, str]],
    op: Operation | None,
    col: Collection,
    guid_of: Callable[[int], str | None],
) -> ListQuery:
    params = _split(raw)
    known: Mapping[str, Param] = {p.name: p for p in op.query} if op is not None else {}
    q = ListQuery()
    errors: dict[str, list[str]] = {}

    def first(name: str) -> str | None:
        values = params.get(name, {}).get(None)
        return values[-1] if values else None

    try:
        if (page := first("page")) is not None:
            q.page, q.page_given = max(1, _int("page", page)), True
        if (per_page := first("per_page")) is not None:
            q.per_page = min(100, max(1, _int("per_page", per_page)))
        if (value := first("include_paging_counts")) is not None:
            q.include_counts = _bool("include_paging_counts", value)
        if (value := first("limit_paging_counts")) is not None:
            q.limit_counts = _bool("limit_paging_counts", value)
    except QueryError as exc:
        errors.update(exc.errors)

    allowed, default_sort = _allowed_sorts(known.get("sort_by"))
    q.sort_by = default_sort
    if (sort_by := first("sort_by")) is not None and sort_by in allowed:
        q.sort_by = sort_by
    if (direction := first("sort_direction")) is not None:
        if direction.upper() not in ("ASC", "DESC"):
            errors["sort_direction"] = ["must be one of: ASC, DESC"]
        else:
            q.descending = direction.upper() == "DESC"

    sample = next(iter(col.records.values()), {})
    control = {
        "page",
        "per_page",
        "include_paging_counts",
        "limit_paging_counts",
        "sort_by",
        "sort_direction",
    }
    for name, subs in params.items():
        param = known.get(name)
        if name in control or param is None:
            continue
        try:
            _add_filter(q, name, subs, param, col, sample, guid_of)
        except QueryError as exc:
            errors.update(exc.errors)
    if errors:
        raise QueryError(errors)
    return q


def _add_filter(
    q: ListQuery,
    name: str,
    subs: dict[str | None, list[str]],
    param: Param,
    col: Collection,
    sample: dict[str, Any],
    guid_of: Callable[[int], str | None],
) -> None:
    ranged = {k: v[-1] for k, v in subs.items() if k in RANGE_OPS}
    plain = subs.get(None, [])
    prefix = subs.get("_starts_with")
    if prefix:  # `title[_starts_with]=Dem`: a case-insensitive prefix
        start = prefix[-1].lower()
        q.filtering[f"{name}[_starts_with]"] = prefix[-1]
        q.predicates.append(lambda r: str(r.get(name) or "").lower().startswith(start))
    if ranged:
        echo: dict[str, str] = dict(ranged)
        q.filtering[name] = echo
        is_time = param.type in ("datetime", "string") or name.endswith("_at")
        for op_name, value in ranged.items():
            if name in ("created_at", "updated_at"):
                q.time_ranges.append((name, op_name, _time(f"{name}[{op_name}]", value)))
            elif name == "id":
                bound = _int(f"id[{op_name}]", value)
                q.predicates.append(_compare(lambda r: r.get("id"), op_name, bound))
            elif is_time:
                bound = _time(f"{name}[{op_name}]", value)
                q.predicates.append(_compare(_time_getter(name), op_name, bound))
        return
    if not plain:
        return
    values: list[str] = []
    for value in plain:
        if param.array:
            values.extend(v for v in value.split(",") if v != "")
        else:
            values.append(value)
    q.filtering[name] = values if param.array else values[-1]
    if name in ("created_at", "updated_at"):
        # an exact timestamp given without an operator means equality at microsecond precision
        for value in values:
            q.time_ranges.append((name, "gte", _time(name, value)))
            q.time_ranges.append((name, "lte", _time(name, value)))
        return
    typed: list[Any] = []
    allow_null = False
    for value in values:
        if value == "_is_null":
            allow_null = True
        elif param.type == "integer":
            typed.append(_int(name, value))
        elif param.type == "boolean":
            typed.append(_bool(name, value))
        elif param.type == "datetime":
            _time(name, value)
            typed.append(value)
        else:
            typed.append(value)
    if name == "ids":
        # string-typed ids (custom roles) that are not numbers simply match nothing here
        found = (col.lookup(str(v)) for v in typed)
        q.ids = {k for k in found if k is not None}
        return
    access = accessor_for(col.name, name, sample, guid_of)
    if access is None:
        return  # a filter this sandbox does not model: accepted and ignored, like an unknown one
    getter, many = access
    wanted: set[Any] = set()
    for value in typed:
        wanted.add(normalize(value))
        if isinstance(value, str) and value.isdigit():
            wanted.add(int(value))  # a string-typed id filter still matches integer ids
    q.equals.append(EqFilter(f"{name}", getter, many, frozenset(wanted), allow_null))


def _time_getter(name: str) -> Callable[[dict[str, Any]], int | None]:
    def get(record: dict[str, Any]) -> int | None:
        value = record.get(name)
        if not isinstance(value, str):
            return None
        try:
            return us_from_iso(value)
        except ValueError:
            return None

    return get


def _compare(getter: Callable[[dict[str, Any]], Any], op: str, bound: Any) -> Predicate:
    def check(record: dict[str, Any]) -> bool:
        value = getter(record)
        if value is None:
            return False
        if op == "gt":
            return bool(value > bound)
        if op == "gte":
            return bool(value >= bound)
        if op == "lt":
            return bool(value < bound)
        return bool(value <= bound)

    return check


class _Window:
    """A slice of a sorted (key, id) index, walked in either direction without copying."""

    def __init__(self, index: list[tuple[int, int]], lo: int, hi: int, descending: bool):
        self.index, self.lo, self.hi, self.descending = index, lo, hi, descending
        self._pos = 0

    def __len__(self) -> int:
        return self.hi - self.lo

    def __iter__(self) -> Iterator[int]:
        return self

    def __next__(self) -> int:
        if self._pos >= self.hi - self.lo:
            raise StopIteration
        offset = self._pos
        self._pos += 1
        return self._at(offset)

    def _at(self, offset: int) -> int:
        if self.descending:
            return self.index[self.hi - 1 - offset][1]
        return self.index[self.lo + offset][1]

    def take(self, start: int, stop: int) -> list[int]:
        return [self._at(o) for o in range(start, stop)]


@dataclass
class ListResult:
    ids: list[int]
    total: int | None
    has_next: bool


def _order(col: Collection, q: ListQuery) -> tuple[Iterator[int], Predicate | None]:
    """Record ids in the requested order, narrowed by bisect where the index allows it."""
    extra: list[Predicate] = []
    if q.sort_by in ("updated_at", "created_at"):
        index = col.by_updated if q.sort_by == "updated_at" else col.by_created
        lo, hi = 0, len(index)
        for name, op, bound in q.time_ranges:
            if name != q.sort_by:
                extra.append(_time_range_predicate(col, name, op, bound))
                continue
            if op == "gt":
                lo = max(lo, bisect_right(index, (bound, _BIG)))
            elif op == "gte":
                lo = max(lo, bisect_left(index, (bound, -_BIG)))
            elif op == "lt":
                hi = min(hi, bisect_left(index, (bound, -_BIG)))
            else:
                hi = min(hi, bisect_right(index, (bound, _BIG)))
        ordered: Iterator[int] = _Window(index, lo, max(lo, hi), q.descending)
    else:
        extra.extend(_time_range_predicate(col, n, o, b) for n, o, b in q.time_ranges)
        if q.sort_by == "id":
            ordered = iter(reversed(col.ids) if q.descending else col.ids)
        else:
            key = q.sort_by
            ids = sorted(col.ids, key=lambda i: _sort_key(col.records[i].get(key), i))
            ordered = iter(reversed(ids) if q.descending else ids)
    if not extra:
        return ordered, None
    return ordered, lambda r: all(p(r) for p in extra)


def _sort_key(value: Any, rid: int) -> tuple[int, Any, int]:
    if isinstance(value, dict):
        value = value.get("name", value.get("id"))
    if value is None:
        return (0, "", rid)
    if isinstance(value, bool | int | float):
        return (1, float(value), rid)
    return (2, str(value).lower(), rid)


def _time_range_predicate(col: Collection, name: str, op: str, bound: int) -> Predicate:
    slot = 0 if name == "created_at" else 1
    times = col.times
    if col.uuid_ids:
        return _compare(lambda r: times[col.key_of(r)][slot], op, bound)
    return _compare(lambda r: times[r["id"]][slot], op, bound)


def _candidates(col: Collection, q: ListQuery) -> set[int] | None:
    """Ids allowed by `ids[]` and the equality filters (via the collection's indexes)."""
    allowed: set[int] | None = set(q.ids) if q.ids is not None else None
    for eq in q.equals:
        index = col.index(eq.key, eq.getter, eq.many)
        matched: set[int] = set()
        for value in eq.wanted:
            matched |= index.get(value, set())
        if eq.allow_null:
            matched |= index.get(None, set())
        allowed = matched if allowed is None else allowed & matched
        if not allowed:
            return set()
    return allowed


def run_list(col: Collection, q: ListQuery) -> ListResult:
    allowed = _candidates(col, q)
    start = (q.page - 1) * q.per_page
    stop = start + q.per_page
    records = col.records
    predicates = list(q.predicates)
    if allowed is not None and len(allowed) < max(64, len(records) // 16):
        # few candidates: order them directly instead of walking the whole index
        ids = [i for i in allowed if i in records]
        ids.sort(key=_key_fn(col, q.sort_by), reverse=q.descending)
        predicates.extend(_time_range_predicate(col, *r) for r in q.time_ranges)
        ordered: Iterator[int] = iter(ids)
    else:
        ordered, extra = _order(col, q)
        if extra is not None:
            predicates.append(extra)
        if allowed is not None:
            chosen = allowed
            ordered = (i for i in ordered if i in chosen)
        elif not predicates and isinstance(ordered, _Window):
            return _slice(ordered, q, start, stop)
    if predicates:
        matched: Iterator[int] = (i for i in ordered if all(p(records[i]) for p in predicates))
    else:
        matched = ordered
    page: list[int] = []
    seen = 0
    for rid in matched:
        if seen >= stop:
            # one more exists: a next page
            if not q.include_counts:
                return ListResult(page, None, True)
            seen += 1 + sum(1 for _ in matched)
            return ListResult(page, seen, True)
        if seen >= start:
            page.append(rid)
        seen += 1
    return ListResult(page, seen if q.include_counts else None, False)


def _key_fn(col: Collection, sort_by: str) -> Callable[[int], Any]:
    if sort_by == "updated_at":
        times = col.times
        return lambda i: (times[i][1], i)
    if sort_by == "created_at":
        times = col.times
        return lambda i: (times[i][0], i)
    if sort_by == "id":
        return lambda i: i
    records = col.records
    return lambda i: _sort_key(records[i].get(sort_by), i)


def _slice(window: _Window, q: ListQuery, start: int, stop: int) -> ListResult:
    total = len(window)
    ids = window.take(start, min(stop, total))
    return ListResult(ids, total if q.include_counts else None, stop < total)


def paging_metadata(q: ListQuery, result: ListResult) -> dict[str, Any]:
    paging: dict[str, Any] = {
        "per_page": q.per_page,
        "current_page": q.page,
        "next_page": q.page + 1 if result.has_next else None,
        "prev_page": q.page - 1 if q.page > 1 else None,
    }
    if q.include_counts and result.total is not None:
        total = min(result.total, 10_000) if q.limit_counts else result.total
        paging["total_pages"] = math.ceil(total / q.per_page) if total else 0
        paging["total_count"] = total
    return paging
