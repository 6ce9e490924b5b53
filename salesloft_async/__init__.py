"""asyncio client for the Salesloft v2 API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .client import SalesloftClient
from .errors import SalesloftError
from .pool import SalesloftPool
from .retry import RetryPolicy
from .transport import Response

if TYPE_CHECKING:
    from .budget import CostBudget

__all__ = [
    "CostBudget",
    "Response",
    "RetryPolicy",
    "SalesloftClient",
    "SalesloftError",
    "SalesloftPool",
]
__version__ = "0.1.0.dev0"


def __getattr__(name: str) -> Any:
    # The budget module is written separately; import it lazily so the package imports without it.
    if name == "CostBudget":
        from .budget import CostBudget

        return CostBudget
    raise AttributeError(name)
