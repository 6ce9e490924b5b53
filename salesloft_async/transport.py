"""The one request pipeline every call goes through.

auth header -> budget.reserve -> send -> budget.settle -> classify -> retry decision -> result

Keeping it in one place means a resource never retries, meters or authenticates on its own, and a
behaviour (say, "never resend a POST that may have reached the server") is enforced once.  The
session, clock and sleep are injected so tests can drive every branch against a real local server
without waiting.

No single answer is trusted: a body is read to a size limit and no further, a 2xx body that is
cut off, not JSON or of the wrong shape is a failed attempt (retried when the method is
idempotent), a 3xx is an error (redirects are never followed), whatever the server says passes
through `redact` before it reaches an exception, and the retry policy's `max_elapsed` bounds every
wait after the first send (see `_Deadline`).  Three small steps keep that readable: `_attempt`
sends, the pure `_failure_for` and `_classify` decide what an outcome means, and `request` loops.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import attrs
from multidict import CIMultiDict
from yarl import URL

from ._checks import byte_count, seconds
from .bodies import DEFAULT_MAX_RESPONSE_SIZE, excerpt, loads, read_body
from .errors import (
    ConfigurationError,
    ConnectionFailedError,
    RequestTimeoutError,
    ResponseDecodeError,
    SalesloftError,
    error_for_status,
    redact,
)
from .headers import COST, REMAINING, header, int_header, parse_retry_after
from .hooks import AuthHook, BudgetHook, Lane, Reservation
from .query import DEFAULT_BASE_URL, url_for
from .retry import Failure, RetryPolicy

__all__ = ["Expect", "Response", "Transport", "check_base_url"]

log = logging.getLogger("salesloft_async.transport")

Expect = Literal["any", "list", "object"]
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_METHOD = re.compile(r"[A-Z]+")


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
    try:
        parts = urlsplit(base_url)
    except (TypeError, ValueError):
        raise ConfigurationError(f"base_url is not a URL: {base_url!r}") from None
    if "@" in parts.netloc:
        # aiohttp would refuse it beside our Authorization (a bare ValueError), and every message
        # naming the URL would show the password
        shown = urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
        raise ConfigurationError(
            f"base_url must not carry a user name or password ({shown} without them): the API"
            " key or token is the credential"
        )
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


def _check_request(method: str, path: str) -> str:
    """The method, upper-cased; `ConfigurationError` for anything that could break the request
    line or escape the path (a control character, a ``.`` or ``..`` segment)."""
    if not isinstance(method, str) or not isinstance(path, str):
        kinds = f"{type(method).__name__} and {type(path).__name__}"
        raise ConfigurationError(f"method and path must be strings, got {kinds}")
    method = method.upper()
    if not _METHOD.fullmatch(method):
        raise ConfigurationError(f"method must be a word like GET or POST, got {method!r}")
    if not path.startswith("/"):
        raise ConfigurationError(f"path must start with '/', got {path!r}")
    if any(c.isspace() or not c.isprintable() for c in path):
        raise ConfigurationError(f"path holds whitespace or control characters: {path!r}")
    segments = path.split("?", 1)[0].lower().replace("%2e", ".").split("/")
    if any(segment in (".", "..") for segment in segments):
        raise ConfigurationError(
            f"path {path!r} has a '.' or '..' segment, which would send the request elsewhere"
        )
    return method


def _encode_json(body: Any) -> bytes | None:
    if body is None:
        return None
    try:
        return json.dumps(body, allow_nan=False).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        raise ConfigurationError(f"the JSON body cannot be sent: {exc}") from None


def _secrets(authorization: str) -> tuple[str, ...]:
    """What of the Authorization value must never be shown: the credential after the scheme."""
    if any(ord(c) < 32 or ord(c) == 127 for c in authorization):
        raise ConfigurationError(
            "the auth hook gave an Authorization value with control characters (a corrupt key or"
            " token); it was not sent"
        )
    _, _, credential = authorization.partition(" ")
    return (credential.strip() or authorization,)


@attrs.define
class _Deadline:
    """`RetryPolicy.max_elapsed`, counted from the first send of one logical request.

    Every wait after the first send (a retry's backoff, a token refresh, the budget's pause after a
    429, the next attempt) ends by the deadline.  The waits before it, for a token and for the
    cost budget, are not bounded by it: they are the client's own queue, not a server's demand,
    and a caller queued behind a long bulk read must not fail for waiting its turn.  They have
    bounds of their own (the budget's `max_pause`, the OAuth app's `timeout`, the token store's
    lock timeout); bound them further with ``asyncio.timeout`` around the call.
    """

    policy: RetryPolicy
    clock: Clock
    total: float
    started: float | None = None

    def elapsed(self) -> float:
        return 0.0 if self.started is None else self.clock() - self.started

    def left(self) -> float | None:
        """Seconds a wait may take; None (no bound) before the first send."""
        if self.started is None:
            return None
        return max(0.0, self.policy.max_elapsed - self.elapsed())

    def send(self) -> float | None:
        """The timeout of the attempt starting now (the first starts the deadline, and gets the
        whole `total` even when `max_elapsed` is zero); None when nothing is left."""
        if self.started is None:
            self.started = self.clock()
            return self.policy.attempt_timeout(0.0, self.total) or self.total
        return self.policy.attempt_timeout(self.elapsed(), self.total)


@attrs.frozen
class _Attempt:
    """One attempt that failed in a way the retry policy may forgive: what the policy needs."""

    failure: Failure
    error: SalesloftError
    status: int | None = None
    retry_after: float | None = None


def _failure_for(
    exc: aiohttp.ClientError | TimeoutError,
    method: str,
    path: str,
    *,
    base_url: str,
    timeout: float,
    status: int = 0,
    secrets: tuple[str, ...] = (),
) -> _Attempt:
    """What an exception raised while sending or reading means for the retry policy.

    `status` is the answer's status when the failure came while reading its body (0 before).
    """
    # Only a POST can do harm twice; say so where the caller must decide.
    unsure = " (it may have been processed; check before resending)" if method == "POST" else ""
    if isinstance(exc, aiohttp.ClientConnectorError):
        return _Attempt(
            "connect",
            ConnectionFailedError(
                f"could not connect to {base_url} for {method} {path}: {exc.strerror or exc}",
                method=method,
                path=path,
                sent=False,
            ),
        )
    if isinstance(exc, aiohttp.ClientPayloadError):
        return _Attempt(
            "sent",
            ResponseDecodeError(
                "the response body was cut off before its end" + unsure,
                status=status,
                body_excerpt="",
                method=method,
                path=path,
            ),
        )
    if isinstance(exc, TimeoutError):  # aiohttp's ServerTimeoutError included
        return _Attempt(
            "sent",
            RequestTimeoutError(
                f"no complete response to {method} {path} within {timeout:g}s" + unsure,
                method=method,
                path=path,
            ),
        )
    # The exception's own words say which failure it was (an aioresponses mock names the URL it
    # has no answer for); redacted like everything else shown.  An exception whose str() fails
    # (aiohttp's ClientResponseError without request info) is named by its type alone.
    try:
        detail = redact(str(exc), secrets).strip()[:200]
    except Exception:
        detail = ""
    reason = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
    return _Attempt(
        "sent",
        ConnectionFailedError(
            f"the connection failed during {method} {path}: {reason}" + unsure,
            method=method,
            path=path,
        ),
    )


def _classify(
    method: str,
    path: str,
    status: int,
    headers: Mapping[str, str],
    raw: bytes,
    *,
    expect: Expect,
    retry_statuses: frozenset[int],
    secrets: tuple[str, ...],
    now_epoch: float,
) -> Response | _Attempt:
    """What one complete answer means: a response to hand back, or a failed attempt."""
    if status >= 300:
        # Whatever the server says about a failure may echo the request: redact it all first.
        text = redact(raw.decode("utf-8", "replace"), secrets)
        try:
            data = loads(text) if text.strip() else None
        except ValueError:
            data = excerpt(text)  # the status says what happened; the excerpt is the message
        shown: CIMultiDict[str] = CIMultiDict((k, redact(v, secrets)) for k, v in headers.items())
        if status not in retry_statuses:
            return Response(status, shown, data)
        return _Attempt(
            "status",
            error_for_status(status, data, method=method, path=path, headers=shown),
            status,
            parse_retry_after(header(headers, "retry-after"), now_epoch),
        )
    problem = ""
    data = None
    try:
        data = loads(raw) if raw.strip() else None
    except ValueError as exc:
        problem = f"the response is not JSON ({exc})"
    if not problem and expect != "any":
        want, name = (list, "list") if expect == "list" else (dict, "object")
        if not isinstance(data, dict) or not isinstance(data.get("data"), want):
            problem = f"expected a JSON object whose 'data' is a {name}"
    if problem:
        if method == "POST":
            problem += " (the server accepted the POST: do not resend it blindly)"
        return _Attempt(
            "sent",
            ResponseDecodeError(
                problem,
                status=status,
                body_excerpt=excerpt(raw, secrets),
                method=method,
                path=path,
            ),
        )
    return Response(status, headers, data)


class Transport:
    """Sends requests for one client (or several sharing it) over one aiohttp session.

    :param auth: gives the Authorization header and hears about 401s.
    :param base_url: the API's root; plain http only to loopback.
    :param budget: meters cost (share one between every client of a team), or None.
    :param session: an aiohttp session to use (and leave open), else one is opened on first use.
    :param timeout: seconds for one attempt, cut further by the retry policy's `max_elapsed`.
    :param retry: when to try again; `RetryPolicy()` by default.
    :param clock: monotonic seconds, for deadlines (injected by tests).
    :param sleep: waits between attempts (injected by tests).
    :param wall_clock: epoch seconds, for ``Retry-After`` dates.
    :param max_response_size: the longest body read, in bytes (32 MiB by default); a longer one
        raises `ResponseTooLargeError` and its connection is dropped.
    """

    def __init__(
        self,
        auth: AuthHook,
        *,
        base_url: str = DEFAULT_BASE_URL,
        budget: BudgetHook | None = None,
        session: aiohttp.ClientSession | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        wall_clock: Clock = time.time,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
    ):
        timeout = seconds("timeout", timeout)
        max_response_size = byte_count("max_response_size", max_response_size)
        self.auth = auth
        self.base_url = check_base_url(base_url)
        self.budget = budget
        self.retry = retry or RetryPolicy()
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.clock = clock
        self.sleep = sleep
        self.wall_clock = wall_clock
        self.max_response_size = max_response_size
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

        A 3xx raises `RedirectError`: redirects are never followed. `idempotent` marks a POST that
        is safe to resend (it carries an `idempotency_key`).
        """
        method = _check_request(method, path)
        url = url_for(path, params, base_url=self.base_url)  # bad params fail here, unsent
        payload = _encode_json(json)
        deadline = _Deadline(self.retry, self.clock, self.timeout.total or 30.0)
        attempt = 0
        reauthorized = False
        last: _Attempt | None = None
        while True:
            attempt += 1
            outcome = await self._attempt(
                method, path, params, url, payload, lane, expect, deadline
            )
            if outcome is None:  # max_elapsed ran out while waiting for a token or the budget
                if last is not None:
                    raise last.error
                raise RequestTimeoutError(  # after a 401 whose new token came too late
                    f"{method} {path}: max_elapsed ({self.retry.max_elapsed:g}s) passed"
                    " while waiting for a token or the cost budget",
                    method=method,
                    path=path,
                )
            if isinstance(outcome, _Attempt):
                last = outcome
                elapsed = deadline.elapsed()
                wait = self.retry.delay(
                    method,
                    outcome.failure,
                    attempt=attempt,
                    elapsed=elapsed,
                    status=outcome.status,
                    retry_after=outcome.retry_after,
                    budget_waits=bool(self.budget and self.budget.handles_rate_limit),
                    idempotent=idempotent,
                )
                if (
                    wait is None
                    or self.retry.attempt_timeout(elapsed + wait, deadline.total) is None
                ):
                    raise outcome.error
                log.info(
                    "retrying %s %s after %s (attempt %d, waiting %.2fs)",
                    method,
                    path,
                    outcome.status or outcome.failure,
                    attempt,
                    wait,
                )
                if wait > 0:
                    await self.sleep(wait)
                continue
            response, used = outcome
            if response.status == 401 and not reauthorized:
                reauthorized = True
                if await self._reauthorize(used, deadline):
                    attempt -= 1  # a refreshed token is a new request, not a retry
                    continue
            if response.status >= 300:
                raise error_for_status(
                    response.status,
                    response.data,
                    method=method,
                    path=path,
                    headers=response.headers,
                )
            return response

    async def _reauthorize(self, used: str, deadline: _Deadline) -> bool:
        """Whether a new token replaced `used` within the deadline."""
        waiting = asyncio.timeout(deadline.left())
        try:
            async with waiting:
                return await self.auth.on_unauthorized(used)
        except TimeoutError:
            if waiting.expired():
                return False
            raise

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        url: URL,
        payload: bytes | None,
        lane: Lane,
        expect: Expect,
        deadline: _Deadline,
    ) -> tuple[Response, str] | _Attempt | None:
        """Send once and read the answer; a failure is returned, and None when the deadline
        passed while waiting for a token or the budget."""
        reservation: Reservation | None = None
        waiting = asyncio.timeout(deadline.left())
        try:
            async with waiting:
                authorization = await self.auth.authorization()
                if self.budget is not None:
                    reservation = await self.budget.reserve(method, path, params, lane)
        except TimeoutError:
            if waiting.expired():
                return None
            raise
        limit = deadline.send()
        if limit is None:
            if self.budget is not None and reservation is not None:
                self.budget.release(reservation)
            return None
        secrets = _secrets(authorization)
        send_headers = {"Authorization": authorization, "Accept": "application/json"}
        if payload is not None:
            send_headers["Content-Type"] = "application/json"
        settled = False
        status = 0
        began = self.clock()
        try:
            async with self.session.request(
                method,
                url,
                data=payload,
                headers=send_headers,
                timeout=aiohttp.ClientTimeout(total=limit),
                allow_redirects=False,
            ) as resp:
                status, headers = resp.status, resp.headers
                if self.budget is not None and reservation is not None:
                    self.budget.settle(reservation, status, headers)
                settled = True
                raw = await read_body(resp, self.max_response_size, method=method, path=path)
        except (aiohttp.ClientError, TimeoutError) as exc:
            return _failure_for(
                exc,
                method,
                path,
                base_url=self.base_url,
                timeout=limit,
                status=status,
                secrets=secrets,
            )
        finally:
            if not settled and self.budget is not None and reservation is not None:
                self.budget.release(reservation)
        if log.isEnabledFor(logging.DEBUG):  # its arguments would cost every request otherwise
            log.debug(
                "%s %s -> %d cost=%s remaining=%s %.1fms",
                method,
                path,
                status,
                headers.get(COST),
                headers.get(REMAINING),
                (self.clock() - began) * 1000,
            )
        outcome = _classify(
            method,
            path,
            status,
            headers,
            raw,
            expect=expect,
            retry_statuses=self.retry.retry_statuses,
            secrets=secrets,
            now_epoch=self.wall_clock(),
        )
        return outcome if isinstance(outcome, _Attempt) else (outcome, authorization)
