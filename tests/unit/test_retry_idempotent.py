"""A POST marked idempotent (it carries an `idempotency_key`) is retried like a PUT; no other is."""

from __future__ import annotations

import random

from salesloft_async.retry import RetryPolicy


def test_an_idempotent_post_may_be_resent_after_it_was_sent() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    assert policy.retryable("POST", "sent", idempotent=True)
    assert policy.retryable("POST", "status", 502, idempotent=True)
    assert policy.delay("POST", "sent", attempt=1, elapsed=0.0, idempotent=True) is not None


def test_a_plain_post_is_not_resent_once_it_may_have_arrived() -> None:
    policy = RetryPolicy(rng=random.Random(1))
    assert not policy.retryable("POST", "sent")
    assert not policy.retryable("POST", "status", 502)
    assert policy.delay("POST", "sent", attempt=1, elapsed=0.0) is None
    assert policy.retryable("POST", "status", 429)  # refused before any work: still safe
