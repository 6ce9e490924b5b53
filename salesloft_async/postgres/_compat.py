"""The one place that imports asyncpg, so that the package works without the `postgres` extra.

asyncpg ships no type information, so it is handled as `Any` here rather than with a stub package.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConfigurationError

__all__ = ["asyncpg", "unreachable"]

_MISSING = "salesloft_async.postgres needs asyncpg: pip install 'salesloft-async[postgres]'"


def asyncpg() -> Any:
    try:
        return importlib.import_module("asyncpg")
    except ImportError:  # pragma: no cover - the dev environment always has it
        raise ConfigurationError(_MISSING) from None


def unreachable() -> tuple[type[BaseException], ...]:
    """The exceptions that mean "this connection or the server is gone" (not a bad query)."""
    pg = asyncpg()
    return (
        OSError,
        TimeoutError,
        pg.InterfaceError,  # "connection is closed", "connection was closed in the middle..."
        # a connection the server killed mid-operation can leave asyncpg's protocol in a state
        # it reports as "another operation is in progress"
        pg.exceptions.InternalClientError,
        pg.PostgresConnectionError,
        # pg_terminate_backend, a server shutting down or starting up
        pg.exceptions.OperatorInterventionError,
    )
