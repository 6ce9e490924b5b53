"""MemoryClaimStore with an injected clock: states, expiry, the bound; delivery naming."""

from __future__ import annotations

import pytest

from salesloft_async.errors import ConfigurationError
from salesloft_async.webhooks import MemoryClaimStore, delivery_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_the_first_claim_wins_and_repeats_see_running_then_done() -> None:
    store = MemoryClaimStore()
    assert await store.claim("k") == "claimed"
    assert await store.claim("k") == "running"
    await store.finish("k")
    assert await store.claim("k") == "done"


async def test_a_released_claim_can_be_claimed_again() -> None:
    store = MemoryClaimStore()
    assert await store.claim("k") == "claimed"
    await store.release("k")
    assert await store.claim("k") == "claimed"


async def test_done_is_remembered_for_ttl_then_runs_again() -> None:
    clock = Clock()
    store = MemoryClaimStore(ttl=60, clock=clock)
    await store.claim("k")
    await store.finish("k")
    clock.now += 59.9
    assert await store.claim("k") == "done"
    clock.now += 0.2
    assert await store.claim("k") == "claimed"


async def test_a_running_claim_does_not_expire_in_its_own_process() -> None:
    clock = Clock()
    store = MemoryClaimStore(ttl=60, clock=clock)
    await store.claim("k")
    clock.now += 10_000
    assert await store.claim("k") == "running"


async def test_the_bound_forgets_the_oldest_first() -> None:
    store = MemoryClaimStore(max_entries=3)
    for key in "abcd":
        await store.claim(key)
        await store.finish(key)
    assert len(store) == 3
    assert await store.claim("a") == "claimed"  # forgotten: it would run again
    assert await store.claim("d") == "done"


def test_nonsense_bounds_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        MemoryClaimStore(max_entries=0)
    with pytest.raises(ConfigurationError):
        MemoryClaimStore(ttl=0)


def test_a_delivery_is_named_by_its_claimed_type_and_exact_body() -> None:
    key = delivery_key("person_updated", b'{"id":1}')
    assert key.startswith("person_updated:") and len(key) == len("person_updated:") + 64
    assert key != delivery_key("person_deleted", b'{"id":1}')
    assert key != delivery_key("person_updated", b'{"id": 1}')
