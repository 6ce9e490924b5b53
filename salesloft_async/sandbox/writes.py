"""Turning a request body into record changes, with Salesloft's validation.

Bodies arrive as JSON or form fields.  Each field the operation declares is type-checked (a bad
integer or boolean is a 422), `<x>_id` fields become embedded references `{"_href", "id"}` and must
point at an existing record, and resource rules apply (a person needs an email address, or a phone
and a last name; emails and account domains are unique).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..spec import Field, Operation, Param
from ..webhooks.events import EVENT_TYPES as DOCUMENTED_EVENT_TYPES
from .query import QueryError
from .resources import EVENT_PREFIX, REF_TARGETS, ResourceInfo
from .store import Collection, Record, Store, us_from_seconds

__all__ = [
    "EVENT_TYPES",
    "Emit",
    "Writes",
    "body_changes",
    "check_account",
    "check_person",
    "check_subscription",
    "coerce",
    "path_id",
    "person_derived",
    "read_body",
]

#: how a write announces itself: (event type, record) -> deliveries scheduled
Emit = Callable[[str, Record], object]


#: (resource, body field) -> record field, where the body's name is not the record's
BODY_ALIASES: dict[tuple[str, str], str] = {
    ("calls", "person_id"): "called_person_id",
    ("notes", "associated_with_id"): "associated_with_id",
    ("notes", "associated_with_type"): "associated_type",
    ("accounts", "company_stage_id"): "company_stage_id",
}


def coerce(param: Param, value: Any) -> Any:
    """The value as the field's type, or QueryError (422)."""
    name = param.name
    if value is None:
        return None
    if param.array and not isinstance(value, list):
        value = [value]
    if param.array:
        return value
    if param.type == "integer":
        if isinstance(value, bool):
            raise QueryError({name: ["must be an integer"]})
        if isinstance(value, int):
            return value
        if isinstance(value, str):
            try:
                return int(value.strip())
            except ValueError:
                pass
        raise QueryError({name: ["must be an integer"]})
    if param.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise QueryError({name: ["must be true or false"]})
    return value


def body_changes(
    store: Store,
    op: Operation,
    col: Collection,
    body: dict[str, Any],
    *,
    creating: bool,
) -> Record:
    """Validated record fields from a create/update body."""
    from .._operations import SCHEMAS

    params = {p.name: p for p in op.body} or {p.name: p for p in op.query}
    errors: dict[str, list[str]] = {}
    if creating:
        for p in params.values():
            if p.required and body.get(p.name) in (None, ""):
                errors[p.name] = ["can't be blank"]
    sample = next(iter(col.records.values()), None)
    schema = SCHEMAS.get(op.schema or "") if op.schema else None
    fields = set(sample) if sample else {f.name for f in schema.fields} if schema else set()
    changes: Record = {}
    for key, raw in body.items():
        param = params.get(key)
        try:
            value = coerce(param, raw) if param is not None else raw
        except QueryError as exc:
            errors.update(exc.errors)
            continue
        if key in ("id", "created_at", "updated_at", "upsert_key"):
            continue
        alias = BODY_ALIASES.get((col.name, key))
        if alias is not None and not alias.endswith("_id"):
            changes[alias] = value
            continue
        if alias is not None or (key.endswith("_id") and key[:-3] in fields | set(REF_TARGETS)):
            ref_name = (alias or key)[:-3]
            target = REF_TARGETS.get(ref_name)
            if col.name == "notes" and ref_name == "associated_with":
                kind = str(body.get("associated_with_type") or "person").lower()
                target = {"account": "accounts", "person": "people"}.get(kind, target)
            if value is None:
                changes[ref_name] = None
                continue
            if isinstance(value, str) and value.isdigit():
                value = int(value)
            if (
                target is not None
                and target in store
                and isinstance(value, int)
                and value not in store[target]
            ):
                errors[key] = ["does not exist"]
                continue
            changes[ref_name] = store.ref(target, value) if target else {"id": value}
        elif key == "custom_fields" and isinstance(value, list):
            changes[key] = {
                str(item.get("key")): item.get("value") for item in value if isinstance(item, dict)
            }
        elif key in fields or param is not None:
            changes[key] = value
    if errors:
        raise QueryError(errors)
    return changes


def check_person(store: Store, record: Record, rid: int | None) -> None:
    """A person needs an email, or a phone and a last name; an email belongs to one person."""
    email = record.get("email_address")
    if not email and not (record.get("phone") and record.get("last_name")):
        raise QueryError(
            {"email_address": ["can't be blank unless a phone number and last name are present"]}
        )
    if email:
        if not isinstance(email, str) or "@" not in email:
            raise QueryError({"email_address": ["is invalid"]})
        owner = store["people"].find_unique("email_address", email)
        if owner is not None and owner != rid:
            raise QueryError({"email_address": ["has already been taken"]})


def check_account(store: Store, record: Record, rid: int | None) -> None:
    domain = record.get("domain")
    if domain:
        owner = store["accounts"].find_unique("domain", domain)
        if owner is not None and owner != rid:
            raise QueryError({"domain": ["has already been taken"]})


def person_derived(record: Record) -> None:
    """Fields Salesloft computes from others."""
    first = record.get("first_name") or ""
    last = record.get("last_name") or ""
    name = f"{first} {last}".strip()
    record["display_name"] = name or record.get("email_address")
    email = record.get("email_address")
    record["full_email_address"] = f'"{name}" <{email}>' if email and name else email


#: the event types Salesloft documents; one list serves the client's parser and the sandbox
EVENT_TYPES = frozenset(DOCUMENTED_EVENT_TYPES)


def check_subscription(record: Record) -> None:
    errors: dict[str, list[str]] = {}
    if record.get("event_type") not in EVENT_TYPES:
        errors["event_type"] = ["is not a supported event type"]
    url = record.get("callback_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["callback_url"] = ["must be an http(s) URL"]
    if errors:
        raise QueryError(errors)


async def read_body(request: web.Request) -> dict[str, Any]:
    """A request body as a dict: JSON objects as sent, form fields with `x[]` as lists."""
    data: dict[str, Any] = {}
    if request.can_read_body:
        if request.content_type == "application/json":
            try:
                loaded = await request.json()
            except ValueError:
                raise QueryError({"body": ["is not valid JSON"]}) from None
            if not isinstance(loaded, dict):
                raise QueryError({"body": ["must be a JSON object"]})
            data = loaded
        else:
            form = await request.post()
            for key in form:
                values = form.getall(key)
                if key.endswith("[]"):
                    data[key[:-2]] = [str(v) for v in values]
                else:
                    data[key] = str(values[-1])
    return data


def path_id(path_params: dict[str, str], key: str = "id") -> int | None:
    """A numeric path parameter, or None (the caller answers 404)."""
    raw = path_params.get(key, "")
    return int(raw) if raw.isdigit() else None


class Writes:
    """Record writes with Salesloft's side effects: validation, derived fields, webhook events.

    The handlers (single writes, upserts, memberships, bulk jobs) all go through one of these, so
    a record written by a bulk job cannot differ from one written by a single request.

    :param store: the collections written to.
    :param clock: the sandbox clock, in epoch seconds; stamps `created_at`/`updated_at`.
    :param infos: what is known about each resource (paths, schemas).
    :param emit: announces a write to the webhook subscribers.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        infos: dict[str, ResourceInfo],
        emit: Emit,
    ) -> None:
        self.store = store
        self.clock = clock
        self.infos = infos
        self.emit = emit

    def now_us(self) -> int:
        return us_from_seconds(self.clock())

    def guid_of(self, user_id: int) -> str | None:
        user = self.store["users"].get(user_id)
        return user.get("guid") if user else None

    def collection_of(self, op: Operation) -> Collection:
        info = self.infos.get(op.resource)
        return self.store.collection(op.resource, info.path if info else None)

    def template(self, op: Operation, col: Collection) -> Record:
        """An empty record of the collection's shape: every field present, null or empty."""
        from .._operations import SCHEMAS

        info = self.infos.get(op.resource)
        schema = SCHEMAS.get(info.schema or "") if info and info.schema else None
        fields: list[Field] = list(schema.fields) if schema else []
        record: Record = {f.name: ([] if f.array else None) for f in fields}
        sample = next(iter(col.records.values()), None)
        if sample:
            for key, value in sample.items():
                if key not in record:
                    record[key] = [] if isinstance(value, list) else None
                if key == "counts" and isinstance(value, dict):
                    record[key] = dict.fromkeys(value, 0)
                elif key == "custom_fields":
                    record[key] = {}
        return record

    def create_record(self, op: Operation, body: dict[str, Any]) -> Record:
        col = self.collection_of(op)
        changes = body_changes(self.store, op, col, body, creating=True)
        record = self.template(op, col)
        record.update(changes)
        record.pop("id", None)
        self.validate(op.resource, record, None)
        return self.insert(op.resource, col, record)

    def validate(self, resource: str, record: Record, rid: int | None) -> None:
        if resource == "people":
            check_person(self.store, record, rid)
            person_derived(record)
        elif resource == "accounts":
            check_account(self.store, record, rid)
        elif resource == "webhook_subscriptions":
            check_subscription(record)
            if record.get("enabled") is None:
                record["enabled"] = True
            record.setdefault("tenant_id", 1)
            if record.get("tenant_id") is None:
                record["tenant_id"] = 1
            if record.get("user_guid") is None:
                record["user_guid"] = self.guid_of(1)

    def insert(self, resource: str, col: Collection, record: Record) -> Record:
        record = col.insert(record, self.now_us())
        self.event(resource, "created", record)
        return record

    def apply_update(self, resource: str, col: Collection, rid: int, changes: Record) -> Record:
        current = col.records[rid]
        merged = {**current, **changes}
        self.validate(resource, merged, rid)
        for key in ("display_name", "full_email_address"):
            if key in merged and merged.get(key) != current.get(key):
                changes[key] = merged[key]
        completed = (
            resource == "tasks"
            and changes.get("current_state") == "completed"
            and current.get("current_state") != "completed"
        )
        if resource == "accounts" and "archived" in changes:
            archived = changes.pop("archived")
            changes["archived_at"] = (current.get("archived_at") or "pending") if archived else None
        record = col.update(rid, changes, self.now_us())
        if record.get("archived_at") == "pending":
            record["archived_at"] = record["updated_at"]
        if completed:
            record["completed_at"] = record["updated_at"]
            record["completed_by"] = self.store.ref("users", 1)
        col.forget(rid)
        self.event(resource, "updated", record)
        if completed:
            self.event(resource, "completed", record)
        return record

    def delete(self, resource: str, col: Collection, rid: int) -> Record | None:
        record = col.delete(rid)
        if record is not None:
            self.event(resource, "deleted", record)
        return record

    def event(self, resource: str, verb: str, record: Record) -> None:
        prefix = EVENT_PREFIX.get(resource)
        if prefix is not None:
            self.emit(f"{prefix}_{verb}", record)
