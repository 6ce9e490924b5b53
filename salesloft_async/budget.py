"""An in-process cost budget: spend the team's budget to the last unit, without 429s.

Salesloft meters every team at (by default) 600 cost per minute, shared by *every* integration of
the team, and answers 429 once it is spent.  `CostBudget` sits in the transport's pipeline: before
a request is sent the transport calls `CostBudget.reserve` (which waits until the predicted cost may
be spent and holds it), after the response it calls `CostBudget.settle` with the status and headers,
and when no response will come it calls `CostBudget.release`.  One budget may be shared by any
number of clients and coroutines of one event loop; share it between processes with the Redis
budget instead.

How it decides, and why:

* **Prediction.**  The cost of a call is predicted by `salesloft_async.costs.estimate_cost`
  (conservative about deep pages) until the server has said what that kind of call really costs
  (``x-ratelimit-endpoint-cost``, learned per method, path template and depth band).  Settling
  replaces the prediction by the real cost, refunding or charging the difference.

* **The server is the authority.**  Other integrations spend from the same budget and nothing
  tells us but ``x-ratelimit-remaining-minute``.  The budget keeps what *we* spent in the current
  window exactly, and models everything else as "background" spend ``B``; each response bounds it:
  ``B = limit - header - (our spend the server had counted when it answered)``.  Which of our
  in-flight requests the server had counted is unknowable, so two estimates are kept:

  - a guaranteed lower bound, assuming every request we had sent before the answer arrived was
    counted.  It never invents background spend, so a budget used alone is never throttled by
    its own concurrency; requests are never granted beyond it;
  - a working estimate, assuming exactly the requests granted before this one were counted (the
    server handles requests roughly in the order they were sent).  Requests that fit under it
    go out concurrently; a request that fits only under the lower bound goes out alone, so that
    its answer settles the doubt before anything else is sent.

  When the team's other integrations are seen spending, the last few percent of the window are
  spent one request at a time, so that a race with them costs at most one 429.

* **Windows.**  Salesloft's window is a fixed calendar minute (one connector waits for the next
  wall-clock minute of the ``Date`` header).  The local clock is not trusted for this:
  `server_clock.ServerClock` brackets the server's clock from every ``Date`` header and the
  boundaries from the remaining count jumping back up, and the budget refills at the *latest*
  moment the server's window can have ended.  If the count jumps up before that, the server has
  evidently started a new window: the budget follows it at once.  No single answer is trusted: a
  ``Date`` that contradicts the others is set aside, ``Date`` is given up for the resets when
  readings keep contradicting, and a window end is never placed more than one window from now, so
  a lying clock costs at most a 429, never a stall.  The first request of every window goes out
  alone, so a wrong guess costs one 429, not fifty.  A busy client spends each window in its first
  instant and would learn the server's clock only to a second; so while it has the window to
  itself it holds one unit back and sends it at the moment that halves the bracket (see
  `ServerClock.plan_timing`), window after window, until the refill follows the server's
  boundary within milliseconds.

* **429.**  The whole budget pauses (every waiter, not just the caller), then one probe request
  goes alone, and everyone else follows once it has succeeded.  The pause lasts as long as
  ``Retry-After`` says; without one, until the server's window ends when the budget knows where
  its windows end (a believed ``Date``, or a reset seen); when nothing says (a mock or proxy that
  sends neither), a probe backoff of a sixtieth of the window (1 s for Salesloft's minute),
  doubled by each refused probe.  A server's word never pauses longer than `max_pause` (one window
  plus a tenth by default): a ``Retry-After`` that is not finite or beyond a day is treated as
  absent, and any other is capped.  `handles_rate_limit` is True: the transport retries a 429
  without sleeping, because the retried request waits here.

* **Fairness.**  Waiters are served strictly in arrival order: a cost-30 request at the head of
  the queue is not overtaken by a stream of cost-1 requests (aiolimiter, by design, serves the
  smallest amounts first, so its queue is not used for this).  The one exception is the bulk lane:
  requests marked ``lane="bulk"`` may not spend the last `reserve_share` of the window, and while
  one of them waits for that reason, interactive requests behind it go ahead, so that a web app's
  requests keep flowing while an export runs.

* **Pacing.**  With ``pace=True`` spend is spread evenly over the window by an aiolimiter
  `AsyncLimiter` (a leaky bucket with a small burst) in front of the budget, instead of bursting at
  the window's start: kinder to other integrations of the team.  Its queue is entered one request
  at a time, in arrival order, so it cannot reorder anyone.

* **Cancellation.**  A cancelled waiter leaves the queue; a grant that reaches a cancelled waiter
  is refunded; a request cancelled after it was granted is released by the transport.  A released
  request keeps its charge, because it may have reached the server and been counted there; it
  only stops counting as in flight.  Nothing waits on a request that will never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import attrs
from aiolimiter import AsyncLimiter

from .costs import CostKey, Reading, cost_key, estimate_cost
from .errors import ConfigurationError
from .headers import date_header, header, int_header
from .hooks import Lane
from .retry import parse_retry_after
from .server_clock import ServerClock

__all__ = ["BudgetStats", "CostBudget", "CostReservation", "Settlement"]

log = logging.getLogger(__name__)

#: Once other integrations have been seen spending, this share of the window is spent one request
#: at a time: each answer re-reads the server before the next unit goes out.
TAIL_SHARE = 0.05
#: A ``Retry-After`` beyond this (seconds) is a broken header, not a rate limit: taken as absent.
ABSURD_RETRY_AFTER = 86_400.0

State = Literal["pending", "settled", "released"]


@attrs.define(eq=False)
class CostReservation:
    """One request's hold on the budget, from `CostBudget.reserve` until settle or release.

    The transport treats it as opaque.  `cost` is what was predicted and charged when it was
    granted; `actual` is what the server said it cost (set on settle).  Settling or releasing a
    reservation a second time does nothing.
    """

    method: str
    path: str
    lane: Lane
    key: CostKey
    cost: int
    #: the budget's window counter when granted; the window the charge was made in
    epoch: int
    granted_at: float
    granted_wall: float = attrs.field(repr=False)
    #: the budget's event counter when granted: orders grants and answers without a clock
    granted_seq: int = attrs.field(repr=False)
    #: cost granted in the same window before this one: what the server has most likely counted
    #: before it counts this request
    granted_before: int = attrs.field(repr=False)
    #: sent alone after a 429 pause to find out whether the server's window has reset
    probe: bool = False
    #: seconds spent waiting in `reserve`
    waited: float = 0.0
    state: State = "pending"
    actual: int | None = None


@attrs.frozen
class Settlement:
    """What `on_settle` receives for every answered request (metrics, logging)."""

    method: str
    path: str
    lane: Lane
    status: int
    predicted: int
    cost: int
    #: ``x-ratelimit-remaining-minute`` as the server sent it (None when absent)
    server_remaining: int | None
    #: the budget's estimate of what is left of the window after this answer
    remaining: int
    waited: float


@attrs.frozen
class BudgetStats:
    """A snapshot of `CostBudget.stats`."""

    limit: int
    window: float
    #: cost the server charged for our answered requests, plus the charges of released ones
    spent: int
    #: answered requests (any status, 429 included)
    requests: int
    #: requests that got no answer (cancelled, connection failed)
    released: int
    #: calls to `reserve` that had to wait, and their total waiting time in seconds
    waits: int
    wait_time: float
    #: 429 answers seen
    rate_limited: int
    #: what the budget believes is left of the current window (conservative)
    remaining: int
    #: other integrations' spend seen in the current window
    background: int
    #: start of the current window, on the budget's `clock` (None before the first request)
    window_start: float | None
    #: windows the budget has moved through
    windows: int
    in_flight: int
    queued: int


@attrs.define(eq=False)
class _Waiter:
    cost: int
    lane: Lane
    key: CostKey
    method: str
    path: str
    enqueued_at: float
    future: asyncio.Future[CostReservation]


@attrs.define
class _Observation:
    """The last ``x-ratelimit-remaining-minute`` read, to notice the count jumping back up."""

    remaining: int
    granted_at: float
    received_at: float
    received_seq: int
    epoch: int


class CostBudget:
    """The team's cost budget, metered in this process.  Implements `hooks.BudgetHook`.

    :param limit: cost per window (Salesloft: 600, changeable per customer).
    :param window: window length in seconds (Salesloft: 60; shorter for sandbox tests).
    :param reserve_share: share of the window that ``lane="bulk"`` requests may not spend.
    :param pace: spread spend evenly over the window (aiolimiter leaky bucket) instead of
        bursting at its start.
    :param clock: monotonic seconds; `sleep` sleeps on the same clock (inject both in tests).
    :param sleep: waits that many seconds of `clock` (default `asyncio.sleep`).
    :param wall_clock: epoch seconds, compared with the server's ``Date`` header.
    :param on_settle: called with a `Settlement` after every answered request; exceptions are
        logged and swallowed.
    :param reading: which deep-page table to predict with before costs are learned
        ("conservative" = the larger of Salesloft's two readings).
    :param learn: learn each kind of call's real cost from ``x-ratelimit-endpoint-cost``.
    :param max_pause: the longest a 429 pauses the budget, whatever the server says (seconds;
        default: one window plus a tenth of it, at least 1 s).
    """

    #: The budget waits out a 429 itself: the transport's retry policy must not sleep again.
    handles_rate_limit = True

    def __init__(
        self,
        limit: int = 600,
        window: float = 60.0,
        *,
        reserve_share: float = 0.10,
        pace: bool = False,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
        wall_clock: Callable[[], float] = time.time,
        on_settle: Callable[[Settlement], None] | None = None,
        reading: Reading = "conservative",
        learn: bool = True,
        max_pause: float | None = None,
    ) -> None:
        if not 1 <= limit < math.inf:  # nan and inf cannot be counted down
            raise ConfigurationError(f"limit must be at least 1, got {limit!r}")
        if not 0 < window < math.inf:
            raise ConfigurationError(f"window must be positive, got {window!r}")
        if not 0.0 <= reserve_share < 1.0:
            raise ConfigurationError(f"reserve_share must be in [0, 1), got {reserve_share!r}")
        self.limit = int(limit)
        self.window = float(window)
        self.max_pause = default_max_pause(self.window) if max_pause is None else max_pause
        if not 0 < self.max_pause < math.inf:
            raise ConfigurationError(f"max_pause must be a positive number, got {max_pause!r}")
        self.reserve_share = float(reserve_share)
        self.pace = pace
        self._clock = clock
        self._sleep = sleep
        self._wall = wall_clock
        self._on_settle = on_settle
        self._reading: Reading = reading
        self._learn = learn
        self._learned: dict[CostKey, int] = {}

        # Pacing: the bucket holds a twentieth of the window (at least one unit), so spend leaks
        # out at limit/window with small bursts.  Amounts above the bucket are capped to it.
        self._pacer: AsyncLimiter | None = None
        self._pace_gate: asyncio.Lock | None = None
        if pace:
            burst = max(1.0, self.limit / 20)
            self._pacer = AsyncLimiter(burst, self.window * burst / self.limit)
            self._pace_gate = asyncio.Lock()

        self._queue: deque[_Waiter] = deque()
        self._pending: set[CostReservation] = set()
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: float | None = None

        # The current window, as this budget believes it.
        self._epoch = 0
        self._window_start: float | None = None
        self._window_end: float | None = None
        self._spent_now = 0  # our charges in the current window (pending predicted + settled real)
        self._granted_mark = 0  # cost granted in this window so far, for `granted_before`
        self._inflight_now = 0  # pending reservations granted in the current window
        self._bg_floor = 0  # background spend: a guaranteed lower bound
        self._bg_est: int | None = None  # background spend: working estimate (None = unknown)
        self._bg_seen_before = False  # background spend was seen in the previous window

        # The server's clock: where its windows end (see `server_clock`).
        self._server = ServerClock(self.window, clock, wall_clock)
        self._last_obs: _Observation | None = None
        self._seq = 0  # counts grants and answers, to prove one came before another

        # 429 handling.
        self._paused_until: float | None = None
        self._strikes = 0  # pauses in a row (a failed probe extends the streak), for the backoff
        self._paused_in = 0  # the window (epoch) the last 429 was counted in
        self._probe_pending = False
        self._probe: CostReservation | None = None

        # Counters for `stats`.
        self._total_spent = 0
        self._requests = 0
        self._released = 0
        self._waits = 0
        self._wait_time = 0.0
        self._rate_limited = 0

    def __repr__(self) -> str:
        return (
            f"<CostBudget limit={self.limit} window={self.window:g}s "
            f"remaining~{self._remaining_estimate()} in_flight={len(self._pending)} "
            f"queued={len(self._queue)}>"
        )

    # ------------------------------------------------------------------ public API

    @property
    def stats(self) -> BudgetStats:
        """Counters since construction, and the current window as the budget believes it."""
        self._roll(self._clock())
        return BudgetStats(
            limit=self.limit,
            window=self.window,
            spent=self._total_spent,
            requests=self._requests,
            released=self._released,
            waits=self._waits,
            wait_time=self._wait_time,
            rate_limited=self._rate_limited,
            remaining=self._remaining_estimate(),
            background=max(self._bg_floor, self._bg_est or 0),
            window_start=self._window_start,
            windows=self._epoch,
            in_flight=len(self._pending),
            queued=sum(1 for w in self._queue if not w.future.done()),
        )

    def predict(self, method: str, path: str, params: Mapping[str, Any] | None = None) -> int:
        """The cost `reserve` would charge for this call now (learned, else estimated)."""
        key = cost_key(method, path, params)
        learned = self._learned.get(key)
        cost = (
            learned
            if learned is not None
            else estimate_cost(method, path, params, reading=self._reading)
        )
        # A call dearer than the whole window can still be sent, alone, in a fresh window.
        return max(0, min(cost, self.limit))

    async def reserve(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        lane: Lane = "interactive",
    ) -> CostReservation:
        """Wait until this request's predicted cost may be spent, and hold it.

        Waiters are served in arrival order.  Cancelling the caller while it waits leaves
        nothing behind.
        """
        if lane not in ("interactive", "bulk"):
            raise ConfigurationError(f"lane must be 'interactive' or 'bulk', got {lane!r}")
        method = method.upper()
        key = cost_key(method, path, params)
        cost = self.predict(method, path, params)
        started = self._clock()
        if self._pacer is not None and self._pace_gate is not None:
            # One at a time through the leaky bucket, in arrival order (asyncio.Lock is fair);
            # nothing is awaited between leaving it and joining the budget's queue below.
            async with self._pace_gate:
                await self._pacer.acquire(min(float(cost), self._pacer.max_rate))
        future: asyncio.Future[CostReservation] = asyncio.get_running_loop().create_future()
        waiter = _Waiter(cost, lane, key, method, path, started, future)
        self._queue.append(waiter)
        self._dispatch()
        queued = not future.done()
        try:
            reservation = await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                # Granted in the same instant as cancelled: it was never sent, refund it all.
                self._refund(future.result())
            else:
                with contextlib.suppress(ValueError):
                    self._queue.remove(waiter)
                self._dispatch()
            raise
        waited = self._clock() - started
        reservation.waited = waited
        if queued or waited > 0:
            self._waits += 1
            self._wait_time += waited
        return reservation

    def settle(self, reservation: Any, status: int, headers: Mapping[str, str]) -> None:
        """The server answered: charge the real cost and believe its remaining count."""
        res = self._own(reservation)
        if res is None or res.state != "pending":
            return
        now = self._clock()
        wall = self._wall()
        self._roll(now)  # first move on to the window we are in, if it has begun meanwhile
        seq = self._next_seq()
        res.state = "settled"
        self._pending.discard(res)
        if res.epoch == self._epoch:
            self._inflight_now -= 1
        if res is self._probe:
            self._probe = None

        server_remaining = int_header(headers, "x-ratelimit-remaining-minute")
        reported_cost = int_header(headers, "x-ratelimit-endpoint-cost")
        limited = status == 429
        if limited:
            actual = 0  # a refused request spends nothing
        elif reported_cost is not None:
            actual = max(0, reported_cost)
            if self._learn:
                self._learned[res.key] = actual
        else:
            actual = res.cost  # no word from the server: keep the (conservative) prediction
        res.actual = actual
        # A 429 without the header proves the window spent: so much is known of what is left.
        seen = 0 if server_remaining is None and limited else server_remaining

        date = date_header(headers)
        if date is not None and not self._note_date(date, res, wall):
            date = None  # an outlier: it says nothing about which window counted this answer

        # Where does this answer belong?  The current window, or one we have already left?
        counted_now = res.epoch == self._epoch
        granted_before = res.granted_before
        stale = False  # counted in a server window this budget has already left
        if seen is not None and self._reset_since_last(seen, res, now):
            # The server started a new window that we had not noticed: follow it now.  This
            # answer was counted in the new window; nothing else is known about the others.
            self._advance(now, cause="jump")
            counted_now, granted_before = True, 0
            self._spent_now += actual
            self._granted_mark += actual
        elif counted_now:
            self._spent_now += actual - res.cost
        else:
            # Granted in an earlier window, charged again in this one when it began.
            where = self._server.window_of(date)
            index = self._server.index
            if where is not None and index is not None and where < index:
                self._spent_now -= res.cost  # the server counted it in the old window: refund
                stale = True
            else:
                self._spent_now += actual - res.cost
                counted_now = where is not None and where == index
                granted_before = 0
        if seen is not None:
            # Filed under the window it was counted in, as far as that is known, so that the
            # next answer's higher count is not mistaken for a reset we have not followed.
            epoch = self._epoch if counted_now else res.epoch
            self._last_obs = _Observation(seen, res.granted_at, now, seq, epoch)
        if counted_now and seen is not None:
            self._clamp(seen, actual, granted_before, limited)

        self._total_spent += actual
        self._requests += 1
        if limited:
            self._rate_limited += 1
            if not stale:  # a refusal in a window already left says nothing about this one
                self._pause(now, read_retry_after(headers, wall, self.max_pause), res.probe)
        elif res.probe:
            # The probe was answered without a 429: the server takes requests again.  (Answers
            # to requests sent before the pause prove nothing.)
            self._probe_pending = False
            self._strikes = 0
            if seen is None and counted_now and self._paused_in == self._epoch:
                # The 429 said this window was spent and it has not ended by our reckoning, yet
                # the server takes requests, and says nothing of how much is left: its window
                # has evidently begun again (a mock or proxy without rate-limit headers).
                self._advance(now, cause="probe")
                self._spent_now += actual
                self._granted_mark += actual
        self._notify(res, status, server_remaining)
        self._dispatch()

    def release(self, reservation: Any) -> None:
        """No answer will come.  The charge stays (the server may have counted the request);
        the reservation stops counting as in flight, so nobody waits for its answer."""
        res = self._own(reservation)
        if res is None or res.state != "pending":
            return
        self._roll(self._clock())
        res.state = "released"
        self._pending.discard(res)
        if res.epoch == self._epoch:
            self._inflight_now -= 1
        if res is self._probe:
            self._probe = None  # the next request probes instead
        self._total_spent += res.cost
        self._released += 1
        self._dispatch()

    # ------------------------------------------------------------------ granting

    def _dispatch(self) -> None:
        """Grant what may be granted now, in arrival order; arm the timer for the rest."""
        now = self._clock()
        self._roll(now)
        if self._paused_until is not None:
            if now < self._paused_until:
                self._arm(self._paused_until)
                return
            self._paused_until = None
        if self._server.timing_at is not None and now >= self._server.timing_at:
            self._server.timing_at = None  # the held unit goes out now, to the head of the queue
        bulk_blocked = False
        index = 0
        while index < len(self._queue):
            waiter = self._queue[index]
            if waiter.future.done():
                del self._queue[index]
                continue
            if waiter.lane == "bulk" and bulk_blocked:
                index += 1
                continue
            probe = self._admit(waiter, now)
            if probe is not None:
                del self._queue[index]
                waiter.future.set_result(self._grant(waiter, now, probe=probe))
                continue
            if waiter.lane == "interactive":
                break  # strict FIFO: nobody overtakes a waiting interactive request
            # A bulk request held back by the reserve blocks only bulk requests behind it.
            bulk_blocked = True
            index += 1
        if self._queue and self._window_end is not None:
            wake = self._window_end
            if self._server.timing_at is not None:
                wake = min(wake, self._server.timing_at)
            self._arm(wake)
        elif not self._queue:
            self._disarm()

    def _admit(self, waiter: _Waiter, now: float) -> bool | None:
        """None: not now.  False: grant.  True: grant as the probe after a 429 pause."""
        if self._probe_pending:
            if self._probe is not None or self._inflight_now:
                return None
            return True
        floor = math.ceil(self.reserve_share * self.limit) if waiter.lane == "bulk" else 0
        contested = self._contested()
        if self._server.timing_at is not None and not contested:
            floor += 1  # the unit held back to time a request (see `ServerClock.plan_timing`)
        floor = min(floor, self.limit - waiter.cost)  # a dear call still fits a fresh window
        # Guaranteed bound first: never grant what even the most hopeful reading lacks.
        hopeful = self.limit - self._spent_now - self._bg_floor - floor
        if waiter.cost > hopeful:
            return None
        if self._bg_est is not None:
            margin = math.ceil(TAIL_SHARE * self.limit) if contested else 0
            likely = self.limit - self._spent_now - self._bg_est - floor - margin
            if waiter.cost <= likely:
                return False
        # In doubt: go alone, and let the answer settle the doubt for everyone behind.
        return None if self._inflight_now else False

    def _contested(self) -> bool:
        """Have other integrations been seen spending, in this window or the last?"""
        return (self._bg_est or 0) > 0 or self._bg_floor > 0 or self._bg_seen_before

    def _grant(self, waiter: _Waiter, now: float, *, probe: bool) -> CostReservation:
        if self._window_start is None:
            self._window_start = now
            self._window_end = self._server.next_end(now)
        res = CostReservation(
            method=waiter.method,
            path=waiter.path,
            lane=waiter.lane,
            key=waiter.key,
            cost=waiter.cost,
            epoch=self._epoch,
            granted_at=now,
            granted_wall=self._wall(),
            granted_seq=self._next_seq(),
            granted_before=self._granted_mark,
            probe=probe,
        )
        if probe:
            self._probe = res
        self._granted_mark += waiter.cost
        self._spent_now += waiter.cost
        self._inflight_now += 1
        self._pending.add(res)
        return res

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def _refund(self, res: CostReservation) -> None:
        """Undo a grant that was never sent."""
        if res.state != "pending":
            return
        self._roll(self._clock())
        res.state = "released"
        self._pending.discard(res)
        self._spent_now -= res.cost  # charged to this window (if granted in an earlier one,
        if res.epoch == self._epoch:  # it was carried into this one when it began)
            self._inflight_now -= 1
            self._granted_mark -= res.cost
        if res is self._probe:
            self._probe = None
        self._dispatch()

    def _own(self, reservation: Any) -> CostReservation | None:
        if isinstance(reservation, CostReservation):
            return reservation
        log.warning("CostBudget was handed a reservation it did not issue: %r", reservation)
        return None

    # ------------------------------------------------------------------ the server's state

    def _clamp(self, seen: int, actual: int, granted_before: int, limited: bool) -> None:
        """Believe the server: work out other integrations' spend from its remaining count."""
        if limited:
            # The window is spent, whatever we thought.
            self._bg_floor = max(self._bg_floor, self.limit - self._spent_now)
            self._bg_est = max(self._bg_est or 0, self._bg_floor)
            return
        # Hopeful: every request we had sent was counted before this answer.
        self._bg_floor = max(self._bg_floor, self.limit - seen - self._spent_now)
        # Likely: exactly those granted before this one were.  The latest answer wins, so a
        # reordering on the way does not ratchet the estimate up for the rest of the window.
        likely = self.limit - seen - min(granted_before + actual, self._spent_now)
        self._bg_est = max(self._bg_floor, likely)

    def _remaining_estimate(self) -> int:
        background = self._bg_est if self._bg_est is not None else self._bg_floor
        return max(0, self.limit - self._spent_now - max(background, self._bg_floor))

    def _reset_since_last(self, seen: int, res: CostReservation, now: float) -> bool:
        """Did the remaining count jump back up since the last answer that surely came first?

        Records the evidence (a window boundary lies between the earlier request's sending and
        this answer) and says whether it is a reset the budget has not yet followed.
        """
        last = self._last_obs
        if last is None or last.received_seq > res.granted_seq or seen <= last.remaining:
            return False
        unexpected = last.epoch == self._epoch and res.epoch == self._epoch
        self._server.note_reset(last.granted_at, now, current=unexpected)
        if self._window_start is not None and not self._server.use_date:
            self._window_end = self._server.next_end(self._window_start)
        return unexpected

    def _note_date(self, server_time: float, res: CostReservation, received_wall: float) -> bool:
        """Read one answer's Date; place the current window on the server's clock if it is new."""
        if not self._server.note_date(server_time, res.granted_wall, received_wall):
            return False
        if self._window_start is not None and self._server.use_date:
            if self._server.index is None:
                # By the window this answer was counted in, when that is certain.
                counted = self._server.window_of(server_time) if res.epoch == self._epoch else None
                self._window_end = self._server.place(self._window_start, counted)
                self._server.plan_timing(self._contested())
            else:
                self._window_end = self._server.end_of(self._server.index)
        return True

    def _roll(self, now: float) -> None:
        if self._window_end is not None and now >= self._window_end:
            self._advance(now, cause="clock")

    def _advance(self, now: float, *, cause: str) -> None:
        """Begin a new window.  Requests still in flight may be counted in it: charge them."""
        self._bg_seen_before = (self._bg_est or 0) > 0 or self._bg_floor > 0
        self._epoch += 1
        carried = sum(r.cost for r in self._pending)
        self._spent_now = carried
        self._granted_mark = carried
        self._inflight_now = 0
        self._bg_floor = 0
        self._bg_est = None  # unknown until the first answer: that request goes alone
        if (
            cause == "clock"
            and self._window_end is not None
            and now - self._window_end < (self.window)
        ):
            self._window_start = self._window_end
        else:
            self._window_start = now
        self._window_end = self._server.advance(now, jumped=cause == "jump")
        self._server.plan_timing(self._contested())
        log.debug("cost window %d begins (%s); %d carried in flight", self._epoch, cause, carried)

    def _pause(self, now: float, retry_after: float | None, probe: bool) -> None:
        """A 429: hold everyone until the window resets (or Retry-After), then probe.

        Without Retry-After the server's window end is waited for only when something says
        where it is; otherwise a short probe backoff, doubled by each refused probe, finds it.
        """
        if probe or not self._probe_pending:  # not for every request that was in flight
            self._strikes += 1
        self._paused_in = self._epoch
        end = self._window_end
        if retry_after is not None:
            wait = retry_after
        elif self._server.knows_boundary and end is not None and end > now:
            wait = end - now
        else:
            wait = self.window / 60 * 2 ** min(self._strikes - 1, 20)
        until = now + min(wait, self.max_pause)
        self._paused_until = max(self._paused_until or 0.0, until)
        self._probe_pending = True
        log.info("429 from Salesloft: budget paused for %.2fs", self._paused_until - now)

    # ------------------------------------------------------------------ the timer

    def _arm(self, at: float) -> None:
        """Wake the queue at `at` (window end or pause end) by the injected sleep."""
        if self._timer is not None and not self._timer.done():
            if self._timer_at == at:
                return
            self._timer.cancel()
        self._timer_at = at
        self._timer = asyncio.get_running_loop().create_task(self._wake(at))

    def _disarm(self) -> None:
        if self._timer is not None and not self._timer.done():
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    async def _wake(self, at: float) -> None:
        await self._sleep(max(0.0, at - self._clock()))
        if self._timer is asyncio.current_task():
            self._timer = None
            self._timer_at = None
        self._dispatch()

    # ------------------------------------------------------------------ metrics

    def _notify(self, res: CostReservation, status: int, server_remaining: int | None) -> None:
        if self._on_settle is not None:
            cost = res.actual if res.actual is not None else res.cost
            report_settle(
                self._on_settle, res, status, cost, server_remaining, self._remaining_estimate()
            )


def default_max_pause(window: float) -> float:
    """The default cap on a 429's pause: one window plus a tenth of it (at least 1 s)."""
    return window + max(1.0, window / 10)


def read_retry_after(headers: Mapping[str, str], now_wall: float, cap: float) -> float | None:
    """A 429's ``Retry-After`` in seconds, capped at `cap`; None when absent or absurd.

    Not finite, or beyond `ABSURD_RETRY_AFTER` (``999999999``, ``inf``, a date in year 9999): a
    broken header, so the budget waits by its own rule instead.  Both budgets read it here.
    """
    raw = header(headers, "retry-after")
    seconds = parse_retry_after(raw, now_wall)
    with contextlib.suppress(ValueError):
        seconds = float(raw or "")  # as sent: "nan" is no delay of 0 s
    if seconds is None or not 0 <= seconds <= ABSURD_RETRY_AFTER:
        return None
    return min(seconds, cap)


def report_settle(
    callback: Callable[[Settlement], object],
    res: Any,
    status: int,
    cost: int,
    server_remaining: int | None,
    remaining: int,
) -> None:
    """Tell an `on_settle` callback about one answer; metrics must never break a request.

    `res` is any reservation with method, path, lane, cost (the prediction) and waited: both the
    in-process and the Redis budget report through here.
    """
    event = Settlement(
        method=res.method,
        path=res.path,
        lane=res.lane,
        status=status,
        predicted=res.cost,
        cost=cost,
        server_remaining=server_remaining,
        remaining=remaining,
        waited=res.waited,
    )
    try:
        callback(event)
    except Exception:
        log.exception("on_settle callback failed")
