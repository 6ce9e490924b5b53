"""Which bearer tokens the sandbox accepts (API keys and OAuth access tokens), until when, and
which team and user each acts as."""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: (team id, user id) a token acts as
Caller = tuple[int, int]


class TokenRegistry:
    """API keys never expire and act as user 1 of their team; OAuth access tokens expire on the
    sandbox clock."""

    def __init__(self, clock: Callable[[], float], api_keys: Mapping[str, int] | None = None):
        self._clock = clock
        #: API key -> the team it belongs to
        self.api_keys: dict[str, int] = dict(api_keys or {})
        self._access: dict[str, tuple[float, Caller]] = {}  # token -> (expires_at, caller)

    def issue(self, token: str, expires_in: float, user_id: int = 1, team_id: int = 1) -> None:
        self._access[token] = (self._clock() + expires_in, (team_id, user_id))

    def revoke(self, token: str) -> None:
        self._access.pop(token, None)

    def caller(self, bearer: str) -> Caller | None:
        """The (team, user) a bearer token acts as, or None when it is unknown or expired."""
        team = self.api_keys.get(bearer)
        if team is not None:
            return team, 1
        entry = self._access.get(bearer)
        if entry is None or entry[0] <= self._clock():
            return None
        return entry[1]
