"""Where the server's rate-limit windows end, on the local clock, from what its answers say.

Salesloft's window is a fixed calendar minute of the *server's* clock, and the local clock is not
trusted to agree with it.  Two kinds of evidence place the server's windows:

* ``Date``: each answer says the server's clock read [D, D+1) somewhere between sending the
  request and receiving the answer, which brackets the offset between the server's clock and the
  local wall clock.  Intersecting the brackets of many answers narrows it; the bracket widens by
  itself at `CLOCK_DRIFT`, so clocks that drift or are slewed apart are followed.
* resets: the remaining count jumping back up proves that a window boundary lay between an
  earlier request's sending and this answer.  These brackets, taken modulo the window, narrow the
  boundaries' phase without any ``Date``.

A window ends at the *latest* moment the evidence allows, so the budget never refills before the
server has.

No single answer is trusted.  A ``Date`` that contradicts the bracket (an hour or a year off, or
random) is held aside: if the next reading agrees with it the clock was stepped and the bracket
starts again from the two; if `MAX_CONFLICTS` readings in a row contradict, ``Date`` is no longer
used and the windows follow the resets alone (as they do when the resets contradict ``Date``: a
server whose windows are not aligned to its wall clock).  Whatever the readings say, a window end
is never placed more than one window length after the moment it is computed: the worst a lying
clock can cost is one early lone request (a 429), never a stall.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

__all__ = ["CLOCK_DRIFT", "MAX_CONFLICTS", "OFFSET_PRECISION", "ServerClock"]

log = logging.getLogger("salesloft_async.budget")

#: How fast the bracket on the server clock's offset widens by itself (100 ppm: two clocks that
#: drift apart, or are slewed by NTP, are followed; a stepped clock restarts the bracket).
CLOCK_DRIFT = 1e-4
#: Stop timing requests to narrow the bracket once it is this narrow (seconds).
OFFSET_PRECISION = 0.005
#: ``Date`` readings in a row that contradict the bracket (and each other) before ``Date`` is
#: given up for the resets alone.
MAX_CONFLICTS = 3


class ServerClock:
    """The server's window boundaries as local (`clock`) moments.

    :param window: the window length in seconds.
    :param clock: monotonic seconds, the clock the window ends are given on.
    :param wall_clock: epoch seconds, the clock ``Date`` is compared with.
    """

    def __init__(
        self, window: float, clock: Callable[[], float], wall_clock: Callable[[], float]
    ) -> None:
        self.window = window
        self._clock = clock
        self._wall = wall_clock
        #: bracket on (server clock - wall clock), from Date headers; None before the first
        self._off: tuple[float, float] | None = None
        self._off_at = 0.0  # when the bracket was last narrowed (on `clock`)
        #: a reading that contradicts the bracket, kept until the next one confirms or refutes it
        self._candidate: tuple[float, float] | None = None
        self._conflicts = 0
        self.trusted = True
        self._phase: tuple[float, float] | None = None  # a window boundary lies in it (mod window)
        #: the server's index (multiple of `window` on its clock) of the budget's current window,
        #: while Date is used; None otherwise or until placed
        self.index: int | None = None
        #: when this window's held unit goes out, timed to narrow the bracket (on `clock`)
        self.timing_at: float | None = None

    @property
    def use_date(self) -> bool:
        """Is the window placed by ``Date`` (rather than by resets or the local clock)?"""
        return self.trusted and self._off is not None

    @property
    def knows_boundary(self) -> bool:
        """Does any evidence say where the server's windows end?"""
        return self.use_date or self._phase is not None

    # ------------------------------------------------------------------ evidence

    def note_date(self, server_time: float, sent_wall: float, received_wall: float) -> bool:
        """One answer's ``Date``; False when it was not believed (an outlier, or Date not used).

        A believed reading that steps the clock sets `index` to None: the caller places the
        current window again.
        """
        if not self.trusted:
            return False
        lo, hi = server_time - received_wall, server_time + 1.0 - sent_wall
        if self._off is None:
            self._set(lo, hi)
            return True
        both = _meet((lo, hi), self.offset())
        if both is not None:
            self._set(*both)
            self._candidate, self._conflicts = None, 0
            return True
        self._conflicts += 1
        confirmed = self._candidate and _meet((lo, hi), self._candidate)
        if confirmed:
            log.info("the server's Date clock was stepped; following it")
            self._set(*confirmed)
            self._candidate, self._conflicts = None, 0
            self.index = None
            return True
        if self._conflicts >= MAX_CONFLICTS:
            self._distrust("Date headers contradict each other")
            return False
        self._candidate = (lo, hi)
        return False

    def note_reset(self, after: float, before: float, *, current: bool) -> None:
        """The remaining count jumped up: a boundary lies in (after, before) on `clock`.

        `current`: the budget had not yet moved past its current window, so (by ``Date``) only
        that window's end can explain the reset.
        """
        if self.use_date and not self._date_allows(after, before):
            self._distrust("Date does not match the server's window resets")
        if self._phase is None:
            self._phase = (after, before)
        else:
            lo, hi = self._phase
            shift = round(((after + before) - (lo + hi)) / 2 / self.window) * self.window
            a, b = after - shift, before - shift
            self._phase = _meet((lo, hi), (a, b)) or (a, b)
        if current and self.use_date and self.index is not None:
            # If the server's clock cannot have reached the current window's end, Date is wrong.
            tol = min(0.5, 0.02 * self.window)
            if (self.index + 1) * self.window > self._wall() + self.offset()[1] + tol:
                self._distrust("the server reset its window off its Date clock")

    def _set(self, lo: float, hi: float) -> None:
        self._off = (lo, hi)
        self._off_at = self._clock()

    def _distrust(self, why: str) -> None:
        log.info("%s; following the remaining count's resets", why)
        self.trusted = False
        self.timing_at = None
        self.index = None

    # ------------------------------------------------------------------ answers

    def offset(self) -> tuple[float, float]:
        """The bracket on the server clock's offset, widened by the drift since it was read."""
        if self._off is None:
            return (-math.inf, math.inf)
        slack = CLOCK_DRIFT * max(0.0, self._clock() - self._off_at)
        return (self._off[0] - slack, self._off[1] + slack)

    def end_of(self, index: int) -> float:
        """The latest local moment the server's window `index` can end (at most a window away)."""
        skew = self._wall() - self._clock()
        end = (index + 1) * self.window - self.offset()[0] - skew
        return min(end, self._clock() + self.window)

    def window_of(self, date: float | None) -> int | None:
        """The server window an answer dated `date` was counted in, when that is certain."""
        if date is None or not self.use_date:
            return None
        first = math.floor(date / self.window)
        return first if math.floor((date + 0.999) / self.window) == first else None

    def place(self, start: float, counted: int | None) -> float:
        """Name the current window (begun at local `start`) on the server's clock; its end.

        `counted`: the server window an answer of this window was counted in, when known.
        """
        if counted is None:
            skew = self._wall() - self._clock()
            counted = math.floor((start + skew + self.offset()[0]) / self.window)
        self.index = counted
        return self.end_of(counted)

    def next_end(self, start: float) -> float:
        """When the window that contains local moment `start` ends, at the latest."""
        if self.use_date:
            skew = self._wall() - self._clock()
            index = math.floor((start + skew + self.offset()[0]) / self.window)
            while self.end_of(index) <= start:  # rounding at the boundary itself
                index += 1
            self.index = index
            return self.end_of(index)
        self.index = None
        if self._phase is not None:
            boundary = self._phase[1]
            steps = math.floor((start - boundary) / self.window) + 1
            end = boundary + steps * self.window
            return end if end > start else end + self.window
        return start + self.window

    def advance(self, now: float, *, jumped: bool) -> float:
        """The budget moves to a new window at `now`; its end.

        The old window is over (by the clock, or proven by a reset when `jumped`) even where the
        Date bracket still doubts it, so the server index only moves forward.
        """
        old = self.index
        end = self.next_end(now)
        if old is not None and self.index is not None and self.index <= old:
            self.index = old + 1
            if jumped and self._off is not None:  # the server's clock has passed the boundary
                lo = self.index * self.window - self._wall()
                both = _meet((lo, math.inf), self.offset())
                if both is not None:
                    self._set(*both)
            end = self.end_of(self.index)
        return end

    def plan_timing(self, contested: bool) -> None:
        """Hold one unit of this window back, to send at the moment that halves the bracket.

        ``Date`` has a resolution of one second, so a busy client that spends each window in its
        first instant learns the server's clock only to a second, and refills up to a second late.
        One request sent when the server's clock, by the bracket's middle, ticks its first second
        inside the window tells on which side of that tick the server really was: the bracket
        halves every window, and nothing is lost, because the held unit is spent in the same
        window, a second or so after it began.

        Only while the budget has the window to itself (not `contested`): when other
        integrations spend too, the held unit may be theirs by the time it goes out, and a 429 is
        a worse price than a late refill.
        """
        self.timing_at = None
        if not self.use_date or self.index is None or contested:
            return
        lo, hi = self.offset()
        width = hi - lo
        if width <= OFFSET_PRECISION or width > 1.5:
            return
        start = self.index * self.window
        # The earliest tick whose timed request surely lands inside the window (within width/2
        # of it): early, so that the held unit is exposed to others' spend as briefly as may be.
        half = width / 2
        tick = math.ceil(start + half + min(0.05 * self.window, 0.1))
        if tick + half > start + 0.9 * self.window:
            return
        skew = self._wall() - self._clock()
        self.timing_at = tick - (lo + hi) / 2 - skew

    def _date_allows(self, after: float, before: float) -> bool:
        """Could a boundary predicted from the Date readings lie in (after, before)?"""
        lo, hi = self.offset()
        skew = self._wall() - self._clock()
        tol = min(0.5, 0.02 * self.window)
        first = math.ceil((after - tol + skew + lo) / self.window)
        last = math.floor((before + tol + skew + hi) / self.window)
        return first <= last


def _meet(a: tuple[float, float], b: tuple[float, float]) -> tuple[float, float] | None:
    """The intersection of two closed intervals, or None when they are apart."""
    lo, hi = max(a[0], b[0]), min(a[1], b[1])
    return (lo, hi) if lo <= hi else None
