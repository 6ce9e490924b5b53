"""ServerClock on injected clocks: Date brackets, outliers, stepped clocks, the one-window bound."""

from __future__ import annotations

import random

import pytest

from salesloft_async.server_clock import MAX_CONFLICTS, ServerClock

from .budget_fakes import EPOCH, FakeTime

WINDOW = 60.0


def make(time: FakeTime) -> ServerClock:
    return ServerClock(WINDOW, time.clock, time.wall)


def read(sc: ServerClock, time: FakeTime, ahead: float = 0.0, rtt: float = 0.01) -> bool:
    """An answer whose Date reads the local wall clock plus `ahead`, sent `rtt` ago."""
    return sc.note_date(int(time.wall() + ahead), time.wall() - rtt, time.wall())


def test_consistent_readings_narrow_the_bracket_and_place_the_window() -> None:
    time = FakeTime(wall_at_start=EPOCH + 10.3)  # 10.3 s into the server's minute
    sc = make(time)
    assert not sc.knows_boundary
    assert read(sc, time)
    lo, hi = sc.offset()
    assert lo == pytest.approx(-0.3, abs=1e-3) and hi == pytest.approx(0.71, abs=1e-3)
    end = sc.place(time.now, None)
    assert sc.index == int(EPOCH // WINDOW)
    # the latest the server's minute can end: 49.7 s from now, plus the bracket's doubt
    assert 49.7 <= end - time.now <= 49.7 + 1.01
    assert sc.knows_boundary


def test_one_date_an_hour_ahead_is_ignored() -> None:
    time = FakeTime(wall_at_start=EPOCH + 10.0)
    sc = make(time)
    read(sc, time)
    end = sc.place(time.now, None)
    before = sc.offset()
    time.now += 1.0
    assert not read(sc, time, ahead=3600.0)
    assert sc.offset() == pytest.approx(before, abs=1e-3)
    assert sc.end_of(sc.index or 0) == pytest.approx(end, abs=1e-3)
    assert read(sc, time) and sc.use_date  # the next honest answer agrees with the bracket


def test_a_first_date_a_year_ahead_still_ends_the_window_within_one_window() -> None:
    time = FakeTime(wall_at_start=EPOCH)
    sc = make(time)
    assert read(sc, time, ahead=365 * 86400.0)
    end = sc.place(time.now, None)
    assert time.now < end <= time.now + WINDOW


def test_two_agreeing_readings_after_a_step_are_followed() -> None:
    time = FakeTime(wall_at_start=EPOCH + 5.0)
    sc = make(time)
    read(sc, time)
    sc.place(time.now, None)
    time.now += 1.0
    assert not read(sc, time, ahead=-7200.0)  # the server's clock was stepped back two hours...
    time.now += 1.0
    assert read(sc, time, ahead=-7200.0)  # ...and says so again: believed, window to be re-placed
    assert sc.index is None
    lo, hi = sc.offset()
    assert -7201.0 <= lo <= hi <= -7198.9
    end = sc.place(time.now, None)
    assert time.now < end <= time.now + WINDOW


def test_random_dates_give_up_date_and_never_place_an_end_beyond_one_window() -> None:
    time = FakeTime(wall_at_start=EPOCH)
    sc = make(time)
    rng = random.Random(3)
    believed = 0
    for _ in range(50):
        time.now += rng.uniform(0.0, 2.0)
        believed += read(sc, time, ahead=rng.uniform(-3e7, 3e7))
        if sc.use_date:
            end = sc.place(time.now, None) if sc.index is None else sc.end_of(sc.index)
        else:
            end = sc.next_end(time.now)
        assert time.now < end <= time.now + WINDOW + 1e-9
    assert not sc.trusted and not sc.use_date
    assert believed <= MAX_CONFLICTS  # the first, and nothing after the contradictions


def test_after_giving_up_date_the_windows_follow_the_resets() -> None:
    time = FakeTime(wall_at_start=EPOCH)
    sc = make(time)
    for ahead in (0.0, 1e6, -1e6, 5e5):
        read(sc, time, ahead=ahead)
    assert not sc.trusted
    assert sc.next_end(time.now) == time.now + WINDOW  # nothing known: the local clock
    sc.note_reset(time.now + 10.0, time.now + 10.5, current=False)
    assert sc.knows_boundary
    assert sc.next_end(time.now + 20.0) == pytest.approx(time.now + 70.5)
    sc.note_reset(time.now + 70.0, time.now + 70.2, current=False)  # the next boundary narrows it
    assert sc.next_end(time.now + 20.0) == pytest.approx(time.now + 70.2)


def test_a_reset_the_date_reading_cannot_explain_gives_up_date() -> None:
    time = FakeTime(wall_at_start=EPOCH + 10.0)
    sc = make(time)
    read(sc, time)
    sc.place(time.now, None)
    # The count jumped back up 20 s into the server's minute: its windows ignore its Date.
    sc.note_reset(time.now + 9.0, time.now + 10.0, current=True)
    assert not sc.trusted and sc.index is None
    assert sc.next_end(time.now + 11.0) == pytest.approx(time.now + 70.0)


def test_advance_moves_the_index_forward_and_stays_within_one_window() -> None:
    time = FakeTime(wall_at_start=EPOCH + 59.5)
    sc = make(time)
    read(sc, time)  # Date says 59 s into the minute: the offset is in about [-0.5, 0.51]
    first = sc.place(time.now, None)
    index = sc.index
    assert index is not None
    # The count jumps back up at wall EPOCH + 60.2, before the latest end the bracket allows:
    # the new window begins, and the server's clock has passed the boundary.
    time.now += 0.7
    assert time.now < first
    end = sc.advance(time.now, jumped=True)
    assert sc.index == index + 1
    assert sc.offset()[0] == pytest.approx((index + 1) * WINDOW - time.wall(), abs=1e-6)
    assert time.now < end <= time.now + WINDOW
    time.now = end  # and that window ends by the clock
    end = sc.advance(time.now, jumped=False)
    assert sc.index == index + 2
    assert time.now < end <= time.now + WINDOW


def test_window_of_is_only_certain_inside_one_window() -> None:
    time = FakeTime(wall_at_start=EPOCH)
    sc = make(time)
    assert sc.window_of(EPOCH + 5) is None  # no Date reading yet
    read(sc, time)
    assert sc.window_of(EPOCH + 5) == int(EPOCH // WINDOW)
    assert sc.window_of(EPOCH + 59.5) is None  # the second straddles the boundary
    assert sc.window_of(None) is None
