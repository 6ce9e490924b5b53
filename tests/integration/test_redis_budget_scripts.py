"""The Lua logic of RedisBudget, against the real Redis with a test-controlled time.

Every script takes a time override, so windows, pauses and stale tickets are driven by a
`ManualTime` the test moves; nothing sleeps.  Needs Redis at 127.0.0.1:6379 (skipped without it
unless CI is set).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
import redis.asyncio as aioredis

from salesloft_async.errors import SalesloftError
from salesloft_async.redis import (
    RedisBudget,
    RedisKeyError,
    RedisReservation,
    SharedBudgetStats,
    budget_key,
)
from tests.redis_support import redis_or_skip

T0 = 1_767_225_600.0  # a window boundary for every window length used here


class ManualTime:
    def __init__(self, start: float = T0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds
        await asyncio.sleep(0)


@pytest.fixture
async def redis() -> AsyncIterator[aioredis.Redis]:
    client = await redis_or_skip()
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    yield client
    keys = [k async for k in client.scan_iter(f"*{prefix}*")]
    keys += [k async for k in client.scan_iter("salesloft:{unit-*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


@pytest.fixture
def clock() -> ManualTime:
    return ManualTime()


def make(redis: aioredis.Redis, clock: ManualTime, key: str, **kw: Any) -> RedisBudget:
    kw.setdefault("limit", 10)
    kw.setdefault("window", 2.0)
    return RedisBudget(redis, key, now=clock, sleep=clock.sleep, **kw)


@pytest.fixture
def key() -> str:
    return budget_key(f"unit-{uuid.uuid4().hex[:12]}")


def ticket(name: str, cost: int, lane: str = "interactive") -> RedisReservation:
    """A waiter of another process, driven one decision at a time by `try_once`."""
    return RedisReservation(name, "GET", "/v2/people", cost, lane, "")  # type: ignore[arg-type]


async def opened(b: RedisBudget) -> RedisBudget:
    """Send the window's first request (it goes alone, as a probe) and settle it at no cost."""
    res = await b.reserve("GET", "/v2/me", None, "interactive")
    assert isinstance(res, RedisReservation) and res.probe
    b.settle(res, 200, {"x-ratelimit-endpoint-cost": "0"})
    await b.drain()
    return b


async def get(b: RedisBudget, lane: str = "interactive", page: int = 1) -> RedisReservation:
    res = await b.reserve("GET", "/v2/people", {"page": page}, lane)  # type: ignore[arg-type]
    assert isinstance(res, RedisReservation)
    return res


async def try_once(b: RedisBudget, res: RedisReservation) -> list[Any]:
    """One reserve decision for `res` (a waiter elsewhere), without looping."""
    reply: list[Any] = await b._call(b._reserve, b._reserve_args(res))
    return reply


async def test_grants_up_to_the_limit_then_waits_for_the_next_window(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key))
    for _ in range(10):
        b.settle(await get(b), 200, {})
    await b.drain()
    assert clock.t == T0
    clock.t += 0.5
    waiting = ticket("w1", 1, "interactive")
    reply = await try_once(b, waiting)
    assert reply[0] == 0 and reply[1] == "budget"
    assert float(reply[2]) == pytest.approx(1.5)
    res = await get(b)  # sleeps (fake) until the window rolls
    assert clock.t == pytest.approx(T0 + 2.0)
    assert float(res.window_start) == pytest.approx(T0 + 2.0)


async def test_the_window_is_read_from_redis_time_without_an_override(
    redis: aioredis.Redis, key: str
) -> None:
    b = RedisBudget(redis, key, limit=5, window=3600.0)
    res = await get(b)
    seconds, micros = await redis.time()
    redis_now = seconds + micros / 1e6
    start = float(res.window_start)
    assert start <= redis_now < start + 3600
    assert start % 3600 == 0


async def test_bulk_lane_leaves_the_reserve_to_interactive_calls(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, reserve_share=0.3))
    for _ in range(7):
        await get(b, lane="bulk")
    bulk = ticket("b8", 1, "bulk")
    assert (await try_once(b, bulk))[0] == 0
    for _ in range(3):
        await get(b)  # interactive still gets the last 30%
    assert clock.t == T0


async def test_fifo_a_big_ticket_ahead_is_not_starved_by_small_ones(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=30))
    for _ in range(5):
        b.settle(await get(b), 200, {})  # 25 left
    await b.drain()
    big = ticket("big", 30, "interactive")
    assert (await try_once(b, big))[0] == 0  # queued first, does not fit
    small = ticket("small", 1, "interactive")
    reply = await try_once(b, small)
    assert reply[0] == 0 and reply[1] == "budget"  # 1 + 30 ahead > 25: waits behind it
    clock.t += 2.0  # new window
    assert int((await try_once(b, small))[0]) == 0  # 30 ahead + 1 > 30 still
    granted = await try_once(b, big)
    assert int(granted[0]) == 1
    big.window_start, big.seq, big.granted = granted[1], granted[5], granted[6]
    b.settle(big, 200, {})
    await b.drain()
    clock.t += 2.0
    assert int((await try_once(b, small))[0]) == 1


async def test_interactive_does_not_queue_behind_bulk(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, reserve_share=0.0))
    for _ in range(5):
        await get(b)
    bulk = ticket("bulk-big", 8, "bulk")
    assert (await try_once(b, bulk))[0] == 0
    inter = ticket("i1", 3, "interactive")
    assert int((await try_once(b, inter))[0]) == 1


async def test_stale_tickets_of_dead_waiters_are_dropped(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=5, window=100.0, stale=3.0))
    for _ in range(4):
        await get(b)
    dead = ticket("dead", 5, "interactive")
    assert (await try_once(b, dead))[0] == 0
    live = ticket("live", 1, "interactive")
    assert (await try_once(b, live))[0] == 0  # behind the dead one
    clock.t += 3.5
    assert int((await try_once(b, live))[0]) == 1
    assert await redis.zcard(f"{key}:q") == 0


async def test_settle_refunds_and_learns_the_real_cost(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=100))
    deep = await get(b, page=120)
    assert deep.cost == 4  # conservative prediction for pages 101-150
    b.settle(deep, 200, {"x-ratelimit-endpoint-cost": "3"})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.spent == 3
    again = await get(b, page=130)
    assert again.cost == 3  # learned, and seen by every process through Redis
    other = make(redis, clock, key, limit=100)
    assert (await get(other, page=149)).cost == 3


async def test_header_clamps_remaining_counting_requests_in_flight(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=60))
    first = await get(b)
    others = [await get(b) for _ in range(4)]  # 4 more in flight
    # Other integrations spent 40: the server has 60 - 40 - 1 = 19 left after `first`.
    b.settle(first, 200, {"x-ratelimit-remaining-minute": "19", "x-ratelimit-endpoint-cost": "1"})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.spent == 60 - 19  # lower bound: the 4 in flight were counted already
    assert stats.likely_spent == 60 - 19 + 4  # working estimate: they were not
    assert b.stats.remaining == 19 - 4
    for n, res in enumerate(others):  # the server counted them in the order they were granted
        b.settle(res, 200, {"x-ratelimit-remaining-minute": str(18 - n)})
        await b.drain()
    stats = await b.shared_stats()
    assert stats.spent == 45 and stats.likely_spent == 45  # no double count


async def test_in_doubt_requests_go_one_at_a_time(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    sent = [await get(b) for _ in range(8)]
    # The server answers the first one late: it had counted 4 of ours by then (remaining 6),
    # but the working estimate assumes the 7 granted after it are still to come: 1 + 7 + 4.
    b.settle(sent[0], 200, {"x-ratelimit-remaining-minute": "6"})
    await b.drain()
    assert (await b.shared_stats()).likely_spent == 11
    reply = await try_once(b, ticket("w", 1))
    assert reply[0] == 0 and reply[1] == "doubt"  # fits the lower bound only: wait for quiet
    for res in sent[1:]:
        b.settle(res, 200, {})
    await b.drain()
    assert int((await try_once(b, ticket("w", 1)))[0]) == 1  # alone now


async def test_a_stale_window_header_does_not_clamp_the_new_window(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    late = await get(b)
    clock.t += 2.1  # the window rolled while `late` was in flight
    b.settle(late, 200, {"x-ratelimit-remaining-minute": "0"})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.spent == 1  # only the carried in-flight cost, not "0 left"
    assert stats.in_flight == 0


async def test_remaining_jumping_up_moves_the_window(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    for n in range(8):
        b.settle(await get(b), 200, {"x-ratelimit-remaining-minute": str(9 - n)})
        await b.drain()
    clock.t += 1.0  # mid-window by our clock, but the server's window has just rolled
    res = await get(b)
    b.settle(res, 200, {"x-ratelimit-remaining-minute": "9"})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.window_jumps == 1
    assert stats.window_start == pytest.approx(T0 + 1.0)
    assert stats.spent == 1
    clock.t += 1.5  # still inside the moved window: no roll at T0 + 2
    assert float((await get(b)).window_start) == pytest.approx(T0 + 1.0)


async def test_429_pauses_everyone_then_one_probe_goes_first(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    other = make(redis, clock, key, limit=10)  # another process
    res = await get(b)
    clock.t += 0.4
    b.settle(res, 429, {})
    await b.drain()
    w = ticket("o1", 1, "interactive")
    reply = await try_once(other, w)
    assert reply[1] == "paused" and float(reply[2]) == pytest.approx(1.6)
    clock.t = T0 + 2.0
    probe = await get(b)
    assert probe.probe
    reply = await try_once(other, w)
    assert reply[0] == 0 and reply[1] == "probe"
    b.settle(probe, 200, {"x-ratelimit-remaining-minute": "9"})
    await b.drain()
    assert int((await try_once(other, w))[0]) == 1
    stats = await b.shared_stats()
    assert stats.rate_limited == 1
    assert b.stats.rate_limited == 1


async def test_a_429d_probe_pauses_again_and_a_released_probe_hands_over(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    b.settle(await get(b), 429, {"Retry-After": "1"})
    await b.drain()
    clock.t += 1.0
    probe = await get(b)
    assert probe.probe
    b.settle(probe, 429, {"Retry-After": "1"})
    await b.drain()
    reply = await try_once(b, ticket("x", 1, "interactive"))
    assert reply[1] == "paused"
    clock.t += 1.0
    probe2 = await get(b)
    assert probe2.probe
    b.release(probe2)  # connection failed: no verdict
    await b.drain()
    probe3 = await get(b)
    assert probe3.probe


async def test_a_vanished_probe_holder_times_out(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, probe_timeout=5.0))
    b.settle(await get(b), 429, {"Retry-After": "0.5"})
    await b.drain()
    clock.t += 0.5
    assert (await get(b)).probe  # and its process dies
    w = ticket("w", 1, "interactive")
    assert (await try_once(b, w))[1] == "probe"
    clock.t += 5.0
    reply = await try_once(b, w)
    assert int(reply[0]) == 1 and int(reply[2]) == 1  # the waiter probes instead


async def test_release_keeps_the_charge_but_ends_in_flight(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=2))
    a = await get(b)
    await get(b)
    b.release(a)
    b.release(a)  # twice is harmless
    await b.drain()
    stats = await b.shared_stats()
    assert stats.in_flight == 1  # the other one
    assert stats.spent == 2  # it may have reached the server: its charge stays
    assert (await try_once(b, ticket("w", 1)))[1] == "budget"
    assert b.stats.released == 1 and b.stats.in_flight == 1


async def test_a_cancelled_waiter_leaves_no_ticket(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = RedisBudget(redis, key, limit=1, window=3600.0)
    await get(b)
    waiter = asyncio.create_task(get(b))
    for _ in range(1000):  # until the waiter has queued its ticket
        if await redis.zcard(f"{key}:q"):
            break
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    await b.drain()
    assert await redis.zcard(f"{key}:q") == 0


async def test_a_waiter_cancelled_while_redis_grants_hands_the_grant_back(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=2))
    gate = asyncio.Event()
    sent = asyncio.Event()
    real_call = b._call

    async def slow_call(script: Any, args: list[Any]) -> Any:
        reply = await real_call(script, args)
        if script is b._reserve:
            sent.set()
            await gate.wait()  # Redis has granted; the answer is still on its way back
        return reply

    b._call = slow_call  # type: ignore[method-assign]
    waiter = asyncio.create_task(get(b))
    await sent.wait()
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    gate.set()  # the answer arrives after its waiter is gone...
    for _ in range(100):
        await asyncio.sleep(0)
    await b.drain()
    stats = await b.shared_stats()
    assert stats.in_flight == 0  # ... and the grant was handed straight back
    assert await redis.zcard(f"{key}:q") == 0
    b._call = real_call  # type: ignore[method-assign]
    await get(b)
    await get(b)  # the whole limit is grantable: nothing leaked


async def test_inflight_of_a_dead_process_expires(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, inflight_ttl=5.0))
    for _ in range(4):
        await get(b)  # ... and the process dies without settling
    clock.t += 2.0
    assert (await b.shared_stats()).spent == 4  # carried: they may still land
    res = await get(b)
    clock.t += 4.0  # the four are 6 s old now, `res` 4 s
    b.settle(res, 200, {})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.in_flight == 0
    assert stats.spent == 1  # only `res`, carried from the window it was granted in


async def test_answers_arriving_out_of_order_are_not_taken_for_a_new_window(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10))
    sent = [await get(b) for _ in range(6)]
    # The server counted them in grant order; the answers come back in reverse.
    for n in reversed(range(6)):
        b.settle(sent[n], 200, {"x-ratelimit-remaining-minute": str(9 - n)})
        await b.drain()
    stats = await b.shared_stats()
    assert stats.window_jumps == 0
    assert stats.window_start == T0
    assert stats.spent == 6


async def test_unreachable_redis_falls_back_to_a_local_share_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import socket

    from salesloft_async.budget import CostBudget

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    local = CostBudget(5, 60.0)
    b = RedisBudget(
        f"redis://127.0.0.1:{port}/0", "k", limit=20, fallback=local, retry_interval=3600
    )
    with caplog.at_level(logging.WARNING, logger="salesloft_async.redis"):
        first = await get(b)
        b.settle(
            first, 200, {"x-ratelimit-endpoint-cost": "1", "x-ratelimit-remaining-minute": "9"}
        )
        second = await get(b)
        b.release(second)
        third = await get(b)
    assert all(r.local is not None for r in (first, second, third))
    assert b.in_fallback and b.outages == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "falling back" in warnings[0].getMessage()
    assert local.stats.requests == 1 and local.stats.released == 1
    assert b.stats.requests == 1 and b.stats.in_flight == 1
    await b.redis.aclose()


async def test_a_429s_pause_never_exceeds_max_pause(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, window=2.0))
    assert b.max_pause == 3.0  # one window plus a tenth, at least 1 s
    b.settle(await get(b), 429, {"Retry-After": "3600"})
    await b.drain()
    assert float(await redis.hget(key, "pause")) == pytest.approx(T0 + 3.0)
    b.settle(await get(b), 429, {"Retry-After": "999999999"})  # absurd: as if absent
    await b.drain()
    assert float(await redis.hget(key, "pause")) == pytest.approx(T0 + 3.0)
    # The script enforces the cap itself, whatever a client sends it.
    args = [*b._base_args(), "x", 1, "", "0", 429, "", "", "1e12", "", "", "", "3.0"]
    await b._call(b._settle, args)
    assert float(await redis.hget(key, "pause")) == pytest.approx(T0 + 3.0)


async def test_a_stored_pause_beyond_the_cap_is_cut_and_waiters_do_not_renew_the_key(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, window=2.0))
    await redis.hset(key, "pause", f"{T0 + 1e9:.6f}")  # what an older client may have stored
    await redis.pexpire(key, 5000)
    reply = await try_once(b, ticket("w", 1))
    assert reply[1] == "paused" and float(reply[2]) == pytest.approx(3.0)
    assert float(await redis.hget(key, "pause")) == pytest.approx(T0 + 3.0)
    for _ in range(3):
        await try_once(b, ticket("w", 1))
    assert 0 < await redis.pttl(key) <= 5000
    clock.t += 3.0
    assert (await get(b)).probe


async def test_shared_stats_is_a_typed_snapshot_with_readable_names(
    redis: aioredis.Redis, clock: ManualTime, key: str
) -> None:
    b = await opened(make(redis, clock, key, limit=10, window=2.0, probe_timeout=5.0))
    res = await get(b)
    b.settle(res, 200, {"x-ratelimit-remaining-minute": "7", "x-ratelimit-endpoint-cost": "1"})
    await b.drain()
    stats = await b.shared_stats()
    assert isinstance(stats, SharedBudgetStats)
    assert (stats.now, stats.window_start, stats.spent) == (T0, T0, 3)  # 7 left, by the server
    assert (stats.server_remaining, stats.in_flight, stats.paused_until) == (7, 0, None)
    assert (stats.requests, stats.grants, stats.rate_limited, stats.queued) == (2, 2, 0, 0)
    assert stats.probe == "none" and stats.probe_deadline is None
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        stats.spent = 0  # type: ignore[misc]
    clock.t += 0.5
    b.settle(await get(b), 429, {"Retry-After": "1"})
    await b.drain()
    stats = await b.shared_stats()
    assert stats.rate_limited == 1 and stats.probe == "needed"
    assert stats.paused_until == pytest.approx(T0 + 1.5)
    clock.t += 1.0
    assert (await get(b)).probe
    stats = await b.shared_stats()
    assert stats.probe == "out" and stats.probe_deadline == pytest.approx(T0 + 6.5)
    assert stats.paused_until is None and stats.in_flight == 1


@pytest.mark.parametrize(("suffix", "kind"), [("", "list"), (":q", "string"), (":costs", "set")])
async def test_a_budget_key_of_another_type_is_an_error_naming_it(
    redis: aioredis.Redis, clock: ManualTime, key: str, suffix: str, kind: str
) -> None:
    taken = key + suffix
    if kind == "list":
        await redis.rpush(taken, "x")
    elif kind == "string":
        await redis.set(taken, "x")
    else:
        await redis.sadd(taken, "x")
    b = make(redis, clock, key)
    with pytest.raises(RedisKeyError, match=f"holds a {kind}") as caught:
        await asyncio.wait_for(get(b), 5)
    assert repr(taken) in str(caught.value) and "DEL" in str(caught.value)
    assert isinstance(caught.value, SalesloftError)
    if suffix != ":costs":  # the stats script reads every key but the learned costs
        with pytest.raises(RedisKeyError):
            await b.shared_stats()
