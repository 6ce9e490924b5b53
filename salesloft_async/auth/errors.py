"""OAuth-specific errors, all under `SalesloftError` so one `except` catches them.

Messages carry only the server's error code and description, never a token, code or secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import APIError, ReauthorizationRequired, SalesloftError

__all__ = [
    "InvalidClientError",
    "OAuthError",
    "ReauthorizationRequired",
    "StateMismatchError",
    "TokenStoreError",
]


class OAuthError(APIError):
    """The authorization server answered an error (RFC 6749 section 5.2); `.error` is its code."""

    def __init__(
        self,
        status: int,
        error: str,
        description: str = "",
        *,
        method: str = "POST",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ):
        self.error = error
        self.description = description
        message = f"{error}: {description}" if description else error
        body: dict[str, Any] = {"error": error}
        if description:
            body["error_description"] = description
        super().__init__(status, message, body, method=method, path=path, headers=headers)

    def _advice(self) -> str:
        if self.error == "invalid_grant":
            return " (the code or refresh token is dead: send the user through authorization again)"
        if self.error == "invalid_request":
            return " (a required parameter is missing, e.g. the PKCE code_verifier kept earlier)"
        return ""


class InvalidClientError(OAuthError):
    """The client id or secret was rejected: check the app's credentials, not the user's."""

    def _advice(self) -> str:
        return " (check client_id and client_secret, and the client_auth method the server expects)"


class StateMismatchError(SalesloftError):
    """The callback's `state` is not the one this user was sent off with: possibly CSRF."""


class TokenStoreError(SalesloftError):
    """The token store could not be read, written or locked (path, permissions, corrupt file)."""
