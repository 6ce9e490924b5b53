"""Which bearer tokens the sandbox accepts (API keys and OAuth access tokens) and until when."""

from __future__ import annotations

from collections.abc import Callable


class TokenRegistry:
    """API keys never expire; OAuth access tokens expire on the sandbox clock."""

    def __init__(self, clock: Callable[[], float], api_keys: set[str] | None = None):
        self._clock = clock
        self.api_keys: set[str] = set(api_keys or ())
        self._access: dict[str, tuple[float, int]] = {}  # token -> (expires_at, user_id)

    def issue(self, token: str, expires_in: float, user_id: int = 1) -> None:
        self._access[token] = (self._clock() + expires_in, user_id)

    def revoke(self, token: str) -> None:
        self._access.pop(token, None)

    def user_for(self, bearer: str) -> int | None:
        """The user id a bearer token acts as, or None when it is unknown or expired."""
        if bearer in self.api_keys:
            return 1
        entry = self._access.get(bearer)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]
