"""SalesloftPool against the sandbox over loopback: one session, the team learned once per
credential, and a malformed /v2/me from a hostile server surfacing as a named error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import CostBudget, SalesloftPool
from salesloft_async.auth import ApiKey
from salesloft_async.errors import (
    ConfigurationError,
    PermissionDeniedError,
    ResponseDecodeError,
)
from salesloft_async.sandbox import Sandbox


@pytest.fixture
async def sb() -> AsyncIterator[Sandbox]:
    async with Sandbox(people=20, accounts=5, users=3, cadences=2) as sandbox:
        yield sandbox


async def test_concurrent_first_calls_of_one_credential_ask_me_once(sb: Sandbox) -> None:
    made: list[int] = []

    def budget_for(team: int) -> CostBudget:
        made.append(team)
        return CostBudget(600, 60)

    async with SalesloftPool(base_url=sb.url, budget_for=budget_for) as pool:
        key = ApiKey(sb.api_key)
        clients = [pool.client(auth=key) for _ in range(10)]
        clients += [pool.client(sb.api_key) for _ in range(10)]  # the same key, other objects
        await asyncio.gather(*(c.request("GET", "/v2/people") for c in clients))
        assert sb.counters["path:/v2/me"] == 1 and pool.lookups == 1
        later = pool.client(sb.api_key)
        await later.request("GET", "/v2/people")
        assert sb.counters["path:/v2/me"] == 1  # remembered for the pool's life
        assert made == [1]  # one budget for the team, made once
        assert all(c.transport.session is pool.session for c in clients)
        for c in clients:
            await c.close()
        assert not pool.session.closed  # a client made by the pool leaves its session open
        session = pool.session
        assert sb.api_key not in repr(pool) and sb.api_key not in repr(later)
    assert session.closed  # closing the pool closes it
    with pytest.raises(ConfigurationError, match="closed"):
        pool.client(sb.api_key)


class Bearer:
    """An auth hook of the user's own: the pool remembers its team by the object's identity."""

    def __init__(self, key: str):
        self.key = key

    async def authorization(self) -> str:
        return f"Bearer {self.key}"

    async def on_unauthorized(self, used: str) -> bool:
        return False


async def test_an_auth_object_is_one_credential_however_many_clients_use_it(sb: Sandbox) -> None:
    async with SalesloftPool(base_url=sb.url) as pool:
        one, other = Bearer(sb.api_key), Bearer(sb.api_key)
        for auth in (one, one, other, one):
            await pool.client(auth=auth).request("GET", "/v2/people")
        assert await pool.team_of(other) == 1
        assert sb.counters["path:/v2/me"] == pool.lookups == 2
        del other  # forgotten with the object: nothing is kept for a credential no one holds
        assert len(pool._hook_teams) == 1
        budget = pool.budget(1)  # the default factory: Salesloft's budget
        assert isinstance(budget, CostBudget) and (budget.limit, budget.window) == (600, 60)


class BearerOf:
    __slots__ = ()
    key: str

    async def authorization(self) -> str:
        return f"Bearer {self.key}"

    async def on_unauthorized(self, used: str) -> bool:
        return False


@dataclass
class DataBearer(BearerOf):
    """Compared by value, so unhashable: still one credential per object."""

    key: str


@dataclass(frozen=True, slots=True)
class SlottedBearer(BearerOf):
    """Hashable, but no weak reference can be made to it: asked about by each new client."""

    key: str


async def test_an_unhashable_or_unweakrefable_auth_object_is_a_credential_too(
    sb: Sandbox,
) -> None:
    async with SalesloftPool(base_url=sb.url) as pool:
        one, same = DataBearer(sb.api_key), DataBearer(sb.api_key)
        assert one == same  # equal, yet two credentials: the pool goes by identity
        clients = [pool.client(auth=a) for a in (one, one, same)]
        await asyncio.gather(*(c.request("GET", "/v2/people") for c in clients))
        await pool.client(auth=one).request("GET", "/v2/people")
        assert pool.lookups == 2 and await pool.team_of(one) == 1
        slotted = SlottedBearer(sb.api_key)
        sl = pool.client(auth=slotted)
        await asyncio.gather(*(sl.request("GET", "/v2/people") for _ in range(3)))
        await sl.request("GET", "/v2/people")
        assert pool.lookups == 3  # one for the client's concurrent first calls
        await pool.client(auth=slotted).request("GET", "/v2/people")
        assert pool.lookups == 4  # not remembered past its client
        assert sb.counters["path:/v2/me"] == 4


async def test_a_given_team_needs_no_lookup_and_a_failed_lookup_is_asked_again(
    sb: Sandbox,
) -> None:
    async with SalesloftPool(base_url=sb.url) as pool:
        for bad in ("7", True, 0, -7, 2**63):
            with pytest.raises(ConfigurationError, match="team_id must be a positive int"):
                pool.client(sb.api_key, team_id=bad)  # type: ignore[arg-type]
        sl = pool.client(sb.api_key, team_id=7)
        assert sl.budget is pool.budget(7)
        await sl.request("GET", "/v2/people")
        assert sb.counters["path:/v2/me"] == 0
        sb.faults.add("/v2/me", error_rate=1.0, error_status=403, times=1)  # not retried
        with pytest.raises(PermissionDeniedError):
            await pool.client(sb.api_key).request("GET", "/v2/people")
        await pool.client(sb.api_key).request("GET", "/v2/people")
        assert pool.lookups == 2 and sorted(pool.budgets) == [1, 7]


@pytest.mark.parametrize(
    "team",
    [{"id": "five"}, None, [], {}, {"id": True}, {"id": 1.0}, {"id": 0}, {"id": -5}, {"id": 2**63}],
)
async def test_a_me_without_a_team_is_a_named_error(team: object) -> None:
    async def me(request: web.Request) -> web.Response:
        return web.json_response({"data": {"id": 5, "team": team}})

    app = web.Application()
    app.router.add_get("/v2/me", me)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        async with SalesloftPool(base_url=str(server.make_url(""))) as pool:
            with pytest.raises(ResponseDecodeError, match="team_id=") as err:
                await pool.client("ak_test").request("GET", "/v2/people")
            assert pool.budgets == {}
            assert "ak_test" not in str(err.value) and "ak_test" not in repr(err.value)
    finally:
        await server.close()


async def test_two_teams_through_one_pool_each_spend_their_own_budget_without_a_429() -> None:
    limit, window = 20, 1.0
    async with (
        Sandbox(teams=2, people=20, accounts=5, users=3, budget=limit, window=window) as sb,
        SalesloftPool(base_url=sb.url, budget_for=lambda team: CostBudget(limit, window)) as pool,
    ):
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.5 * window

        async def worker(key: str) -> None:
            sl = pool.client(key)  # the team of each key is learned, not given
            while loop.time() < deadline:
                await sl.request("GET", "/v2/people", params={"per_page": 1})

        # team 1 saturates its budget with 30 callers; team 2 spends alongside with 5
        keys = [sb.teams[1].api_key] * 30 + [sb.teams[2].api_key] * 5
        await asyncio.gather(*(worker(k) for k in keys))
        one, two = sb.teams[1], sb.teams[2]
        assert one.counters["rate_limited"] == two.counters["rate_limited"] == 0
        assert pool.lookups == 2 and sorted(pool.budgets) == [1, 2]
        assert max(one.budget.spent.values()) <= limit and max(two.budget.spent.values()) <= limit
        # in some window both teams spent their full budget: one shared budget could not have
        spent = one.budget.spent
        assert max(spent[w] + two.budget.spent.get(w, 0) for w in spent) == 2 * limit


async def test_a_redis_budget_per_team_from_the_factory() -> None:
    import uuid

    from salesloft_async.redis import RedisBudget, budget_key
    from tests.redis_support import redis_or_skip

    redis = await redis_or_skip()
    run = f"pool-{uuid.uuid4().hex[:12]}"
    try:
        async with (
            Sandbox(teams=2, people=20, accounts=5, users=3) as sb,
            SalesloftPool(
                base_url=sb.url,
                budget_for=lambda team: RedisBudget(redis, budget_key(f"{run}-{team}")),
            ) as pool,
        ):
            for team in sb.teams.values():
                await pool.client(team.api_key).request("GET", "/v2/people")
            for team_id, budget in pool.budgets.items():
                assert isinstance(budget, RedisBudget)
                assert budget.key == budget_key(f"{run}-{team_id}")
                await budget.drain()
                # the team's /v2/me lookup and its one request, both charged to its own budget
                assert (await budget.shared_stats()).spent == 2
            assert sorted(pool.budgets) == [1, 2]
    finally:
        keys = [k async for k in redis.scan_iter(f"salesloft:{{{run}-*")]
        if keys:
            await redis.delete(*keys)
        await redis.aclose()


def test_clients_are_made_inside_a_running_loop() -> None:
    pool = SalesloftPool()  # building the pool opens nothing
    with pytest.raises(ConfigurationError, match="running event loop"):
        pool.client("ak_test")


async def test_a_pool_client_reads_in_bulk_watching_its_teams_budget(sb: Sandbox) -> None:
    from salesloft_async.bulk import _saturation

    small = CostBudget(3, 60, reserve_share=0.0)
    async with SalesloftPool(base_url=sb.url, budget_for=lambda team: small) as pool:
        sl = pool.client(sb.api_key)
        saturated = _saturation(sl.transport)
        assert saturated is not None and not saturated()  # no team yet: nothing queues
        assert len([p async for p in sl.people.read_all(per_page=100)]) == 20
        assert sl.budget.stats == small.stats  # the lookup and the page, on the team's budget
        waiting = [asyncio.create_task(sl.request("GET", "/v2/people")) for _ in range(3)]
        for _ in range(100):  # let them reach the budget: one fits, the rest queue
            if saturated():
                break
            await asyncio.sleep(0)
        assert saturated()  # a bulk read on this client sees the team's queue and splits no more
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)


async def test_a_given_session_outlives_the_pool(sb: Sandbox) -> None:
    async with aiohttp.ClientSession() as session:
        async with SalesloftPool(base_url=sb.url, session=session) as pool:
            sl = pool.client(sb.api_key, team_id=1)
            await sl.request("GET", "/v2/people")
            assert sl.transport.session is session
        assert not session.closed  # the app's own session: closing the pool leaves it open
        with pytest.raises(ConfigurationError, match="closed"):
            pool.client(sb.api_key)


async def test_no_key_in_the_pools_logs_or_errors(
    sb: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="salesloft_async")
    async with SalesloftPool(base_url=sb.url) as pool:
        sb.faults.add("/v2/me", error_rate=1.0, error_status=403, times=1)
        with pytest.raises(PermissionDeniedError) as denied:
            await pool.client(sb.api_key).request("GET", "/v2/people")
        sl = pool.client(auth=ApiKey(sb.api_key))
        await sl.request("GET", "/v2/people")
        seen = [repr(pool), repr(sl), repr(sl.budget), str(denied.value), repr(denied.value)]
        seen += [repr(b) for b in pool.budgets.values()]
    assert caplog.records  # the requests were logged, and what was logged holds no key
    for text in [*seen, caplog.text, *(repr(r.args) for r in caplog.records)]:
        assert sb.api_key not in text


async def test_mirrors_of_two_teams_through_one_pool(tmp_path: Path) -> None:
    """What `salesloft-async mirror` does for one team, a many-team app does with pool clients."""
    from salesloft_async.mirror import Mirror, SqliteStore

    async with (
        Sandbox(teams=2, people=30, users=2) as sb,
        SalesloftPool(base_url=sb.url) as pool,
    ):
        for team in sb.teams.values():
            store = SqliteStore(str(tmp_path / f"team{team.id}.db"))
            async with Mirror(pool.client(team.api_key), store, ["people"]) as mirror:
                await mirror.run(once=True)
            assert mirror.stats["people"].loaded == 30
        assert pool.lookups == 2 and sorted(pool.budgets) == [1, 2]
        for team in sb.teams.values():  # each team's reads went to its own budget, on both sides
            budget = pool.budget(team.id)
            assert isinstance(budget, CostBudget)
            assert budget.stats.spent == team.counters["cost"] > 1


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"connections": 0}, "connections must be an int of at least 1"),
        ({"connections": "5"}, "connections must be an int"),
        ({"connections": 2.5}, "connections must be an int"),
        ({"budget_for": None}, "budget_for must be a function"),
        ({"session": "http://127.0.0.1"}, "session must be an aiohttp.ClientSession"),
    ],
)
def test_a_pool_made_wrong_says_what_to_give(kwargs: dict[str, object], says: str) -> None:
    with pytest.raises(ConfigurationError, match=says):
        SalesloftPool(base_url="http://127.0.0.1:1", **kwargs)  # type: ignore[arg-type]


async def test_a_factory_that_makes_no_budget_is_named() -> None:
    async with SalesloftPool(base_url="http://127.0.0.1:1", budget_for=lambda t: 600) as pool:  # type: ignore[arg-type,return-value]
        with pytest.raises(ConfigurationError, match=r"budget_for\(3\) returned int, not a budget"):
            pool.client("ak_test", team_id=3)
        assert pool.budgets == {}
