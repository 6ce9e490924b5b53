"""The one place that imports redis-py, so that the package works without the `redis` extra."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigurationError

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["connect", "redis_errors", "text"]

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


def text(value: Any) -> str | None:
    """A reply as str, whether the client decodes responses or not."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode()
    return str(value)
