"""CostBudget with an injected clock: reservation, settling, the server's word, windows, 429s."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from salesloft_async.budget import CostBudget, CostReservation, Settlement
from salesloft_async.errors import ConfigurationError
from salesloft_async.hooks import BudgetHook

from .budget_fakes import EPOCH, FakeTime, headers, settle


def make(time: FakeTime, limit: int = 60, window: float = 2.0, **kw: Any) -> CostBudget:
    return CostBudget(limit, window, clock=time.clock, sleep=time.sleep, wall_clock=time.wall, **kw)


async def reserve(budget: CostBudget, page: int | None = None, lane: Any = "interactive") -> Any:
    params = {"page": page} if page else None
    return await budget.reserve("GET", "/v2/people", params, lane)


def start(budget: CostBudget, n: int = 1, **kw: Any) -> list[asyncio.Task[CostReservation]]:
    return [asyncio.create_task(reserve(budget, **kw)) for _ in range(n)]


async def opened(time: FakeTime, budget: CostBudget, remaining: int = 59) -> None:
    """Send the window's first request (it goes alone) and answer it."""
    first = await reserve(budget)
    budget.settle(first, 200, headers(remaining, wall=time.wall()))


def test_is_a_budget_hook_and_validates() -> None:
    budget = CostBudget()
    assert isinstance(budget, BudgetHook)
    assert budget.handles_rate_limit is True
    with pytest.raises(ConfigurationError):
        CostBudget(0)
    with pytest.raises(ConfigurationError):
        CostBudget(600, 0)
    with pytest.raises(ConfigurationError):
        CostBudget(reserve_share=1.0)


async def test_bad_lane_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        await CostBudget().reserve("GET", "/v2/people", None, "urgent")  # type: ignore[arg-type]


async def test_first_request_goes_alone_then_the_rest_concurrently() -> None:
    time = FakeTime()
    budget = make(time)
    first = await reserve(budget)
    assert first.cost == 1 and first.state == "pending"
    waiting = start(budget)
    await settle()
    assert not waiting[0].done(), "nothing is known about the window until the first answer"
    budget.settle(first, 200, headers(59, wall=time.wall()))
    await settle()
    assert waiting[0].done()
    burst = start(budget, 10)
    await settle()
    assert all(t.done() for t in burst)
    stats = budget.stats
    assert (stats.in_flight, stats.remaining, stats.requests, stats.spent) == (11, 48, 1, 1)


async def test_settle_refunds_difference_and_learns_the_cost() -> None:
    time = FakeTime()
    budget = make(time)
    deep = await reserve(budget, page=120)
    assert deep.cost == 4  # the larger reading: 1 + 3
    assert budget.stats.remaining == 56
    budget.settle(deep, 200, headers(57, cost=3, wall=time.wall()))
    assert deep.actual == 3
    assert budget.stats.remaining == 57 and budget.stats.spent == 3
    assert budget.predict("GET", "/v2/people", {"page": 140}) == 3
    assert budget.predict("GET", "/v2/people", {"page": 160}) == 9  # another band: not learned
    dearer = await reserve(budget, page=130)
    budget.settle(dearer, 200, headers(47, cost=10, wall=time.wall()))  # charged more than held
    assert budget.stats.remaining == 47
    assert budget.predict("GET", "/v2/people", {"page": 101}) == 10


async def test_settling_twice_or_a_foreign_ticket_does_nothing() -> None:
    time = FakeTime()
    budget = make(time)
    res = await reserve(budget)
    budget.settle(res, 200, headers(59, wall=time.wall()))
    budget.settle(res, 200, headers(0, wall=time.wall()))
    budget.release(res)
    budget.settle(object(), 200, headers(0))
    assert budget.stats.remaining == 59 and budget.stats.requests == 1


async def test_clamp_with_requests_in_flight_counts_each_request_once() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)  # server: 59 left
    flight = [await reserve(budget) for _ in range(10)]  # ours: 11 charged
    # Meanwhile other integrations spent 20.  The server handles the first of the ten, and
    # answers before it has seen the other nine: 60 - 1 - 1 - 20 = 38.
    budget.settle(flight[0], 200, headers(38, wall=time.wall()))
    stats = budget.stats
    assert stats.background == 20
    # What is really left: 38 minus the nine requests the server has not counted yet.
    assert stats.remaining == 29
    # The server then counts all nine and answers the last one: nothing changes.
    budget.settle(flight[-1], 200, headers(29, wall=time.wall()))
    assert budget.stats.remaining == 29 and budget.stats.background == 20


async def test_alone_the_budget_never_invents_background_spend() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)
    flight = [await reserve(budget) for _ in range(10)]
    # The server counted the ten in order (58 ... 49 left); answers come back in reverse order.
    for index, res in reversed(list(enumerate(flight))):
        budget.settle(res, 200, headers(58 - index, wall=time.wall()))
    assert budget.stats.background == 0 and budget.stats.remaining == 49
    tail = start(budget, 49)
    await settle()
    # All but one unit at once: that one is held back to time a request against the server's
    # clock (Date has a 1 s resolution), and goes out within the same window.
    assert sum(t.done() for t in tail) == 48
    await time.advance(0.5)
    assert all(t.done() for t in tail), "the whole window may be spent"
    assert budget.stats.remaining == 0
    assert not start(budget)[0].done()


async def test_a_reordered_reading_is_corrected_by_the_next_lone_request() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)
    flight = [await reserve(budget) for _ in range(10)]
    # The server handled the first one last: its answer looks like 9 of background spend.
    for index, res in enumerate(flight[1:], start=1):
        budget.settle(res, 200, headers(59 - index, wall=time.wall()))
    budget.settle(flight[0], 200, headers(49, wall=time.wall()))
    assert budget.stats.remaining == 40  # believed for now...
    burst = start(budget, 41)
    await settle()
    assert sum(t.done() for t in burst) == 37  # ...up to the tail kept for one-at-a-time
    for t in burst:
        if t.done():
            budget.settle(t.result(), 200, headers(12, wall=time.wall()))
    await settle()
    # The answer to the last one granted reads exactly: the spend was ours after all.
    assert budget.stats.background == 0
    assert all(t.done() for t in burst)


async def test_other_integrations_spend_is_seen_at_once() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget, remaining=20)  # others already spent 39
    assert budget.stats.remaining == 20
    grants = start(budget, 30)
    await settle()
    assert sum(t.done() for t in grants) == 17  # the last 5% go one at a time
    for task in grants:
        if task.done():
            budget.settle(task.result(), 200, headers(3, wall=time.wall()))
    await settle()
    assert sum(t.done() for t in grants) == 18  # alone: its answer settles the doubt
    for t in grants:
        t.cancel()


async def test_window_resets_at_the_latest_moment_the_server_can_have_reset() -> None:
    time = FakeTime(wall_at_start=EPOCH + 0.1)  # the server's window began 0.1 s ago
    budget = make(time)
    await opened(time, budget)
    time.now += 0.901  # a Date read just after the server's second ticked: clock known to 1 ms
    res = await reserve(budget)
    budget.settle(res, 200, headers(58, wall=time.wall()))
    rest = start(budget, 58)
    await settle()
    assert budget.stats.remaining == 0
    late = start(budget)
    await time.advance(0.997)  # the server resets at wall EPOCH + 2.0 (local 1001.9)
    assert time.wall() < EPOCH + 2.0 and not late[0].done()
    await time.advance(0.004)
    assert late[0].done(), "refilled within the Date reading's uncertainty"
    assert budget.stats.windows == 1 and budget.stats.window_start == pytest.approx(1001.9, 1e-3)
    for t in rest:
        budget.settle(t.result(), 200, headers(0, wall=time.wall()))


async def test_remaining_jumping_up_starts_a_new_window_at_once() -> None:
    time = FakeTime()
    budget = make(time, window=2.0)
    first = await reserve(budget)
    budget.settle(first, 200, {"x-ratelimit-remaining-minute": "10"})  # no Date header at all
    time.now += 0.5
    second = await reserve(budget)
    budget.settle(second, 200, {"x-ratelimit-remaining-minute": "9"})
    assert budget.stats.remaining == 9
    time.now += 0.5
    third = await reserve(budget)
    budget.settle(third, 200, {"x-ratelimit-remaining-minute": "59"})
    stats = budget.stats
    assert stats.windows == 1 and stats.remaining == 59 and stats.window_start == 1001.0


async def test_429_pauses_everyone_then_one_probe_then_everyone() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)
    flight = [await reserve(budget) for _ in range(5)]
    budget.settle(flight[0], 429, headers(0, wall=time.wall()))  # others spent it all
    assert budget.stats.rate_limited == 1
    retry = start(budget, 6)
    await settle()
    for res in flight[1:]:  # answers to requests sent before the 429 do not lift the pause
        budget.settle(res, 200, headers(0, wall=time.wall()))
    await settle()
    assert not any(t.done() for t in retry)
    await time.advance(1.0)
    assert not any(t.done() for t in retry)
    await time.advance(1.0)  # the server's window resets (Date-aligned)
    assert [t.done() for t in retry] == [True, False, False, False, False, False]
    probe = retry[0].result()
    assert probe.probe
    budget.settle(probe, 200, headers(59, wall=time.wall()))
    await settle()
    assert all(t.done() for t in retry)


async def test_429_honours_retry_after_and_a_failed_probe_pauses_again() -> None:
    time = FakeTime()
    budget = make(time, limit=600, window=60.0)
    await opened(time, budget, remaining=599)
    res = await reserve(budget)
    budget.settle(res, 429, {**headers(0, wall=time.wall()), "Retry-After": "3"})
    waiting = start(budget, 2)
    await time.advance(2.9)
    assert not waiting[0].done()
    await time.advance(0.2)
    assert waiting[0].done() and not waiting[1].done()
    budget.settle(waiting[0].result(), 429, {"Retry-After": "2"})  # still spent
    await time.advance(1.9)
    assert not waiting[1].done()
    await time.advance(0.2)
    assert waiting[1].done() and waiting[1].result().probe
    budget.settle(waiting[1].result(), 200, headers(599, wall=time.wall()))
    assert budget.stats.rate_limited == 2
    assert budget.stats.remaining == 599 and budget.stats.windows == 1


async def test_a_released_probe_hands_over_to_the_next_waiter() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)
    res = await reserve(budget)
    budget.settle(res, 429, {**headers(0, wall=time.wall()), "Retry-After": "1"})
    waiting = start(budget, 2)
    await time.advance(1.0)
    assert waiting[0].done() and not waiting[1].done()
    budget.release(waiting[0].result())  # the probe's connection failed
    await settle()
    assert waiting[1].done() and waiting[1].result().probe


async def test_fifo_a_dear_request_is_not_starved_by_cheap_ones() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget, remaining=20)
    order: list[str] = []

    async def call(name: str, page: int | None) -> None:
        res = await reserve(budget, page=page)
        order.append(name)
        budget.settle(res, 200, headers(max(0, budget.stats.remaining), res.cost))

    tasks = [asyncio.create_task(call("deep", 600))]  # 31 > 20: must wait for the next window
    await settle()
    tasks += [asyncio.create_task(call(f"cheap{i}", None)) for i in range(5)]
    await settle()
    assert order == [], "cheap requests must not overtake the waiting dear one"
    await time.advance(2.0)
    await asyncio.gather(*tasks)
    assert order == ["deep", "cheap0", "cheap1", "cheap2", "cheap3", "cheap4"]


async def test_bulk_stops_at_the_reserve_and_interactive_goes_past() -> None:
    time = FakeTime()
    budget = make(time, reserve_share=0.10)  # 6 of 60 kept for interactive calls
    first = await reserve(budget)
    budget.settle(first, 200, headers(59))  # no Date header: windows by the local clock
    filler = [await reserve(budget) for _ in range(51)]  # 8 left
    for res in filler:
        budget.settle(res, 200, headers(8))
    assert budget.stats.remaining == 8
    bulk = start(budget, 4, lane="bulk")
    await settle()
    assert [t.done() for t in bulk] == [True, True, False, False]  # down to the reserve of 6
    web = start(budget, 3)
    await settle()
    assert all(t.done() for t in web), "interactive calls pass the waiting bulk ones"
    assert not bulk[2].done() and not bulk[3].done()
    assert budget.stats.remaining == 3
    await time.advance(2.0)
    assert bulk[2].done() and not bulk[3].done()  # new window: first one alone, in order
    budget.settle(bulk[2].result(), 200, headers(59))
    await settle()
    assert bulk[3].done()


async def test_cancelled_waiter_leaves_no_trace() -> None:
    time = FakeTime()
    budget = make(time)
    first = await reserve(budget)
    waiting = start(budget, 3)
    await settle()
    assert budget.stats.queued == 3
    waiting[0].cancel()
    await settle()
    assert budget.stats.queued == 2
    budget.settle(first, 200, headers(59, wall=time.wall()))
    await settle()
    assert waiting[1].done() and waiting[2].done()
    assert budget.stats.remaining == 57 and budget.stats.queued == 0


async def test_grant_to_a_cancelled_waiter_is_refunded() -> None:
    time = FakeTime()
    budget = make(time)
    first = await reserve(budget)
    waiting = start(budget)
    await settle()
    budget.settle(first, 200, headers(59, wall=time.wall()))  # grants the waiter...
    waiting[0].cancel()  # ...which is cancelled before it runs again
    await settle()
    assert waiting[0].cancelled()
    stats = budget.stats
    assert (stats.in_flight, stats.remaining) == (0, 59)


async def test_release_keeps_the_charge_but_frees_the_queue() -> None:
    time = FakeTime()
    budget = make(time)
    first = await reserve(budget)
    waiting = start(budget)
    await settle()
    budget.release(first)  # the connection failed: the server may have counted it
    await settle()
    assert waiting[0].done(), "nobody waits for an answer that will never come"
    stats = budget.stats
    assert (stats.released, stats.spent, stats.in_flight, stats.remaining) == (1, 1, 1, 58)


async def test_stats_and_on_settle() -> None:
    time = FakeTime()
    seen: list[Settlement] = []
    budget = make(time, on_settle=seen.append)
    first = await reserve(budget)
    later = start(budget)
    await time.advance(0.25)
    budget.settle(first, 200, headers(59, wall=time.wall()))
    await settle()
    res = later[0].result()
    assert res.waited == pytest.approx(0.25)
    budget.settle(res, 429, headers(0, wall=time.wall()))
    stats = budget.stats
    assert stats.waits == 1 and stats.wait_time == pytest.approx(0.25)
    assert stats.rate_limited == 1 and stats.requests == 2 and stats.spent == 1
    assert stats.window_start == 1000.0 and stats.remaining == 0
    assert [(s.status, s.cost, s.server_remaining) for s in seen] == [(200, 1, 59), (429, 0, 0)]
    assert seen[1].waited == pytest.approx(0.25)
    assert "CostBudget" in repr(budget)


async def test_a_failing_metrics_callback_does_not_break_settle() -> None:
    time = FakeTime()

    def boom(event: Settlement) -> None:
        raise RuntimeError("metrics down")

    budget = make(time, on_settle=boom)
    res = await reserve(budget)
    budget.settle(res, 200, headers(59, wall=time.wall()))
    assert budget.stats.requests == 1


async def test_an_answer_counted_in_the_old_window_is_refunded_from_the_new() -> None:
    time = FakeTime()  # the server's window is [EPOCH, EPOCH + 2)
    budget = make(time)
    await opened(time, budget)
    time.now += 1.99
    late = await reserve(budget)  # sent just before the boundary
    time.now += 0.02  # the window ends while it is in flight
    assert budget.stats.windows == 1
    assert budget.stats.remaining == 59, "in flight across the boundary: charged to both"
    # The server counted it in the old window (Date EPOCH + 1), and it was even refused there.
    budget.settle(late, 429, headers(0, wall=EPOCH + 1.995))
    stats = budget.stats
    assert stats.remaining == 60 and stats.rate_limited == 1
    fresh = start(budget)
    await settle()
    assert fresh[0].done(), "a refusal in a window already left does not pause the new one"


async def test_an_answer_counted_in_the_new_window_keeps_its_charge() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)
    time.now += 1.99
    late = await reserve(budget)
    time.now += 0.02
    budget.settle(late, 200, headers(50, wall=time.wall()))  # others spent 9 of the new window
    stats = budget.stats
    assert stats.remaining == 50 and stats.background == 9


@pytest.mark.parametrize(
    "value", ["999999999", "inf", "1e400", "nan", "Fri, 31 Dec 9999 23:59:59 GMT"]
)
async def test_an_absurd_retry_after_is_treated_as_absent(value: str) -> None:
    time = FakeTime()
    budget = make(time, limit=600, window=60.0)
    await opened(time, budget, remaining=599)  # Date: the server's minute ends at local ~1060
    res = await reserve(budget)
    budget.settle(res, 429, {**headers(0, wall=time.wall()), "Retry-After": value})
    waiting = start(budget)
    await time.advance(59.0)
    assert not waiting[0].done()
    await time.advance(2.0)  # waited for the window's end, as without the header
    assert waiting[0].done() and waiting[0].result().probe


async def test_retry_after_is_capped_at_max_pause() -> None:
    time = FakeTime()
    budget = make(time, limit=600, window=60.0)
    assert budget.max_pause == 66.0  # one window plus a tenth
    await opened(time, budget, remaining=599)
    res = await reserve(budget)
    budget.settle(res, 429, {**headers(0, wall=time.wall()), "Retry-After": "3600"})
    waiting = start(budget)
    await time.advance(65.9)
    assert not waiting[0].done()
    await time.advance(0.2)
    assert waiting[0].done()

    short = make(time, limit=600, window=60.0, max_pause=5.0)
    await opened(time, short, remaining=599)
    res = await reserve(short)
    short.settle(res, 429, {"Retry-After": "30"})
    waiting = start(short)
    await time.advance(5.1)
    assert waiting[0].done()
    with pytest.raises(ConfigurationError):
        make(time, max_pause=math.inf)


async def test_a_429_without_date_or_retry_after_is_probed_not_waited_out() -> None:
    # What a mocked test sees: a 429 with no headers at all, a 60 s window on an injected clock.
    time = FakeTime()
    budget = make(time, limit=600, window=60.0)
    first = await reserve(budget)
    budget.settle(first, 429, {})
    waiting = start(budget, 2)
    await time.advance(0.9)
    assert not waiting[0].done()
    await time.advance(0.2)  # a sixtieth of the window: one probe goes
    probe = waiting[0].result()
    assert probe.probe and not waiting[1].done()
    budget.settle(probe, 429, {})  # still refused: the next pause is twice as long
    await time.advance(1.9)
    assert not waiting[1].done()
    await time.advance(0.2)
    assert waiting[1].done() and waiting[1].result().probe
    assert waiting[1].result().waited == pytest.approx(3.1)  # 1.1 + 2: not the window's 60 s
    budget.settle(waiting[1].result(), 200, {})
    # The server takes requests again: the window has begun anew, and the next call goes at once.
    following = await reserve(budget)
    assert following.waited == 0 and budget.stats.windows == 1
    budget.settle(following, 429, {})  # after a success the backoff starts over
    again = start(budget)
    await time.advance(1.1)
    assert again[0].done()


async def test_a_burst_of_429s_to_requests_in_flight_is_one_refusal_for_the_backoff() -> None:
    time = FakeTime()
    budget = make(time, limit=600, window=60.0)
    first = await reserve(budget)
    budget.settle(first, 200, {"x-ratelimit-remaining-minute": "599"})  # no Date: no boundary
    flight = [await reserve(budget) for _ in range(5)]
    for res in flight:  # all refused: one streak, not five doublings
        budget.settle(res, 429, {})
    waiting = start(budget)
    await time.advance(1.1)
    assert waiting[0].done() and waiting[0].result().probe


async def test_a_probe_without_headers_after_the_window_rolled_starts_no_second_window() -> None:
    time = FakeTime()
    budget = make(time)
    await opened(time, budget)  # Date known: the 429 is waited out to the window's end
    res = await reserve(budget)
    budget.settle(res, 429, headers(0, wall=time.wall()))
    waiting = start(budget)
    await time.advance(2.0)
    probe = waiting[0].result()
    assert probe.probe and budget.stats.windows == 1
    budget.settle(probe, 200, {})  # no rate-limit headers: the window already began by the clock
    assert budget.stats.windows == 1
