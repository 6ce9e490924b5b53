"""What every resource class shares: building paths, sending through the transport, decoding.

The generated classes (`_generated.py`) give each operation a typed method whose body only
collects its arguments and calls one of the helpers here, so the behaviour lives in one place:

- reads decode `data` into the operation's model; lists return a lazy `Paginator`;
- writes send JSON, leave out every argument not given (`UNSET`), and send an explicit None as
  null, so an update never clears a field the caller did not name;
- a POST is sent once, unless it carries an `idempotency_key` (then it is marked idempotent):
  the transport alone decides whether anything may be retried.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, TypedDict, TypeVar
from urllib.parse import quote

import attrs

from ..errors import ConfigurationError, ResponseDecodeError
from ..hooks import Lane
from ..models import STRUCTURE, Model, converter, structure_many
from ..pagination import Mode, Page, Paginator
from ..spec import Operation

if TYPE_CHECKING:
    from ..bulk import BulkRead
    from ..transport import Response, Transport

__all__ = [
    "UNSET",
    "DatetimeRange",
    "IdRange",
    "ListResource",
    "NumberRange",
    "Resource",
    "Unset",
    "Upserted",
]

M = TypeVar("M", bound=Model)


class Unset(enum.Enum):
    """The default of every write argument: "not given", as opposed to None ("send null")."""

    UNSET = "UNSET"

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Literal[Unset.UNSET] = Unset.UNSET


class DatetimeRange(TypedDict, total=False):
    """A range filter, e.g. ``updated_at={"gte": since}``; aware datetimes or ISO-8601 strings."""

    gt: datetime | str
    gte: datetime | str
    lt: datetime | str
    lte: datetime | str


class NumberRange(TypedDict, total=False):
    """A numeric range filter, e.g. a conversation's ``duration={"gte": 60_000}`` (ms)."""

    gt: float
    gte: float
    lt: float
    lte: float


class IdRange(TypedDict, total=False):
    """The keyset filter of bulk jobs: ``id={"gt": last_seen_id}``."""

    gt: int


@attrs.frozen
class Upserted(Generic[M]):
    """The answer of an upsert: the record, and whether the call created or updated it."""

    record: M
    created: bool
    upsert_type: str | None
    raw: Mapping[str, Any] = attrs.field(repr=False, eq=False)


def _path_value(op: Operation, name: str, value: Any) -> str:
    """An id as one path segment, or `ConfigurationError` before anything is sent.

    Quoting alone is not enough: ``..`` survives it and the URL would climb a level
    (``people.get("..")`` would send ``GET /v2/``), and an id with a ``/``, a backslash or a
    control character is a caller's mistake, never a record.
    """
    if value is None or isinstance(value, bool):
        raise ConfigurationError(f"{op.name}: {name} is required (an id or a string)")
    text = str(value)
    if (
        text.strip() in ("", ".", "..")
        or text != text.strip()
        or any(c in "/\\?#" or not c.isprintable() for c in text)
    ):
        raise ConfigurationError(
            f"{op.name}: {name}={text!r} is not a usable id (empty, '.', '..', or holding"
            " '/', '\\', '?', '#', whitespace at its ends or control characters)"
        )
    return text


def _decoder(schema: str | None) -> Callable[[Any], Any]:
    """The structure function of a schema (identity for operations without one)."""
    if schema is None:
        return lambda value: value
    from ..models import MODELS

    fn = STRUCTURE[MODELS[schema]]

    def decode(value: Any) -> Any:
        if value.__class__ is not dict:
            raise ResponseDecodeError(
                f"expected a {schema} record (a JSON object), got {type(value).__name__}",
                status=200,
                body_excerpt=repr(value),
            )
        return fn(value)

    return decode


def _list_decoder(schema: str | None) -> Callable[[list[Any]], list[Any]]:
    if schema is None:
        return list
    from ..models import MODELS

    cls = MODELS[schema]
    return lambda records: structure_many(records, cls)


class Resource:
    """One attribute of `SalesloftClient`: the operations of one path group."""

    #: the SalesloftClient attribute name ("people", "calls", ...)
    name: ClassVar[str] = ""
    #: every operation of this resource, by action
    operations: ClassVar[Mapping[str, Operation]] = {}

    def __init__(self, transport: Transport):
        self._transport = transport

    def __repr__(self) -> str:
        return f"<{type(self).__name__} resource {self.name!r}>"

    @property
    def transport(self) -> Transport:
        return self._transport

    # -- helpers the generated methods call ------------------------------------------------------

    @staticmethod
    def _path(op: Operation, path_args: Mapping[str, Any]) -> str:
        values: dict[str, str] = {}
        for name in op.path_params:
            values[name] = quote(_path_value(op, name, path_args.get(name)), safe="")
        return op.path.format(**values)

    @staticmethod
    def _query(params: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
        out = {k: v for k, v in params.items() if v is not None}
        if extra:
            out.update(extra)
        return out

    @staticmethod
    def _body(fields: Mapping[str, Any], extra: Mapping[str, Any] | None) -> dict[str, Any]:
        out = {k: v for k, v in fields.items() if v is not UNSET}
        if extra:
            out.update(extra)
        body: dict[str, Any] = converter.unstructure(out)
        return body

    async def _send(
        self,
        op: Operation,
        path_args: Mapping[str, Any],
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Response:
        expect: Literal["any", "list", "object"] = (
            "object" if op.returns == "object" else "list" if op.returns == "list" else "any"
        )
        if op.returns == "list" and op.method != "GET" and not op.paged:
            expect = "any"  # a write the definition says answers a list: accept one record too
        # Salesloft answers a POST resent with the same key with the first one's record
        marked: dict[str, Any] = (
            {"idempotent": True} if body and body.get("idempotency_key") else {}
        )
        return await self._transport.request(
            op.method,
            self._path(op, path_args),
            params=params or None,
            json=dict(body) if body is not None else None,
            expect=expect,
            **marked,
        )

    async def _read(
        self,
        op: Operation,
        path_args: Mapping[str, Any],
        params: Mapping[str, Any] | None = None,
        extra_params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = await self._send(op, path_args, params=self._query(params or {}, extra_params))
        return self._decode(op, response)

    async def _write(
        self,
        op: Operation,
        path_args: Mapping[str, Any],
        fields: Mapping[str, Any],
        extra_fields: Mapping[str, Any] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        response = await self._send(
            op,
            path_args,
            params=self._query(params or {}, None),
            body=self._body(fields, extra_fields),
        )
        return self._decode(op, response)

    async def _delete(self, op: Operation, path_args: Mapping[str, Any]) -> None:
        await self._send(op, path_args)

    async def _upsert(
        self,
        op: Operation,
        fields: Mapping[str, Any],
        extra_fields: Mapping[str, Any] | None,
        key: str,
    ) -> Upserted[Any]:
        response = await self._send(op, {}, body=self._body(fields, extra_fields))
        data = response.data["data"]
        record = data.get(key)
        upsert_type = data.get("upsert_type")
        schema = {"person": "Person", "account": "Account"}[key]
        return Upserted(
            record=_decoder(schema)(record),
            created=upsert_type == "create",
            upsert_type=upsert_type if isinstance(upsert_type, str) else None,
            raw=data,
        )

    def _paginate(
        self,
        op: Operation,
        path_args: Mapping[str, Any],
        params: Mapping[str, Any],
        extra_params: Mapping[str, Any] | None,
        lane: Lane,
        mode: Mode,
    ) -> Paginator[Any]:
        return Paginator(
            self._transport,
            self._path(op, path_args),
            self._query(params, extra_params),
            _list_decoder(op.schema),
            mode=mode,
            method=op.method,
            lane=lane,
        )

    @staticmethod
    def _decode(op: Operation, response: Response) -> Any:
        if op.returns == "none":
            return None
        body = response.data
        data = body.get("data") if isinstance(body, dict) else None
        if op.returns == "list":
            if isinstance(data, dict):
                data = [data]
            if not isinstance(data, list):
                raise ResponseDecodeError(
                    "expected a JSON object whose 'data' is a list or an object",
                    status=response.status,
                    body_excerpt=repr(body),
                    method=op.method,
                    path=op.path,
                )
            return _list_decoder(op.schema)(data)
        return _decoder(op.schema)(data)

    @staticmethod
    def _mode(op: Operation) -> Mode:
        if op.paged:
            return "page"
        if any(q.name == "id" and q.range for q in op.query):
            return "keyset"
        return "single"


class ListResource(Resource, Generic[M]):
    """A resource with a `list` operation: the hooks the bulk reader builds on.

    It is a `salesloft_async.bulk.ListSource`: the list path (`list_path`), the record class
    (`model`), whether the endpoint takes the `updated_at[gt]` + `sort_by=updated_at` cursor
    (`supports_updated_at_cursor`) and the `transport`.  `fetch_page` sends one raw page request
    on the bulk lane, for callers that page by hand.
    """

    #: path of the list operation, e.g. "/v2/people"
    list_path: ClassVar[str] = ""
    #: the model class of the listed records
    model: ClassVar[type[Model]] = Model
    #: True when the list takes `updated_at` ranges and `sort_by=updated_at`
    supports_updated_at_cursor: ClassVar[bool] = False
    #: the query parameter names the list operation accepts
    list_params: ClassVar[frozenset[str]] = frozenset()

    @property
    def list_operation(self) -> Operation:
        return self.operations["list"]

    def list_pages(
        self, params: Mapping[str, Any] | None = None, *, lane: Lane = "bulk"
    ) -> Paginator[M]:
        """A paginator over raw query parameters (no keyword checking), on the bulk lane."""
        op = self.list_operation
        paginator: Paginator[M] = self._paginate(
            op, {}, dict(params or {}), None, lane, self._list_mode(op, params or {})
        )
        return paginator

    async def fetch_page(
        self, params: Mapping[str, Any] | None = None, *, lane: Lane = "bulk"
    ) -> Page[M]:
        """Exactly one list request with exactly these query parameters, decoded."""
        return await self.list_pages(params, lane=lane).fetch(dict(params or {}))

    def _list_mode(self, op: Operation, params: Mapping[str, Any]) -> Mode:
        return self._mode(op)

    def read_all(self, **options: Any) -> BulkRead[Any]:
        """Read every record at cost 1 per page, resumably: `salesloft_async.bulk.read_all`.

        Options (since, until, concurrency, checkpoint, per_page, raw, mode, ...) and the list's
        own filters are passed through; see that function for what each does.
        """
        from ..bulk import read_all  # here, so a client that never reads in bulk never loads it

        return read_all(self, **options)
