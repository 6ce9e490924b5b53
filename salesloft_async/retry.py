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
attempt count and by the total time spent.  A ``Retry-After`` header wins over the backoff.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime
from typing import Literal

import attrs

__all__ = ["Failure", "RetryPolicy", "parse_retry_after"]

IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: What went wrong with one attempt, as the policy needs to know it.
Failure = Literal["status", "connect", "sent"]


@attrs.define(frozen=True)
class RetryPolicy:
    """Retry decisions and backoff delays.

    `max_attempts` counts every try including the first; `max_elapsed` bounds the total time from
    the first send, so a retry whose delay would overrun it is not made.
    """

    max_attempts: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    base: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    cap: float = attrs.field(default=30.0, validator=attrs.validators.ge(0))
    max_elapsed: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))
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
        429 is waited out by the cost budget itself, so the policy adds no sleep of its own.
        """
        if attempt >= self.max_attempts or not self.retryable(
            method, failure, status, idempotent=idempotent
        ):
            return None
        if retry_after is not None:
            wait = max(0.0, retry_after)
        elif status == 429 and budget_waits:
            wait = 0.0
        else:
            wait = self.backoff(attempt)
        if elapsed + wait > self.max_elapsed:
            return None
        return wait


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - now_epoch)
