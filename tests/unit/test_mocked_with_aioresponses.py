"""Salesloft mocked with aioresponses, written the way a user of this package writes their tests.

A mock is the right tool for what a user's own test needs to pin down one call at a time (this URL
with these headers, a 429, a 401, a connection dropped mid-POST) without starting a server, and
for what a real server cannot produce cheaply.  Every URL comes from `url_for`, so it is the one
the client sends; time comes from a `ManualClock`, so a 60-second budget window or a token's expiry
passes in no real time.  The timeout below is a guard: a test that waited for real would hang, and
this makes it fail, saying so, instead.
"""

from __future__ import annotations

import aiohttp
import pytest
from aioresponses import aioresponses
from yarl import URL

from salesloft_async import CostBudget, SalesloftClient
from salesloft_async.auth import MemoryTokenStore, OAuthApp, Token, TokenManager
from salesloft_async.errors import ConnectionFailedError
from salesloft_async.models import Person
from salesloft_async.testing import ManualClock, url_for

pytestmark = pytest.mark.timeout(5)

RATE = {"x-ratelimit-remaining-minute": "599", "x-ratelimit-endpoint-cost": "1"}


def page(ids: list[int], next_page: int | None) -> dict[str, object]:
    paging = {"per_page": 2, "current_page": 1, "next_page": next_page, "prev_page": None}
    return {
        "data": [{"id": i, "email_address": f"p{i}@example.com"} for i in ids],
        "metadata": {"paging": paging},
    }


def sent(mocked: aioresponses, method: str, url: URL) -> list[dict[str, str]]:
    """The headers of every request sent to `method url`, in order."""
    return [call.kwargs["headers"] for call in mocked.requests.get((method, url), [])]


async def test_a_single_call() -> None:
    url = url_for("/v2/people/42")
    with aioresponses() as mocked:
        mocked.get(url, payload={"data": {"id": 42, "first_name": "Ada"}}, headers=RATE)
        async with SalesloftClient(api_key="ak_test") as sl:
            person = await sl.people.get(42)
    assert isinstance(person, Person)
    assert (person.id, person.first_name) == (42, "Ada")
    assert [h["Authorization"] for h in sent(mocked, "GET", url)] == ["Bearer ak_test"]


async def test_a_paged_list_read_to_the_end() -> None:
    with aioresponses() as mocked:
        mocked.get(url_for("/v2/people", {"per_page": 2, "page": 1}), payload=page([1, 2], 2))
        mocked.get(url_for("/v2/people", {"per_page": 2, "page": 2}), payload=page([3, 4], 3))
        mocked.get(url_for("/v2/people", {"per_page": 2, "page": 3}), payload=page([5], None))
        async with SalesloftClient(api_key="ak_test") as sl:
            ids = [p.id async for p in sl.people.list(per_page=2)]
    assert ids == [1, 2, 3, 4, 5]
    assert len(mocked.requests) == 3  # and no fourth page was asked for


async def test_a_429_then_success_with_a_budget_and_a_manual_clock() -> None:
    clock = ManualClock()
    start = clock()
    budget = CostBudget(600, 60.0, clock=clock, sleep=clock.sleep, wall_clock=clock)
    url = url_for("/v2/me")
    with aioresponses() as mocked:
        mocked.get(url, status=429, payload={"error": "rate limited"}, headers=RATE)
        mocked.get(url, payload={"data": {"id": 1}}, headers=RATE)
        async with SalesloftClient(
            api_key="ak_test", budget=budget, clock=clock, sleep=clock.sleep
        ) as sl:
            me = await sl.me.get()
    assert me.id == 1
    assert len(sent(mocked, "GET", url)) == 2
    assert budget.stats.rate_limited == 1
    # the budget paused every caller after the 429, and all of that pause passed on the manual
    # clock, none of it in real time
    assert budget.stats.wait_time == clock() - start
    # A mock sends no Date header and no Retry-After, so nothing says where the server's window
    # ends: the budget probes after a sixtieth of the window (1 s of this 60 s one) instead of
    # waiting the whole window out
    assert 0 < clock() - start <= 60.0 / 60


async def test_a_401_makes_the_token_manager_refresh_once() -> None:
    clock = ManualClock()
    app = OAuthApp("client-id", "client-secret", clock=clock)
    stale = Token("at-old", refresh_token="rt-1", expires_at=clock() + 3600, created_at=clock())
    store = MemoryTokenStore(stale)
    url = url_for("/v2/me")
    with aioresponses() as mocked:
        mocked.get(url, status=401, payload={"error": "invalid_token"})
        mocked.get(url, payload={"data": {"id": 1}}, headers=RATE)
        mocked.post(
            app.token_url,
            payload={"access_token": "at-new", "refresh_token": "rt-2", "expires_in": 7200},
        )
        async with SalesloftClient(auth=TokenManager(app, store, clock=clock)) as sl:
            me = await sl.me.get()
    assert me.id == 1
    assert [h["Authorization"] for h in sent(mocked, "GET", url)] == [
        "Bearer at-old",
        "Bearer at-new",
    ]
    assert len(mocked.requests[("POST", URL(app.token_url))]) == 1
    saved = await store.load()
    assert saved is not None and saved.refresh_token == "rt-2"


async def test_an_expired_token_is_refreshed_before_the_call() -> None:
    clock = ManualClock()
    app = OAuthApp("client-id", "client-secret", clock=clock)
    token = Token("at-old", refresh_token="rt-1", expires_at=clock() + 3600, created_at=clock())
    manager = TokenManager(app, MemoryTokenStore(token), clock=clock)
    url = url_for("/v2/me")
    clock.advance(3600)  # an hour passes in no time
    with aioresponses() as mocked:
        mocked.post(app.token_url, payload={"access_token": "at-new", "expires_in": 7200})
        mocked.get(url, payload={"data": {"id": 1}}, headers=RATE)
        async with SalesloftClient(auth=manager) as sl:
            await sl.me.get()
    assert [h["Authorization"] for h in sent(mocked, "GET", url)] == ["Bearer at-new"]


async def test_a_post_whose_connection_drops_is_not_resent() -> None:
    url = url_for("/v2/people")
    with aioresponses() as mocked:
        mocked.post(url, exception=aiohttp.ServerDisconnectedError())
        mocked.post(url, payload={"data": {"id": 9}})  # what a blind resend would get
        async with SalesloftClient(api_key="ak_test") as sl:
            with pytest.raises(ConnectionFailedError, match="may have been processed") as caught:
                await sl.people.create(email_address="ada@example.com")
    assert caught.value.sent is True
    assert len(sent(mocked, "POST", url)) == 1


async def test_a_get_whose_connection_drops_is_sent_again() -> None:
    clock = ManualClock()
    url = url_for("/v2/people/42")
    with aioresponses() as mocked:
        mocked.get(url, exception=aiohttp.ServerDisconnectedError())
        mocked.get(url, payload={"data": {"id": 42}}, headers=RATE)
        async with SalesloftClient(api_key="ak_test", clock=clock, sleep=clock.sleep) as sl:
            person = await sl.people.get(42)
    assert person.id == 42
    assert len(sent(mocked, "GET", url)) == 2


async def test_a_call_no_mock_answers_names_its_url() -> None:
    # The commonest mistake in a mocked test: the error must say which URL had no mock.
    clock = ManualClock()
    with aioresponses() as mocked:
        mocked.get(url_for("/v2/people/1"), payload={"data": {"id": 1}})
        async with SalesloftClient(api_key="ak_test", clock=clock, sleep=clock.sleep) as sl:
            with pytest.raises(ConnectionFailedError) as caught:
                await sl.people.get(2)
    assert f"Connection refused: GET {url_for('/v2/people/2')}" in str(caught.value)


async def test_a_connection_error_that_repeats_the_key_is_redacted() -> None:
    url = url_for("/v2/people")
    with aioresponses() as mocked:
        mocked.post(url, exception=aiohttp.ClientConnectionError("proxy refused ak_secret_123"))
        async with SalesloftClient(api_key="ak_secret_123") as sl:
            with pytest.raises(ConnectionFailedError) as caught:
                await sl.people.create(email_address="ada@example.com")
    assert "proxy refused" in str(caught.value)
    assert "ak_secret_123" not in str(caught.value)
