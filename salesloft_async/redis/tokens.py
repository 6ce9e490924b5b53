"""`RedisTokenStore`: one OAuth grant's newest token, shared by every process and host.

The token lives in a Redis hash (``fp`` = the token's fingerprint, ``token`` = its JSON), so that
the compare-and-set of `save` is one Lua script comparing fingerprints: no client can overwrite a
newer grant state with an older one, lock or no lock.

`lock()` is redis-py's asyncio `Lock` on ``<key>:lock``: SET NX PX with a random owner token,
released only by its owner (a Lua check-and-delete).  Its TTL must outlast the token request's
timeout, so that a live refresher never loses the lock mid-request; a refresher that dies (SIGKILL,
host lost) leaves the lock to expire after the TTL.  The stored token is untouched by a death: it
is only ever replaced by a whole, compare-and-set write.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any

from ..auth.errors import TokenStoreError
from ..auth.token import Token
from ..errors import ConfigurationError
from ._compat import connect, key_errors, redis_errors, text, wrong_type
from ._scripts import TOKEN_CAS

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisTokenStore"]

log = logging.getLogger("salesloft_async.redis")


class RedisTokenStore:
    """Implements `salesloft_async.auth.TokenStore` in Redis.

    :param redis: a ``redis.asyncio`` client, or a ``redis://`` URL to open one from.
    :param key: e.g. ``token_key(team, user)`` -> ``salesloft:{team}:token:{user}``; the lock is
        ``<key>:lock``.
    :param lock_ttl: seconds a lock survives its holder's death; keep it above the OAuth app's
        token request timeout (30 s by default).
    :param lock_wait: how long `lock()` waits for another holder before giving up (default: 1.5
        times `lock_ttl`, long enough for a dead holder's TTL to run out).
    :param poll: seconds between tries of a lock another holder has.
    """

    def __init__(
        self,
        redis: Redis | str,
        key: str,
        *,
        lock_ttl: float = 60.0,
        lock_wait: float | None = None,
        poll: float = 0.02,
    ):
        if not key:
            raise ConfigurationError("RedisTokenStore needs a non-empty key")
        if not 0 < lock_ttl < math.inf or (lock_wait is not None and not lock_wait >= 0):
            raise ConfigurationError(
                "lock_ttl must be a positive number of seconds, lock_wait 0 or more (or None)"
            )
        self.redis = connect(redis)
        self.key = key
        self.lock_key = f"{key}:lock"
        self.lock_ttl = lock_ttl
        self.lock_wait = lock_ttl * 1.5 if lock_wait is None else lock_wait
        self.poll = poll
        self._cas = self.redis.register_script(TOKEN_CAS)
        self._unreachable = redis_errors()
        self._refused = key_errors()

    def __repr__(self) -> str:
        return f"RedisTokenStore(key={self.key!r})"

    async def load(self) -> Token | None:
        try:
            raw = await self.redis.hget(self.key, "token")
        except self._unreachable as exc:
            raise self._down("read", exc) from None
        except self._refused as exc:
            raise await self._taken(exc) from None
        except UnicodeDecodeError:  # a client that decodes replies met bytes that are no text
            raise self._not_a_token("not UTF-8") from None
        if raw is None:
            return None
        try:
            return Token.from_json(raw)  # bytes or str, whether the client decodes or not
        except ValueError as exc:
            raise self._not_a_token(str(exc)) from None

    def _not_a_token(self, why: str) -> TokenStoreError:
        return TokenStoreError(
            f"Redis key {self.key!r} does not hold a saved token ({why}); delete it"
            " (redis-cli DEL) and log in again"
        )

    async def save(self, token: Token, *, expected: str | None) -> bool:
        try:
            written = await self._cas(
                keys=[self.key], args=[expected or "", token.fingerprint, token.to_json()]
            )
        except self._unreachable as exc:
            raise self._down("write", exc) from None
        except self._refused as exc:
            raise await self._taken(exc) from None
        return bool(int(written))

    def lock(self) -> AbstractAsyncContextManager[None]:
        return self._hold()

    @asynccontextmanager
    async def _hold(self) -> AsyncIterator[None]:
        # A fresh Lock per acquisition: its owner token is then this holder's alone, whatever
        # other tasks of the process do with the store meanwhile.
        lock: Any = self.redis.lock(
            self.lock_key,
            timeout=self.lock_ttl,
            sleep=self.poll,
            blocking_timeout=self.lock_wait,
            thread_local=False,
        )
        try:
            await self._check_lock_key()
            acquired = await lock.acquire()
        except self._unreachable as exc:
            raise self._down("lock", exc) from None
        if not acquired:
            raise TokenStoreError(
                f"could not take the token lock {self.lock_key!r} within {self.lock_wait} s;"
                " another process holds it (a hung refresh?)"
            )
        try:
            yield
        finally:
            await self._release(lock)

    async def _release(self, lock: Any) -> None:
        import redis.exceptions

        try:
            await lock.release()
        except redis.exceptions.LockNotOwnedError:
            # The TTL ran out while we held it: someone else may have refreshed meanwhile.
            # The compare-and-set kept the store consistent; say so, and raise nothing.
            log.warning(
                "the token lock %r expired while held (refresh slower than lock_ttl=%s s);"
                " raise lock_ttl above the token request timeout",
                self.lock_key,
                self.lock_ttl,
            )
        except self._unreachable:
            log.warning(
                "could not release the token lock %r (Redis unreachable); it expires in %s s",
                self.lock_key,
                self.lock_ttl,
            )

    async def _check_lock_key(self) -> None:
        """A lock key of another type, or one that never expires, is no lock of ours: waiting
        for it to go would take `lock_wait` and then fail every time."""
        found = text(await self.redis.type(self.lock_key))
        if found == "none" or (found == "string" and await self.redis.pttl(self.lock_key) != -1):
            return
        raise TokenStoreError(
            f"Redis key {self.lock_key!r} holds a {found} that never expires, not a lock of"
            f" {self!r}: delete or rename it (redis-cli DEL {self.lock_key})"
        )

    async def _taken(self, exc: BaseException) -> TokenStoreError:
        """A WRONGTYPE: the token's key holds something else."""
        return TokenStoreError(await wrong_type(self.redis, exc, {self.key: "hash"}, repr(self)))

    def _down(self, what: str, exc: BaseException) -> TokenStoreError:
        return TokenStoreError(
            f"Redis unreachable for the token store ({what} {self.key!r}): {type(exc).__name__}."
            " The token manager keeps its cached token until Redis is back."
        )
