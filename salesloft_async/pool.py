"""`SalesloftPool`: one connection pool and one budget per team, for apps that serve many teams.

An app that connects users of many Salesloft teams must not share one budget between them (one
team's spend would throttle another, and neither would match the server's own count), nor open a
session per user (a connection pool per request is slow and leaks sockets).  The pool owns one
aiohttp session for every client it makes and one budget per team, made by a factory on first use.

A client's team is given (`team_id=`) or learned from ``GET /v2/me`` on its first request, once per
credential: concurrent first calls with one credential share one lookup.  A credential is an API
key (remembered by a hash of the key, never the key itself) or an auth object such as a
`TokenManager` (remembered by identity, weakly, so forgotten with the object).  The lookup is sent
before its team, and so its budget, is known; its cost is charged to that budget afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import weakref
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

import aiohttp

from .auth.apikey import ApiKey
from .budget import CostBudget
from .client import DEFAULT_BASE_URL, SalesloftClient
from .errors import ConfigurationError, ResponseDecodeError
from .hooks import AuthHook, BudgetHook, Lane, Reservation
from .retry import RetryPolicy
from .transport import Clock, Sleep, check_base_url

__all__ = ["BudgetFactory", "SalesloftPool"]

BudgetFactory = Callable[[int], BudgetHook]

#: Salesloft's ids are PostgreSQL bigints, and a team id names rows and keys of the app's own
_MAX_ID = 2**63 - 1


def _team_id(value: object) -> int | None:
    """`value` when it can be a team id (a positive int a bigint holds), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= _MAX_ID:
        return value
    return None


def _default_budget(team_id: int) -> BudgetHook:
    return CostBudget(600, 60)


class SalesloftPool:
    """Makes `SalesloftClient`s that share one aiohttp session and their team's budget.

        async with SalesloftPool(budget_for=lambda team: CostBudget(600, 60)) as pool:
            async with pool.client(auth=manager_of_some_user) as sl:   # closing it keeps the pool
                await sl.people.get(42)

    :param base_url: the API every client talks to.
    :param budget_for: called once per team id to make that team's budget (a `CostBudget`, or a
        `RedisBudget` on ``budget_key(team_id)`` when several processes serve the same teams).
    :param session: an aiohttp session to use instead of the pool's own (then closing the pool
        leaves it open).
    :param connections: the most connections the pool's own session keeps open at once.
    :param timeout, retry, clock, sleep: given to every client, as for `SalesloftClient`.
    """

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_BASE_URL,
        budget_for: BudgetFactory = _default_budget,
        session: aiohttp.ClientSession | None = None,
        connections: int = 100,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ):
        if not isinstance(connections, int) or isinstance(connections, bool) or connections < 1:
            raise ConfigurationError(
                f"connections must be an int of at least 1, got {connections!r}"
            )
        if not callable(budget_for):
            raise ConfigurationError(
                "budget_for must be a function of a team id that makes its budget, such as"
                " lambda team: CostBudget(600, 60)"
            )
        if session is not None and not isinstance(session, aiohttp.ClientSession):
            raise ConfigurationError(
                f"session must be an aiohttp.ClientSession, got {type(session).__name__}"
            )
        self.base_url = check_base_url(base_url)
        self.budget_for = budget_for
        self.connections = connections
        self.timeout = timeout
        self.retry = retry
        self.clock = clock
        self.sleep = sleep
        self._session = session
        self._owns_session = session is None
        self._closed = False
        self._budgets: dict[int, BudgetHook] = {}
        self._key_teams: dict[str, int] = {}  # sha256 of an API key -> team
        # id of an auth object -> a weak reference to it, and its team.  By identity, not by
        # equality (an auth object may be an unhashable dataclass), and weakly: an id comes back
        # with a new object once its owner is gone, and nothing is kept for a forgotten credential.
        self._hook_teams: dict[int, tuple[weakref.ref[AuthHook], int]] = {}
        self._learning: dict[str | int, asyncio.Task[int]] = {}
        #: ``GET /v2/me`` lookups sent, for metrics (one per credential unless one failed)
        self.lookups = 0

    def __repr__(self) -> str:
        return f"SalesloftPool(base_url={self.base_url!r}, teams={sorted(self._budgets)})"

    @property
    def session(self) -> aiohttp.ClientSession:
        """The one session of every client, opened on first use."""
        if self._closed:
            raise ConfigurationError("this SalesloftPool is closed; make a new one")
        if self._session is None:
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                raise ConfigurationError(
                    "SalesloftPool opens its session with the first client: make clients inside"
                    " a running event loop (in a request handler, or after asyncio.run)"
                ) from None
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(limit=self.connections),
            )
        return self._session

    def budget(self, team_id: int) -> BudgetHook:
        """The budget every client of `team_id` shares (made by `budget_for` on first use)."""
        if _team_id(team_id) is None:
            raise ConfigurationError(
                f"team_id must be a positive int (a Salesloft team id), got {team_id!r}"
            )
        budget = self._budgets.get(team_id)
        if budget is None:
            budget = self.budget_for(team_id)
            if not isinstance(budget, BudgetHook):
                raise ConfigurationError(
                    f"budget_for({team_id}) returned {type(budget).__name__}, not a budget"
                    " (a CostBudget, a RedisBudget, or your own with reserve/settle/release)"
                )
            self._budgets[team_id] = budget
        return budget

    @property
    def budgets(self) -> Mapping[int, BudgetHook]:
        """Every team's budget made so far, by team id."""
        return dict(self._budgets)

    def client(
        self,
        api_key: str | None = None,
        *,
        auth: AuthHook | None = None,
        team_id: int | None = None,
    ) -> SalesloftClient:
        """A client on the pool's session and its team's budget; cheap, so make one per request.

        Without `team_id`, the client finds its team before its first request: the one already
        learned for these credentials, or else the answer of ``GET /v2/me``.  Closing the client
        leaves the pool's session open.
        """
        if (api_key is None) == (auth is None):
            raise ConfigurationError(
                "give exactly one of api_key='ak_...' or auth=<TokenManager or other auth hook>"
            )
        hook: AuthHook = auth if auth is not None else ApiKey(api_key or "")
        budget = self.budget(team_id) if team_id is not None else _TeamBudget(self, hook)
        return self._client(hook, budget)

    def _client(self, auth: AuthHook, budget: BudgetHook | None) -> SalesloftClient:
        return SalesloftClient(
            auth=auth,
            base_url=self.base_url,
            budget=budget,
            session=self.session,
            timeout=self.timeout,
            retry=self.retry,
            clock=self.clock,
            sleep=self.sleep,
        )

    async def team_of(self, auth: AuthHook) -> int:
        """The team id these credentials belong to: remembered, or asked of ``/v2/me`` once."""
        key = await _credential(auth)
        known = self._known(key, auth)
        if known is not None:
            return known
        # keyed by the object's id only while the lookup, which holds the object, runs
        task = self._learning.get(key)
        if task is None:
            task = asyncio.ensure_future(self._ask_me(auth))
            self._learning[key] = task
            task.add_done_callback(lambda done: self._learned(key, auth, done))
        # shielded: a caller that gives up does not cancel the lookup others are waiting for
        return await asyncio.shield(task)

    def _known(self, key: str | int, auth: AuthHook) -> int | None:
        if isinstance(key, str):
            return self._key_teams.get(key)
        entry = self._hook_teams.get(key)
        return entry[1] if entry is not None and entry[0]() is auth else None

    def _learned(self, key: str | int, auth: AuthHook, task: asyncio.Task[int]) -> None:
        self._learning.pop(key, None)
        if task.cancelled() or task.exception() is not None:
            return  # not remembered: the next first call asks again
        if isinstance(key, str):
            self._key_teams[key] = task.result()
            return
        hooks = self._hook_teams

        def forget(ref: weakref.ref[AuthHook]) -> None:
            if key in hooks and hooks[key][0] is ref:
                del hooks[key]

        # an auth object without weak references is asked about again by each new client
        with contextlib.suppress(TypeError):
            hooks[key] = (weakref.ref(auth, forget), task.result())

    async def _ask_me(self, auth: AuthHook) -> int:
        self.lookups += 1
        response = await self._client(auth, None).request("GET", "/v2/me", expect="object")
        team = response.data["data"].get("team")
        team_id = _team_id(team.get("id")) if isinstance(team, dict) else None
        if team_id is None:
            raise ResponseDecodeError(
                "GET /v2/me answered without the user's team id (a positive integer at 'team':"
                " {'id': ...}); pass team_id= to SalesloftPool.client to say which team these"
                " credentials spend",
                status=response.status,
                body_excerpt="",
                method="GET",
                path="/v2/me",
            )
        # The server charged the lookup to the team it names: so does the team's budget, which
        # also learns the server's remaining count from the answer before anyone else spends.
        budget = self.budget(team_id)
        reservation = await budget.reserve("GET", "/v2/me", None, "interactive")
        budget.settle(reservation, response.status, response.headers)
        return team_id

    async def close(self) -> None:
        """Close the session (unless it was given); clients made by the pool stop working."""
        self._closed = True
        if self._owns_session and self._session is not None and not self._session.closed:
            await self._session.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()


async def _credential(auth: AuthHook) -> str | int:
    """What a team is remembered by: a hash of an API key, or the auth object's identity (its
    header changes with every token refresh)."""
    if isinstance(auth, ApiKey):
        return hashlib.sha256((await auth.authorization()).encode()).hexdigest()
    return id(auth)


class _TeamBudget:
    """The budget hook of a client whose team is not known yet: finds it, then delegates."""

    def __init__(self, pool: SalesloftPool, auth: AuthHook):
        self._pool = pool
        self._auth = auth
        self._team: BudgetHook | None = None
        self.handles_rate_limit = False

    def __repr__(self) -> str:
        return f"TeamBudget({self._team!r})"

    @property
    def stats(self) -> Any:
        """The team budget's `stats` once the team is known (None before): a bulk read watches
        it to keep from splitting its work while requests queue for the budget."""
        return getattr(self._team, "stats", None)

    async def reserve(
        self, method: str, path: str, params: Mapping[str, Any] | None, lane: Lane
    ) -> Reservation:
        if self._team is None:
            team = self._pool.budget(await self._pool.team_of(self._auth))
            self.handles_rate_limit = team.handles_rate_limit
            self._team = team
        return await self._team.reserve(method, path, params, lane)

    def settle(self, reservation: Reservation, status: int, headers: Mapping[str, str]) -> None:
        assert self._team is not None  # a reservation exists only once the team is known
        self._team.settle(reservation, status, headers)

    def release(self, reservation: Reservation) -> None:
        assert self._team is not None
        self._team.release(reservation)
