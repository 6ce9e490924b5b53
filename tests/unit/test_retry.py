import random

import pytest

from salesloft_async.errors import ConfigurationError
from salesloft_async.retry import RetryPolicy, parse_retry_after

POLICY = RetryPolicy(max_attempts=4, base=1.0, cap=8.0, max_elapsed=60.0, rng=random.Random(1))


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
@pytest.mark.parametrize(
    ("failure", "status"), [("connect", None), ("sent", None), ("status", 429), ("status", 503)]
)
def test_idempotent_methods_retry_every_transient_failure(method, failure, status) -> None:
    assert POLICY.retryable(method, failure, status)


@pytest.mark.parametrize(
    ("failure", "status", "expected"),
    [
        ("connect", None, True),  # refused before a byte was sent
        ("status", 429, True),  # the budget refused it before any work
        ("sent", None, False),  # timeout or broken connection: may have been processed
        ("status", 500, False),
        ("status", 502, False),
        ("status", 503, False),
    ],
)
def test_post_retries_only_when_certainly_unprocessed(failure, status, expected) -> None:
    assert POLICY.retryable("POST", failure, status) is expected


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_never_retried(status) -> None:
    assert not POLICY.retryable("GET", "status", status)


def test_full_jitter_stays_under_the_capped_exponential() -> None:
    policy = RetryPolicy(base=1.0, cap=8.0, rng=random.Random(7))
    for n, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 8.0), (9, 8.0)]:
        draws = [policy.backoff(n) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in draws)
        assert max(draws) > ceiling * 0.8  # jitter spans the range, not a constant


def test_gives_up_after_max_attempts() -> None:
    assert POLICY.delay("GET", "sent", attempt=3, elapsed=0) is not None
    assert POLICY.delay("GET", "sent", attempt=4, elapsed=0) is None


def test_gives_up_when_the_wait_would_overrun_max_elapsed() -> None:
    policy = RetryPolicy(max_attempts=10, base=100.0, cap=100.0, max_elapsed=5.0)
    assert (
        policy.delay("GET", "status", attempt=1, elapsed=4.9, status=503, retry_after=0.2) is None
    )
    assert policy.delay("GET", "status", attempt=1, elapsed=4.0, status=503, retry_after=0.5) == 0.5


def test_retry_after_wins_over_backoff() -> None:
    assert POLICY.delay("GET", "status", attempt=1, elapsed=0, status=503, retry_after=7) == 7


def test_budget_that_waits_out_429_gets_no_extra_sleep() -> None:
    assert POLICY.delay("GET", "status", attempt=1, elapsed=0, status=429, budget_waits=True) == 0
    assert POLICY.delay("GET", "status", attempt=1, elapsed=0, status=503, budget_waits=True) > 0


def test_a_429s_retry_after_is_waited_by_the_budget_alone() -> None:
    """The budget pauses for Retry-After (capped by its max_pause); sleeping it again here would
    wait twice as long as the server asked."""
    wait = POLICY.delay(
        "GET", "status", attempt=1, elapsed=0, status=429, retry_after=30, budget_waits=True
    )
    assert wait == 0
    assert POLICY.delay("GET", "status", attempt=1, elapsed=0, status=429, retry_after=30) == 30


def test_parse_retry_after_seconds_and_http_date() -> None:
    assert parse_retry_after("12", now_epoch=0) == 12
    assert parse_retry_after("Thu, 01 Jan 1970 00:01:40 GMT", now_epoch=40) == 60
    assert parse_retry_after("Thu, 01 Jan 1970 00:00:10 GMT", now_epoch=40) == 0
    assert parse_retry_after("soon", now_epoch=0) is None
    assert parse_retry_after(None, now_epoch=0) is None


def test_an_honoured_retry_after_is_capped() -> None:
    default = RetryPolicy()
    assert default.max_retry_after == 75.0
    assert default.delay("GET", "status", attempt=1, elapsed=0, status=503, retry_after=3600) == 75
    # a capped wait that still overruns the deadline is not made at all
    assert POLICY.delay("GET", "status", attempt=1, elapsed=0, status=503, retry_after=3600) is None
    capped = RetryPolicy(max_retry_after=5.0, max_elapsed=60.0)
    assert capped.delay("GET", "status", attempt=1, elapsed=0, status=429, retry_after=30) == 5.0


def test_the_attempt_timeout_is_cut_to_the_deadline() -> None:
    policy = RetryPolicy(max_elapsed=5.0)
    assert policy.attempt_timeout(0.0, 30.0) == 5.0  # even the first attempt ends by then
    assert policy.attempt_timeout(1.0, 3.0) == 3.0
    assert policy.attempt_timeout(4.0, 3.0) == 1.0
    assert policy.attempt_timeout(5.0, 3.0) is None


@pytest.mark.parametrize(
    "options",
    [{"max_attempts": 0}, {"base": -1}, {"max_elapsed": float("nan")}, {"max_retry_after": "x"}],
)
def test_bad_settings_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError, match="RetryPolicy"):
        RetryPolicy(**options)  # type: ignore[arg-type]
