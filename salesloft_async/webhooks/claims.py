"""Claims: who runs a delivery's handlers, decided before any of them runs.

Salesloft sends no delivery id, and one delivery can reach a receiver more than once: its own
retries, a sender that repeats itself, a replayed capture (the signature has no timestamp), and, on
a receiver with several worker processes or hosts, any of those landing on different workers.  So
the receiver names a delivery by what is signed plus what it claims to be (event type and SHA-256
of the body) and *claims* that name before dispatching: the first claim wins and runs the handlers;
a repeat finds the claim and runs nothing.

A claim is ``running`` while the handlers run and ``done`` once they all succeeded.  A failed run
`release`s its claim, so that Salesloft's retry of it (15 s later) can claim it again.  A repeat of
a ``running`` claim is told to come back later (409) rather than that all is well, so that a worker
that dies mid-run does not swallow the retries: its ``running`` claim lives only for `lease`
seconds (the Redis store; a memory store dies with its process).

Two stores, one `ClaimStore` protocol:

* `MemoryClaimStore` (the default): one process; remembers at most `max_entries` deliveries for at
  most `ttl` seconds, oldest forgotten first.  A replay older than that runs again.
* `RedisClaimStore` (the ``redis`` extra): every process and host sharing one Redis; a claim is one
  ``SET key running NX PX lease GET`` (Redis 7 or later), done is ``SET key done PX ttl``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal, Protocol

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "ClaimState",
    "ClaimStore",
    "MemoryClaimStore",
    "RedisClaimStore",
    "delivery_key",
]

#: what `ClaimStore.claim` found: ``claimed`` (the caller runs it), or the state another run left
ClaimState = Literal["claimed", "running", "done"]

DEFAULT_TTL = 24 * 3600.0
DEFAULT_LEASE = 30.0
DEFAULT_MAX_ENTRIES = 100_000


def delivery_key(event_type: str, body: bytes) -> str:
    """The name of one delivery: its claimed event type and the SHA-256 of its exact body."""
    return f"{event_type}:{hashlib.sha256(body).hexdigest()}"


class ClaimStore(Protocol):
    """Where claims live.  Each call is atomic: of two concurrent claims, one gets ``claimed``."""

    async def claim(self, key: str) -> ClaimState:
        """Take `key` for a run (``claimed``), or report the state another run left."""
        ...

    async def finish(self, key: str) -> None:
        """The run succeeded: remember `key` as ``done``."""
        ...

    async def release(self, key: str) -> None:
        """The run failed: forget `key`, so that a retry can claim it."""
        ...


class MemoryClaimStore:
    """Claims in this process's memory, bounded.

    :param max_entries: deliveries remembered at once (about 300 bytes each: 100,000 is about
        30 MB); past it the oldest are forgotten, so a replay of one of them would run again.
    :param ttl: seconds a ``done`` delivery is remembered.
    :param clock: monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ):
        if not 0 < max_entries < math.inf:  # `not <` refuses nan too
            raise ConfigurationError("max_entries must be positive (use claims=None to keep none)")
        if not 0 < ttl < math.inf:
            raise ConfigurationError("ttl must be a positive number of seconds")
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        # key -> (state, expiry); a running claim never expires here: its process is alive
        self._entries: OrderedDict[str, tuple[ClaimState, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def claim(self, key: str) -> ClaimState:
        found = self._entries.get(key)
        if found is not None and found[1] > self._clock():
            return found[0]
        self._put(key, "running", float("inf"))
        return "claimed"

    async def finish(self, key: str) -> None:
        self._put(key, "done", self._clock() + self.ttl)

    async def release(self, key: str) -> None:
        self._entries.pop(key, None)

    def _put(self, key: str, state: ClaimState, expiry: float) -> None:
        self._entries[key] = (state, expiry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class RedisClaimStore:
    """Claims in Redis, shared by every receiver process and host (needs Redis 7 or later).

    :param redis: a ``redis.asyncio.Redis`` client or a ``redis://`` URL.
    :param prefix: key prefix; a claim is ``<prefix><event type>:<body sha256>``.
    :param ttl: seconds a ``done`` delivery is remembered (Redis expires it; no other bound).
    :param lease: seconds a ``running`` claim outlives a worker that died mid-run; keep it under
        Salesloft's retry span (3 retries, 15 s apart) so that those retries can still run it.
        A run still going after `lease` (handlers left in the background after a 202) loses its
        claim as well, and a repeat arriving then runs again.
    """

    def __init__(
        self,
        redis: Redis | str,
        *,
        prefix: str = "salesloft:webhook:",
        ttl: float = DEFAULT_TTL,
        lease: float = DEFAULT_LEASE,
    ):
        from ..redis._compat import connect  # the redis extra, imported only when used

        if not (0 < ttl < math.inf and 0 < lease < math.inf):  # nan and inf cannot round
            raise ConfigurationError("ttl and lease must be positive numbers of seconds")
        self.redis = connect(redis)
        self.prefix = prefix
        self.ttl_ms = max(1, round(ttl * 1000))
        self.lease_ms = max(1, round(lease * 1000))

    def __repr__(self) -> str:
        return f"RedisClaimStore(prefix={self.prefix!r})"

    async def claim(self, key: str) -> ClaimState:
        previous = await self.redis.set(
            self.prefix + key, "running", nx=True, px=self.lease_ms, get=True
        )
        if previous is None:
            return "claimed"
        return "done" if previous in ("done", b"done") else "running"  # decoded or not

    async def finish(self, key: str) -> None:
        await self.redis.set(self.prefix + key, "done", px=self.ttl_ms)

    async def release(self, key: str) -> None:
        await self.redis.delete(self.prefix + key)
