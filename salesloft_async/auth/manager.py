"""`TokenManager`: the auth hook that keeps one OAuth grant's token fresh without ever burning it.

Refresh is single-flight twice over: an asyncio lock inside the process (a thousand callers on
an expired token make one token request) and the store's lock across processes (take the lock,
re-read, refresh only if the stored token is still the stale one, persist before use).  A
refresh token that the server calls dead is first checked against the store: if another holder
rotated it, its token is used; only otherwise is the grant declared dead.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Literal

import aiohttp

from .._checks import seconds
from ..errors import ReauthorizationRequired
from .app import OAuthApp
from .errors import OAuthError, TokenStoreError
from .stores import MemoryTokenStore, TokenStore
from .token import Token

__all__ = ["TokenManager", "TokenSavedHook"]

log = logging.getLogger("salesloft_async.auth")

TokenSavedHook = Callable[[Token], Awaitable[None] | None]
Grant = Literal["authorization_code", "client_credentials"]

_REAUTHORIZE = (
    "the Salesloft OAuth grant is dead (its refresh token was revoked, expired or already spent,"
    " and the token store holds no newer one): send the user through the authorization-code flow"
    " again (OAuthApp.authorization_url + exchange_code, or `salesloft-async login`)"
)


def _retrieve(task: asyncio.Task[Token]) -> None:
    """Mark the outcome of a refresh whose caller went away as seen (no 'never retrieved')."""
    if not task.cancelled():
        task.exception()


def _key(header: str) -> str:
    return hashlib.sha256(header.encode()).hexdigest()


class TokenManager:
    """Implements `salesloft_async.hooks.AuthHook` for OAuth.

    :param app: the OAuth application whose token endpoint refreshes the token.
    :param store: where the token lives; share one store between every holder of the grant.
    :param leeway: refresh proactively this many seconds before expiry (capped at half the
        token's lifetime).
    :param clock: epoch seconds, which also stamp new tokens; defaults to the app's clock.  Tests
        pass a `salesloft_async.testing.ManualClock` (to the app as well) and expire a token with
        ``clock.advance(...)`` instead of waiting.
    :param session: the aiohttp session for token requests (default: a short-lived one each).
    :param on_token_saved: called (sync or async) with each new token after it is persisted, for
        apps that mirror tokens into their own database.
    :param grant: ``"client_credentials"`` fetches a new token on expiry instead of refreshing
        (see `client_credentials`).
    :param scopes: scopes asked for on a client-credentials grant.
    """

    def __init__(
        self,
        app: OAuthApp,
        store: TokenStore,
        *,
        leeway: float = 60.0,
        clock: Callable[[], float] | None = None,
        session: aiohttp.ClientSession | None = None,
        on_token_saved: TokenSavedHook | None = None,
        grant: Grant = "authorization_code",
        scopes: Sequence[str] | None = None,
    ):
        self.app = app
        self.store = store
        self.leeway = seconds("leeway", leeway, zero=True)
        self.clock = clock or app.clock
        self.session = session
        self.on_token_saved = on_token_saved
        self.grant: Grant = grant
        self.scopes = list(scopes) if scopes is not None else None
        self._cached: Token | None = None
        self._lock = asyncio.Lock()
        self._reactive: dict[str, asyncio.Task[Token]] = {}
        self._dead: str | None = None  # fingerprint the server declared dead

    @classmethod
    def client_credentials(
        cls,
        app: OAuthApp,
        store: TokenStore | None = None,
        *,
        leeway: float = 60.0,
        clock: Callable[[], float] | None = None,
        session: aiohttp.ClientSession | None = None,
        on_token_saved: TokenSavedHook | None = None,
        scopes: Sequence[str] | None = None,
    ) -> TokenManager:
        """A manager for the app's own token: no refresh token, a new grant on expiry."""
        return cls(
            app,
            store or MemoryTokenStore(),
            leeway=leeway,
            clock=clock,
            session=session,
            on_token_saved=on_token_saved,
            grant="client_credentials",
            scopes=scopes,
        )

    def __repr__(self) -> str:
        return f"TokenManager(grant={self.grant!r}, app={self.app!r}, store={self.store!r})"

    # --- AuthHook ----------------------------------------------------------------------------

    async def authorization(self) -> str:
        return (await self.token()).authorization

    async def on_unauthorized(self, used: str) -> bool:
        """Refresh once per token on a 401; True when the transport should retry."""
        current = self._cached
        if current is not None and current.authorization != used:
            return True  # already replaced since that request was sent
        key = _key(used)
        task = self._reactive.get(key)
        if task is None:  # the first 401 for this token: the one refresh it gets
            if len(self._reactive) > 1024:
                self._reactive = {k: t for k, t in self._reactive.items() if not t.done()}
            log.info("401 with the current OAuth token: refreshing once")
            task = asyncio.ensure_future(self._reactive_refresh(current))
            task.add_done_callback(_retrieve)
            self._reactive[key] = task
        new = await asyncio.shield(task)  # later 401s for it share that refresh's outcome
        return new.authorization != used

    async def _reactive_refresh(self, current: Token | None) -> Token:
        return await self._refresh_locked(current or await self.store.load())

    # --- public helpers ----------------------------------------------------------------------

    async def token(self) -> Token:
        """A token that is fresh by the clock, refreshing first if needed."""
        tok = self._cached
        if tok is None:
            async with self._lock:
                if self._cached is None:
                    self._cached = await self.store.load()
            tok = self._cached
        if tok is None:
            if self.grant == "client_credentials":
                return await self._refresh(None)
            raise ReauthorizationRequired(
                "no OAuth token in the token store yet: authorize first (OAuthApp.authorization_url"
                " + exchange_code, or `salesloft-async login`)"
            )
        if not tok.is_fresh(self.clock(), self.leeway):
            tok = await self._refresh(tok)
        return tok

    async def refresh(self) -> Token:
        """Refresh now, whatever the clock says (still single-flight, still via the store)."""
        return await self._refresh(self._cached or await self.store.load())

    async def adopt(self, token: Token) -> None:
        """Start from a token just obtained (e.g. by `exchange_code`): persist it, then use it."""
        async with self._lock, self.store.lock():
            stored = await self.store.load()
            await self._persist(token, stored)

    # --- refresh -----------------------------------------------------------------------------

    async def _refresh(self, stale: Token | None) -> Token:
        """Replace `stale` (None: nothing yet) unless someone already did, here or elsewhere.

        The work runs in its own task, shielded from the caller: a caller cancelled mid-refresh
        (a web request timing out) must not abandon a token the server has already rotated.
        """
        task = asyncio.ensure_future(self._refresh_locked(stale))
        task.add_done_callback(_retrieve)
        return await asyncio.shield(task)

    async def _refresh_locked(self, stale: Token | None) -> Token:
        stale_fp = stale.fingerprint if stale else None
        async with self._lock:
            now = self.clock()
            cur = self._cached
            if cur is not None and cur.fingerprint != stale_fp and cur.is_fresh(now, self.leeway):
                return cur  # another task refreshed while this one waited
            async with self.store.lock():
                stored = await self.store.load()
                if (
                    stored is not None
                    and stored.fingerprint != stale_fp
                    and stored.is_fresh(self.clock(), self.leeway)
                ):
                    log.debug("token was rotated by another holder of the store: using it")
                    self._cached = stored
                    return stored
                new, basis = await self._fetch(stored if stored is not None else stale, stored)
                return await self._persist(new, basis)

    async def _fetch(self, base: Token | None, stored: Token | None) -> tuple[Token, Token | None]:
        """A new token, and the stored token it replaces (the compare-and-set basis)."""
        if self.grant == "client_credentials":
            cc = await self.app.client_credentials(
                scopes=self.scopes or None, session=self.session, clock=self.clock
            )
            return cc, stored
        if base is None or not base.refresh_token:
            raise ReauthorizationRequired(
                "the stored OAuth token has no refresh token and has expired: " + _REAUTHORIZE
            )
        if self._dead == base.fingerprint:
            raise ReauthorizationRequired(_REAUTHORIZE)
        try:
            new = await self.app.refresh(base.refresh_token, session=self.session, clock=self.clock)
            return new, stored
        except OAuthError as exc:
            if exc.error != "invalid_grant":
                raise
            again = await self.store.load()
            if again is not None and again.fingerprint != base.fingerprint:
                log.info("refresh token was already rotated by another holder: using its token")
                self._cached = again
                if again.is_fresh(self.clock(), self.leeway) or not again.refresh_token:
                    return again, again
                return await self._fetch(again, again)
            self._dead = base.fingerprint
            log.warning("OAuth grant is dead (invalid_grant); the user must authorize again")
            raise ReauthorizationRequired(_REAUTHORIZE) from None

    async def _persist(self, new: Token, stored: Token | None) -> Token:
        if stored is not None and stored.fingerprint == new.fingerprint:
            self._cached = new  # adopted from the store itself: nothing to write
            return new
        if not await self.store.save(new, expected=stored.fingerprint if stored else None):
            # Someone wrote without taking the lock (a fresh login?): theirs is newer than ours.
            winner = await self.store.load()
            if winner is None:
                raise TokenStoreError("the token store changed under its lock and is now empty")
            self._cached = winner
            if winner.fingerprint == new.fingerprint:
                return winner
            log.warning("token store was rewritten during a refresh; using the stored token")
            self._cached = winner
            return winner
        self._cached = new
        if self.on_token_saved is not None:
            result = self.on_token_saved(new)
            if inspect.isawaitable(result):
                await result
        return new
