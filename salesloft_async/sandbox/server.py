"""The Sandbox: an aiohttp.web server on loopback that behaves like Salesloft v2.

Request pipeline for /v2: faults (latency, 5xx, dropped connection, truncated body) -> bearer auth
(401) -> cost budget (429, headers) -> the handler.  /oauth/* (installed by `oauth.install_oauth`)
gets faults but is neither authenticated here nor metered.  Every answer carries a `Date` from the
sandbox clock, so clients aligning to the server's window see the same time the budget uses.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import secrets
import socket
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import replace
from typing import Any

from aiohttp import web

from ..spec import Operation
from .budget import ServerBudget
from .config import OAuthClientInfo, SandboxConfig
from .faults import Faults
from .resources import load_resources
from .responses import error_response
from .teams import build_team
from .tokens import Caller, TokenRegistry

__all__ = ["MAX_BODY", "Router", "Sandbox", "normalize_path"]

MAX_BODY = 64 * 1024 * 1024


def normalize_path(path: str) -> str:
    """Salesloft serves every path with and without `.json`."""
    if path.endswith(".json"):
        path = path[:-5]
    if len(path) > 1 and path.endswith("/"):
        path = path.rstrip("/")
    return path


class Router:
    """Matches (method, normalized path) to an operation of the table."""

    def __init__(self, operations: tuple[Operation, ...]) -> None:
        self.static: dict[tuple[str, str], Operation] = {}
        self.dynamic: list[tuple[str, re.Pattern[str], Operation]] = []
        for op in operations:
            if "{" not in op.path:
                self.static[(op.method, op.path)] = op
            else:
                pattern = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", op.path)
                self.dynamic.append((op.method, re.compile(f"^{pattern}$"), op))

    def match(self, method: str, path: str) -> tuple[Operation, dict[str, str]] | None:
        op = self.static.get((method, path))
        if op is not None:
            return op, {}
        for op_method, pattern, candidate in self.dynamic:
            if op_method != method:
                continue
            found = pattern.match(path)
            if found:
                return candidate, found.groupdict()
        return None


class Sandbox:
    """A local Salesloft.  `async with Sandbox(people=500, window=1) as sb:` binds a free port.

    :param config: what it serves (`SandboxConfig`; default: Salesloft's own numbers).
    :param host: the interface to bind; loopback by default, so nothing else can reach it.
    :param port: the port to bind (0: a free one; `url` says which once started).
    :param clock: the time its budget, tokens and `Date` headers use (overrides `config.clock`).
    :param sleep: how it waits (latency, webhook retries); a test may inject one that does not.
    :param overrides: `SandboxConfig` fields by name, replacing those of `config`
        (``Sandbox(people=500)``); checked the same way.
    """

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        **overrides: Any,
    ) -> None:
        from .._operations import OPERATIONS
        from .oauth import install_oauth

        config = config or SandboxConfig()
        if overrides:
            config = replace(config, **overrides)
        if clock is not None:
            config = replace(config, clock=clock)
        self.config = config
        self.clock: Callable[[], float] = config.clock
        self.sleep: Callable[[float], Awaitable[None]] = sleep or asyncio.sleep
        self.host = host
        self.port = port
        self.url = ""
        self.oauth_client = OAuthClientInfo(
            client_id=config.client_id,
            client_secret=config.client_secret or secrets.token_hex(24),
            redirect_uri=config.redirect_uri,
        )
        self.counters: Counter[str] = Counter()
        # copies: a rule counts its hits, and one config may serve several sandboxes
        self.faults = Faults(config.seed, [replace(rule) for rule in config.faults])
        self.infos = load_resources()
        self.router = Router(OPERATIONS)
        #: every team by id (1..teams): its API key, data, budget, webhooks and handlers
        self.teams = {
            t: build_team(
                t,
                config,
                self.infos,
                counters=self.counters,
                spawn=self.spawn,
                sleep=self.sleep,
                user_of=self.user_of,
            )
            for t in range(1, config.teams + 1)
        }
        # The default team's parts, under the names a one-team sandbox has always had.
        first = self.teams[1]
        self.api_key = first.api_key
        self.store, self.budget, self.webhooks, self.api = (
            first.store,
            first.budget,
            first.webhooks,
            first.api,
        )
        self.tokens = TokenRegistry(self.clock, {t.api_key: t.id for t in self.teams.values()})
        self._seeded = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        # bulk job data may carry 5,000 records in one body: well over aiohttp's 1 MiB default
        self.app = web.Application(middlewares=[self._faults_middleware], client_max_size=MAX_BODY)
        self.app.on_response_prepare.append(self._stamp_date)
        self.app.router.add_route("*", "/v2/{tail:.*}", self._api_entry)
        install_oauth(self.app, self)

    def __repr__(self) -> str:
        return f"Sandbox(url={self.url!r}, people={self.config.people})"

    # -- lifecycle ------------------------------------------------------------------------------

    async def start(self) -> Sandbox:
        if self._runner is not None:
            return self
        # Bind first: the seed data's `_href`s need the real port.
        ipv6 = ":" in self.host
        sock = socket.socket(socket.AF_INET6 if ipv6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self.port))
            self.port = sock.getsockname()[1]
            self.url = (
                f"http://[{self.host}]:{self.port}" if ipv6 else f"http://{self.host}:{self.port}"
            )
            if not self._seeded:
                for team in self.teams.values():
                    team.seed(self.url, self.infos)
                self._seeded = True
            runner = web.AppRunner(self.app, access_log=None, handle_signals=False)
            await runner.setup()
            await web.SockSite(runner, sock).start()
        except BaseException:
            sock.close()
            raise
        self._runner = runner
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for team in self.teams.values():
            await team.webhooks.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Sandbox:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run background work the sandbox owns (bulk job execution); cancelled on stop."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for background work and webhook deliveries (tests call this instead of sleeping)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for team in self.teams.values():
            await team.webhooks.drain()

    @property
    def spend_by_window(self) -> dict[int, int]:
        return self.budget.spent

    # -- pipeline -------------------------------------------------------------------------------

    async def _stamp_date(self, request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Date"] = email.utils.formatdate(self.clock(), usegmt=True)

    @web.middleware
    async def _faults_middleware(
        self,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        path = normalize_path(request.path)
        decision = self.faults.decide(request.method, path)
        delay = decision.delay + (self.config.latency if path.startswith("/v2") else 0.0)
        if decision.delay > 0:
            self.counters["fault:latency"] += 1
        if delay > 0:
            await self.sleep(delay)
        if decision.action == "drop":
            self.counters["fault:drop"] += 1
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError
        if decision.action == "error":
            self.counters["fault:error"] += 1
            self.counters[f"status:{decision.status}"] += 1
            return error_response(decision.status, "Internal Server Error (sandbox fault)")
        response = await handler(request)
        self.counters[f"status:{response.status}"] += 1
        if decision.action == "truncate" and isinstance(response, web.Response):
            self.counters["fault:truncate"] += 1
            return await self._truncate(request, response)
        return response

    async def _truncate(self, request: web.Request, response: web.Response) -> web.StreamResponse:
        body = response.body if isinstance(response.body, bytes) else b""
        stream = web.StreamResponse(status=response.status, headers=response.headers)
        stream.content_length = len(body)
        await stream.prepare(request)
        await stream.write(body[: len(body) // 2])
        if request.transport is not None:
            request.transport.close()
        raise asyncio.CancelledError

    def caller_of(self, request: web.Request) -> Caller | None:
        """The (team, user) a request's bearer token acts as (None: missing, unknown, expired)."""
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        return self.tokens.caller(token.strip()) if scheme.lower() == "bearer" else None

    def user_of(self, request: web.Request) -> int | None:
        """The user a request's bearer token acts as (None: missing, unknown or expired)."""
        caller = self.caller_of(request)
        return caller[1] if caller is not None else None

    def _rate_headers(self, response: web.StreamResponse, remaining: int, cost: int) -> None:
        response.headers["x-ratelimit-remaining-minute"] = str(remaining)
        response.headers["x-ratelimit-endpoint-cost"] = str(cost)

    def _cost(self, request: web.Request, op: Operation | None, budget: ServerBudget) -> int:
        if op is None or not op.paged:
            return 1
        raw = request.query.get("page", "1")
        page = int(raw) if raw.strip().isdigit() else 1
        return budget.cost_of(page)

    async def _api_entry(self, request: web.Request) -> web.StreamResponse:
        path = normalize_path(request.path)
        self.counters["requests"] += 1
        self.counters[f"path:{path}"] += 1
        caller = self.caller_of(request)
        if caller is None:
            self.counters["unauthorized"] += 1
            denied = error_response(401, "Unauthorized: missing, invalid or expired token")
            self._rate_headers(denied, self.budget.remaining(), 0)
            return denied
        team = self.teams[caller[0]]
        team.counters["requests"] += 1
        matched = self.router.match(request.method, path)
        op = matched[0] if matched else None
        if op is not None:
            self.counters[f"route:{op.method} {op.path}"] += 1
        cost = self._cost(request, op, team.budget)
        accepted, remaining = team.budget.try_spend(cost)
        if not accepted:
            self.counters["rate_limited"] += 1
            team.counters["rate_limited"] += 1
            refused = error_response(429, "API rate limit exceeded")
            self._rate_headers(refused, remaining, cost)
            return refused
        self.counters["cost"] += cost
        team.counters["cost"] += cost
        response: web.StreamResponse
        if matched is None:
            response = error_response(404, "Not Found")
        else:
            response = await team.api.handle(request, matched[0], matched[1])
        self._rate_headers(response, remaining, cost)
        return response
