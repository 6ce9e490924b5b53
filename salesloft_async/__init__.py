"""asyncio client for the Salesloft v2 API.

The names below are imported on first use (PEP 562), not with the package: the package's pytest
plugin (`salesloft_async.testing`) is loaded by every pytest run of every project that installs
it, and must not pay for the client, the models and aiohttp there.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .budget import CostBudget
    from .client import SalesloftClient
    from .errors import SalesloftError
    from .pool import SalesloftPool
    from .retry import RetryPolicy
    from .transport import Response

__all__ = [
    "CostBudget",
    "Response",
    "RetryPolicy",
    "SalesloftClient",
    "SalesloftError",
    "SalesloftPool",
]
__version__ = "0.1.0.dev0"

_HOMES = {
    "CostBudget": ".budget",
    "Response": ".transport",
    "RetryPolicy": ".retry",
    "SalesloftClient": ".client",
    "SalesloftError": ".errors",
    "SalesloftPool": ".pool",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'salesloft_async' has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value  # once imported, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
