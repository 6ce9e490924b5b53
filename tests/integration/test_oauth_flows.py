"""OAuth against the sandbox's Authlib authorization server over real loopback sockets.

One `ManualClock` drives both the sandbox (token expiry, 401s) and the client (proactive refresh),
so expiry is a line of code, never a sleep.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from salesloft_async import SalesloftClient
from salesloft_async.auth import (
    InvalidClientError,
    MemoryTokenStore,
    OAuthApp,
    OAuthError,
    ReauthorizationRequired,
    StateMismatchError,
    Token,
    TokenManager,
    TokenStore,
)
from salesloft_async.errors import AuthenticationError, SalesloftError

from .test_oauth_sandbox import OAuthSandbox, start_oauth_sandbox

TTL = 100.0


@pytest.fixture
async def sb() -> AsyncIterator[OAuthSandbox]:
    async with start_oauth_sandbox(token_ttl=TTL) as sandbox:
        yield sandbox


def make_app(sb: OAuthSandbox, **kw: Any) -> OAuthApp:
    info = sb.oauth_client
    return OAuthApp.for_sandbox(
        sb.url, info.client_id, info.client_secret, info.redirect_uri, clock=sb.clock, **kw
    )


async def authorize(app: OAuthApp, session: aiohttp.ClientSession) -> tuple[str, str, str]:
    """Follow the authorize redirect the way a browser would; return (code, state, verifier)."""
    req = app.authorization_url()
    async with session.get(req.url, allow_redirects=False) as resp:
        assert resp.status == 302, await resp.text()
        location = resp.headers["Location"]
    assert location.startswith(app.redirect_uri or "")
    cb = OAuthApp.parse_callback(location)
    assert cb.state == req.state
    return cb.code, req.state, req.code_verifier


async def login(sb: OAuthSandbox, app: OAuthApp, store: TokenStore) -> Token:
    async with aiohttp.ClientSession() as s:
        code, state, verifier = await authorize(app, s)
        token = await app.exchange_code(
            code, state=state, expected_state=state, code_verifier=verifier, session=s
        )
    assert await store.save(token, expected=None)
    return token


async def me(mgr: TokenManager, sb: OAuthSandbox) -> int:
    async with SalesloftClient(auth=mgr, base_url=sb.url) as sl:
        return (await sl.request("GET", "/v2/me")).status


async def test_authorization_code_flow_then_api_call(sb: OAuthSandbox) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    token = await login(sb, app, store)
    assert token.refresh_token and token.expires_at == sb.clock() + TTL
    assert await me(TokenManager(app, store), sb) == 200
    assert sb.counters["grant:authorization_code"] == 1


async def test_client_secret_basic_is_accepted(sb: OAuthSandbox) -> None:
    app, store = make_app(sb, client_auth="client_secret_basic"), MemoryTokenStore()
    await login(sb, app, store)
    sb.clock.advance(TTL)
    assert await me(TokenManager(app, store), sb) == 200
    assert sb.counters["grant:refresh_token"] == 1


async def test_state_mismatch_is_refused_and_nothing_is_issued(sb: OAuthSandbox) -> None:
    app = make_app(sb)
    async with aiohttp.ClientSession() as s:
        code, _state, verifier = await authorize(app, s)
        with pytest.raises(StateMismatchError):
            await app.exchange_code(
                code, state="forged", expected_state=_state, code_verifier=verifier, session=s
            )
    assert sb.counters["grant:authorization_code"] == 0


async def test_missing_pkce_verifier_is_refused(sb: OAuthSandbox) -> None:
    app = make_app(sb)
    async with aiohttp.ClientSession() as s:
        code, state, _ = await authorize(app, s)
        with pytest.raises(OAuthError, match="code_verifier") as info:
            await app.exchange_code(code, state=state, expected_state=state, code_verifier=None)
        assert info.value.status == 400 and info.value.error == "invalid_request"
        code, state, _ = await authorize(app, s)
        with pytest.raises(OAuthError) as wrong:
            await app.exchange_code(code, state=state, expected_state=state, code_verifier="x" * 64)
        assert wrong.value.error == "invalid_grant"
    assert sb.counters["grant:authorization_code"] == 0


async def test_wrong_client_secret(sb: OAuthSandbox) -> None:
    info = sb.oauth_client
    bad = OAuthApp.for_sandbox(sb.url, info.client_id, "not-the-secret", clock=sb.clock)
    with pytest.raises(InvalidClientError) as err:
        await bad.client_credentials()
    assert err.value.status == 401
    assert "not-the-secret" not in str(err.value)


async def test_thousand_concurrent_calls_across_an_expiry_make_one_refresh() -> None:
    async with start_oauth_sandbox(token_ttl=TTL, budget=10**6) as sb:  # no 429s here
        await _thousand_calls(sb)


async def _thousand_calls(sb: OAuthSandbox) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    await login(sb, app, store)
    mgr = TokenManager(app, store, leeway=10)
    async with SalesloftClient(auth=mgr, base_url=sb.url) as sl:
        before = await asyncio.gather(*(sl.request("GET", "/v2/me") for _ in range(100)))
        sb.clock.advance(TTL)  # every token now dead on the server and stale on the client
        after = await asyncio.gather(*(sl.request("GET", "/v2/me") for _ in range(1000)))
    assert {r.status for r in before + after} == {200}
    assert sb.counters["grant:refresh_token"] == 1
    assert sb.counters["invalid_grant"] == 0


async def test_401_then_refresh_then_retry(sb: OAuthSandbox) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    await login(sb, app, store)
    lagging = sb.clock()  # the client's clock stops: it believes the token is fresh
    mgr = TokenManager(app, store, clock=lambda: lagging)
    sb.clock.advance(TTL + 1)
    assert await me(mgr, sb) == 200
    assert sb.counters["grant:refresh_token"] == 1


async def test_401_that_refresh_cannot_cure_surfaces(
    sb: OAuthSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    await login(sb, app, store)
    frozen = sb.clock()
    mgr = TokenManager(app, store, clock=lambda: frozen)
    issue = sb.tokens.issue
    # from now on every access token the server issues is born dead (a deactivated user)
    monkeypatch.setattr(sb.tokens, "issue", lambda tok, _exp, *who: issue(tok, 0.0, *who))
    sb.clock.advance(TTL + 1)
    with pytest.raises(AuthenticationError):
        await me(mgr, sb)
    assert sb.counters["grant:refresh_token"] == 1  # one refresh per 401'd token, no loop


async def test_client_credentials_fetch_a_new_token_on_expiry(sb: OAuthSandbox) -> None:
    mgr = TokenManager.client_credentials(make_app(sb), leeway=10)
    assert await me(mgr, sb) == 200
    assert await me(mgr, sb) == 200
    assert sb.counters["grant:client_credentials"] == 1
    sb.clock.advance(TTL)
    assert await me(mgr, sb) == 200
    assert sb.counters["grant:client_credentials"] == 2
    assert (await mgr.token()).refresh_token is None


async def test_replayed_refresh_token_without_newer_token_requires_reauthorization(
    sb: OAuthSandbox,
) -> None:
    app = make_app(sb)
    shared, rogue = MemoryTokenStore(), MemoryTokenStore()
    token = await login(sb, app, shared)
    await rogue.save(token, expected=None)  # a copy that does not share the store's lock
    sb.clock.advance(TTL)
    assert await me(TokenManager(app, shared), sb) == 200  # rotates: the copy's token is spent
    with pytest.raises(ReauthorizationRequired, match="authorization-code flow"):
        await me(TokenManager(app, rogue), sb)
    assert sb.counters["invalid_grant"] == 1


class LaggyStore(MemoryTokenStore):
    """A lagging replica: its first reads (cache fill, re-read under the lock) serve the old
    token, so the holder refreshes with a refresh token that was already spent."""

    def __init__(self, stale: Token, current: Token, stale_reads: int = 2):
        super().__init__(current)
        self._stale = stale
        self._stale_reads = stale_reads

    async def load(self) -> Token | None:
        if self._stale_reads > 0:
            self._stale_reads -= 1
            return self._stale
        return await super().load()


async def test_replayed_refresh_token_with_newer_token_adopts_it(sb: OAuthSandbox) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    old = await login(sb, app, store)
    sb.clock.advance(TTL)
    assert await me(TokenManager(app, store), sb) == 200
    newer = await store.load()
    assert newer is not None and newer != old
    mgr = TokenManager(app, LaggyStore(old, newer))
    assert await me(mgr, sb) == 200  # invalid_grant, re-read, use the other holder's token
    assert sb.counters["invalid_grant"] == 1
    assert (await mgr.token()) == newer


async def test_revoked_grant_requires_reauthorization(sb: OAuthSandbox) -> None:
    app, store = make_app(sb), MemoryTokenStore()
    token = await login(sb, app, store)
    assert token.refresh_token
    await app.revoke(token.refresh_token, token_type_hint="refresh_token")
    mgr = TokenManager(app, store)
    # the access token died with its grant: the 401 triggers a refresh, which is refused
    with pytest.raises(ReauthorizationRequired):
        await me(mgr, sb)
    with pytest.raises(ReauthorizationRequired):  # known dead: not asked again
        await mgr.refresh()
    assert sb.counters["invalid_grant"] == 1


async def test_no_secret_in_logs_reprs_or_errors(
    sb: OAuthSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = {sb.oauth_client.client_secret}
    texts: list[str] = []
    saved: list[Token] = []
    app, store = make_app(sb), MemoryTokenStore()

    def keep(tok: Token) -> None:
        saved.append(tok)

    async with aiohttp.ClientSession() as s:
        code, state, verifier = await authorize(app, s)
        secrets |= {code, verifier}
        for call in (
            app.exchange_code(code, state="x", expected_state=state, code_verifier=verifier),
            app.exchange_code(code, state=state, expected_state=state, code_verifier=None),
        ):
            try:
                await call
            except SalesloftError as exc:
                texts += [str(exc), repr(exc), repr(exc.args)]
        first = await app.exchange_code(
            code, state=state, expected_state=state, code_verifier=verifier
        )
    saved.append(first)
    await store.save(first, expected=None)
    mgr = TokenManager(app, store, on_token_saved=keep)
    sb.clock.advance(TTL)
    assert await me(mgr, sb) == 200
    rogue = TokenManager(app, MemoryTokenStore(first))
    for failing in (rogue.refresh(), make_app(sb).refresh(first.refresh_token or "")):
        try:
            await failing
        except SalesloftError as exc:
            texts += [str(exc), repr(exc), repr(exc.args), repr(getattr(exc, "body", None))]
    bad = OAuthApp.for_sandbox(sb.url, sb.oauth_client.client_id, "wrong-SECRET-zz", clock=sb.clock)
    secrets.add("wrong-SECRET-zz")
    try:
        await bad.client_credentials()
    except SalesloftError as exc:
        texts += [str(exc), repr(exc)]
    cc = TokenManager.client_credentials(make_app(sb), on_token_saved=keep)
    await cc.authorization()
    for tok in saved:
        secrets.add(tok.access_token)
        if tok.refresh_token:
            secrets.add(tok.refresh_token)
    texts += [repr(o) for o in (app, mgr, cc, store, rogue, *saved)] + [str(t) for t in saved]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    assert len(saved) >= 3 and len(caplog.records) > 0 and len(texts) > 10
    blob = "\n".join(texts)
    leaked = [s for s in secrets if s and s in blob]
    assert leaked == []
