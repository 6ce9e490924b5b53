"""RedisTokenStore: OS processes sharing one OAuth grant through the real Redis and the sandbox.

The sandbox runs in the test process on a manual clock; each child's clock reads the parent's
clock from a small file, so the parent moves token time for everyone and nothing sleeps for it.
(The Redis lock's TTL is real time: it is short here.)  Run as a module
(``python -m tests.integration.test_redis_tokens child ...``) this file is the child.  Needs
Redis at 127.0.0.1:6379 (skipped without it unless CI is set).
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio as aioredis

from salesloft_async import SalesloftClient
from salesloft_async.auth import OAuthApp, Token, TokenManager
from salesloft_async.auth.errors import TokenStoreError
from salesloft_async.redis import RedisTokenStore, token_key
from salesloft_async.sandbox import ManualClock, Sandbox

REDIS_URL = "redis://127.0.0.1:6379/0"
TTL = 100.0
WORKERS, ROUNDS = 4, 20
LOCK_TTL = 1.5
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


# --- child side --------------------------------------------------------------------------------


def file_clock(path: str) -> Callable[[], float]:
    def now() -> float:
        return float(Path(path).read_text())

    return now


async def child(mode: str, url: str, client_id: str, secret: str, key: str, clock: str) -> None:
    app = OAuthApp.for_sandbox(url, client_id, secret, clock=file_clock(clock), timeout=1.0)
    store = RedisTokenStore(REDIS_URL, key, lock_ttl=LOCK_TTL, lock_wait=30)
    if mode == "hold":  # die while holding the lock, before any token request
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
    await store.redis.aclose()


# --- parent side -------------------------------------------------------------------------------


class Env:
    def __init__(self, sb: Sandbox, tmp: Path, key: str):
        self.sb = sb
        self.key = key
        self.clock = sb.clock
        assert isinstance(self.clock, ManualClock)
        self.clock_file = tmp / "clock"
        self.tick()

    def tick(self, seconds: float = 0.0) -> None:
        assert isinstance(self.clock, ManualClock)
        self.clock.advance(seconds)
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(repr(self.clock()))
        os.replace(tmp, self.clock_file)

    def app(self) -> OAuthApp:
        info = self.sb.oauth_client
        return OAuthApp.for_sandbox(
            self.sb.url, info.client_id, info.client_secret, info.redirect_uri, clock=self.clock
        )

    def store(self, **kw: float) -> RedisTokenStore:
        return RedisTokenStore(REDIS_URL, self.key, lock_ttl=LOCK_TTL, **kw)

    async def spawn(self, mode: str) -> asyncio.subprocess.Process:
        info = self.sb.oauth_client
        args = [mode, self.sb.url, info.client_id, info.client_secret, self.key]
        return await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "tests.integration.test_redis_tokens", "child", *args),
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
        assert await self.store().save(tok, expected=None)
        return tok

    async def me(self) -> int:
        mgr = TokenManager(self.app(), self.store(lock_wait=10), leeway=10)
        async with SalesloftClient(auth=mgr, base_url=self.sb.url) as sl:
            return (await sl.request("GET", "/v2/me")).status


async def redis_or_skip() -> aioredis.Redis:
    client = aioredis.from_url(REDIS_URL, decode_responses=True)
    try:
        await client.ping()
    except (aioredis.ConnectionError, OSError):
        await client.aclose()
        if os.environ.get("CI"):
            raise
        pytest.skip("no Redis at 127.0.0.1:6379 (set CI=1 to make this a failure)")
    return client


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    client = await redis_or_skip()
    key = token_key(f"it-{uuid.uuid4().hex[:12]}", 1)
    sizes = {"people": 20, "accounts": 5, "users": 3, "cadences": 2}
    async with Sandbox(token_ttl=TTL, clock=ManualClock(), **sizes) as sb:  # type: ignore[arg-type]
        yield Env(sb, tmp_path, key)
    await client.delete(key, f"{key}:lock")
    await client.aclose()


async def readline(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL


async def test_four_processes_twenty_expiries_twenty_refreshes(env: Env) -> None:
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


async def test_a_lock_holder_killed_before_its_token_request_releases_by_ttl(env: Env) -> None:
    first = await env.login()
    holder = await env.spawn("hold")
    assert await readline(holder) == "locked"
    await kill(holder)
    env.tick(TTL)
    began = time.monotonic()
    assert await env.me() == 200  # waited for the dead holder's lock to expire, then refreshed
    assert time.monotonic() - began < LOCK_TTL + 5
    stored = await env.store().load()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert env.sb.counters["grant:refresh_token"] == 1
    assert env.sb.counters["invalid_grant"] == 0


async def test_a_lock_holder_killed_after_persisting_leaves_its_new_token(env: Env) -> None:
    first = await env.login()
    env.tick(TTL)
    refresher = await env.spawn("saved")
    assert await readline(refresher) == "saved"  # refreshed and persisted, still holds the lock
    await kill(refresher)
    stored = await env.store().load()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert await env.me() == 200  # uses the dead process's token: no refresh needed
    assert env.sb.counters["grant:refresh_token"] == 1
    env.tick(TTL)
    assert await env.me() == 200  # its lock has expired, and its refresh token is the live one
    assert env.sb.counters["grant:refresh_token"] == 2
    assert env.sb.counters["invalid_grant"] == 0


async def test_compare_and_set_refuses_a_stale_writer(env: Env) -> None:
    first = await env.login()
    store = env.store()
    newer = Token(access_token="a2", refresh_token="r2", expires_at=1.0, created_at=0.0)
    older = Token(access_token="a3", refresh_token="r3", expires_at=1.0, created_at=0.0)
    assert not await store.save(newer, expected=None)  # not empty
    assert await store.save(newer, expected=first.fingerprint)
    assert not await store.save(older, expected=first.fingerprint)  # lost the race
    loaded = await store.load()
    assert loaded == newer
    assert "r2" not in repr(store) and "r2" not in repr(loaded)


async def test_lock_excludes_other_holders_and_gives_up_after_lock_wait(env: Env) -> None:
    a, b = env.store(), env.store(lock_wait=0.3)
    async with a.lock():
        assert await a.save(
            Token(access_token="x", refresh_token="y"), expected=None
        )  # save works while this task holds the lock
        with pytest.raises(TokenStoreError, match="could not take the token lock"):
            async with b.lock():
                pass  # pragma: no cover
    async with b.lock():
        loaded = await b.load()
        assert loaded is not None and loaded.access_token == "x"


if __name__ == "__main__":
    asyncio.run(child(*sys.argv[2:8]))
