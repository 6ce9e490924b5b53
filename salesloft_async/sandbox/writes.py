"""Turning a request body into record changes, with Salesloft's validation.

Bodies arrive as JSON or form fields.  Each field the operation declares is type-checked (a bad
integer or boolean is a 422), `<x>_id` fields become embedded references `{"_href", "id"}` and must
point at an existing record, and resource rules apply (a person needs an email address, or a phone
and a last name; emails and account domains are unique).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from ..spec import Operation, Param
from ..transport import _is_loopback as is_loopback
from ..webhooks.events import EVENT_TYPES as DOCUMENTED_EVENT_TYPES
from .query import QueryError
from .resources import REF_TARGETS
from .store import Collection, Record, Store

__all__ = [
    "EVENT_TYPES",
    "body_changes",
    "check_account",
    "check_person",
    "check_subscription",
    "coerce",
    "person_derived",
]


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


def check_subscription(record: Record, *, allow_remote: bool = False) -> None:
    errors: dict[str, list[str]] = {}
    if record.get("event_type") not in EVENT_TYPES:
        errors["event_type"] = ["is not a supported event type"]
    url = record.get("callback_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        errors["callback_url"] = ["must be an http(s) URL"]
    elif not allow_remote and not is_loopback(urlsplit(url).hostname or ""):
        errors["callback_url"] = [
            "must be a loopback URL (127.0.0.1, localhost, ::1): this sandbox delivers webhooks"
            " only on this machine; start it with --allow-remote-webhooks"
            " (Sandbox(allow_remote_webhooks=True)) to deliver elsewhere"
        ]
    if errors:
        raise QueryError(errors)
