"""Bulk jobs: create a job, add job data in batches, PUT ready_to_execute, poll, read results.

Execution runs as a background task of the sandbox (cancelled on stop), yielding between chunks so
that a client polling `GET /v2/bulk_jobs/{id}` really sees `executing` before `done`.  Lists here
page by `id[gt]` and `per_page` (no page numbers), in id order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from aiohttp import web

from ..spec import Operation
from .query import QueryError
from .relations import Relations
from .responses import json_response, not_found
from .store import Record, Store, iso_from_us, us_from_seconds
from .writes import Emit, Writes, body_changes, coerce, read_body

__all__ = ["SUPPORTED_TYPES", "BulkJobs", "Handler", "Spawn"]

#: a handler of one routed operation: (request, operation, path parameters) -> response
Handler = Callable[[web.Request, Operation, dict[str, str]], Awaitable[web.StreamResponse]]
#: runs background work the sandbox owns (and cancels on stop)
Spawn = Callable[[Coroutine[Any, Any, Any]], object]

SUPPORTED_TYPES = (
    "person/upsert",
    "person/create",
    "person/update",
    "person/delete",
    "account/upsert",
    "account/create",
    "account/update",
    "account/delete",
    "cadence_membership/create",
)
MAX_JOB_DATA = 5_000


class BulkJobs:
    """The bulk job endpoints and the runner that executes a job in the background.

    :param store: the collections (jobs live in `bulk_jobs`).
    :param clock: the sandbox clock, in epoch seconds.
    :param spawn: starts a job's execution as background work.
    :param emit: announces `bulk_job_completed` to webhook subscribers.
    :param writes: how each job row is written (the same path as a single request).
    :param relations: upserts and cadence memberships, for the job types that need them.
    """

    def __init__(
        self,
        store: Store,
        clock: Callable[[], float],
        spawn: Spawn,
        emit: Emit,
        writes: Writes,
        relations: Relations,
    ) -> None:
        self.store = store
        self.clock = clock
        self.spawn = spawn
        self.emit = emit
        self.writes = writes
        self.relations = relations
        self.job_data: dict[int, list[Record]] = {}
        self._next_data_id = 1

    def handler(self, op: Operation) -> Handler | None:
        table: dict[str, Handler] = {
            "list": self.list_jobs,
            "create": self.create_job,
            "get": self.get_job,
            "update": self.update_job,
            "create_job_data": self.add_data,
            "list_job_data": self.list_data,
            "list_results": self.list_results,
        }
        return table.get(op.action)

    def _now(self) -> str:
        return iso_from_us(us_from_seconds(self.clock()))

    @staticmethod
    def _respond(data: Any) -> web.Response:

        return json_response(json.dumps({"data": data}))

    def _job(self, path_params: dict[str, str], key: str) -> Record | None:
        raw = path_params.get(key, "")
        if not raw.isdigit():
            return None
        return self.store["bulk_jobs"].get(int(raw))

    @staticmethod
    def _id_paging(request: web.Request, items: list[Record], filter_key: str) -> web.Response:

        errors: dict[str, list[str]] = {}
        after = 0
        per_page = 25
        if (raw := request.query.get("id[gt]")) is not None:
            try:
                after = int(raw)
            except ValueError:
                errors["id[gt]"] = ["must be an integer"]
        if (raw := request.query.get("per_page")) is not None:
            try:
                per_page = min(100, max(1, int(raw)))
            except ValueError:
                errors["per_page"] = ["must be an integer"]
        if errors:
            raise QueryError(errors)
        wanted = set(request.query.getall(f"{filter_key}[]", [])) | set(
            request.query.getall(filter_key, [])
        )
        chosen = [
            r for r in items if r["id"] > after and (not wanted or r.get(filter_key) in wanted)
        ]
        page = chosen[:per_page]
        filtering: dict[str, Any] = {}
        if wanted:
            filtering[filter_key] = sorted(wanted)
        if "id[gt]" in request.query:
            filtering["id"] = {"gt": str(after)}
        metadata = {
            "filtering": filtering,
            "paging": {
                "per_page": per_page,
                "next_id": page[-1]["id"] if len(chosen) > per_page else None,
            },
            "sorting": {"sort_by": "id", "sort_direction": "ASC"},
        }
        return json_response(json.dumps({"data": page, "metadata": metadata}))

    async def list_jobs(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        col = self.store["bulk_jobs"]
        return self._id_paging(request, [col.records[i] for i in col.ids], "state")

    async def create_job(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        body = await read_body(request)
        kind = body.get("type")
        if not kind:
            raise QueryError({"type": ["can't be blank"]})
        if kind not in SUPPORTED_TYPES:
            raise QueryError({"type": [f"must be one of: {', '.join(SUPPORTED_TYPES)}"]})
        col = self.store["bulk_jobs"]
        record: Record = {
            "errors": 0,
            "finished_at": None,
            "marked_ready_at": None,
            "name": body.get("name"),
            "processed": 0,
            "ready_to_execute": False,
            "scopes": [],
            "started_at": None,
            "state": "open",
            "total": 0,
            "type": kind,
        }
        record = col.insert(record, us_from_seconds(self.clock()))
        self.job_data[record["id"]] = []
        return self._respond(record)

    async def get_job(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:

        job = self._job(path_params, "id")
        return not_found() if job is None else self._respond(job)

    async def update_job(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:

        job = self._job(path_params, "id")
        if job is None:
            return not_found()
        body = await read_body(request)
        params = {p.name: p for p in op.body}
        changes: Record = {}
        if "name" in body:
            changes["name"] = body["name"]
        start = False
        if "ready_to_execute" in body:
            ready = coerce(params["ready_to_execute"], body["ready_to_execute"])
            if ready and job["state"] == "open":
                changes.update(
                    ready_to_execute=True, state="executing", marked_ready_at=self._now()
                )
                start = True
            elif not ready and job["state"] != "open":
                raise QueryError({"ready_to_execute": ["cannot be unset once execution began"]})
        col = self.store["bulk_jobs"]
        col.update(job["id"], changes, us_from_seconds(self.clock()))
        if start:
            self.spawn(self._execute(job["id"]))
        return self._respond(col.records[job["id"]])

    async def add_data(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:

        job = self._job(path_params, "bulk_jobs_id")
        if job is None:
            return not_found()
        if job["state"] != "open":
            raise QueryError({"base": ["job data can only be added to an open bulk job"]})
        body = await read_body(request)
        data = body.get("data")
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except ValueError:
                data = None
        if not isinstance(data, list) or not data:
            raise QueryError({"data": ["must be a non-empty array of objects"]})
        if len(data) > MAX_JOB_DATA:
            raise QueryError({"data": [f"must have {MAX_JOB_DATA} records or fewer"]})
        if not all(isinstance(item, dict) for item in data):
            raise QueryError({"data": ["every item must be an object"]})
        rows = self.job_data.setdefault(job["id"], [])
        now = self._now()
        for item in data:
            rows.append(
                {
                    "bulk_job": self.store.ref("bulk_jobs", job["id"]),
                    "created_at": now,
                    "error": None,
                    "finished_at": None,
                    "id": self._next_data_id,
                    "record": item,
                    "resource": None,
                    "started_at": None,
                    "status": "pending",
                }
            )
            self._next_data_id += 1
        col = self.store["bulk_jobs"]
        col.update(job["id"], {"total": len(rows)}, us_from_seconds(self.clock()))
        return self._respond({"records": len(data)})

    async def list_data(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:

        job = self._job(path_params, "bulk_jobs_id")
        if job is None:
            return not_found()
        return self._id_paging(request, self.job_data.get(job["id"], []), "status")

    async def list_results(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:

        job = self._job(path_params, "bulk_jobs_id")
        if job is None:
            return not_found()
        results = [
            {
                "error": row["error"],
                "id": row["id"],
                "record": row["record"],
                "resource": row["resource"],
                "status": row["status"],
            }
            for row in self.job_data.get(job["id"], [])
            if row["status"] in ("success", "error")
        ]
        return self._id_paging(request, results, "status")

    async def _execute(self, job_id: int) -> None:
        col = self.store["bulk_jobs"]
        col.update(job_id, {"started_at": self._now()}, us_from_seconds(self.clock()))
        await asyncio.sleep(0)
        kind = col.records[job_id]["type"]
        processed = errors = 0
        for index, row in enumerate(self.job_data.get(job_id, [])):
            row["started_at"] = self._now()
            try:
                row["resource"] = self._run_one(kind, dict(row["record"]))
                row["status"] = "success"
            except QueryError as exc:
                row["status"], row["error"] = "error", json.dumps(exc.errors)
                errors += 1
            row["finished_at"] = self._now()
            processed += 1
            if index % 100 == 99:
                col.update(
                    job_id,
                    {"processed": processed, "errors": errors},
                    us_from_seconds(self.clock()),
                )
                await asyncio.sleep(0)
        col.update(
            job_id,
            {"processed": processed, "errors": errors, "state": "done", "finished_at": self._now()},
            us_from_seconds(self.clock()),
        )
        self.emit("bulk_job_completed", col.records[job_id])

    def _run_one(self, kind: str, item: dict[str, Any]) -> Record | None:
        resource, _, verb = kind.partition("/")
        writes = self.writes
        infos = writes.infos
        if resource == "cadence_membership":
            op = infos["cadence_memberships"].op("create")
            assert op is not None
            made = self.relations.add_membership(op, item)
            return {"id": made["id"]}
        name, keys = (
            ("people", ("id", "crm_id", "email_address"))
            if resource == "person"
            else ("accounts", ("id", "crm_id", "domain"))
        )
        col = self.store[name]
        if verb == "upsert":
            item.setdefault("upsert_key", keys[2])
            upsert_op = infos[name].op("upsert")
            assert upsert_op is not None
            _, rid = self.relations.upsert(upsert_op, name, item, keys)
            return {"id": rid}
        if verb == "create":
            create_op = infos[name].op("create")
            assert create_op is not None
            return {"id": writes.create_record(create_op, item)["id"]}
        rid = item.pop("id", None)
        if not isinstance(rid, int) or rid not in col:
            raise QueryError({"id": ["does not exist"]})
        if verb == "delete":
            writes.delete(name, col, rid)
            return {"id": rid}
        update_op = infos[name].op("update")
        assert update_op is not None

        changes = body_changes(self.store, update_op, col, item, creating=False)
        writes.apply_update(name, col, rid, changes)
        return {"id": rid}
