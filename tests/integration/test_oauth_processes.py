"""Cross-process OAuth: OS processes sharing one FileTokenStore against the sandbox.

The sandbox runs in the test process on a manual clock; each child's clock reads the parent's
clock from a small file, so the parent moves time for everyone and nothing sleeps.  Run as a
module (`python -m tests.integration.test_oauth_processes worker ...`) this file is the child.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.auth import FileTokenStore, OAuthApp, Token, TokenManager

from .test_oauth_sandbox import OAuthSandbox, start_oauth_sandbox

TTL = 100.0
WORKERS = 4
ROUNDS = 20
REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


# --- child side --------------------------------------------------------------------------------


def file_clock(path: str):  # type: ignore[no-untyped-def]
    def now() -> float:
        return float(Path(path).read_text())

    return now


async def child(
    mode: str, url: str, client_id: str, secret: str, token_file: str, clock_file: str
) -> None:
    clock = file_clock(clock_file)
    app = OAuthApp.for_sandbox(url, client_id, secret, clock=clock)
    store = FileTokenStore(token_file, lock_timeout=30)
    if mode == "hold":  # die while holding the store lock
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
                return
            responses = await asyncio.gather(*(sl.request("GET", "/v2/me") for _ in range(5)))
            print("ok", *(r.status for r in responses), flush=True)


# --- parent side -------------------------------------------------------------------------------


class Env:
    def __init__(self, sb: OAuthSandbox, tmp: Path):
        self.sb = sb
        self.token_file = tmp / "token.json"
        self.clock_file = tmp / "clock"
        self.tick()

    def tick(self, seconds: float = 0.0) -> None:
        self.sb.clock.advance(seconds)
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(repr(self.sb.clock()))
        os.replace(tmp, self.clock_file)

    def app(self) -> OAuthApp:
        info = self.sb.oauth_client
        return OAuthApp.for_sandbox(
            self.sb.url, info.client_id, info.client_secret, info.redirect_uri, clock=self.sb.clock
        )

    async def spawn(self, mode: str) -> asyncio.subprocess.Process:
        info = self.sb.oauth_client
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.integration.test_oauth_processes", mode, self.sb.url,
            info.client_id, info.client_secret, str(self.token_file), str(self.clock_file),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, cwd=REPO,
        )  # fmt: skip

    async def login(self) -> Token:
        import aiohttp

        from .test_oauth_flows import authorize

        app = self.app()
        async with aiohttp.ClientSession() as s:
            code, state, verifier = await authorize(app, s)
            tok = await app.exchange_code(
                code, state=state, expected_state=state, code_verifier=verifier
            )
        assert await FileTokenStore(self.token_file).save(tok, expected=None)
        return tok

    async def me(self) -> int:
        mgr = TokenManager(self.app(), FileTokenStore(self.token_file, lock_timeout=10), leeway=10)
        async with SalesloftClient(auth=mgr, base_url=self.sb.url) as sl:
            return (await sl.request("GET", "/v2/me")).status


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with start_oauth_sandbox(token_ttl=TTL) as sb:
        yield Env(sb, tmp_path)


async def readline(proc: asyncio.subprocess.Process) -> str:
    assert proc.stdout is not None
    return (await asyncio.wait_for(proc.stdout.readline(), 60)).decode().strip()


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


async def kill(proc: asyncio.subprocess.Process) -> None:
    proc.send_signal(signal.SIGKILL)
    assert await asyncio.wait_for(proc.wait(), 30) == -signal.SIGKILL


async def test_process_killed_holding_the_lock_leaves_a_usable_store(env: Env) -> None:
    first = await env.login()
    holder = await env.spawn("hold")
    assert await readline(holder) == "locked"
    await kill(holder)
    env.tick(TTL)
    assert await env.me() == 200  # the kernel dropped the lock; the old token still refreshes
    stored = await FileTokenStore(env.token_file).load()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert env.sb.counters["grant:refresh_token"] == 1


async def test_process_killed_after_persisting_leaves_its_new_token(env: Env) -> None:
    first = await env.login()
    env.tick(TTL)
    refresher = await env.spawn("saved")
    assert await readline(refresher) == "saved"  # refreshed and persisted, still holds the lock
    await kill(refresher)
    stored = await FileTokenStore(env.token_file).load()
    assert stored is not None and stored.refresh_token != first.refresh_token
    assert await env.me() == 200  # uses the dead process's token: no refresh needed
    assert env.sb.counters["grant:refresh_token"] == 1
    env.tick(TTL)
    assert await env.me() == 200  # and its refresh token is the live one
    assert env.sb.counters["grant:refresh_token"] == 2
    assert env.sb.counters["invalid_grant"] == 0


if __name__ == "__main__":
    asyncio.run(child(*sys.argv[1:7]))
