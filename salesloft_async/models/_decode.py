"""Field decoders that the generated structure functions call, one per kind of field.

Each runs once per field of every record of every page, so each is a couple of type checks and
one C call.  None of them raises on a value of a surprising type: it returns the value as received,
so one odd field never fails a page (the model's annotation then does not hold for that field;
`raw` is still exact).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

__all__ = ["to_date", "to_datetime", "to_list", "to_model", "to_ref", "to_refs"]

_fromiso = datetime.fromisoformat
_date_fromiso = date.fromisoformat


def to_datetime(v: Any) -> Any:
    """ISO-8601 (with "T" or a space, "Z" or an offset) -> aware datetime; naive means UTC."""
    if v.__class__ is str:
        try:
            r = _fromiso(v)
        except ValueError:
            return v
        return r if r.tzinfo is not None else r.replace(tzinfo=UTC)
    return v


def to_date(v: Any) -> Any:
    if v.__class__ is str:
        try:
            return _date_fromiso(v)
        except ValueError:
            try:  # a full timestamp where a date was promised
                return _fromiso(v).date()
            except ValueError:
                return v
    return v


def to_ref(v: Any, cls: Callable[[Any, Any, dict[str, Any]], Any]) -> Any:
    if v.__class__ is dict:
        return cls(v.get("id"), v.get("_href"), v)
    return v


def to_refs(v: Any, cls: Callable[[Any, Any, dict[str, Any]], Any]) -> Any:
    if v.__class__ is list:
        return [cls(x.get("id"), x.get("_href"), x) if x.__class__ is dict else x for x in v]
    return v


def to_model(v: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    if v.__class__ is dict:
        return fn(v)
    return v


def to_list(v: Any, fn: Callable[[dict[str, Any]], Any]) -> Any:
    if v.__class__ is list:
        return [fn(x) if x.__class__ is dict else x for x in v]
    return v
