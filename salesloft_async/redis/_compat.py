"""The one place that imports redis-py, so that the package works without the `redis` extra."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisKeyError", "connect", "key_errors", "redis_errors", "text", "wrong_type"]


class RedisKeyError(ConfigurationError):
    """A Redis key this package keeps its state under holds something else (another program
    uses the same name): the message names the key to delete or rename."""


_MISSING = (
    "salesloft_async.redis needs redis-py (the asyncio client):"
    " pip install 'salesloft-async[redis]'"
)


def _import() -> Any:
    try:
        import redis.asyncio as aioredis
    except ImportError:  # pragma: no cover - the dev environment always has it
        raise ConfigurationError(_MISSING) from None
    return aioredis


def connect(redis: Redis | str) -> Redis:
    """Accept a client or a URL; a URL opens a client that talks str (decode_responses)."""
    aioredis = _import()
    if isinstance(redis, str):
        client: Redis = aioredis.from_url(redis, decode_responses=True)
        return client
    if not hasattr(redis, "evalsha"):
        raise ConfigurationError(
            f"expected a redis.asyncio.Redis client or a redis:// URL, got {type(redis).__name__}"
        )
    return redis


def redis_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "Redis is unreachable right now" (not a bug in a script)."""
    _import()
    import redis.exceptions as exc

    # ReadOnlyError: a failover left us talking to a replica, which cannot run the scripts.
    return (exc.ConnectionError, exc.TimeoutError, exc.ReadOnlyError, OSError, TimeoutError)


def key_errors() -> type[BaseException]:
    """What redis-py raises when Redis refuses a command (a WRONGTYPE among others)."""
    _import()
    import redis.exceptions as exc

    return exc.ResponseError


async def wrong_type(redis: Redis, exc: BaseException, keys: Mapping[str, str], owner: str) -> str:
    """The message for a WRONGTYPE answer: which of `keys` (name -> the type `owner` keeps
    there) holds another type, and what to do.  Re-raises `exc` when it is another refusal."""
    if "WRONGTYPE" not in str(exc):
        raise exc
    for key, kind in keys.items():
        try:
            found = text(await redis.type(key))
        except Exception:  # the message below still says what to do
            break
        if found not in (kind, "none"):
            return (
                f"Redis key {key!r} holds a {found}, not the {kind} {owner} keeps there (another"
                f" program uses the same name?): delete or rename it (redis-cli DEL {key}), or"
                " give this one another key"
            )
    names = ", ".join(repr(key) for key in keys)
    return f"one of the Redis keys of {owner} ({names}) holds another type: delete or rename it"


def text(value: Any) -> str | None:
    """A reply as str, whether the client decodes responses or not."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
