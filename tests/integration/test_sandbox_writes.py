"""Writes against the sandbox: validation, upserts, memberships, bulk jobs, subscriptions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from salesloft_async.sandbox import ManualClock, Sandbox
from salesloft_async.sandbox.store import us_from_iso

SMALL = {"people": 60, "accounts": 10, "users": 3, "cadences": 3}


@pytest.fixture
async def env() -> AsyncIterator[tuple[Sandbox, aiohttp.ClientSession, ManualClock]]:
    clock = ManualClock()
    async with Sandbox(**SMALL, clock=clock, budget=100_000) as sb:
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as http:
            yield sb, http, clock


async def call(http: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, Any]:
    async with http.request(method, path, **kw) as resp:
        if resp.status == 204:
            assert await resp.read() == b""
            return 204, None
        return resp.status, await resp.json()


async def test_person_validation(env: Any) -> None:
    sb, http, _ = env
    status, body = await call(http, "POST", "/v2/people", json={"first_name": "Ada"})
    assert status == 422 and "email_address" in body["errors"]
    status, body = await call(
        http, "POST", "/v2/people", json={"phone": "+1 555", "first_name": "A"}
    )
    assert status == 422
    status, body = await call(
        http, "POST", "/v2/people", json={"phone": "+1 555", "last_name": "L"}
    )
    assert status == 200 and body["data"]["email_address"] is None
    taken = sb.store["people"].records[1]["email_address"]
    status, body = await call(http, "POST", "/v2/people", json={"email_address": taken})
    assert status == 422 and body["errors"] == {"email_address": ["has already been taken"]}
    status, body = await call(
        http, "POST", "/v2/people", json={"email_address": "x@y.z", "account_id": "x"}
    )
    assert status == 422 and body["errors"] == {"account_id": ["must be an integer"]}
    status, body = await call(
        http, "POST", "/v2/people", json={"email_address": "x@y.z", "account_id": 10_000}
    )
    assert status == 422 and body["errors"] == {"account_id": ["does not exist"]}


async def test_create_update_delete_person(env: Any) -> None:
    sb, http, clock = env
    status, body = await call(
        http,
        "POST",
        "/v2/people.json",
        data={"email_address": "ada@example.com", "first_name": "Ada", "account_id": "2"},
    )  # form-encoded, as the definition describes
    assert status == 200
    person = body["data"]
    assert person["account"] == {"_href": f"{sb.url}/v2/accounts/2", "id": 2}
    assert person["created_at"] == person["updated_at"]
    assert us_from_iso(person["created_at"]) == round(clock() * 1_000_000)
    clock.advance(5.000001)
    status, body = await call(http, "PUT", f"/v2/people/{person['id']}", json={"title": "CTO"})
    assert status == 200 and body["data"]["title"] == "CTO"
    assert us_from_iso(body["data"]["updated_at"]) - us_from_iso(person["updated_at"]) == 5_000_001
    status, body = await call(http, "GET", "/v2/people", params={"per_page": "1"})
    assert body["data"][0]["id"] == person["id"]  # the newest write leads the default order
    status, _ = await call(http, "DELETE", f"/v2/people/{person['id']}")
    assert status == 204
    status, _ = await call(http, "GET", f"/v2/people/{person['id']}")
    assert status == 404
    status, _ = await call(http, "DELETE", f"/v2/people/{person['id']}")
    assert status == 404


async def test_person_and_account_upserts(env: Any) -> None:
    sb, http, _ = env
    status, body = await call(
        http,
        "POST",
        "/v2/person_upserts",
        json={"upsert_key": "email_address", "email_address": "new@example.com", "first_name": "N"},
    )
    assert status == 200 and body["data"]["upsert_type"] == "create"
    pid = body["data"]["person"]["id"]
    status, body = await call(
        http,
        "POST",
        "/v2/person_upserts",
        json={"upsert_key": "email_address", "email_address": "NEW@example.com", "title": "VP"},
    )
    assert body["data"]["upsert_type"] == "update" and body["data"]["person"]["id"] == pid
    assert body["data"]["person"]["title"] == "VP"
    status, body = await call(http, "POST", "/v2/person_upserts", json={"email_address": "a@b.c"})
    assert status == 422 and "upsert_key" in body["errors"]
    domain = sb.store["accounts"].records[3]["domain"]
    status, body = await call(
        http,
        "POST",
        "/v2/account_upserts.json",
        json={"upsert_key": "domain", "domain": domain, "name": "Renamed"},
    )
    assert body["data"]["upsert_type"] == "update" and body["data"]["account"]["id"] == 3
    status, body = await call(http, "POST", "/v2/accounts", json={"name": "Dup", "domain": domain})
    assert status == 422 and "domain" in body["errors"]
    status, body = await call(http, "POST", "/v2/accounts", json={"name": "No domain"})
    assert status == 422 and body["errors"] == {"domain": ["can't be blank"]}


async def test_cadence_membership_lifecycle(env: Any) -> None:
    sb, http, _ = env
    on = {
        (m["person"]["id"], m["cadence"]["id"])
        for m in sb.store["cadence_memberships"].records.values()
    }
    pid, cid = next((p, c) for p in range(1, 61) for c in range(1, 4) if (p, c) not in on)
    status, body = await call(
        http,
        "POST",
        "/v2/cadence_memberships",
        params={"person_id": str(pid), "cadence_id": str(cid)},
    )
    assert status == 200 and body["data"]["currently_on_cadence"] is True
    mid = body["data"]["id"]
    status, person = await call(http, "GET", f"/v2/people/{pid}")
    assert cid in [c["id"] for c in person["data"]["cadences"]]
    status, body = await call(
        http, "POST", "/v2/cadence_memberships", json={"person_id": pid, "cadence_id": cid}
    )
    assert status == 422
    status, body = await call(
        http, "POST", "/v2/cadence_memberships", json={"person_id": pid, "cadence_id": 999}
    )
    assert status == 422 and body["errors"] == {"cadence_id": ["does not exist"]}
    status, _ = await call(http, "DELETE", f"/v2/cadence_memberships/{mid}.json")
    assert status == 204
    status, body = await call(http, "GET", f"/v2/cadence_memberships/{mid}")
    assert body["data"]["currently_on_cadence"] is False
    status, person = await call(http, "GET", f"/v2/people/{pid}")
    assert cid not in [c["id"] for c in person["data"]["cadences"]]


async def test_tasks_notes_and_generic_writes(env: Any) -> None:
    _, http, _ = env
    status, body = await call(
        http,
        "POST",
        "/v2/tasks",
        json={
            "subject": "Call",
            "person_id": 1,
            "user_id": 1,
            "task_type": "call",
            "due_date": "2026-01-02",
            "current_state": "scheduled",
        },
    )
    assert status == 200
    tid = body["data"]["id"]
    status, body = await call(http, "PUT", f"/v2/tasks/{tid}", json={"current_state": "completed"})
    assert body["data"]["current_state"] == "completed" and body["data"]["completed_at"]
    status, body = await call(http, "POST", "/v2/notes", json={"content": "hi"})
    assert status == 422 and set(body["errors"]) == {"associated_with_type", "associated_with_id"}
    status, body = await call(http, "POST", "/v2/person_stages", json={"name": "Fresh"})
    assert status == 200 and body["data"]["name"] == "Fresh"
    status, body = await call(
        http, "PUT", f"/v2/person_stages/{body['data']['id']}", json={"name": "Old"}
    )
    assert body["data"]["name"] == "Old"
    status, body = await call(
        http, "POST", "/v2/custom_fields", json={"name": "Tier", "field_type": "person"}
    )
    assert status == 200


async def test_webhook_subscription_crud(env: Any) -> None:
    _, http, _ = env
    status, body = await call(
        http,
        "POST",
        "/v2/webhook_subscriptions",
        json={
            "callback_url": "http://127.0.0.1:9/hook",
            "callback_token": "secret",
            "event_type": "person_created",
        },
    )
    assert status == 200 and body["data"]["enabled"] is True
    sid = body["data"]["id"]
    status, body = await call(
        http,
        "POST",
        "/v2/webhook_subscriptions",
        json={
            "callback_url": "http://127.0.0.1:9/hook",
            "callback_token": "s",
            "event_type": "nonsense",
        },
    )
    assert status == 422 and "event_type" in body["errors"]
    status, body = await call(
        http, "PUT", f"/v2/webhook_subscriptions/{sid}", json={"enabled": False}
    )
    assert body["data"]["enabled"] is False
    status, body = await call(http, "GET", "/v2/webhook_subscriptions", params={"enabled": "true"})
    assert body["data"] == []
    status, body = await call(http, "GET", "/v2/webhook_subscriptions")
    assert [s["id"] for s in body["data"]] == [sid]
    status, _ = await call(http, "DELETE", f"/v2/webhook_subscriptions/{sid}")
    assert status == 204


async def test_bulk_job_workflow(env: Any) -> None:
    sb, http, _ = env
    status, body = await call(
        http, "POST", "/v2/bulk_jobs", json={"type": "person/upsert", "name": "load"}
    )
    assert status == 200 and body["data"]["state"] == "open"
    job = body["data"]["id"]
    existing = sb.store["people"].records[2]["email_address"]
    batch1 = [
        {
            "email_address": f"bulk{i}@example.com",
            "first_name": f"B{i}",
            "upsert_key": "email_address",
        }
        for i in range(150)
    ]
    batch2 = [
        {"email_address": existing, "title": "Bulk", "upsert_key": "email_address"},
        {"first_name": "nobody", "upsert_key": "email_address"},
    ]
    for batch in (batch1, batch2):
        status, body = await call(
            http, "POST", f"/v2/bulk_jobs/{job}/job_data", json={"data": batch}
        )
        assert status == 200 and body["data"] == {"records": len(batch)}
    status, body = await call(http, "PUT", f"/v2/bulk_jobs/{job}", json={"ready_to_execute": True})
    assert body["data"]["state"] == "executing" and body["data"]["total"] == 152
    status, body = await call(http, "POST", f"/v2/bulk_jobs/{job}/job_data", json={"data": batch2})
    assert status == 422
    for _ in range(100):
        status, body = await call(http, "GET", f"/v2/bulk_jobs/{job}")
        if body["data"]["state"] == "done":
            break
        await asyncio.sleep(0)
    assert body["data"]["state"] == "done"
    assert body["data"]["processed"] == 152 and body["data"]["errors"] == 1
    assert sb.store["people"].records[2]["title"] == "Bulk"
    results: list[dict[str, Any]] = []
    after = 0
    while True:
        status, body = await call(
            http,
            "GET",
            f"/v2/bulk_jobs/{job}/results",
            params={"per_page": "100", "id[gt]": str(after)},
        )
        results.extend(body["data"])
        if not body["data"]:
            break
        after = body["data"][-1]["id"]
    assert len(results) == 152
    assert [r["status"] for r in results].count("error") == 1
    status, body = await call(http, "GET", "/v2/bulk_jobs", params={"state[]": "done"})
    assert [j["id"] for j in body["data"]] == [job]
    status, body = await call(http, "POST", "/v2/bulk_jobs", json={"type": "rocket/launch"})
    assert status == 422


def sample_value(param: Any) -> Any:
    if param.name.endswith("_id") and param.type in ("integer", "string"):
        return 1
    if param.array:
        return [1] if param.type == "integer" else []
    return {"integer": 1, "number": 1.5, "boolean": True, "object": {}}.get(param.type, "x")


async def test_every_write_operation_answers(env: Any) -> None:
    """Each POST/PUT/DELETE of the definition is served: no 404 for a route, never a 5xx."""
    from salesloft_async._operations import OPERATIONS

    sb, http, _ = env
    special = {"create_bulk_jobs", "update_bulk_jobs", "create_job_data_bulk_jobs"}
    for op in OPERATIONS:
        if op.method == "GET" or op.resource in ("bulk_jobs",) or op.name in special:
            continue
        body = {p.name: sample_value(p) for p in op.body if p.required}
        path = op.path
        if "{id}" in path:
            col = sb.store["meeting_settings" if op.action == "update_setting" else op.resource]
            path = path.replace("{id}", str(col.records[col.ids[-1]]["id"] if col.ids else 1))
        status, answer = await call(http, op.method, path, json=body)
        assert status < 500, (op.name, status, answer)
        if op.resource == "webhook_subscriptions":
            assert status in (200, 204, 404, 422), op.name
        elif op.method == "DELETE":
            assert status == 204, (op.name, answer)
        elif op.resource == "cadence_memberships":
            assert status in (200, 422), (op.name, answer)
        else:
            assert status in (200, 201, 422), (op.name, status, answer)
            if status == 422 and op.resource not in ("people", "accounts", "notes", "tasks"):
                raise AssertionError((op.name, answer))


@pytest.mark.filterwarnings("ignore:Sending a large body:ResourceWarning")  # client-side advice
async def test_a_full_bulk_batch_fits_in_one_body(env: Any) -> None:
    _, http, _ = env
    status, body = await call(http, "POST", "/v2/bulk_jobs", json={"type": "person/upsert"})
    rows = [
        {
            "email_address": f"b{i}@example.com",
            "first_name": "x" * 200,
            "upsert_key": "email_address",
        }
        for i in range(5_000)
    ]
    status, body = await call(
        http, "POST", f"/v2/bulk_jobs/{body['data']['id']}/job_data", json={"data": rows}
    )
    assert status == 200 and body["data"] == {"records": 5_000}


async def test_body_fields_land_on_the_record_fields(env: Any) -> None:
    sb, http, _ = env
    status, body = await call(
        http, "POST", "/v2/activities/calls", json={"person_id": 4, "duration": 30}
    )
    assert status == 200
    assert body["data"]["called_person"] == {"_href": f"{sb.url}/v2/people/4", "id": 4}
    assert "person" not in body["data"]
    status, body = await call(
        http,
        "POST",
        "/v2/notes",
        json={"content": "x", "associated_with_type": "account", "associated_with_id": 2},
    )
    assert body["data"]["associated_type"] == "account"
    assert body["data"]["associated_with"]["_href"] == f"{sb.url}/v2/accounts/2"
    status, body = await call(
        http,
        "POST",
        "/v2/notes",
        json={"content": "x", "associated_with_type": "account", "associated_with_id": 9_999},
    )
    assert status == 422 and body["errors"] == {"associated_with_id": ["does not exist"]}


async def test_deleting_a_person_marks_their_memberships(env: Any) -> None:
    sb, http, _ = env
    membership = next(iter(sb.store["cadence_memberships"].records.values()))
    pid = membership["person"]["id"]
    status, _ = await call(http, "DELETE", f"/v2/people/{pid}")
    assert status == 204
    status, body = await call(http, "GET", f"/v2/cadence_memberships/{membership['id']}")
    assert body["data"]["person_deleted"] is True
    assert body["data"]["currently_on_cadence"] is False


async def test_every_body_field_is_accepted_without_a_crash(env: Any) -> None:
    from salesloft_async._operations import OPERATIONS

    sb, http, _ = env
    for op in OPERATIONS:
        if op.method not in ("POST", "PUT") or op.resource == "bulk_jobs":
            continue
        body = {p.name: sample_value(p) for p in op.body}
        path = op.path
        if "{id}" in path:
            col = sb.store["meeting_settings" if op.action == "update_setting" else op.resource]
            path = path.replace("{id}", str(col.ids[0] if col.ids else 1))
        for payload in (body, {k: "not a number" for k in body}):
            status, answer = await call(http, op.method, path, json=payload)
            assert status < 500, (op.name, payload, answer)
