"""What the transport asks of its collaborators: an auth hook and a budget hook.

The transport knows nothing about OAuth or cost windows.  It asks the auth hook for an
Authorization header and tells it about a 401; it asks the budget hook for permission to send and
tells it what the server said.  Anything with these methods plugs in: `ApiKey`, `TokenManager`,
`CostBudget`, `RedisBudget`, or a user's own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, runtime_checkable

Lane = Literal["interactive", "bulk"]


@runtime_checkable
class AuthHook(Protocol):
    async def authorization(self) -> str:
        """The full Authorization header value, e.g. ``"Bearer ak_..."``."""
        ...

    async def on_unauthorized(self, used: str) -> bool:
        """The server answered 401 to a request sent with `used`.

        Return True when the credentials have changed since (refreshed), so that the transport
        retries the request once with a fresh header; False to surface the 401.
        """
        ...


class Reservation(Protocol):
    """An opaque ticket for one request's reserved cost."""


@runtime_checkable
class BudgetHook(Protocol):
    #: True when the budget itself waits out a 429 (so the retry policy must not sleep again).
    handles_rate_limit: bool

    async def reserve(
        self, method: str, path: str, params: Mapping[str, Any] | None, lane: Lane
    ) -> Reservation:
        """Wait until the predicted cost of this request may be spent, and hold it."""
        ...

    def settle(self, reservation: Reservation, status: int, headers: Mapping[str, str]) -> None:
        """The response arrived: replace the prediction by what the server reports."""
        ...

    def release(self, reservation: Reservation) -> None:
        """No response will come (cancelled, connection failed): stop waiting for its answer.

        The request may still have been counted by the server, so a budget keeps its charge
        (conservative: at worst one request's cost is held until the window ends).
        """
        ...
