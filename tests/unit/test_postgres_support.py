"""The rule of the PostgreSQL tests: without a server they skip saying why, unless CI is set."""

from __future__ import annotations

import pytest

from tests.postgres_support import postgres_or_skip

NOTHING_THERE = "postgresql://127.0.0.1:1/test"  # port 1: refused at once


async def test_no_postgresql_skips_saying_why_unless_ci_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"no PostgreSQL at postgresql://127\.0\.0\.1:1/test \(set CI=1"
    ):
        await postgres_or_skip(NOTHING_THERE)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(OSError):  # under CI a missing server fails the test
        await postgres_or_skip(NOTHING_THERE)
