"""The /v2 handlers: generic list/get/create/update/delete over the store, plus the special ones.

Every operation of the definition routes here.  Resources with a collection get the generic verbs;
the ones Salesloft treats specially (me, team, groups, users, upserts, cadence memberships,
webhook subscriptions, bulk jobs, meeting-settings search) have their own handlers.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..spec import Field, Operation
from .bulk import BulkJobs
from .query import ListQuery, ListResult, QueryError, paging_metadata, parse_list_query, run_list
from .relations import Relations
from .resources import EVENT_PREFIX, ResourceInfo
from .responses import errors_response, json_response, not_found
from .store import Collection, Record, Store, us_from_seconds
from .writes import (
    body_changes,
    check_account,
    check_person,
    check_subscription,
    coerce,
    person_derived,
)

if TYPE_CHECKING:
    from .server import Sandbox

__all__ = ["Api", "Handler"]

Handler = Callable[[web.Request, Operation, dict[str, str]], Awaitable[web.StreamResponse]]


class Api:
    def __init__(self, sandbox: Sandbox, infos: dict[str, ResourceInfo]) -> None:
        self.sb = sandbox
        self.infos = infos
        self.relations = Relations(self)
        self.bulk = BulkJobs(sandbox, self)

    @property
    def store(self) -> Store:
        return self.sb.store

    def now_us(self) -> int:
        return us_from_seconds(self.sb.clock())

    def guid_of(self, user_id: int) -> str | None:
        user = self.store["users"].get(user_id)
        return user.get("guid") if user else None

    # -- dispatch -------------------------------------------------------------------------------

    async def handle(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.StreamResponse:
        try:
            special = self._special(op)
            if special is not None:
                return await special(request, op, path_params)
            if op.action == "list":
                return self.list_response(request, op, self.collection_of(op))
            if op.action == "get":
                return self.get_response(op, path_params)
            if op.action == "create":
                return await self.create_response(request, op)
            if op.action == "update":
                return await self.update_response(request, op, path_params)
            if op.action == "delete":
                return self.delete_response(op, path_params)
            if op.action == "upsert":
                return await self.relations.generic_upsert(request, op)
            return await self.create_response(request, op)
        except QueryError as exc:
            return errors_response(exc.errors)

    def _special(self, op: Operation) -> Handler | None:
        table: dict[tuple[str, str], Handler] = {
            ("me", "get"): self.me,
            ("team", "get"): self.team,
            ("groups", "list"): self.groups,
            ("users", "list"): self.users,
            ("people", "upsert"): self.relations.person_upsert,
            ("accounts", "upsert"): self.relations.account_upsert,
            ("cadence_memberships", "create"): self.relations.membership_create,
            ("cadence_memberships", "delete"): self.relations.membership_delete,
            ("webhook_subscriptions", "list"): self.subscriptions,
            ("meetings", "search_settings"): self.search_settings,
            ("meetings", "update_setting"): self.update_setting,
            ("activity_histories", "get"): self.activity_histories,
            ("caller_ids", "list"): self.caller_ids,
        }
        found = table.get((op.resource, op.action))
        if found is None and op.resource == "bulk_jobs":
            return self.bulk.handler(op)
        return found

    def collection_of(self, op: Operation) -> Collection:
        info = self.infos.get(op.resource)
        return self.store.collection(op.resource, info.path if info else None)

    async def body(self, request: web.Request) -> dict[str, Any]:
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

    # -- generic verbs --------------------------------------------------------------------------

    def render_list(
        self,
        col: Collection,
        ids: list[int],
        metadata: dict[str, Any],
    ) -> web.Response:
        parts = ",".join(col.json_of(i) for i in ids)
        meta = json.dumps(metadata, separators=(",", ":"))
        return json_response(f'{{"data":[{parts}],"metadata":{meta}}}')

    def query(self, request: web.Request, op: Operation, col: Collection) -> ListQuery:
        return parse_list_query(request.query.items(), op, col, self.guid_of)

    def list_response(
        self, request: web.Request, op: Operation, col: Collection, *, paged: bool = True
    ) -> web.Response:
        q = self.query(request, op, col)
        if not paged:
            q.page, q.per_page = 1, max(1, len(col))
        result = run_list(col, q)
        return self.render_list(col, result.ids, self.metadata(q, result, paged=paged))

    @staticmethod
    def metadata(q: ListQuery, result: ListResult, *, paged: bool = True) -> dict[str, Any]:
        meta: dict[str, Any] = {"filtering": q.filtering}
        if paged:
            meta["paging"] = paging_metadata(q, result)
        meta["sorting"] = {
            "sort_by": q.sort_by,
            "sort_direction": "DESC" if q.descending else "ASC",
        }
        return meta

    def path_id(self, path_params: dict[str, str], key: str = "id") -> int | None:
        raw = path_params.get(key, "")
        return int(raw) if raw.isdigit() else None

    def get_response(self, op: Operation, path_params: dict[str, str]) -> web.Response:
        col = self.collection_of(op)
        rid = self.path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        return json_response(f'{{"data":{col.json_of(rid)}}}')

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

    async def create_response(self, request: web.Request, op: Operation) -> web.Response:
        col = self.collection_of(op)
        record = self.create_record(op, await self.body(request))
        return json_response(f'{{"data":{col.json_of(record["id"])}}}')

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
            check_subscription(record, allow_remote=self.sb.config.allow_remote_webhooks)
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

    async def update_response(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        col = self.collection_of(op)
        rid = self.path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        body = await self.body(request)
        changes = body_changes(self.store, op, col, body, creating=False)
        self.apply_update(op.resource, col, rid, changes)
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    def delete_response(self, op: Operation, path_params: dict[str, str]) -> web.Response:
        col = self.collection_of(op)
        rid = self.path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        record = col.delete(rid)
        if record is not None:
            self.event(op.resource, "deleted", record)
            if op.resource == "people":
                self.relations.person_gone(rid)
        return web.Response(status=204)

    def event(self, resource: str, verb: str, record: Record) -> None:
        prefix = EVENT_PREFIX.get(resource)
        if prefix is not None:
            self.sb.webhooks.emit(f"{prefix}_{verb}", record)

    # -- special handlers -----------------------------------------------------------------------

    async def me(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        users = self.store["users"]
        uid = self.sb.user_of(request) or 1
        if uid not in users:
            return not_found()
        return json_response(f'{{"data":{users.json_of(uid)}}}')

    async def team(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        return json_response(json.dumps({"data": self.store.singletons["team"]}))

    async def groups(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        # Salesloft answers /groups in one piece, with no paging block at all
        return self.list_response(request, op, self.collection_of(op), paged=False)

    async def users(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        # /users answers everyone unless a page is asked for
        col = self.collection_of(op)
        q = self.query(request, op, col)
        if not q.page_given:
            q.per_page = max(1, len(col))
        result = run_list(col, q)
        return self.render_list(col, result.ids, self.metadata(q, result))

    async def subscriptions(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        col = self.collection_of(op)
        enabled = request.query.get("enabled")
        want = None
        if enabled is not None:
            want = coerce(op.query[0], enabled) if op.query else enabled == "true"
        ids = [i for i in col.ids if want is None or bool(col.records[i].get("enabled")) == want]
        return json_response(f'{{"data":[{",".join(col.json_of(i) for i in ids)}]}}')

    async def search_settings(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        col = self.store["meeting_settings"]
        return self.list_response(request, op, col)

    async def update_setting(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        col = self.store["meeting_settings"]
        rid = self.path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        changes = body_changes(self.store, op, col, await self.body(request), creating=False)
        self.apply_update("meeting_settings", col, rid, changes)
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    async def activity_histories(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return self.list_response(request, op, self.collection_of(op))

    async def caller_ids(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return self.list_response(request, op, self.collection_of(op), paged=False)
