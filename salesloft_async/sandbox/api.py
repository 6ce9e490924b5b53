"""The /v2 handlers: generic list/get/create/update/delete over the store, plus the special ones.

Every operation of the definition routes here.  Resources with a collection get the generic verbs;
the ones Salesloft treats specially (me, team, groups, users, upserts, cadence memberships,
webhook subscriptions, bulk jobs, meeting-settings search) have their own handlers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from aiohttp import web

from ..spec import Operation
from .bulk import BulkJobs, Handler, Spawn
from .query import ListQuery, ListResult, QueryError, paging_metadata, parse_list_query, run_list
from .relations import Relations
from .resources import ResourceInfo
from .responses import errors_response, json_response, not_found
from .store import Collection, Store
from .writes import Emit, Writes, body_changes, coerce, path_id, read_body

__all__ = ["Api", "Handler", "build_api"]


def build_api(
    store: Store,
    clock: Callable[[], float],
    infos: dict[str, ResourceInfo],
    *,
    spawn: Spawn,
    emit: Emit,
    user_of: Callable[[web.Request], int | None],
) -> Api:
    """The handlers of one team's data, wired together: writes, relations, bulk jobs, verbs."""
    writes = Writes(store, clock, infos, emit)
    relations = Relations(store, writes)
    bulk = BulkJobs(store, clock, spawn, emit, writes, relations)
    return Api(store, writes, relations, bulk, user_of)


class Api:
    """Routes an operation to its handler: the generic verbs, or a special one.

    :param store: the collections served.
    :param writes: how records are written (validation, events).
    :param relations: upserts, cadence memberships, person deletion.
    :param bulk: the bulk job endpoints.
    :param user_of: the user a request's token acts as (for `/me`).
    """

    def __init__(
        self,
        store: Store,
        writes: Writes,
        relations: Relations,
        bulk: BulkJobs,
        user_of: Callable[[web.Request], int | None],
    ) -> None:
        self.store = store
        self.writes = writes
        self.relations = relations
        self.bulk = bulk
        self.user_of = user_of

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
        return self.writes.collection_of(op)

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
        return parse_list_query(request.query.items(), op, col, self.writes.guid_of)

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

    def get_response(self, op: Operation, path_params: dict[str, str]) -> web.Response:
        col = self.collection_of(op)
        rid = path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    async def create_response(self, request: web.Request, op: Operation) -> web.Response:
        col = self.collection_of(op)
        record = self.writes.create_record(op, await read_body(request))
        return json_response(f'{{"data":{col.json_of(record["id"])}}}')

    async def update_response(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        col = self.collection_of(op)
        rid = path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        body = await read_body(request)
        changes = body_changes(self.store, op, col, body, creating=False)
        self.writes.apply_update(op.resource, col, rid, changes)
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    def delete_response(self, op: Operation, path_params: dict[str, str]) -> web.Response:
        col = self.collection_of(op)
        rid = path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        if self.writes.delete(op.resource, col, rid) is not None and op.resource == "people":
            self.relations.person_gone(rid)
        return web.Response(status=204)

    # -- special handlers -----------------------------------------------------------------------

    async def me(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        users = self.store["users"]
        uid = self.user_of(request) or 1
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
        rid = path_id(path_params)
        if rid is None or rid not in col:
            return not_found()
        changes = body_changes(self.store, op, col, await read_body(request), creating=False)
        self.writes.apply_update("meeting_settings", col, rid, changes)
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    async def activity_histories(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return self.list_response(request, op, self.collection_of(op))

    async def caller_ids(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        return self.list_response(request, op, self.collection_of(op), paged=False)
