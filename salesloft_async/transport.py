"""The one request pipeline every call goes through.

auth header -> budget.reserve -> send -> budget.settle -> retry decision -> decode / error mapping

Keeping it in one place means a resource never retries, meters or authenticates on its own, and a
behaviour (say, "never resend a POST that may have reached the server") is enforced once.  The
session, clock and sleep are injected so tests can drive every branch against a real local server
without waiting.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import attrs

from .errors import (
    ConfigurationError,
    ConnectionFailedError,
    RequestTimeoutError,
    ResponseDecodeError,
    SalesloftError,
    error_for_status,
)
from .headers import COST, REMAINING, int_header
from .hooks import AuthHook, BudgetHook, Lane
from .query import encode_params
from .retry import Failure, RetryPolicy, parse_retry_after

__all__ = ["Expect", "Response", "Transport", "check_base_url"]

log = logging.getLogger("salesloft_async.transport")

Expect = Literal["any", "list", "object"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_EXCERPT = 200


@attrs.frozen
class Response:
    """A decoded response: status, headers (case-insensitive), JSON body (None when empty)."""

    status: int
    headers: Mapping[str, str] = attrs.field(repr=False)
    data: Any = attrs.field(repr=False)

    @property
    def cost(self) -> int | None:
        """What Salesloft charged for this call (``x-ratelimit-endpoint-cost``), if it said."""
        return int_header(self.headers, COST)

    @property
    def remaining(self) -> int | None:
        """What is left of the team's budget this minute (``x-ratelimit-remaining-minute``)."""
        return int_header(self.headers, REMAINING)


def check_base_url(base_url: str) -> str:
    """Refuse plain HTTP except to loopback: a bearer token must never cross a network in clear."""
    parts = urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(f"base_url must be an http(s) URL with a host, got {base_url!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ConfigurationError(
            f"refusing plain http:// to {parts.hostname}: tokens would travel unencrypted."
            " Use https://, or http:// only to 127.0.0.1/localhost/::1 (the sandbox)."
        )
    return base_url.rstrip("/")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Attempt(Exception):
    """Internal: one attempt failed in a way the retry policy may forgive."""

    def __init__(self, failure: Failure, error: SalesloftError, status: int | None = None):
        super().__init__(str(error))
        self.failure = failure
        self.error = error
        self.status = status
        self.retry_after: float | None = None


class Transport:
    """Sends requests for one client (or several sharing it) over one aiohttp session."""

    def __init__(
        self,
        auth: AuthHook,
        *,
        base_url: str = "https://api.salesloft.com",
        budget: BudgetHook | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
    ):
        if timeout <= 0:
            raise ConfigurationError("timeout must be a positive number of seconds")
        self.auth = auth
        self.base_url = check_base_url(base_url)
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self.sleep = sleep
        self.wall_clock = wall_clock
        self._session = session
        self._owns_session = session is None

    @property
    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, opened on first use (never at construction)."""
        if self._session is None or self._session.closed:
            if not self._owns_session:
                raise ConfigurationError("the injected aiohttp session is closed")
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        """Close the session if this transport opened it; an injected one is the caller's."""
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        lane: Lane = "interactive",
        expect: Expect = "any",
        idempotent: bool = False,
    ) -> Response:
        """Send one logical request, retrying per the policy, and decode its answer.

        `idempotent` marks a POST that is safe to resend (it carries an `idempotency_key`)."""
        method = method.upper()
        if not path.startswith("/"):
            raise ConfigurationError(f"path must start with '/', got {path!r}")
        query = encode_params(params)
        started = self.clock()
        attempt = 0
        reauthorized = False
        while True:
            attempt += 1
            try:
                response, used = await self._attempt(method, path, params, query, json, lane)
            except _Attempt as failed:
                wait = self.retry.delay(
                    method,
                    failed.failure,
                    attempt=attempt,
                    elapsed=self.clock() - started,
                    status=failed.status,
                    retry_after=failed.retry_after,
                    budget_waits=bool(self.budget and self.budget.handles_rate_limit),
                    idempotent=idempotent,
                )
                if wait is None:
                    raise failed.error from None
                log.info(
                    "retrying %s %s after %s (attempt %d, waiting %.2fs)",
                    method,
                    path,
                    failed.status or failed.failure,
                    attempt,
                    wait,
                )
                if wait > 0:
                    await self.sleep(wait)
                continue
            if response.status == 401 and not reauthorized:
                reauthorized = True
                if await self.auth.on_unauthorized(used):
                    attempt -= 1  # a refreshed token is a new request, not a retry
                    continue
            if response.status >= 400:
                raise error_for_status(
                    response.status,
                    response.data,
                    method=method,
                    path=path,
                    headers=response.headers,
                )
            return self._check_shape(response, expect, method, path)

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        query: list[tuple[str, str]],
        body: Any,
        lane: Lane,
    ) -> tuple[Response, str]:
        authorization = await self.auth.authorization()
        reservation = await self.budget.reserve(method, path, params, lane) if self.budget else None
        settled = False
        status = 0
        # Only a POST can do harm twice; say so where the caller must decide.
        unsure = " (it may have been processed; check before resending)" if method == "POST" else ""
        began = self.clock()
        try:
            async with self.session.request(
                method,
                self.base_url + path,
                params=query,
                json=body,
                headers={"Authorization": authorization, "Accept": "application/json"},
                timeout=self.timeout,
                allow_redirects=False,
            ) as resp:
                status, headers = resp.status, resp.headers
                if self.budget is not None and reservation is not None:
                    self.budget.settle(reservation, status, headers)
                settled = True
                raw = await resp.read()
        except aiohttp.ClientConnectorError as exc:
            raise _Attempt(
                "connect",
                ConnectionFailedError(
                    f"could not connect to {self.base_url} for {method} {path}: "
                    f"{exc.strerror or exc}",
                    method=method,
                    path=path,
                    sent=False,
                ),
            ) from None
        except aiohttp.ClientPayloadError:
            raise _Attempt(
                "sent",
                ResponseDecodeError(
                    "the response body was cut off before its end",
                    status=status,
                    body_excerpt="",
                    method=method,
                    path=path,
                ),
            ) from None
        except (aiohttp.ServerTimeoutError, TimeoutError):
            raise _Attempt(
                "sent",
                RequestTimeoutError(
                    f"no complete response to {method} {path} within {self.timeout.total}s"
                    + unsure,
                    method=method,
                    path=path,
                ),
            ) from None
        except aiohttp.ClientError as exc:
            raise _Attempt(
                "sent",
                ConnectionFailedError(
                    f"the connection failed during {method} {path}: {type(exc).__name__}" + unsure,
                    method=method,
                    path=path,
                ),
            ) from None
        finally:
            if not settled and self.budget is not None and reservation is not None:
                self.budget.release(reservation)
        elapsed_ms = (self.clock() - began) * 1000
        log.debug(
            "%s %s -> %d cost=%s remaining=%s %.1fms",
            method,
            path,
            status,
            headers.get(COST),
            headers.get(REMAINING),
            elapsed_ms,
        )
        response = Response(status, headers, self._decode(raw, status, method, path))
        if status in self.retry.retry_statuses:
            failed = _Attempt(
                "status",
                error_for_status(status, response.data, method=method, path=path, headers=headers),
                status,
            )
            failed.retry_after = parse_retry_after(headers.get("Retry-After"), self.wall_clock())
            raise failed
        return response, authorization

    @staticmethod
    def _decode(raw: bytes, status: int, method: str, path: str) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError):
            text = raw[:_EXCERPT].decode("utf-8", "replace")
            if status >= 400:
                return text  # the status says what happened; the excerpt becomes the message
            raise ResponseDecodeError(
                "the response is not JSON",
                status=status,
                body_excerpt=text,
                method=method,
                path=path,
            ) from None

    @staticmethod
    def _check_shape(response: Response, expect: Expect, method: str, path: str) -> Response:
        if expect == "any":
            return response
        want = list if expect == "list" else dict
        body = response.data
        if not isinstance(body, dict) or not isinstance(body.get("data"), want):
            excerpt = json.dumps(body)[:_EXCERPT] if body is not None else ""
            raise ResponseDecodeError(
                f"expected a JSON object whose 'data' is a {'list' if want is list else 'object'}",
                status=response.status,
                body_excerpt=excerpt,
                method=method,
                path=path,
            )
        return response
