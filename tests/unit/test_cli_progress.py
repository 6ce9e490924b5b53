"""The export's status line: never wider than the terminal, and honest about budget waits."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any

import pytest

from salesloft_async.bulk import BulkStats
from salesloft_async.commands._progress import Progress, fit, plural


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def budget(**changes: Any) -> SimpleNamespace:
    stats = dict(queued=0, in_flight=2, window_start=100.0, window=60.0, remaining=412, limit=600)
    stats.update(rate_limited=0, **changes)
    return SimpleNamespace(stats=SimpleNamespace(**stats))


def stats() -> BulkStats:
    s = BulkStats(records=12_345, pages=125, cost=125, total=25_000)
    s.started -= 10  # a rate and an ETA to show
    return s


def test_plural() -> None:
    assert [plural(n, "page") for n in (0, 1, 2, 1000)] == ["0 pages", "1 page", "2 pages",
                                                           "1,000 pages"]  # fmt: skip


@pytest.mark.parametrize("width", [20, 40, 60, 80, 120])
def test_a_redrawn_line_never_exceeds_the_terminal(width: int) -> None:
    err = Tty()
    progress = Progress("people", stats(), budget(), mode="auto", err=err, width=lambda: width)
    progress.show()
    line = err.getvalue().removeprefix("\r\x1b[2K")
    assert "\n" not in line and len(line) <= width - 1
    assert line.startswith("people: 12,345/25,000 records"[: width - 2])


def test_fit_drops_the_least_useful_fields_first() -> None:
    fields = [(0, "people: 1/2 records"), (3, "7 pages"), (1, "waiting for budget 12s")]
    assert fit(fields, 80) == "people: 1/2 records · 7 pages · waiting for budget 12s"
    assert fit(fields, 45) == "people: 1/2 records · waiting for budget 12s"
    assert fit(fields, 10) == "people: 1…"


def test_a_wait_for_the_budget_is_named_with_its_length() -> None:
    err = io.StringIO()
    waiting = budget(queued=3, in_flight=0, window_start=100.0)
    progress = Progress("people", stats(), waiting, mode="auto", err=err, clock=lambda: 148.0)
    assert progress.waiting() == 12.0
    progress.show()
    assert "waiting for budget 12s" in err.getvalue()
    busy = Progress("people", stats(), budget(queued=3), mode="auto", err=err, clock=lambda: 148.0)
    assert busy.waiting() is None  # requests in flight: the budget is being spent, not awaited


def test_plain_lines_when_not_a_terminal() -> None:
    err = io.StringIO()
    progress = Progress("people", stats(), budget(), mode="auto", err=err, width=lambda: 20)
    progress.show()
    progress.show(final=True)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and "\r" not in err.getvalue() and "\x1b" not in err.getvalue()
    assert "budget left 412/600" in lines[0] and "125 pages" in lines[0]  # all fields, unfitted
