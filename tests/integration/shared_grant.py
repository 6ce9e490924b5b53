"""Harness (no tests here): OS processes sharing one OAuth grant through a token store.

Every cross-process store, `FileTokenStore`, `RedisTokenStore` and `PostgresTokenStore`, must pass
the same trials, so they share one child program and one set of trial bodies.  The sandbox runs in
the test process on a `ManualClock`; each child's clock reads the parent's clock from a small file,
so the parent moves token time for everyone and nothing sleeps for it.  A store is named by a spec
string the child can rebuild: ``file:<path>``, ``redis:<key>`` or ``postgres:<schema.table>``
(team 1, user 1).  Run as a module
(``python -m tests.integration.shared_grant MODE URL ID SECRET SPEC CLOCK_FILE``) this is the child.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from salesloft_async import SalesloftClient
from salesloft_async.auth import FileTokenStore, OAuthApp, Token, TokenManager
from salesloft_async.auth.stores import TokenStore
from salesloft_async.sandbox import ManualClock, Sandbox
from tests.postgres_support import POSTGRES_URL
from tests.redis_support import REDIS_URL

TTL = 100.0
WORKERS, ROUNDS = 4, 20
#: the Redis lock outlives a dead holder by this much real time: short, so a trial can wait it out
LOCK_TTL = 1.5
REPO = Path(__file__).resolve().parents[2]


def make_store(spec: str, lock_wait: float = 30.0) -> TokenStore:
    kind, _, where = spec.partition(":")
    if kind == "file":
        return FileTokenStore(where, lock_timeout=lock_wait)
    if kind == "postgres":
        from salesloft_async.postgres import PostgresTokenStore

        return PostgresTokenStore(POSTGRES_URL, 1, 1, table=where, lock_timeout=lock_wait)
    from salesloft_async.redis import RedisTokenStore

    return RedisTokenStore(REDIS_URL, where, lock_ttl=LOCK_TTL, lock_wait=lock_wait)


def request_timeout(spec: str) -> float:
    """A token request must end before a Redis lock can expire under it."""
    return 1.0 if spec.startswith("redis:") else 30.0


async def close_store(store: TokenStore) -> None:
    redis = getattr(store, "redis", None)
    if redis is not None:
        await redis.aclose()
    close = getattr(store, "close", None)
    if close is not None:
        await close()


# --- child side --------------------------------------------------------------------------------


def file_clock(path: str) -> Callable[[], float]:
    def now() -> float:
        return float(Path(path).read_text())

    return now


async def child(mode: str, url: str, client_id: str, secret: str, spec: str, clock: str) -> None:
    app = OAuthApp.for_sandbox(
        url, client_id, secret, clock=file_clock(clock), timeout=request_timeout(spec)
    )
    store = make_store(spec)
    if mode == "hold":  # die while holding the store lock, before any token request
        async with store.lock():
            print("locked", flush=True)
            await asyncio.sleep(3600)

    async def hang_after_save(tok: Token) -> None:  # die after persisting, lock still held
        print("saved", flush=True)
        await asyncio.sleep(3600)

    mgr = TokenManager(
        app, store, leeway=10, on_token_saved=hang_after_save if mode == "saved" else None
    )
    async with SalesloftClient(auth=mgr, base_url=url) as sl:
        if mode == "saved":
            await mgr.authorization()
            return
        while True:
            line = await asyncio.to_thread(sys.stdin.readline)
            if line.strip() != "go":
                break
            responses = await asyncio.gather(*(sl.request("GET", "/v2/me") for _ in range(5)))
            print("ok", *(r.status for r in responses), flush=True)
    await close_store(store)


# --- parent side -------------------------------------------------------------------------------


def small_sandbox(**kw: Any) -> Sandbox:
    sizes = {"people": 20, "accounts": 5, "users": 3, "cadences": 2}
    return Sandbox(token_ttl=TTL, clock=ManualClock(), **{**sizes, **kw})


class Env:
    def __init__(self, sb: Sandbox, tmp: Path, spec: str):
        assert isinstance(sb.clock, ManualClock)
        self.sb = sb
        self.clock: ManualClock = sb.clock
        self.spec = spec
        self.clock_file = tmp / "clock"
        self.tick()

    def tick(self, seconds: float = 0.0) -> None:
        self.clock.advance(seconds)
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(repr(self.clock()))
        os.replace(tmp, self.clock_file)

    def app(self) -> OAuthApp:
        info = self.sb.oauth_client
        return OAuthApp.for_sandbox(
            self.sb.url, info.client_id, info.client_secret, info.redirect_uri, clock=self.clock
        )

    def store(self, lock_wait: float = 30.0) -> TokenStore:
        return make_store(self.spec, lock_wait)

    async def spawn(self, mode: str) -> asyncio.subprocess.Process:
        info = self.sb.oauth_client
        args = [mode, self.sb.url, info.client_id, info.client_secret, self.spec]
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.integration.shared_grant", *args),
            str(self.clock_file),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=REPO,
        )

    async def login(self) -> Token:
        app = self.app()
        async with aiohttp.ClientSession() as session:
            req = app.authorization_url()
            async with session.get(req.url, allow_redirects=False) as resp:
                assert resp.status == 302
                location = resp.headers["Location"]
            cb = OAuthApp.parse_callback(location)
            tok = await app.exchange_code(
                cb.code, state=cb.state, expected_state=req.state, code_verifier=req.code_verifier
            )
        store = self.store()
        assert await store.save(tok, expected=None)
        await close_store(store)
        return tok

    async def stored(self) -> Token | None:
        store = self.store()
        try:
            return await store.load()
        finally:
            await close_store(store)

    async def me(self) -> int:
        store = self.store(lock_wait=10)
        mgr = TokenManager(self.app(), store, leeway=10)
        async with SalesloftClient(auth=mgr, base_url=self.sb.url) as sl:
            status = (await sl.request("GET", "/v2/me")).status
        await close_store(store)
        return status


async def readline(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL


# --- the trials every cross-process store must pass ---------------------------------------------


async def four_processes_through_twenty_expiries(env: Env) -> None:
    await env.login()
    procs = [await env.spawn("worker") for _ in range(WORKERS)]
    try:
        for _ in range(ROUNDS):
            env.tick(TTL)  # the token every process holds is now expired, on both sides
            for p in procs:
                assert p.stdin is not None
                p.stdin.write(b"go\n")
                await p.stdin.drain()
            lines = await asyncio.gather(*(readline(p) for p in procs))
            assert lines == ["ok 200 200 200 200 200"] * WORKERS
    finally:
        for p in procs:
            if p.stdin is not None:
                p.stdin.close()
        codes = await asyncio.gather(*(asyncio.wait_for(p.wait(), 30) for p in procs))
    assert codes == [0] * WORKERS
    assert env.sb.counters["grant:refresh_token"] == ROUNDS
    assert env.sb.counters["invalid_grant"] == 0


async def killed_holding_the_lock(env: Env, max_wait: float | None = None) -> None:
    """`max_wait`: real seconds the next caller may wait for the dead holder's lock to go."""
    first = await env.login()
    holder = await env.spawn("hold")
    assert await readline(holder) == "locked"
    await kill(holder)
    env.tick(TTL)
    began = time.monotonic()
    assert await env.me() == 200  # the dead holder's lock is gone; the old token still refreshes
    if max_wait is not None:
        assert time.monotonic() - began < max_wait
    stored = await env.stored()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert env.sb.counters["grant:refresh_token"] == 1
    assert env.sb.counters["invalid_grant"] == 0


async def killed_after_persisting(env: Env) -> None:
    first = await env.login()
    env.tick(TTL)
    refresher = await env.spawn("saved")
    assert await readline(refresher) == "saved"  # refreshed and persisted, still holds the lock
    await kill(refresher)
    stored = await env.stored()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert await env.me() == 200  # uses the dead process's token: no refresh needed
    assert env.sb.counters["grant:refresh_token"] == 1
    env.tick(TTL)
    assert await env.me() == 200  # and its refresh token is the live one
    assert env.sb.counters["grant:refresh_token"] == 2
    assert env.sb.counters["invalid_grant"] == 0


if __name__ == "__main__":
    asyncio.run(child(*sys.argv[1:7]))
