"""The paginator and the resource helpers, against a fake transport (pure logic, no sockets)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from salesloft_async.errors import ConfigurationError, ConnectionFailedError
from salesloft_async.models import BulkJobResult, Person, User
from salesloft_async.pagination import Page, Paginator, Paging
from salesloft_async.resources import Resources, Upserted
from salesloft_async.resources.bulk_jobs import BulkJobTimeoutError
from salesloft_async.transport import Response

Handler = Callable[[str, str, dict[str, Any], Any], Any]


@attrs.define
class Call:
    method: str
    path: str
    params: dict[str, Any]
    json: Any
    lane: str
    expect: str


@attrs.define
class FakeTransport:
    """Answers each request with `handler(method, path, params, json)` and records it."""

    handler: Handler
    calls: list[Call] = attrs.Factory(list)
    now: float = 0.0
    slept: list[float] = attrs.Factory(list)

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Any = None,
        json: Any = None,
        lane: str = "interactive",
        expect: str = "any",
    ) -> Response:
        self.calls.append(Call(method, path, dict(params or {}), json, lane, expect))
        data = self.handler(method, path, dict(params or {}), json)
        if isinstance(data, BaseException):
            raise data
        return Response(status=200 if data is not None else 204, headers={}, data=data)


class Client(Resources):
    def __init__(self, transport: FakeTransport):
        self.transport = transport
        self._init_resources(transport)  # type: ignore[arg-type]


def client(handler: Handler) -> tuple[Client, FakeTransport]:
    t = FakeTransport(handler)
    return Client(t), t


def people_pages(n_pages: int, per_page: int = 2) -> Handler:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        page = int(params.get("page", 1))
        if page > n_pages:
            return {"data": [], "metadata": {"paging": {"current_page": page, "next_page": None}}}
        data = [{"id": (page - 1) * per_page + i + 1} for i in range(per_page)]
        nxt = page + 1 if page < n_pages else None
        paging = {"per_page": per_page, "current_page": page, "next_page": nxt, "prev_page": None}
        return {"data": data, "metadata": {"paging": paging, "sorting": {"sort_by": "id"}}}

    return handler


async def test_page_mode_follows_next_page_until_it_is_null() -> None:
    sl, t = client(people_pages(3))
    people = [p async for p in sl.people.list(per_page=2)]
    assert [p.id for p in people] == [1, 2, 3, 4, 5, 6]
    assert all(isinstance(p, Person) for p in people)
    assert [c.params["page"] for c in t.calls] == [1, 2, 3]
    assert all(c.params["per_page"] == 2 and c.expect == "list" for c in t.calls)
    assert all(c.method == "GET" and c.path == "/v2/people" for c in t.calls)


async def test_pages_expose_metadata_and_paging() -> None:
    sl, _ = client(people_pages(2))
    paginator = sl.people.list()
    pages = [page async for page in paginator.pages()]
    assert [len(p) for p in pages] == [2, 2]
    assert isinstance(pages[0], Page)
    assert pages[0].paging == Paging(per_page=2, current_page=1, next_page=2, prev_page=None)
    assert pages[0].metadata["sorting"] == {"sort_by": "id"}
    assert pages[1].next_page is None
    assert paginator.metadata is not None and paginator.pages_read == 2


async def test_stops_on_an_empty_page_even_if_next_page_is_set() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return {"data": [], "metadata": {"paging": {"next_page": 2}}}

    sl, t = client(handler)
    assert await sl.people.list().collect() == []
    assert len(t.calls) == 1


async def test_a_list_without_a_paging_block_is_read_once() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return {"data": [{"id": 1}, {"id": 2}]}

    sl, t = client(handler)
    people = await sl.people.list().collect()
    assert [p.id for p in people] == [1, 2]
    assert len(t.calls) == 1
    pages = [p async for p in sl.people.list().pages()]
    assert pages[0].paging is None and pages[0].metadata == {}


async def test_groups_are_one_unpaged_request() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return {"data": [{"id": 1, "name": "a"}], "metadata": {}}

    sl, t = client(handler)
    groups = await sl.groups.list(ids=[1, 2]).collect()
    assert [g.name for g in groups] == ["a"]
    assert len(t.calls) == 1 and "page" not in t.calls[0].params
    assert t.calls[0].params["ids"] == [1, 2]


async def test_users_without_page_is_one_request_and_with_page_pages() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        if "page" not in params:
            return {"data": [{"id": i} for i in range(1, 40)], "metadata": {}}
        page = params["page"]
        return {
            "data": [{"id": page}] if page <= 2 else [],
            "metadata": {"paging": {"next_page": page + 1 if page < 2 else None}},
        }

    sl, t = client(handler)
    everyone = await sl.users.list().collect()
    assert len(everyone) == 39 and isinstance(everyone[0], User)
    assert len(t.calls) == 1
    t.calls.clear()
    paged = await sl.users.list(page=1, per_page=1).collect()
    assert [u.id for u in paged] == [1, 2]
    assert [c.params["page"] for c in t.calls] == [1, 2]


async def test_bulk_job_results_page_by_id_gt() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        after = params.get("id", {}).get("gt", 0)
        ids = [i for i in range(after + 1, after + 3) if i <= 5]
        return {"data": [{"id": i, "status": "success"} for i in ids]}

    sl, t = client(handler)
    results = await sl.bulk_jobs.list_results(9, per_page=2).collect()
    assert [r.id for r in results] == [1, 2, 3, 4, 5]
    assert all(isinstance(r, BulkJobResult) for r in results)
    assert [c.params.get("id") for c in t.calls] == [None, {"gt": 2}, {"gt": 4}, {"gt": 5}]
    assert t.calls[0].path == "/v2/bulk_jobs/9/results"


async def test_collect_with_limit_and_first_stop_early() -> None:
    sl, t = client(people_pages(50))
    assert [p.id for p in await sl.people.list().collect(limit=3)] == [1, 2, 3]
    assert len(t.calls) == 2
    t.calls.clear()
    first = await sl.people.list().first()
    assert first is not None and first.id == 1 and len(t.calls) == 1


async def test_filters_are_passed_through_and_none_is_dropped() -> None:
    sl, t = client(people_pages(1))
    since = datetime(2024, 1, 1, tzinfo=UTC)
    await sl.people.list(
        updated_at={"gte": since}, email_addresses=["a@example.com"], sort_by="updated_at"
    ).collect()
    params = t.calls[0].params
    assert params["updated_at"] == {"gte": since}
    assert params["email_addresses"] == ["a@example.com"]
    assert "do_not_contact" not in params


async def test_bulk_lane_hooks_for_the_bulk_reader() -> None:
    sl, t = client(people_pages(2))
    page = await sl.people.fetch_page({"page": 2, "per_page": 2})
    assert [p.id for p in page.records] == [3, 4]
    assert t.calls[-1].lane == "bulk" and t.calls[-1].params == {"page": 2, "per_page": 2}
    records = [p async for p in sl.people.list_pages({"per_page": 2})]
    assert len(records) == 4 and t.calls[-1].lane == "bulk"
    listed = sl.people.list(lane="bulk")
    await listed.collect()
    assert t.calls[-1].lane == "bulk"


async def test_paginator_is_lazy() -> None:
    sl, t = client(people_pages(1))
    paginator = sl.people.list()
    assert isinstance(paginator, Paginator)
    assert t.calls == []


# -- writes -----------------------------------------------------------------------------------


def echo(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
    if method == "DELETE":
        return None
    return {"data": {"id": 11, **(json or {})}}


async def test_update_sends_only_given_fields_and_none_as_null() -> None:
    sl, t = client(echo)
    person = await sl.people.update(11, title="CTO", phone=None)
    assert t.calls[0].method == "PUT" and t.calls[0].path == "/v2/people/11"
    assert t.calls[0].json == {"title": "CTO", "phone": None}
    assert person.title == "CTO" and person.is_set("phone") and not person.is_set("city")


async def test_create_serialises_datetimes() -> None:
    sl, t = client(echo)
    due = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    await sl.tasks.create(
        subject="Call",
        person_id=1,
        user_id=2,
        task_type="call",
        due_date="2024-05-06",
        current_state="scheduled",
        remind_at=due,
    )
    body = t.calls[0].json
    assert body["remind_at"] == "2024-05-06T07:08:09.000000+00:00"
    assert body["due_date"] == "2024-05-06"


async def test_extra_fields_and_extra_params_reach_the_request() -> None:
    sl, t = client(echo)
    await sl.people.create(email_address="a@example.com", extra_fields={"new_field": 1})
    assert t.calls[0].json == {"email_address": "a@example.com", "new_field": 1}


async def test_upsert_says_whether_it_created() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return {"data": {"upsert_type": "create", "person": {"id": 3, **json}}}

    sl, t = client(handler)
    result = await sl.people.upsert(upsert_key="email_address", email_address="a@example.com")
    assert isinstance(result, Upserted)
    assert result.created is True and result.upsert_type == "create"
    assert isinstance(result.record, Person) and result.record.email_address == "a@example.com"
    assert t.calls[0].method == "POST" and t.calls[0].path == "/v2/person_upserts"

    def acct(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return {"data": {"upsert_type": "update", "account": {"id": 4, "domain": json["domain"]}}}

    sl2, t2 = client(acct)
    res = await sl2.accounts.upsert(upsert_key="domain", domain="acme.test", name="Acme")
    assert res.created is False and res.record.domain == "acme.test"
    assert t2.calls[0].path == "/v2/account_upserts"


async def test_cadence_membership_create_sends_query_parameters() -> None:
    sl, t = client(echo)
    await sl.cadence_memberships.create(person_id=5, cadence_id=7)
    assert t.calls[0].method == "POST" and t.calls[0].params == {"person_id": 5, "cadence_id": 7}


async def test_a_failed_post_is_not_retried_by_the_resource() -> None:
    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        return ConnectionFailedError("reset", method=method, path=path, sent=True)

    sl, t = client(handler)
    with pytest.raises(ConnectionFailedError):
        await sl.people.create(email_address="a@example.com")
    assert len(t.calls) == 1


async def test_missing_path_id_is_a_configuration_error_and_ids_are_quoted() -> None:
    sl, t = client(echo)
    with pytest.raises(ConfigurationError):
        await sl.people.get(None)
    assert t.calls == []
    await sl.webhook_subscriptions.get("a b:c")
    assert t.calls[0].path == "/v2/webhook_subscriptions/a%20b%3Ac"


async def test_delete_returns_none() -> None:
    sl, t = client(echo)
    assert await sl.people.delete(11) is None
    assert t.calls[0].method == "DELETE" and t.calls[0].expect == "any"


# -- bulk jobs workflow -----------------------------------------------------------------------


def bulk_server(polls_until_done: int) -> tuple[Handler, dict[str, Any]]:
    state: dict[str, Any] = {"batches": [], "gets": 0, "ready": False}

    def handler(method: str, path: str, params: dict[str, Any], json: Any) -> Any:
        if method == "POST" and path == "/v2/bulk_jobs":
            return {"data": {"id": 42, "state": "open", "type": json["type"]}}
        if method == "POST" and path == "/v2/bulk_jobs/42/job_data":
            state["batches"].append(len(json["data"]))
            return {"data": {"records": len(json["data"])}}
        if method == "PUT" and path == "/v2/bulk_jobs/42":
            state["ready"] = json == {"ready_to_execute": True}
            return {"data": {"id": 42, "state": "open", "ready_to_execute": True}}
        if method == "GET" and path == "/v2/bulk_jobs/42":
            state["gets"] += 1
            done = state["gets"] > polls_until_done
            return {"data": {"id": 42, "state": "done" if done else "executing"}}
        if method == "GET" and path == "/v2/bulk_jobs/42/results":
            after = params.get("id", {}).get("gt", 0)
            ids = [i for i in (1, 2, 3) if i > after][:2]
            return {"data": [{"id": i, "status": "success"} for i in ids]}
        raise AssertionError(f"unexpected {method} {path}")

    return handler, state


async def test_bulk_job_run_is_one_awaitable_workflow() -> None:
    handler, state = bulk_server(polls_until_done=3)
    sl, t = client(handler)
    rows = ({"email_address": f"p{i}@example.com"} for i in range(25))
    run = await sl.bulk_jobs.run("person/upsert", rows, batch_size=10, poll_interval=1.0)
    assert state["batches"] == [10, 10, 5] and state["ready"]
    assert run.records_sent == 25 and run.job.state == "done"
    assert t.slept == [1.0, 2.0, 4.0]  # exponential backoff through the injected sleep
    results = [r async for r in run]
    assert [r.id for r in results] == [1, 2, 3]
    posts = [c for c in t.calls if c.method == "POST"]
    assert len(posts) == 4  # one create + three batches, each sent exactly once


async def test_bulk_job_run_accepts_an_async_iterable_and_caps_backoff() -> None:
    handler, state = bulk_server(polls_until_done=6)

    async def rows() -> Any:
        for i in range(3):
            yield {"email_address": f"p{i}@example.com"}

    sl, t = client(handler)
    await sl.bulk_jobs.run("person/upsert", rows(), max_poll_interval=4.0)
    assert state["batches"] == [3]
    assert t.slept == [1.0, 2.0, 4.0, 4.0, 4.0, 4.0]


async def test_bulk_job_wait_gives_up_after_max_wait() -> None:
    handler, _ = bulk_server(polls_until_done=1000)
    sl, t = client(handler)
    with pytest.raises(BulkJobTimeoutError) as err:
        await sl.bulk_jobs.wait(42, poll_interval=1.0, max_wait=10.0)
    assert sum(t.slept) <= 10.0
    assert "bulk job 42" in str(err.value)


async def test_bulk_batch_size_is_validated_before_any_request() -> None:
    handler, _ = bulk_server(polls_until_done=0)
    sl, t = client(handler)
    with pytest.raises(ConfigurationError):
        await sl.bulk_jobs.run("person/upsert", [{}], batch_size=5001)
    assert t.calls == []
