"""`RedisBudget`: one team's cost budget, shared by every process and host through Redis.

Each decision (may this request go? what did the server just tell us?) is one Lua script, so it is
atomic across workers and reads Redis's own clock; see `_scripts` for the state it keeps.  What
one worker learns (a lower ``x-ratelimit-remaining-minute``, a 429, a real endpoint cost) is in
Redis for every other worker's next decision.  It behaves like `CostBudget`:

* windows are aligned to Redis time and follow the server when its remaining count jumps back up;
  the first request of each window goes alone (a probe), as does the first after a 429 pause;
* the server's remaining count is read two ways (a lower bound assuming it had counted all our
  requests in flight, a working estimate assuming only those granted before): requests that fit
  only the lower bound go one at a time, so concurrency never invents spend and doubt costs no 429;
* bulk-lane calls leave `reserve_share` of the window to interactive ones;
* a released request keeps its charge (the server may have counted it);
* a grant whose holder died without settling stops counting after `inflight_ttl`.

Waiting happens in the client.  Inside a process, waiters queue per lane on an asyncio lock (FIFO),
and only the head of each lane talks to Redis, so N workers put at most 2N tickets in Redis, not
one per coroutine.  Across processes, tickets queue in a Redis sorted set by arrival: a request is
granted only when the budget also covers every ticket queued ahead of it (interactive tickets ahead
of bulk ones), so a cost-30 page is not starved by a stream of cost-1 calls from other hosts.  A
blocked head sleeps for the wait the script returns (until the window rolls or the pause ends),
capped at `max_poll` so that refunds are noticed, or `probe_poll` while a probe's answer is due; a
waiter that dies leaves a ticket that is dropped once it is `stale` seconds old.

If Redis cannot be reached, the budget falls back to a local `CostBudget` holding `fallback_share`
of the limit (e.g. 1/expected processes), logs one WARNING per outage (and one when it is over),
retries Redis every `retry_interval` seconds, and goes back to the shared budget when Redis answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .._checks import seconds
from ..budget import (
    BudgetStats,
    CostBudget,
    Settlement,
    default_max_pause,
    read_retry_after,
    report_settle,
)
from ..costs import Reading, cost_key, estimate_cost
from ..errors import ConfigurationError
from ..headers import int_header
from ..hooks import BudgetHook, Lane, Reservation
from ._compat import RedisKeyError, connect, key_errors, redis_errors, text, wrong_type
from ._scripts import BUDGET_RELEASE, BUDGET_RESERVE, BUDGET_SETTLE, BUDGET_STATS

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisBudget", "RedisReservation", "SharedBudgetStats"]

log = logging.getLogger("salesloft_async.redis")

Sleep = Callable[[float], Awaitable[None]]


@attrs.define
class RedisReservation:
    """One request's hold on the shared budget (or on the local fallback, during an outage)."""

    id: str
    method: str
    path: str
    cost: int
    lane: Lane
    cost_key: str
    window_start: str = ""
    probe: bool = False
    seq: str = ""
    granted: str = ""
    #: set when the reservation was made from the local fallback budget
    local: Reservation | None = None
    waited: float = 0.0
    done: bool = False


@attrs.frozen
class SharedBudgetStats:
    """The team-wide budget as Redis holds it: what `RedisBudget.shared_stats` returns.

    Times are epoch seconds on Redis's clock.  The counters run from when the key was created
    (or last expired after `10 x window` without traffic).
    """

    #: Redis's clock when this was read
    now: float
    #: start of the current shared window (None before the first request)
    window_start: float | None
    #: where windows begin, modulo the window length, as learned from the server's resets
    phase: float
    #: cost charged in the current window, requests in flight included: a lower bound on what
    #: the server has counted
    spent: int
    #: the working estimate of the window's spend, counting requests in flight that the server
    #: had most likely not counted when it last answered (None until an answer said)
    likely_spent: int | None
    #: cost granted in an earlier window and still in flight when the current one began
    carried: int
    #: cost of granted requests not yet answered
    in_flight: int
    #: every worker waits until then after a 429 (None when not paused)
    paused_until: float | None
    #: "none", "needed" (the next grant probes) or "out" (a probe is on its way)
    probe: str
    #: when an unanswered probe is given up (None when no probe is out)
    probe_deadline: float | None
    #: the server's latest ``x-ratelimit-remaining-minute`` in this window (None when none yet)
    server_remaining: int | None
    #: tickets of waiting requests, from every process
    queued: int
    #: cost the server charged for answered requests
    cost: int
    #: answered requests (429s excluded)
    requests: int
    #: grants made
    grants: int
    #: 429 answers
    rate_limited: int
    #: windows begun early because the server's remaining count jumped back up
    window_jumps: int

    @classmethod
    def from_reply(cls, reply: list[Any]) -> SharedBudgetStats:
        """From the stats script's flat field/value list (the fields of `_scripts`' hash)."""
        flat = [text(v) or "" for v in reply]
        raw = dict(zip(flat[::2], flat[1::2], strict=True))

        def num(name: str) -> float | None:
            try:
                return float(raw[name])
            except (KeyError, ValueError):
                return None

        def count(name: str) -> int:
            return int(num(name) or 0)

        probe = raw.get("probe", "")
        pause = num("pause")
        return cls(
            now=num("now") or 0.0,
            window_start=num("ws"),
            phase=num("phase") or 0.0,
            spent=count("spent"),
            likely_spent=None if num("doubt") is None else count("doubt"),
            carried=count("carry"),
            in_flight=count("inflight"),
            paused_until=pause if pause and pause > (num("now") or 0.0) else None,
            probe={"": "none", "need": "needed"}.get(probe, "out"),
            probe_deadline=num("probe_dl") if probe not in ("", "need") else None,
            server_remaining=None if num("obs_rem") is None else count("obs_rem"),
            queued=count("queued"),
            cost=count("cost"),
            requests=count("requests"),
            grants=count("grants"),
            rate_limited=count("r429"),
            window_jumps=count("jumps"),
        )


@attrs.define
class _Counters:
    """This process's share of the traffic; the team-wide ones are in `shared_stats()`."""

    spent: int = 0
    requests: int = 0
    released: int = 0
    waits: int = 0
    wait_time: float = 0.0
    rate_limited: int = 0
    remaining: int | None = None
    window_start: float | None = None
    windows: int = 0
    in_flight: int = 0
    queued: int = 0
    outages: int = 0


def _ckey(method: str, path: str, params: Mapping[str, Any] | None) -> str:
    m, template, band = cost_key(method, path, params)
    return f"{m} {template} {band}"


class RedisBudget:
    """Implements `salesloft_async.hooks.BudgetHook` with the state in Redis.

    The same constructor and behaviour as `CostBudget` where they make sense across processes
    (`limit`, `window`, `reserve_share`, `reading`, `on_settle`, `stats`).

    :param redis: a ``redis.asyncio`` client, or a ``redis://`` URL to open one from.
    :param key: e.g. ``budget_key(team)`` -> ``salesloft:{team}:budget``; every worker of the team
        uses the same key, limit and window.
    :param limit: cost per window (Salesloft: 600, changeable per customer).
    :param window: window length in seconds (Salesloft: 60).
    :param reserve_share: share of the window that ``lane="bulk"`` requests may not spend.
    :param reading: which deep-page table to predict with before costs are learned.
    :param on_settle: called with a `Settlement` after every answered request.
    :param fallback_share: share of the limit the local fallback may spend while Redis is down
        (1/expected processes keeps the team under its limit).
    :param fallback: the budget used while Redis is down (default: a `CostBudget` holding
        `fallback_share` of the limit, built at the first outage).
    :param retry_interval: seconds between tries of Redis during an outage.
    :param op_timeout: seconds one Redis call may take before Redis counts as down.
    :param max_poll: the longest sleep of a waiter before it asks Redis again.
    :param probe_poll: the same, while a probe's answer is due.
    :param stale: seconds after which the ticket of a waiter that stopped asking is dropped
        (default: 8 polls, at least 2 s).
    :param probe_timeout: seconds after which a probe that was never settled (its process died)
        lets another probe go.
    :param inflight_ttl: seconds after which a grant never settled (its process died) stops
        counting.
    :param max_pause: the longest a 429 pauses every worker, whatever the server's
        ``Retry-After`` says (default: one window plus a tenth, at least 1 s); the scripts enforce
        it on the stored pause too.
    :param sleep: how a waiter sleeps between polls (default `asyncio.sleep`).
    :param wall_clock: epoch seconds, to read a ``Retry-After`` given as a date.
    :param now: tests only, a time override passed to the scripts instead of Redis TIME.
    :param clock: monotonic seconds, for this process's waits and outage timing (tests pass a
        `ManualClock`, as ``sleep``, ``wall_clock`` and ``now`` too).
    """

    handles_rate_limit = True

    def __init__(
        self,
        redis: Redis | str,
        key: str,
        limit: int = 600,
        window: float = 60.0,
        *,
        reserve_share: float = 0.10,
        reading: Reading = "conservative",
        on_settle: Callable[[Settlement], None] | None = None,
        fallback_share: float = 0.25,
        fallback: BudgetHook | None = None,
        retry_interval: float = 1.0,
        op_timeout: float = 1.0,
        max_poll: float = 0.25,
        probe_poll: float = 0.005,
        stale: float | None = None,
        probe_timeout: float = 10.0,
        inflight_ttl: float = 120.0,
        max_pause: float | None = None,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
        now: Callable[[], float | None] = lambda: None,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not key:
            raise ConfigurationError("RedisBudget needs a non-empty key")
        if not (1 <= limit < math.inf and 0 < window < math.inf):  # nan and inf too
            raise ConfigurationError("limit must be >= 1 and window > 0")
        if not 0 <= reserve_share < 1:
            raise ConfigurationError("reserve_share must be a share of the limit in [0, 1)")
        if not 0 < fallback_share <= 1:
            raise ConfigurationError("fallback_share must be in (0, 1]")
        self.redis = connect(redis)
        self.key = key
        self.limit = limit
        self.window = window
        self.reserve_share = reserve_share
        self.reading: Reading = reading
        self.on_settle = on_settle
        self.fallback_share = fallback_share
        # A nan or inf here would disable a bound (an endless Redis call, a grant that never
        # expires); zero would spin.
        self.retry_interval = seconds("retry_interval", retry_interval)
        self.op_timeout = seconds("op_timeout", op_timeout)
        self.max_poll = seconds("max_poll", max_poll)
        self.probe_poll = seconds("probe_poll", probe_poll)
        self.stale = seconds("stale", stale) if stale is not None else max(2.0, 8 * self.max_poll)
        self.probe_timeout = seconds("probe_timeout", probe_timeout)
        self.inflight_ttl = seconds("inflight_ttl", inflight_ttl)
        self.max_pause = default_max_pause(window) if max_pause is None else max_pause
        if not 0 < self.max_pause < math.inf:
            raise ConfigurationError(f"max_pause must be a positive number, got {max_pause!r}")
        self.sleep = sleep
        self.wall_clock = wall_clock
        #: tests only: a time override (epoch seconds) passed to every script instead of TIME
        self.now = now
        self.clock = clock
        self._n = _Counters()
        #: every key of the budget, and what it holds (see `_scripts`): a WRONGTYPE names one
        self._types = {
            key: "hash",
            f"{key}:q": "zset",
            f"{key}:qi": "hash",
            f"{key}:costs": "hash",
            f"{key}:fly": "zset",
            f"{key}:seq": "string",
        }
        self._keys = list(self._types)
        self._reserve = self.redis.register_script(BUDGET_RESERVE)
        self._settle = self.redis.register_script(BUDGET_SETTLE)
        self._release = self.redis.register_script(BUDGET_RELEASE)
        self._stats = self.redis.register_script(BUDGET_STATS)
        self._unreachable = redis_errors()
        self._refused = key_errors()
        self._gates: dict[str, asyncio.Lock] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._urgent: set[asyncio.Task[None]] = set()
        self._fallback = fallback
        self._down_since: float | None = None
        self._next_try = 0.0

    def __repr__(self) -> str:
        return f"RedisBudget(key={self.key!r}, limit={self.limit}, window={self.window})"

    # --- BudgetHook ---------------------------------------------------------------------------

    async def reserve(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        lane: Lane = "interactive",
    ) -> Reservation:
        """Wait until the shared budget grants this request's predicted cost, and hold it."""
        if lane not in ("interactive", "bulk"):
            raise ConfigurationError(f"lane must be 'interactive' or 'bulk', got {lane!r}")
        method = method.upper()
        predicted = min(estimate_cost(method, path, params, reading=self.reading), self.limit)
        res = RedisReservation(
            uuid.uuid4().hex, method, path, predicted, lane, _ckey(method, path, params)
        )
        if self._urgent:  # a 429 this process just saw must reach Redis before we decide
            await asyncio.gather(*self._urgent, return_exceptions=True)
        began = self.clock()
        self._n.queued += 1
        try:
            granted = await self._reserve_shared(res)
        finally:
            self._n.queued -= 1
        if not granted:
            res.local = await self._local().reserve(method, path, params, lane)
        res.waited = self.clock() - began
        if res.waited > 0.001:
            self._n.waits += 1
            self._n.wait_time += res.waited
        self._n.in_flight += 1
        return res

    async def _reserve_shared(self, res: RedisReservation) -> bool:
        """Loop on the reserve script until granted (True), or Redis is down (False)."""
        if self._in_outage() and self.clock() < self._next_try:
            return False
        gate = self._gates.setdefault(res.lane, asyncio.Lock())
        queued = False
        async with gate:
            try:
                while True:
                    if self._in_outage() and self.clock() < self._next_try:
                        return False
                    # Shielded: if our caller is cancelled while Redis decides, the decision
                    # still lands, and a grant nobody will use is handed straight back.
                    call = asyncio.ensure_future(self._call(self._reserve, self._reserve_args(res)))
                    try:
                        reply = await asyncio.shield(call)
                    except asyncio.CancelledError:
                        call.add_done_callback(lambda done: self._orphaned(res, done))
                        raise
                    except self._unreachable as exc:
                        self._enter_outage(exc)
                        return False
                    if int(reply[0]) == 1:
                        self._granted(res, reply)
                        return True
                    queued = True
                    short = text(reply[1]) in ("probe", "doubt")  # an answer will come soon
                    cap = self.probe_poll if short else self.max_poll
                    await self.sleep(min(float(text(reply[2]) or 0), cap))
            except asyncio.CancelledError:
                if queued:
                    self._spawn(self._drop_ticket(res))
                raise

    def _orphaned(self, res: RedisReservation, call: asyncio.Future[Any]) -> None:
        """A reserve decision whose waiter was cancelled meanwhile: undo what it decided."""
        if call.cancelled() or call.exception() is not None:
            return
        reply = call.result()
        if int(reply[0]) != 1:
            self._spawn(self._drop_ticket(res))
            return
        self._granted(res, reply)
        self._spawn(self._quiet(self._release, self._release_args(res)))

    def _granted(self, res: RedisReservation, reply: list[Any]) -> None:
        res.window_start = text(reply[1]) or ""
        res.probe = int(reply[2]) == 1
        res.cost = int(float(text(reply[3]) or res.cost))
        res.seq = text(reply[5]) or ""
        res.granted = text(reply[6]) or ""
        self._n.remaining = int(float(text(reply[4]) or 0))
        start = float(res.window_start)
        if start != self._n.window_start:
            self._n.windows += 1
            self._n.window_start = start

    def settle(self, reservation: Reservation, status: int, headers: Mapping[str, str]) -> None:
        """Tell Redis what the server said; runs in the background (the hook is synchronous).

        A 429 is urgent: this process's next `reserve` waits until Redis knows of it.
        """
        res = self._own(reservation)
        if res is None:
            return
        self._n.in_flight -= 1
        self._n.requests += 1
        if status == 429:
            self._n.rate_limited += 1
        if res.local is not None:
            self._local().settle(res.local, status, headers)
            return
        actual = int_header(headers, "x-ratelimit-endpoint-cost")
        remaining = int_header(headers, "x-ratelimit-remaining-minute")
        cost = 0 if status == 429 else (actual if actual is not None else res.cost)
        self._n.spent += cost
        retry_after = read_retry_after(headers, self.wall_clock(), self.max_pause)
        args = [
            *self._base_args(),
            res.id,
            res.cost,
            res.window_start,
            "1" if res.probe else "0",
            status,
            "" if actual is None else max(0, actual),
            "" if remaining is None else remaining,
            "" if retry_after is None else f"{retry_after:.6f}",
            res.cost_key,
            res.seq,
            res.granted,
            f"{self.max_pause:.6f}",
        ]
        task = self._spawn(self._run_settle(args, res, status, cost, remaining))
        if status == 429:
            self._urgent.add(task)
            task.add_done_callback(self._urgent.discard)

    def release(self, reservation: Reservation) -> None:
        """No answer will come: it stops counting as in flight; the charge stays (the server
        may have counted it)."""
        res = self._own(reservation)
        if res is None:
            return
        self._n.in_flight -= 1
        self._n.released += 1
        self._n.spent += res.cost
        if res.local is not None:
            self._local().release(res.local)
            return
        self._spawn(self._quiet(self._release, self._release_args(res)))

    def _release_args(self, res: RedisReservation) -> list[Any]:
        return [
            *self._base_args(),
            res.id,
            res.cost,
            res.window_start,
            "1" if res.probe else "0",
            res.seq,
            res.granted,
        ]

    @property
    def stats(self) -> BudgetStats:
        """This process's counters, and the shared window as of its latest decision.

        `spent`, `requests`, `waits` and `rate_limited` count this process only; the team-wide
        totals are in `await shared_stats()`.  `background` is not tracked (0).
        """
        n = self._n
        return BudgetStats(
            limit=self.limit,
            window=self.window,
            spent=n.spent,
            requests=n.requests,
            released=n.released,
            waits=n.waits,
            wait_time=n.wait_time,
            rate_limited=n.rate_limited,
            remaining=n.remaining if n.remaining is not None else self.limit,
            background=0,
            window_start=n.window_start,
            windows=n.windows,
            in_flight=n.in_flight,
            queued=n.queued,
        )

    @property
    def in_fallback(self) -> bool:
        """True while Redis is unreachable and the local fallback budget is in use."""
        return self._in_outage()

    @property
    def outages(self) -> int:
        """How many times Redis became unreachable since construction."""
        return self._n.outages

    # --- helpers for users --------------------------------------------------------------------

    async def drain(self) -> None:
        """Wait until every settle and release of this process has reached Redis (or failed)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def shared_stats(self) -> SharedBudgetStats:
        """The team-wide state and counters, as Redis holds them, for every worker together."""
        return SharedBudgetStats.from_reply(await self._call(self._stats, self._base_args()))

    async def reset(self) -> None:
        """Forget the shared state (tests, or after changing the limit): deletes every key."""
        await self.redis.delete(*self._keys)

    # --- internals ----------------------------------------------------------------------------

    def _base_args(self) -> list[Any]:
        override = self.now()
        return [
            "" if override is None else f"{override:.6f}",
            self.limit,
            f"{self.window:.6f}",
            f"{self.inflight_ttl:.6f}",
        ]

    def _reserve_args(self, res: RedisReservation) -> list[Any]:
        reserve = math.ceil(self.limit * self.reserve_share) if res.lane == "bulk" else 0
        return [
            *self._base_args(),
            res.id,
            res.cost,
            "b" if res.lane == "bulk" else "i",
            reserve,
            res.cost_key,
            f"{self.stale:.6f}",
            f"{self.probe_timeout:.6f}",
            f"{self.max_pause:.6f}",
        ]

    async def _call(self, script: Any, args: list[Any]) -> Any:
        """Run one script; any outcome updates the outage state."""
        issued = self.clock()
        try:
            async with asyncio.timeout(self.op_timeout):
                reply = await script(keys=self._keys, args=args)
        except self._unreachable as exc:
            self._enter_outage(exc)
            raise
        except self._refused as exc:
            why = await wrong_type(self.redis, exc, self._types, "RedisBudget")
            raise RedisKeyError(why) from None
        # Only a call sent after the outage began proves Redis is back (an answer that was
        # already on its way when Redis died proves nothing).
        if self._down_since is not None and issued >= self._down_since:
            self._leave_outage()
        return reply

    async def _run_settle(
        self,
        args: list[Any],
        res: RedisReservation,
        status: int,
        cost: int,
        server_remaining: int | None,
    ) -> None:
        try:
            reply = await self._call(self._settle, args)
        except self._unreachable as exc:
            self._enter_outage(exc)
            return
        self._n.remaining = max(0, int(float(text(reply[0]) or 0)))
        if self.on_settle is not None:
            report_settle(self.on_settle, res, status, cost, server_remaining, self._n.remaining)

    async def _quiet(self, script: Any, args: list[Any]) -> None:
        try:
            await self._call(script, args)
        except self._unreachable as exc:
            self._enter_outage(exc)

    async def _drop_ticket(self, res: RedisReservation) -> None:
        await self._quiet(self._release, [*self._base_args(), res.id, "", "", "0", "", ""])

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(self._logged(coro))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return task

    async def _logged(self, coro: Coroutine[Any, Any, None]) -> None:
        """Background work (settle, release) has no caller to raise to: say what went wrong."""
        try:
            await coro
        except self._unreachable:
            pass  # already counted as an outage
        except Exception:
            log.exception(
                "RedisBudget %r: a background update of the shared budget failed", self.key
            )

    def _own(self, reservation: Reservation) -> RedisReservation | None:
        if not isinstance(reservation, RedisReservation):
            log.warning("RedisBudget was handed a reservation it did not issue: %r", reservation)
            return None
        if reservation.done:
            return None
        reservation.done = True
        return reservation

    # --- outage and fallback ------------------------------------------------------------------

    def _in_outage(self) -> bool:
        return self._down_since is not None

    def _enter_outage(self, exc: BaseException) -> None:
        self._next_try = self.clock() + self.retry_interval
        if self._down_since is not None:
            return
        self._down_since = self.clock()
        self._n.outages += 1
        # Pooled connections to a Redis that died are dead too: drop them now, so that the
        # first calls after it comes back do not fail one stale connection at a time.
        self._spawn(self._drop_connections())
        log.warning(
            "Redis unreachable for the shared budget %r (%s): falling back to a local budget of"
            " %d per %s s (fallback_share=%s) until it answers again",
            self.key,
            type(exc).__name__,
            self._local_limit(),
            self.window,
            self.fallback_share,
        )

    async def _drop_connections(self) -> None:
        with contextlib.suppress(Exception):
            await self.redis.connection_pool.disconnect(inuse_connections=True)

    def _leave_outage(self) -> None:
        if self._down_since is None:
            return
        log.warning(
            "Redis reachable again after %.1f s: back to the shared budget %r",
            self.clock() - self._down_since,
            self.key,
        )
        self._down_since = None

    def _local_limit(self) -> int:
        return max(1, int(self.limit * self.fallback_share))

    def _local(self) -> BudgetHook:
        if self._fallback is None:
            self._fallback = CostBudget(
                limit=self._local_limit(),
                window=self.window,
                reserve_share=self.reserve_share,
                reading=self.reading,
            )
        return self._fallback
