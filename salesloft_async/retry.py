"""When to try a request again, and how long to wait first.

One small policy object decides for the whole transport (the stripe-python model: retries live in
one place, not in each resource).  The rules follow from Salesloft having no idempotency keys:

* GET, PUT and DELETE are idempotent: retry them on connection failures, timeouts, truncated
  bodies, 429 and 5xx.
* POST is retried only when the server certainly did not act on it: a 429 (the budget refused it
  before any work) or a connection that was refused before a byte was sent.  Anything else (a
  timeout, a 502, a dropped connection) may have created the record, so the caller decides;
  unless the POST carries an `idempotency_key`, which makes a resend harmless (`idempotent`).

Delays are "full jitter" exponential backoff (a uniform draw in ``[0, min(cap, base * 2**n)]``),
which spreads a herd of retrying coroutines instead of synchronising them, bounded both by an
attempt count and by the total time spent.  A ``Retry-After`` header wins over the backoff, but
only up to `max_retry_after`: one answer must not be able to park a caller for an hour.
``max_elapsed`` is a deadline, not a hint: no wait runs past it, and the last attempt's timeout is
cut to what is left of it.
"""

from __future__ import annotations

import math
import random
from typing import Any, Literal

import attrs

from .errors import ConfigurationError
from .headers import parse_retry_after

__all__ = ["DEFAULT_MAX_RETRY_AFTER", "Failure", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: What went wrong with one attempt, as the policy needs to know it.
Failure = Literal["status", "connect", "sent"]

#: One 60-second Salesloft window plus a margin for clock skew between us and the server.
DEFAULT_MAX_RETRY_AFTER = 75.0


def _at_least(low: float) -> Any:
    """An attrs validator: a finite number no less than `low`, else `ConfigurationError`."""

    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if not ok or not math.isfinite(value) or value < low:
            raise ConfigurationError(
                f"RetryPolicy {attribute.name} must be a number >= {low:g}, got {value!r}"
            )

    return check


@attrs.define(frozen=True)
class RetryPolicy:
    """Retry decisions and backoff delays.

    :param max_attempts: every try counts, the first included.
    :param base: backoff ceiling of the first retry, in seconds; it doubles with every retry.
    :param cap: the largest backoff ceiling, in seconds.
    :param max_elapsed: a hard deadline in seconds from the first send: a retry whose wait would
        overrun it is not made, a wait for a token or the budget after the first send is cut at
        it, and an attempt's timeout is cut to what is left of it.
    :param max_retry_after: the longest ``Retry-After`` honoured, in seconds (longer values are
        cut to it); by default one minute window plus a margin.
    :param retry_statuses: the statuses worth another try.
    :param rng: the source of jitter (inject a seeded one to make tests repeatable).
    """

    max_attempts: int = attrs.field(default=5, validator=_at_least(1))
    base: float = attrs.field(default=0.5, validator=_at_least(0))
    cap: float = attrs.field(default=30.0, validator=_at_least(0))
    max_elapsed: float = attrs.field(default=120.0, validator=_at_least(0))
    max_retry_after: float = attrs.field(default=DEFAULT_MAX_RETRY_AFTER, validator=_at_least(0))
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    rng: random.Random = attrs.field(factory=random.Random, eq=False, repr=False)

    def retryable(
        self, method: str, failure: Failure, status: int | None = None, *, idempotent: bool = False
    ) -> bool:
        """Whether this kind of failure may be retried for this request at all."""
        safe = idempotent or method.upper() in IDEMPOTENT
        if failure == "status":
            if status not in self.retry_statuses:
                return False
            return status == 429 or safe
        if failure == "connect":  # refused before sending: safe for every method
            return True
        return safe  # "sent": may have been processed

    def backoff(self, retry_number: int) -> float:
        """Full-jitter delay before retry number `retry_number` (1 for the first retry)."""
        ceiling = min(self.cap, self.base * (2 ** (retry_number - 1)))
        return self.rng.uniform(0.0, ceiling)

    def delay(
        self,
        method: str,
        failure: Failure,
        *,
        attempt: int,
        elapsed: float,
        status: int | None = None,
        retry_after: float | None = None,
        budget_waits: bool = False,
        idempotent: bool = False,
    ) -> float | None:
        """Seconds to wait before the next attempt, or None to give up.

        `attempt` is the number of the attempt that just failed (1-based).  With `budget_waits`, a
        429 is waited out by the cost budget itself (its `Retry-After` included, capped by the
        budget's `max_pause`), so the policy adds no sleep of its own on top of the budget's pause.
        """
        if attempt >= self.max_attempts or not self.retryable(
            method, failure, status, idempotent=idempotent
        ):
            return None
        if status == 429 and budget_waits:
            wait = 0.0
        elif retry_after is not None:
            wait = min(max(0.0, retry_after), self.max_retry_after)
        else:
            wait = self.backoff(attempt)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait

    def attempt_timeout(self, elapsed: float, timeout: float) -> float | None:
        """The timeout of an attempt starting `elapsed` seconds after the first: `timeout`, cut
        to what is left before `max_elapsed`; None when nothing is left."""
        left = self.max_elapsed - elapsed
        if left <= 0:
            return None
        return min(timeout, left)
