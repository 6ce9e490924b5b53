"""List and get reads of the sandbox over real sockets: paging, metadata, filters, sorting, 422s."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from salesloft_async.sandbox import Sandbox
from salesloft_async.sandbox.store import iso_from_us, us_from_iso

SMALL = {"people": 400, "accounts": 30, "users": 4, "cadences": 5, "big_cluster": 150}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(**SMALL, budget=1_000_000) as sandbox:
        yield sandbox


@pytest_asyncio.fixture(loop_scope="module")
async def http(sb: Sandbox) -> AsyncIterator[aiohttp.ClientSession]:
    headers = {"Authorization": f"Bearer {sb.api_key}"}
    async with aiohttp.ClientSession(base_url=sb.url, headers=headers) as session:
        yield session


async def get(http: aiohttp.ClientSession, path: str, **params: Any) -> tuple[int, Any]:
    async with http.get(path, params=params or None) as resp:
        return resp.status, await resp.json()


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_default_page_and_metadata(http: aiohttp.ClientSession) -> None:
    status, body = await get(http, "/v2/people")
    assert status == 200
    assert len(body["data"]) == 25
    assert body["metadata"]["paging"] == {
        "per_page": 25,
        "current_page": 1,
        "next_page": 2,
        "prev_page": None,
    }
    assert body["metadata"]["sorting"] == {"sort_by": "updated_at", "sort_direction": "DESC"}
    stamps = [us_from_iso(p["updated_at"]) for p in body["data"]]
    assert stamps == sorted(stamps, reverse=True)


async def test_paging_counts_clamping_and_past_the_end(http: aiohttp.ClientSession) -> None:
    _, body = await get(http, "/v2/people", per_page="1000", include_paging_counts="true")
    assert len(body["data"]) == 100
    paging = body["metadata"]["paging"]
    assert paging["per_page"] == 100
    assert paging["total_count"] == 400 and paging["total_pages"] == 4
    _, body = await get(http, "/v2/people", per_page="0")
    assert body["metadata"]["paging"]["per_page"] == 1 and len(body["data"]) == 1
    _, body = await get(http, "/v2/people", page="4", per_page="100")
    assert len(body["data"]) == 100 and body["metadata"]["paging"]["next_page"] is None
    _, body = await get(http, "/v2/people", page="9", per_page="100")
    assert body["data"] == []
    assert body["metadata"]["paging"]["prev_page"] == 8
    _, body = await get(http, "/v2/people", per_page="100", include_paging_counts="true")
    assert "total_count" in body["metadata"]["paging"]
    _, plain = await get(http, "/v2/people", per_page="100")
    assert "total_count" not in plain["metadata"]["paging"]


async def test_pages_partition_the_collection(http: aiohttp.ClientSession) -> None:
    seen: list[int] = []
    for page in range(1, 5):
        _, body = await get(http, "/v2/people", page=str(page), per_page="100")
        seen.extend(p["id"] for p in body["data"])
    assert sorted(seen) == list(range(1, 401))


async def test_json_suffix_and_get_one(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    status, body = await get(http, "/v2/people/7.json")
    assert status == 200 and body["data"]["id"] == 7
    assert body["data"]["owner"]["_href"].startswith(f"{sb.url}/v2/users/")
    assert body["data"]["updated_at"].endswith("Z") and "." in body["data"]["updated_at"]
    status, body = await get(http, "/v2/people.json", per_page="2")
    assert status == 200 and len(body["data"]) == 2
    status, body = await get(http, "/v2/people/99999")
    assert status == 404 and body == {"error": "Not Found"}
    status, body = await get(http, "/v2/no_such_things")
    assert status == 404 and "error" in body


async def test_ids_filter_and_echo(http: aiohttp.ClientSession) -> None:
    async with http.get("/v2/people?ids[]=3&ids[]=5&ids[]=99999") as resp:
        body = await resp.json()
    assert sorted(p["id"] for p in body["data"]) == [3, 5]
    assert body["metadata"]["filtering"] == {"ids": ["3", "5", "99999"]}


async def test_big_cluster_and_microsecond_ranges(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    counts = Counter(updated for _, updated in sb.store["people"].times.values())
    stamp, size = counts.most_common(1)[0]
    assert size >= 150
    iso = iso_from_us(stamp)
    _, body = await get(
        http,
        "/v2/people",
        **{"updated_at[gte]": iso, "updated_at[lte]": iso, "include_paging_counts": "true"},
    )
    assert body["metadata"]["paging"]["total_count"] == size
    _, body = await get(
        http, "/v2/people", **{"updated_at[gt]": iso, "sort_direction": "ASC", "per_page": "100"}
    )
    assert all(us_from_iso(p["updated_at"]) > stamp for p in body["data"])
    # one microsecond earlier includes the cluster under [gt]; one later excludes it under [lt]
    before = iso_from_us(stamp - 1)
    _, body = await get(
        http,
        "/v2/people",
        **{
            "updated_at[gt]": before,
            "updated_at[lt]": iso_from_us(stamp + 1),
            "include_paging_counts": "1",
        },
    )
    assert body["metadata"]["paging"]["total_count"] == size
    _, body = await get(http, "/v2/people", **{"updated_at[lt]": iso, "include_paging_counts": "1"})
    below = sum(1 for u in counts.elements() if u < stamp)
    assert body["metadata"]["paging"]["total_count"] == below
    assert body["metadata"]["filtering"] == {"updated_at": {"lt": iso}}


async def test_offset_timestamps_are_understood(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    stamp = sorted(u for _, u in sb.store["people"].times.values())[200]
    iso = iso_from_us(stamp).replace("Z", "+00:00")
    _, body = await get(
        http, "/v2/people", **{"updated_at[lte]": iso, "include_paging_counts": "1"}
    )
    expected = sum(1 for _, u in sb.store["people"].times.values() if u <= stamp)
    assert body["metadata"]["paging"]["total_count"] == expected


async def test_created_at_range_and_sort(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    created = sorted(c for c, _ in sb.store["people"].times.values())
    pivot = created[100]
    _, body = await get(
        http,
        "/v2/people",
        sort_by="created_at",
        sort_direction="ASC",
        per_page="100",
        **{"created_at[gte]": iso_from_us(pivot)},
    )
    stamps = [us_from_iso(p["created_at"]) for p in body["data"]]
    assert stamps[0] == pivot and stamps == sorted(stamps)
    assert body["metadata"]["sorting"] == {"sort_by": "created_at", "sort_direction": "ASC"}


async def test_sort_by_other_field(http: aiohttp.ClientSession) -> None:
    _, body = await get(http, "/v2/accounts", sort_by="name", sort_direction="ASC", per_page="30")
    names = [a["name"].lower() for a in body["data"]]
    assert names == sorted(names)


async def test_equality_filters(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    person = sb.store["people"].records[11]
    async with http.get(
        "/v2/people", params=[("email_addresses[]", person["email_address"].upper())]
    ) as resp:
        body = await resp.json()
    assert [p["id"] for p in body["data"]] == [11]
    account_id = next(
        p["account"]["id"] for p in sb.store["people"].records.values() if p["account"]
    )
    async with http.get(
        "/v2/people", params=[("account_id[]", str(account_id)), ("per_page", "100")]
    ) as resp:
        body = await resp.json()
    assert body["data"] and all(p["account"]["id"] == account_id for p in body["data"])
    expected = sum(
        1
        for p in sb.store["people"].records.values()
        if p["account"] and p["account"]["id"] == account_id
    )
    assert len(body["data"]) == expected
    membership = next(iter(sb.store["cadence_memberships"].records.values()))
    pid, cid = membership["person"]["id"], membership["cadence"]["id"]
    _, body = await get(http, "/v2/cadence_memberships", person_id=str(pid), cadence_id=str(cid))
    assert [m["id"] for m in body["data"]] == [membership["id"]]
    async with http.get(
        "/v2/people", params=[("cadence_id[]", str(cid)), ("per_page", "100")]
    ) as resp:
        body = await resp.json()
    on_cadence = {
        m["person"]["id"]
        for m in sb.store["cadence_memberships"].records.values()
        if m["cadence"]["id"] == cid and m["currently_on_cadence"]
    }
    assert {p["id"] for p in body["data"]} == on_cadence
    _, body = await get(http, "/v2/activities/calls", per_page="100", **{"person_id[]": str(pid)})
    assert all(c["called_person"]["id"] == pid for c in body["data"])
    _, body = await get(http, "/v2/tasks", per_page="100", **{"current_state[]": "completed"})
    assert body["data"] and all(t["current_state"] == "completed" for t in body["data"])
    _, body = await get(http, "/v2/people", do_not_contact="true", per_page="100")
    assert body["data"] and all(p["do_not_contact"] for p in body["data"])


async def test_bad_values_answer_422_and_unknown_filters_are_ignored(
    http: aiohttp.ClientSession,
) -> None:
    status, body = await get(http, "/v2/people", **{"updated_at[gt]": "yesterday"})
    assert status == 422 and "updated_at[gt]" in body["errors"]
    status, body = await get(http, "/v2/people", **{"account_id[]": "abc"})
    assert status == 422 and body["errors"] == {"account_id": ["must be an integer"]}
    status, body = await get(http, "/v2/people", do_not_contact="maybe")
    assert status == 422
    status, body = await get(http, "/v2/people", sort_direction="sideways")
    assert status == 422 and "sort_direction" in body["errors"]
    status, body = await get(http, "/v2/people", page="two")
    assert status == 422
    status, body = await get(http, "/v2/people", favourite_colour="blue", per_page="3")
    assert status == 200 and len(body["data"]) == 3 and body["metadata"]["filtering"] == {}


async def test_groups_have_no_paging_and_users_answer_everyone(http: aiohttp.ClientSession) -> None:
    _, body = await get(http, "/v2/groups")
    assert body["data"] and "paging" not in body["metadata"]
    _, body = await get(http, "/v2/users", per_page="2")
    assert len(body["data"]) == 4
    _, body = await get(http, "/v2/users", per_page="2", page="1")
    assert len(body["data"]) == 2 and body["metadata"]["paging"]["next_page"] == 2


async def test_me_and_team(http: aiohttp.ClientSession) -> None:
    status, body = await get(http, "/v2/me")
    assert status == 200 and body["data"]["id"] == 1 and body["data"]["guid"]
    status, body = await get(http, "/v2/team.json")
    assert status == 200 and body["data"]["name"]


async def test_every_read_operation_is_served(http: aiohttp.ClientSession, sb: Sandbox) -> None:
    from salesloft_async._operations import OPERATIONS

    for op in OPERATIONS:
        if op.method != "GET":
            continue
        path = op.path
        if "{" in path:
            if op.resource in ("bulk_jobs", "webhook_subscriptions"):
                continue  # they start empty; their own tests read them back
            col = sb.store[op.resource]
            path = path.replace("{id}", str(col.records[col.ids[0]]["id"]))
        status, body = await get(http, path)
        assert status == 200, (op.name, status, body)
        assert "data" in body, op.name


async def test_unauthorized(sb: Sandbox) -> None:
    async with aiohttp.ClientSession(base_url=sb.url) as session:
        async with session.get("/v2/people") as resp:
            assert resp.status == 401
            assert "error" in await resp.json()
        async with session.get("/v2/people", headers={"Authorization": "Bearer ak_nope"}) as resp:
            assert resp.status == 401


async def test_a_list_ignores_filters_and_sorts_its_definition_does_not_list(
    http: aiohttp.ClientSession, sb: Sandbox
) -> None:
    """As Salesloft does: /tasks lists neither an updated_at filter nor an updated_at sort."""
    tasks = sb.store["tasks"]
    pivot = sorted(u for _, u in tasks.times.values())[len(tasks) // 2]
    params = {
        "sort_by": "updated_at",
        "sort_direction": "ASC",
        "updated_at[gt]": iso_from_us(pivot),
        "include_paging_counts": "1",
    }
    status, body = await get(http, "/v2/tasks", **params)
    assert status == 200
    assert body["metadata"]["paging"]["total_count"] == len(tasks)  # the filter did nothing
    assert body["metadata"]["sorting"]["sort_by"] == "due_date"  # nor the sort key
    # people list both, and honour them
    people = sb.store["people"]
    pivot = sorted(u for _, u in people.times.values())[len(people) // 2]
    params["updated_at[gt]"] = iso_from_us(pivot)
    status, body = await get(http, "/v2/people", **params)
    expected = sum(1 for _, u in people.times.values() if u > pivot)
    assert body["metadata"]["paging"]["total_count"] == expected
    assert body["metadata"]["sorting"]["sort_by"] == "updated_at"


async def test_every_declared_filter_is_accepted(http: aiohttp.ClientSession) -> None:
    """Each query parameter of each list, given a well-formed value, answers 200 (never 5xx)."""
    from salesloft_async._operations import OPERATIONS

    control = {"page", "per_page", "sort_by", "sort_direction"}
    samples = {"integer": "1", "boolean": "true", "datetime": "2025-01-01T00:00:00.000001Z"}
    for op in OPERATIONS:
        if op.method != "GET" or "{" in op.path:
            continue
        for param in op.query:
            if param.name in control:
                continue
            value = samples.get(param.type, "x")
            if param.range:
                key = f"{param.name}[gte]"
                value = "1" if param.name == "id" else samples["datetime"]
            elif param.array:
                key = f"{param.name}[]"
            else:
                key = param.name
            async with http.get(op.path, params={key: value}) as resp:
                assert resp.status == 200, (op.name, key, resp.status, await resp.text())
