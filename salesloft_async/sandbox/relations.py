"""Writes that touch more than one record: upserts, cadence memberships, person deletion.

Salesloft matches an upsert on one key (`id`, `crm_id`, or the natural key: a person's email, an
account's domain) and answers which way it went; adding a person to a cadence also puts the
cadence on the person, and deleting a person leaves their memberships marked `person_deleted`.
The bulk job runner calls the same functions, so a bulk upsert and a single one cannot differ.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from ..spec import Operation, Param
from .query import QueryError
from .responses import json_response, not_found
from .store import Record, Store
from .writes import Writes, body_changes, coerce, path_id, read_body

__all__ = ["Relations"]


class Relations:
    """:param store: the collections.  :param writes: how records are written (with events)."""

    def __init__(self, store: Store, writes: Writes) -> None:
        self.store = store
        self.writes = writes

    def person_gone(self, person_id: int) -> None:
        """A deleted person's memberships stay, marked `person_deleted`, off their cadences."""
        memberships = self.store["cadence_memberships"]
        for mid, membership in list(memberships.records.items()):
            person = membership.get("person")
            if isinstance(person, dict) and person.get("id") == person_id:
                self.writes.apply_update(
                    "cadence_memberships",
                    memberships,
                    mid,
                    {"person_deleted": True, "currently_on_cadence": False},
                )

    async def person_upsert(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return await self._upsert(
            request, op, "people", "person", ("id", "crm_id", "email_address")
        )

    async def account_upsert(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return await self._upsert(request, op, "accounts", "account", ("id", "crm_id", "domain"))

    async def _upsert(
        self,
        request: web.Request,
        op: Operation,
        resource: str,
        key_name: str,
        keys: tuple[str, ...],
    ) -> web.Response:
        body = await read_body(request)
        result = self.upsert(op, resource, body, keys)
        return json_response(
            json.dumps(
                {
                    "data": {
                        "upsert_type": result[0],
                        key_name: json.loads(self.store[resource].json_of(result[1])),
                    }
                }
            )
        )

    def upsert(
        self, op: Operation, resource: str, body: dict[str, Any], keys: tuple[str, ...]
    ) -> tuple[str, int]:
        """Create or update by `upsert_key`; returns (upsert_type, id).  Raises QueryError."""
        col = self.store[resource]
        upsert_key = body.get("upsert_key")
        if upsert_key not in keys:
            raise QueryError({"upsert_key": [f"must be one of: {', '.join(keys)}"]})
        value = body.get(upsert_key)
        if value in (None, ""):
            raise QueryError({str(upsert_key): ["can't be blank"]})
        if upsert_key == "id":
            try:
                found: int | None = int(value)
            except (TypeError, ValueError):
                raise QueryError({"id": ["must be an integer"]}) from None
            if found not in col:
                raise QueryError({"id": ["does not exist"]})
        elif upsert_key in col.unique:
            found = col.find_unique(upsert_key, value)
        else:
            found = next(
                (i for i, r in col.records.items() if r.get(upsert_key) == value),
                None,
            )
        fields = {k: v for k, v in body.items() if k not in ("upsert_key", "id")}
        if found is not None:
            changes = body_changes(self.store, op, col, fields, creating=False)
            self.writes.apply_update(resource, col, found, changes)
            return "update", found
        changes = body_changes(self.store, op, col, fields, creating=True)
        record = self.writes.template(op, col)
        record.update(changes)
        record.pop("id", None)
        self.writes.validate(resource, record, None)
        return "create", self.writes.insert(resource, col, record)["id"]

    async def generic_upsert(self, request: web.Request, op: Operation) -> web.Response:
        col = self.writes.collection_of(op)
        body = await read_body(request)
        key = body.get("id")
        existing = next((i for i, r in col.records.items() if r.get("id") == key), None)
        if existing is not None:
            changes = body_changes(self.store, op, col, body, creating=False)
            self.writes.apply_update(op.resource, col, existing, changes)
            return json_response(f'{{"data":{col.json_of(existing)}}}', 200)
        record = self.writes.template(op, col)
        record.update(body_changes(self.store, op, col, body, creating=True))
        record = self.writes.insert(op.resource, col, record)
        return json_response(f'{{"data":{col.json_of(record["id"])}}}', 201)

    async def membership_create(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        body = dict(request.query)
        body.update(await read_body(request))
        record = self.add_membership(op, body)
        return json_response(
            f'{{"data":{self.store["cadence_memberships"].json_of(record["id"])}}}'
        )

    def add_membership(self, op: Operation, body: dict[str, Any]) -> Record:
        col = self.store["cadence_memberships"]
        errors: dict[str, list[str]] = {}
        ids: dict[str, int] = {}
        for name, target in (("person_id", "people"), ("cadence_id", "cadences")):
            try:
                value = coerce(_int_param(name), body.get(name))
            except QueryError as exc:
                errors.update(exc.errors)
                continue
            if value is None:
                errors[name] = ["can't be blank"]
            elif value not in self.store[target]:
                errors[name] = ["does not exist"]
            else:
                ids[name] = value
        if errors:
            raise QueryError(errors)
        person_id, cadence_id = ids["person_id"], ids["cadence_id"]
        for existing in col.records.values():
            if (
                existing["person"]["id"] == person_id
                and existing["cadence"]["id"] == cadence_id
                and existing.get("currently_on_cadence")
            ):
                raise QueryError({"person_id": ["is already on this cadence"]})
        user_id = body.get("user_id") or 1
        record = self.writes.template(op, col)
        record.update(
            {
                "cadence": self.store.ref("cadences", cadence_id),
                "person": self.store.ref("people", person_id),
                "user": self.store.ref("users", int(user_id)),
                "current_state": "staged",
                "currently_on_cadence": True,
                "person_deleted": False,
            }
        )
        record = self.writes.insert("cadence_memberships", col, record)
        record["added_at"] = record["created_at"]
        col.forget(record["id"])
        people = self.store["people"]
        person = people.records[person_id]
        cadences = [*person.get("cadences", []), self.store.ref("cadences", cadence_id)]
        self.writes.apply_update(
            "people",
            people,
            person_id,
            {"cadences": cadences, "most_recent_cadence": self.store.ref("cadences", cadence_id)},
        )
        return record

    async def membership_delete(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        col = self.store["cadence_memberships"]
        rid = path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        record = col.records[rid]
        if record.get("currently_on_cadence"):
            self.writes.apply_update(
                "cadence_memberships",
                col,
                rid,
                {"currently_on_cadence": False, "current_state": "removed"},
            )
            people = self.store["people"]
            pid, cid = record["person"]["id"], record["cadence"]["id"]
            if pid in people:
                kept = [c for c in people.records[pid].get("cadences", []) if c["id"] != cid]
                self.writes.apply_update("people", people, pid, {"cadences": kept})
        return web.Response(status=204)


def _int_param(name: str) -> Param:
    return Param(name=name, type="integer")
