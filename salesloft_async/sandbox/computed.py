"""Endpoints answered from other records rather than from a collection of their own.

Conversation and transcription sub-resources (the extensive view, the recording, the transcript
artifact, the sentences), the current user's profile, task counts, cadence stats, the email
missing-tags check, bulk task rescheduling and data-control requests.  Salesloft documents no
response fields for several of these (see the models' docstrings); the sandbox answers with an
`id`, timestamps and the figures it can compute, which the client keeps in `extra`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

from aiohttp import web

from ..spec import Operation
from .bulk import Handler
from .query import EqFilter, QueryError, paging_metadata, parse_list_query, run_list
from .resources import SUB_RESOURCES
from .responses import json_response, not_found
from .store import Collection, Record, Store
from .writes import Writes, read_body

__all__ = ["Computed"]

#: the data-control request types, by the action that submits them
DATA_CONTROL_TYPES = {
    "redact_account": "account_redaction",
    "redact_account_and_people": "account_and_people_redaction",
    "soft_delete_people": "people_soft_deletion",
    "forget_people": "right_to_be_forgotten",
}
_TAG = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")


def _data(value: Any) -> web.Response:
    return json_response(json.dumps({"data": value}, separators=(",", ":")))


class Computed:
    """:param store: the collections read.  :param writes: how derived writes are made."""

    def __init__(self, store: Store, writes: Writes) -> None:
        self.store = store
        self.writes = writes

    def handler(self, op: Operation) -> Handler | None:
        if (op.resource, op.action) in SUB_RESOURCES:
            return self.sentences if op.action == "list_sentences" else self.sub_record
        if op.resource == "data_control":
            return self.data_control
        table: dict[tuple[str, str], Handler] = {
            ("profiles", "get"): self.profile,
            ("tasks", "counts"): self.task_counts,
            ("cadence_stats", "get"): self.cadence_stats,
            ("email_missing_tags", "check"): self.missing_tags,
            ("bulk_reschedule_tasks", "create"): self.reschedule_tasks,
        }
        return table.get((op.resource, op.action))

    def _sub(self, op: Operation) -> Collection:
        return self.store[SUB_RESOURCES[(op.resource, op.action)][0]]

    async def sub_record(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        col = self._sub(op)
        rid = col.lookup(path_params.get("id", ""))
        if rid is None:
            return not_found()
        return json_response(f'{{"data":{col.json_of(rid)}}}')

    async def sentences(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        raw = path_params.get("id", "")
        if self.store["transcriptions"].lookup(raw) is None:
            return not_found()
        col = self._sub(op)
        q = parse_list_query(request.query.items(), op, col, self.writes.guid_of)
        q.sort_by, q.descending = "order_number", False
        wanted = frozenset({raw.lower()})
        q.equals.append(EqFilter("transcription", lambda r: r.get("id"), False, wanted, False))
        result = run_list(col, q)
        parts = ",".join(col.json_of(i) for i in result.ids)
        meta = {"filtering": {}, "paging": paging_metadata(q, result), "sorting": {}}
        return json_response(f'{{"data":[{parts}],"metadata":{json.dumps(meta)}}}')

    async def profile(self, request: web.Request, op: Operation, _: dict[str, str]) -> web.Response:
        return _data(self.store.singletons["profiles"])

    async def task_counts(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        tasks = self.store["tasks"]
        q = parse_list_query(request.query.items(), op, tasks, self.writes.guid_of)
        q.page, q.per_page = 1, max(1, len(tasks))
        ids = run_list(tasks, q).ids
        by_state = Counter(str(tasks.records[i].get("current_state")) for i in ids)
        by_type = Counter(str(tasks.records[i].get("task_type")) for i in ids)
        return _data(
            {"total": len(ids), "current_state": dict(by_state), "task_type": dict(by_type)}
        )

    async def cadence_stats(
        self, request: web.Request, op: Operation, path_params: dict[str, str]
    ) -> web.Response:
        cadences = self.store["cadences"]
        rid = cadences.lookup(path_params.get("id", ""))
        if rid is None:
            return not_found()
        cadence = cadences.records[rid]
        memberships = self.store["cadence_memberships"]
        states = Counter(
            str(m.get("current_state"))
            for m in memberships.records.values()
            if (m.get("cadence") or {}).get("id") == rid
        )
        return _data(
            {
                "cadence": self.store.ref("cadences", rid),
                "counts": cadence.get("counts") or {},
                "created_at": cadence.get("created_at"),
                "id": rid,
                "membership_states": dict(states),
                "updated_at": cadence.get("updated_at"),
            }
        )

    async def missing_tags(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        body = await read_body(request)
        people = self.store["people"]
        raw = body.get("person_id")
        pid = people.lookup(str(raw)) if raw is not None else None
        if pid is None:
            raise QueryError({"person_id": ["does not exist"]})
        person = people.records[pid]
        text = f"{body.get('subject') or ''}\n{body.get('body') or ''}"
        missing = sorted({t for t in _TAG.findall(text) if person.get(t) in (None, "")})
        return _data({"id": pid, "missing_tags": missing})

    async def reschedule_tasks(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        body = await read_body(request)
        tasks = self.store["tasks"]
        due = body.get("due_date")
        raw_ids = body.get("task_ids")
        if not isinstance(due, str) or not due:
            raise QueryError({"due_date": ["can't be blank"]})
        if not isinstance(raw_ids, list) or not raw_ids:
            raise QueryError({"task_ids": ["must be a non-empty array"]})
        found = [tasks.lookup(str(i)) for i in raw_ids]
        keys = [k for k in found if k is not None]
        if len(keys) != len(found):
            raise QueryError({"task_ids": ["contains a task that does not exist"]})
        for key in keys:
            self.writes.apply_update("tasks", tasks, key, {"due_date": due})
        return _data({"due_date": due, "task_ids": [tasks.records[k]["id"] for k in keys]})

    async def data_control(
        self, request: web.Request, op: Operation, _: dict[str, str]
    ) -> web.Response:
        body = await read_body(request)
        col = self.store["data_control_requests"]
        dry_run = body.get("dry_run")
        record: Record = {
            "dry_run": dry_run in (True, "true"),
            "events": [],
            "metadata": {k: v for k, v in body.items() if k not in ("dry_run", "team_id")},
            "request_type": DATA_CONTROL_TYPES[op.action],
            "team_id": body.get("team_id") or 1,
            "user_guid": self.writes.guid_of(1),
        }
        record = col.insert(record, self.writes.now_us())
        return json_response(f'{{"data":{col.json_of(col.key_of(record))}}}')
