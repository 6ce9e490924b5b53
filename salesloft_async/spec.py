"""The shape of the generated operation table (`salesloft_async._operations`).

The table is generated from Salesloft's OpenAPI v2 definition by `python tools/generate.py` and
committed.  One table serves three readers so that they can never disagree about the surface: the
resource classes (which method calls which path, which filters are legal), the sandbox (which routes
exist and what a record of each kind looks like), and the coverage test and README table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ParamType = Literal["string", "integer", "number", "boolean", "object", "datetime", "any"]
Returns = Literal["list", "object", "none"]


@dataclass(frozen=True, slots=True)
class Param:
    """A query parameter or a request-body field."""

    name: str
    type: ParamType = "string"
    array: bool = False
    #: a range filter (`updated_at={"gte": ...}` -> `updated_at[gte]=...`)
    range: bool = False
    required: bool = False
    description: str = ""
    #: "date" for a calendar date sent as YYYY-MM-DD (type stays "string")
    format: str = ""


@dataclass(frozen=True, slots=True)
class Operation:
    """One operation of the definition."""

    name: str  # snake case, unique, e.g. "list_people"
    method: Literal["GET", "POST", "PUT", "DELETE"]
    path: str  # without ".json", path parameters in braces: "/v2/people/{id}"
    resource: str  # SalesloftClient attribute: "people", "calls", "caller_ids", ...
    action: str  # "list" | "get" | "create" | "update" | "delete" | a special verb
    path_params: tuple[str, ...] = ()
    query: tuple[Param, ...] = ()
    body: tuple[Param, ...] = ()
    schema: str | None = None  # schema name of the record(s) under "data"
    returns: Returns = "object"
    paged: bool = False
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Field:
    """One property of a schema, enough to fake a realistic value or check a decoded one."""

    name: str
    type: ParamType = "string"
    array: bool = False
    ref: str | None = None  # schema name of a nested object or reference
    nullable: bool = True
    #: "date" for a calendar date (YYYY-MM-DD), "uuid" or "uri" where a source says so; "" otherwise
    format: str = ""
    #: the values a source lists as possible (seed data picks among them)
    choices: tuple[str, ...] = ()
    #: the resource a reference or a bare id points at ("people"), where a source says so
    target: str | None = None
    #: the definition's example of a string value, whose form seed data follows ("123", a UUID)
    example: str = ""


@dataclass(frozen=True, slots=True)
class Schema:
    name: str
    fields: tuple[Field, ...] = field(default=())
