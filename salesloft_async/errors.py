"""Every exception the package raises on purpose.

One base class, `SalesloftError`, so that callers can catch everything the client decided to raise
without also catching programming errors.  Every message says what to do next, and none of them ever
carries a token, refresh token, client secret or API key: the constructors take only what is safe to
show (status, the server's own message, a short body excerpt).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ReauthorizationRequired",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "SalesloftError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "error_for_status",
]

BODY_EXCERPT = 200


class SalesloftError(Exception):
    """Base of every error the package raises on purpose."""


class ConfigurationError(SalesloftError, ValueError):
    """A bad argument or setting, caught before any request is sent."""


class TransportError(SalesloftError):
    """The request did not produce an HTTP response."""

    def __init__(self, message: str, *, method: str = "", path: str = "", sent: bool = True):
        super().__init__(message)
        self.method = method
        self.path = path
        #: False only when the request certainly never left this process (connection refused):
        #: the one case where a POST may be retried safely.
        self.sent = sent


class ConnectionFailedError(TransportError):
    """Could not connect, or the connection broke before a full response arrived."""


class RequestTimeoutError(TransportError):
    """No complete response within the configured timeout."""


class APIError(SalesloftError):
    """The server answered with an error status."""

    def __init__(
        self,
        status: int,
        message: str,
        body: Any = None,
        *,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ):
        self.status = status
        self.message = message
        self.body = body
        self.method = method
        self.path = path
        self.headers = dict(headers or {})
        where = f" on {method} {path}" if method else ""
        super().__init__(f"HTTP {status}{where}: {message}{self._advice()}")

    def _advice(self) -> str:
        return ""


class AuthenticationError(APIError):
    """401: the token is missing, invalid or expired, or its user is inactive."""

    def _advice(self) -> str:
        return (
            " (check the API key or token; a run of 401s after a refresh usually means the"
            " Salesloft user was deactivated)"
        )


class PermissionDeniedError(APIError):
    """403: the token's user may not do this."""

    def _advice(self) -> str:
        return " (the token's user lacks the permission or the OAuth scope for this call)"


class NotFoundError(APIError):
    """404: no such record, or it exists but is not visible to the token's user."""


class ValidationError(APIError):
    """422: the server rejected the fields; `.errors` maps each field to its messages."""

    def __init__(self, status: int, message: str, body: Any = None, **kw: Any):
        self.errors: dict[str, list[str]] = _field_errors(body)
        super().__init__(status, message, body, **kw)


class RateLimitedError(APIError):
    """429 that outlived the retry policy: the team's cost budget is exhausted."""

    def _advice(self) -> str:
        return (
            " (the team's cost budget is spent; share one CostBudget between clients, lower"
            " concurrency, or raise the retry policy's max_elapsed)"
        )


class ServerError(APIError):
    """5xx from Salesloft or a proxy in front of it."""


class ResponseDecodeError(SalesloftError):
    """A body that is not what the API promises (HTML from a proxy, truncated JSON, wrong shape)."""

    def __init__(
        self, message: str, *, status: int, body_excerpt: str, method: str = "", path: str = ""
    ):
        self.status = status
        self.body_excerpt = body_excerpt[:BODY_EXCERPT]
        self.method = method
        self.path = path
        where = f" from {method} {path}" if method else ""
        super().__init__(
            f"{message}{where} (HTTP {status}); body starts: {self.body_excerpt!r}."
            " Nothing was decoded; retry later or report the body if it persists."
        )


class ReauthorizationRequired(SalesloftError):
    """The OAuth grant is dead (revoked, expired, or its refresh token was lost to a race).

    Only the user can fix this: send them through the authorization-code flow again.
    """


class WebhookSignatureError(SalesloftError):
    """A webhook delivery whose signature is missing or does not match its body."""


class WebhookPayloadError(SalesloftError, ValueError):
    """A verified delivery whose body is not JSON, or not the record its event type promises."""


def _field_errors(body: Any) -> dict[str, list[str]]:
    raw = body.get("errors") if isinstance(body, Mapping) else None
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, list[str]] = {}
    for field, msgs in raw.items():
        if isinstance(msgs, list):
            out[str(field)] = [str(m) for m in msgs]
        else:
            out[str(field)] = [str(msgs)]
    return out


_BY_STATUS: dict[int, type[APIError]] = {
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    422: ValidationError,
    429: RateLimitedError,
}


def error_for_status(
    status: int,
    body: Any,
    *,
    method: str = "",
    path: str = "",
    headers: Mapping[str, str] | None = None,
) -> APIError:
    """Build the right `APIError` subclass from a status and a decoded (or raw text) body."""
    cls = _BY_STATUS.get(status) or (ServerError if status >= 500 else APIError)
    message = _message(body, status)
    return cls(status, message, body, method=method, path=path, headers=headers)


def _message(body: Any, status: int) -> str:
    if isinstance(body, Mapping):
        err = body.get("error")
        if isinstance(err, str) and err:
            desc = body.get("error_description")
            return f"{err}: {desc}" if isinstance(desc, str) and desc else err
        fields = _field_errors(body)
        if fields:
            return "; ".join(f"{k} {', '.join(v)}" for k, v in fields.items())
    if isinstance(body, str) and body.strip():
        return body.strip()[:BODY_EXCERPT]
    return f"HTTP {status} with no error message"
