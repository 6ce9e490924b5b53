"""Every exception the package raises on purpose.

One base class, `SalesloftError`, so that callers can catch everything the client decided to raise
without also catching programming errors.  Every message says what to do next, and none of them ever
carries a token, refresh token, client secret or API key: the constructors take only what is safe to
show (status, the server's own message, a short body excerpt).  A server can still echo a secret
back (a proxy that reflects the ``Authorization`` header into its error page, an OAuth
``error_description`` quoting the refresh token), so whatever the server said passes through
`redact` with the secrets of the request before any of it reaches an exception.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

__all__ = [
    "APIError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailedError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "RateLimitedError",
    "ReauthorizationRequired",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "ResponseTooLargeError",
    "SalesloftError",
    "ServerError",
    "TransportError",
    "ValidationError",
    "WebhookPayloadError",
    "WebhookSignatureError",
    "error_for_status",
    "redact",
]

BODY_EXCERPT = 200
REDACTED = "<redacted>"


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


class RedirectError(APIError):
    """3xx: redirects are never followed, by design.

    Following one would send the bearer token wherever the answer points (and turn a POST into a
    GET); the API itself never redirects, so a 3xx means a wrong base URL or a proxy in the way.
    """

    def _advice(self) -> str:
        where = self.headers.get("Location") or self.headers.get("location")
        to = f" to {where}" if where else ""
        return (
            f" (the server redirected{to}; redirects are never followed: check base_url and the"
            " path)"
        )


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


class ResponseTooLargeError(SalesloftError):
    """A response body longer than the client's limit; the rest was not read (the connection was
    dropped), so a proxy or a bad deploy cannot exhaust memory or hold a call until its timeout."""

    def __init__(self, *, limit: int, status: int, method: str = "", path: str = ""):
        self.limit = limit
        self.status = status
        self.method = method
        self.path = path
        where = f" from {method} {path}" if method else ""
        super().__init__(
            f"the response{where} (HTTP {status}) is longer than {limit} bytes, the limit; it was"
            " not read to its end.  Ask for fewer records per page, or raise max_response_size"
            " if such a body is expected."
        )


class PaginationError(SalesloftError):
    """A list that does not advance: the same page or records again, or a next page that goes
    back.  Reading on would loop forever, so the read stops; it is a server fault (or a proxy
    that ignores the query string), and retrying later is the remedy."""


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
    cls = _BY_STATUS.get(status) or (
        ServerError if status >= 500 else RedirectError if 300 <= status < 400 else APIError
    )
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


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every secret (as sent, or percent-encoded as in a URL or form) replaced."""
    for secret in secrets:
        if not secret:
            continue
        for form in {secret, quote(secret, safe="")}:
            text = text.replace(form, REDACTED)
    return text
