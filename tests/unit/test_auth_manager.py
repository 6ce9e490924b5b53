"""TokenManager against a fake token endpoint and an injected clock: single flight, proactive and
reactive refresh, invalid_grant recovery, client credentials, the on_token_saved hook."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import pytest

from salesloft_async.auth import (
    MemoryTokenStore,
    OAuthApp,
    OAuthError,
    ReauthorizationRequired,
    Token,
    TokenManager,
)
from salesloft_async.hooks import AuthHook


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeApp(OAuthApp):
    """The real OAuthApp with its HTTP replaced by a fake rotating token endpoint."""

    def __init__(self, clock: Clock, ttl: float = 100.0):
        super().__init__(
            "cid",
            "secret",
            authorize_url="https://a.test/oauth/authorize",
            token_url="https://a.test/oauth/token",
            clock=clock,
        )
        self.ttl = ttl
        self.calls: list[str] = []
        self.scopes_sent: list[Any] = []
        self.live_refresh: str | None = None
        self._n = itertools.count(1)

    async def _token_request(
        self, grant_type: str, session: Any, *, clock: Any = None, **params: Any
    ) -> Token:
        self.calls.append(grant_type)
        self.scopes_sent.append(params.get("scope"))
        await asyncio.sleep(0)  # let every other caller pile up behind the lock
        if grant_type == "refresh_token" and params["refresh_token"] != self.live_refresh:
            raise OAuthError(400, "invalid_grant", "The provided authorization grant is invalid")
        n = next(self._n)
        now = (clock or self.clock)()
        refresh = None if grant_type == "client_credentials" else f"ref-{n}"
        self.live_refresh = refresh
        return Token(f"acc-{n}", refresh, expires_at=now + self.ttl, created_at=now)


def setup(initial: bool = True) -> tuple[Clock, FakeApp, MemoryTokenStore, TokenManager]:
    clock = Clock()
    app = FakeApp(clock)
    store = MemoryTokenStore()
    if initial:
        store._token = Token("acc-0", "ref-0", expires_at=clock.now + 100, created_at=clock.now)
        app.live_refresh = "ref-0"
    return clock, app, store, TokenManager(app, store, leeway=10)


def test_is_an_auth_hook() -> None:
    assert isinstance(setup()[3], AuthHook)


async def test_fresh_token_is_used_without_a_request() -> None:
    _, app, _, mgr = setup()
    assert await mgr.authorization() == "Bearer acc-0"
    assert app.calls == []


async def test_thousand_concurrent_callers_make_one_refresh() -> None:
    clock, app, store, mgr = setup()
    clock.now += 95  # inside the leeway: proactive refresh
    headers = await asyncio.gather(*(mgr.authorization() for _ in range(1000)))
    assert app.calls == ["refresh_token"]
    assert set(headers) == {"Bearer acc-1"}
    assert (await store.load()).refresh_token == "ref-1"  # type: ignore[union-attr]


async def test_persisted_before_use_and_hook_called() -> None:
    clock, app, store, _ = setup()
    seen: list[tuple[str, str | None]] = []

    async def saved(tok: Token) -> None:
        stored = await store.load()
        seen.append((tok.access_token, stored.access_token if stored else None))

    mgr = TokenManager(app, store, leeway=10, on_token_saved=saved)
    clock.now += 200
    assert await mgr.authorization() == "Bearer acc-1"
    assert seen == [("acc-1", "acc-1")]


async def test_reactive_refresh_once_per_token() -> None:
    _, app, _, mgr = setup()
    used = await mgr.authorization()
    assert await mgr.on_unauthorized(used) is True
    assert app.calls == ["refresh_token"]
    assert await mgr.authorization() == "Bearer acc-1"
    assert await mgr.on_unauthorized(used) is True  # stale header: already replaced, no request
    assert app.calls == ["refresh_token"]
    assert await mgr.on_unauthorized("Bearer acc-1") is True
    assert app.calls == ["refresh_token", "refresh_token"]
    assert await mgr.authorization() == "Bearer acc-2"


async def test_a_401_the_refresh_cannot_cure_is_surfaced() -> None:
    _, app, _store, mgr = setup()
    used = await mgr.authorization()
    app.live_refresh = "revoked"
    with pytest.raises(ReauthorizationRequired):
        await mgr.on_unauthorized(used)
    with pytest.raises(ReauthorizationRequired):  # once per token: no second request
        await mgr.on_unauthorized(used)
    assert app.calls == ["refresh_token"]


async def test_concurrent_401s_make_one_refresh() -> None:
    _, app, _, mgr = setup()
    used = await mgr.authorization()
    results = await asyncio.gather(*(mgr.on_unauthorized(used) for _ in range(50)))
    assert all(results)
    assert app.calls == ["refresh_token"]


async def test_invalid_grant_adopts_a_token_rotated_by_another_holder() -> None:
    clock, app, store, mgr = setup()
    assert await mgr.authorization() == "Bearer acc-0"
    # another process refreshed and persisted, but our manager still caches acc-0/ref-0
    other = TokenManager(app, store, leeway=10)
    clock.now += 200
    await other.authorization()
    assert app.live_refresh == "ref-1"
    # our cached token is stale; the store already holds the newer one: no request at all
    assert await mgr.authorization() == "Bearer acc-1"
    assert app.calls == ["refresh_token"]


async def test_invalid_grant_after_a_rotation_that_bypassed_the_lock() -> None:
    clock, app, store, mgr = setup()
    clock.now += 200
    real_load = store.load
    rotated = Token("acc-9", "ref-9", expires_at=clock.now + 100, created_at=clock.now)
    loads = 0

    async def load() -> Token | None:
        nonlocal loads
        loads += 1
        if loads == 3:  # the server rotated meanwhile, and the store now says so
            store._token = rotated
            app.live_refresh = "ref-9"
        return await real_load()

    store.load = load  # type: ignore[method-assign]
    store._token = Token("acc-0", "ref-0", expires_at=1100.0, created_at=1000.0)
    app.live_refresh = "someone-else-spent-it"
    assert await mgr.authorization() == "Bearer acc-9"
    assert app.calls == ["refresh_token"]


async def test_replayed_refresh_token_without_newer_token_requires_reauthorization() -> None:
    clock, app, _store, mgr = setup()
    app.live_refresh = "rotated-and-lost"
    clock.now += 200
    with pytest.raises(ReauthorizationRequired, match="authorization-code flow") as info:
        await mgr.authorization()
    assert "ref-0" not in str(info.value) and "acc-0" not in str(info.value)
    with pytest.raises(ReauthorizationRequired):  # known dead: no second request
        await mgr.authorization()
    assert app.calls == ["refresh_token"]


async def test_empty_store_asks_for_login() -> None:
    _, app, _, mgr = setup(initial=False)
    with pytest.raises(ReauthorizationRequired, match="login"):
        await mgr.authorization()
    assert app.calls == []


async def test_client_credentials_fetch_on_expiry() -> None:
    clock = Clock()
    app = FakeApp(clock, ttl=100)
    mgr = TokenManager.client_credentials(app, leeway=10)
    assert await mgr.authorization() == "Bearer acc-1"
    assert await mgr.authorization() == "Bearer acc-1"
    clock.now += 100
    assert await mgr.authorization() == "Bearer acc-2"
    assert app.calls == ["client_credentials", "client_credentials"]


async def test_a_refresh_is_stamped_by_the_managers_own_clock() -> None:
    app_clock, own = Clock(), Clock()
    own.now = 5000.0  # the stored token expired long ago by this clock, not by the app's
    app = FakeApp(app_clock)
    store = MemoryTokenStore()
    store._token = Token("acc-0", "ref-0", expires_at=1100.0, created_at=1000.0)
    app.live_refresh = "ref-0"
    tok = await TokenManager(app, store, leeway=10, clock=own).token()
    assert app.calls == ["refresh_token"]
    assert (tok.created_at, tok.expires_at) == (5000.0, 5100.0)


async def test_client_credentials_carry_the_managers_clock_and_scopes() -> None:
    app_clock, own = Clock(), Clock()
    own.now = 5000.0
    app = FakeApp(app_clock)
    mgr = TokenManager.client_credentials(app, leeway=10, clock=own, scopes=["people:read"])
    assert (await mgr.token()).created_at == 5000.0
    await TokenManager.client_credentials(app).token()  # no scopes anywhere: none asked for
    assert app.scopes_sent == [["people:read"], None]


async def test_other_oauth_errors_propagate() -> None:
    clock, app, _, mgr = setup()

    async def broken(*a: Any, **k: Any) -> Token:
        raise OAuthError(400, "invalid_scope", "nope")

    app._token_request = broken  # type: ignore[method-assign]
    clock.now += 200
    with pytest.raises(OAuthError, match="invalid_scope"):
        await mgr.authorization()


async def test_adopt_persists_a_new_grant() -> None:
    _, _app, store, mgr = setup(initial=False)
    tok = Token("acc-x", "ref-x", expires_at=5000.0, created_at=1000.0)
    await mgr.adopt(tok)
    assert await store.load() == tok
    assert await mgr.authorization() == "Bearer acc-x"
    assert "ref-x" not in repr(mgr)


async def test_invalid_grant_then_newer_but_stale_token_is_refreshed_and_persisted() -> None:
    clock, app, store, mgr = setup()
    clock.now += 200
    newer_stale = Token("acc-5", "ref-5", expires_at=clock.now - 1, created_at=clock.now - 101)
    real_load = store.load
    loads = 0

    async def load() -> Token | None:
        nonlocal loads
        loads += 1
        if loads == 3:  # after the invalid_grant: another holder rotated, and that token aged too
            store._token = newer_stale
        return await real_load()

    store.load = load  # type: ignore[method-assign]
    app.live_refresh = "ref-5"
    header = await mgr.authorization()
    assert app.calls == ["refresh_token", "refresh_token"]
    stored = await real_load()
    assert stored is not None and header == stored.authorization
    assert stored.refresh_token == app.live_refresh  # the newest refresh token was persisted


async def test_a_cancelled_caller_does_not_abandon_a_rotated_token() -> None:
    clock, app, store, mgr = setup()
    gate = asyncio.Event()
    real = app._token_request

    async def slow(*a: Any, **k: Any) -> Token:
        tok = await real(*a, **k)  # the server has rotated: ref-0 is dead from here on
        await gate.wait()
        return tok

    app._token_request = slow  # type: ignore[method-assign]
    clock.now += 200
    caller = asyncio.ensure_future(mgr.authorization())
    for _ in range(50):  # let the refresh reach the (fake) server
        await asyncio.sleep(0)
    assert app.live_refresh == "ref-1"
    caller.cancel()
    with pytest.raises(asyncio.CancelledError):
        await caller
    gate.set()
    assert await mgr.authorization() == "Bearer acc-1"  # finished and persisted anyway
    assert (await store.load()).refresh_token == "ref-1"  # type: ignore[union-attr]
    assert app.calls == ["refresh_token"]
