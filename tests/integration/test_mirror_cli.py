"""`salesloft-async mirror` end to end: exit codes, `mirror status`, and SIGKILL at any point
(during the initial load, while following) followed by a restart that is exact again, on SQLite
and on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.cli import main
from salesloft_async.commands._connect import SandboxDemo
from salesloft_async.commands.mirror import MirrorOptions, mirror
from salesloft_async.errors import ConfigurationError
from salesloft_async.mirror import ResourceStatus, SqliteStore
from salesloft_async.sandbox import Sandbox

from ..mirror_stores import StoreFactory, store_factory
from .test_export_cli import sandbox_in_thread
from .test_mirror import change, sandbox_records

KINDS = ["sqlite", "postgres"]


@pytest.fixture(params=KINDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[StoreFactory, list[str]]]:
    """The store factory and the `--db`/`--schema` arguments of one database, for sync tests."""
    loop = asyncio.new_event_loop()
    manager = store_factory(request.param, tmp_path)
    try:
        yield loop.run_until_complete(manager.__aenter__())
    finally:
        loop.run_until_complete(manager.__aexit__(None, None, None))
        loop.close()


def status_of(factory: StoreFactory) -> ResourceStatus | None:
    async def read() -> ResourceStatus | None:
        store = factory()
        await store.open()
        try:
            rows = await store.status()
        finally:
            await store.close()
        return rows[0] if rows else None

    return asyncio.run(read())


def records_of(factory: StoreFactory) -> dict[int, dict[str, Any]]:
    async def read() -> dict[int, dict[str, Any]]:
        store = factory()
        await store.open()
        try:
            return await store.records("people")
        finally:
            await store.close()

    return asyncio.run(read())


def wait_for(proc: subprocess.Popen[bytes], what: str, ready: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 60
    while not ready():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"the mirror did not get to: {what}"
        time.sleep(0.05)


def writes(sb: Sandbox, n: int, seed: int) -> None:
    async def go() -> None:
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl:
            await change(sl, sb, random.Random(seed), n)

    asyncio.run(go())


def mirror_command(sb: Sandbox, db: list[str], *extra: str) -> list[str]:
    return ["mirror", "people", *db, "--base-url", sb.url, "--progress", "off", *extra]


def test_usage_errors_exit_2_and_status_reports_each_resource(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    assert main(["mirror", "people", "--db", "mysql://nope"]) == 2
    assert "--db takes sqlite:///" in capsys.readouterr().err
    assert main(["mirror", "people", "--db", db, "--schema", "x", "--sandbox"]) == 2
    assert "--schema is for PostgreSQL" in capsys.readouterr().err
    assert main(["mirror", "people", "--db", db, "--listen", "127.0.0.1:0", "--sandbox"]) == 2
    assert "--listen needs --webhook-url" in capsys.readouterr().err
    assert main(["mirror", "people", "tags", "--db", db, "--sandbox"]) == 2
    assert capsys.readouterr().err == (
        "salesloft-async mirror: tags cannot be mirrored: its records have no updated_at,"
        " so versions cannot be ordered (the write rule); export it instead\n"
    )
    assert main(["mirror", "people", "--db", db, "--sandbox", "--api-key", "k"]) == 2
    assert capsys.readouterr().err == (
        "salesloft-async mirror: --sandbox runs its own server with its own key: drop --api-key\n"
    )
    with pytest.raises(ConfigurationError, match="--listen needs --webhook-url"):
        MirrorOptions(["people"], api_key="k", listen=("127.0.0.1", 0))  # no argparse needed
    assert main(["mirror", "status", "--db", db]) == 0
    assert "no mirror in this database yet" in capsys.readouterr().out
    demo = ["mirror", "people", "--db", db, "--sandbox", "--sandbox-people", "300", "--once"]
    assert main([*demo, "--progress", "auto"]) == 0
    err = capsys.readouterr().err
    assert "webhooks: http://127.0.0.1:" in err
    # export's progress line, not a terminal: plain lines, the last one the final state
    final = err.splitlines()[-1]
    assert re.fullmatch(
        r"people: 300 loaded, 1 poll \(\+\d+\), 0 webhooks, 0 swept away · budget left \d+/600",
        final,
    ), final
    assert main(["mirror", "status", "--db", db]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("resource  rows  deleted  cursor  ")
    assert out[1].split()[:3] == ["people", "300", "0"]
    assert out[1].split()[-1].endswith("s"), "lag: seconds since the last poll"
    # another server (every demo sandbox is a new one) is refused: its rows would mix with these
    assert main([*demo, "--progress", "off"]) == 2
    err = capsys.readouterr().err
    assert "the people table is a copy of another source (base_url 'http://127.0.0.1:" in err
    assert "use another database or schema" in err
    assert main(["mirror", "status", "--db", db]) == 0
    assert capsys.readouterr().out.splitlines()[1].split()[:3] == ["people", "300", "0"]
    demo[3] = f"sqlite:///{tmp_path / 'm2.db'}"
    # a public URL of one's own, served where --listen says
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    url = f"http://127.0.0.1:{port}/hooks/"
    own = ["--webhook-url", url, "--listen", f"127.0.0.1:{port}", "--progress", "off"]
    assert main([*demo, *own]) == 0
    assert f"webhooks: {url} (listening on port {port})" in capsys.readouterr().err


def test_sigkill_during_the_initial_load_then_a_restart_is_exact(
    database: tuple[StoreFactory, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, db = database
    people = 4_000
    budget = ["--budget", "8", "--window", "0.5"]
    # the killed run paces itself at 16 pages a second: its load takes a few seconds and commits
    # every 2,000 rows; the restart reads what is left at full speed
    with sandbox_in_thread(people=people, budget=1_000_000, window=1) as sb:
        env = {**os.environ, "SALESLOFT_API_KEY": sb.api_key, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "salesloft_async.cli"]
        cmd += mirror_command(sb, db, *budget)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(
                proc,
                "a first checkpoint",
                lambda: (status_of(factory) or _EMPTY).checkpoint is not None,
            )
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        killed = status_of(factory)
        assert killed is not None and killed.cursor is None, "killed while loading"
        assert 0 < killed.rows < people
        # the state never runs ahead of its rows (PostgreSQL commits the rows' chunks first)
        assert killed.checkpoint is not None and killed.checkpoint["records"] <= killed.rows

        pages_before = sb.counters["path:/v2/people"]
        monkeypatch.setenv("SALESLOFT_API_KEY", sb.api_key)
        assert main(mirror_command(sb, db, "--once")) == 0
        assert records_of(factory) == sandbox_records(sb)
        # the restart read what was left (plus a page per unfinished slice), not everything
        pages = sb.counters["path:/v2/people"] - pages_before
        assert pages < people // 100
        done = status_of(factory)
        assert done is not None and done.rows == people and done.cursor is not None


_EMPTY = ResourceStatus("people")


def test_sigkill_while_following_then_a_restart_is_exact(
    database: tuple[StoreFactory, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    factory, db = database
    with sandbox_in_thread(people=1_000, budget=100_000, window=1) as sb:
        env = {**os.environ, "SALESLOFT_API_KEY": sb.api_key, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "salesloft_async.cli", *mirror_command(sb, db)]
        proc = subprocess.Popen([*cmd, "--poll", "0.05"], env=env, stderr=subprocess.PIPE)
        try:
            wait_for(proc, "following", lambda: (status_of(factory) or _EMPTY).cursor is not None)
            writes(sb, 100, seed=1)
            polled = (status_of(factory) or _EMPTY).last_poll or 0.0
            newest = max(r["updated_at"] for r in sandbox_records(sb).values())

            def caught_up() -> bool:
                state = status_of(factory) or _EMPTY
                return (state.last_poll or 0.0) > polled and (state.cursor or {}).get(
                    "after", ""
                ) >= newest.replace("Z", "+00:00")

            wait_for(proc, "the writes polled", caught_up)
            writes(sb, 100, seed=2)  # racing the kill
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.wait()
        assert proc.returncode == -signal.SIGKILL
        writes(sb, 100, seed=3)  # while nothing follows
        assert records_of(factory) != sandbox_records(sb)

        monkeypatch.setenv("SALESLOFT_API_KEY", sb.api_key)
        assert main(mirror_command(sb, db, "--once", "--reconcile", "0.001")) == 0
        assert records_of(factory) == sandbox_records(sb)
        assert json.dumps(sorted(records_of(factory))) == json.dumps(sb.store["people"].ids)


async def test_the_sandbox_demo_changes_people_while_the_mirror_follows(tmp_path: Path) -> None:
    """`--sandbox` without `--once`: the demo writes through the API and the mirror follows by
    webhooks (on loopback) and polls, until cancelled like Ctrl-C."""
    path = tmp_path / "demo.db"
    options = MirrorOptions(
        ["people"],
        sandbox=SandboxDemo(people=200),
        poll=0.1,
        sandbox_changes=100,
        progress="off",
    )
    follower = asyncio.create_task(mirror(options, SqliteStore(path), err=io.StringIO()))
    deadline = time.monotonic() + 60
    try:
        while True:
            await asyncio.sleep(0.05)
            assert not follower.done(), follower.result()
            assert time.monotonic() < deadline, "the demo's writes never reached the database"
            if path.exists():
                async with SqliteStore(path) as store:
                    rows = await store.status()
                    people = await store.records("people") if rows else {}
                changed = [r for r in people.values() if (r.get("title") or "").startswith("demo")]
                if rows and rows[0].last_webhook is not None and len(changed) >= 3:
                    break
    finally:
        follower.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await follower
