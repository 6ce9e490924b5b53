"""examples/webhook_sync.py against the sandbox: writes in Salesloft show up in the SQLite copy."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.webhooks import list_subscriptions

from .test_export_cli import sandbox_in_thread

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "webhook_sync.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhook_sync_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


async def test_the_example_keeps_people_and_tasks_in_sync(tmp_path: Path) -> None:
    ex = load_example()

    async def no_wait(delay: float) -> None:
        return None

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    public_url = f"http://127.0.0.1:{port}/salesloft/"
    copy = ex.LocalCopy(str(tmp_path / "sync.db"))

    async with (
        Sandbox(people=10, accounts=2, users=2, cadences=1, sleep=no_wait) as sb,
        SalesloftClient(sb.api_key, base_url=sb.url) as sl,
    ):
        runner = web.AppRunner(ex.create_app(sl, public_url, copy))
        await runner.setup()  # runs the startup half of cleanup_ctx: subscribes
        await web.SockSite(runner, sock).start()
        try:
            subs = await list_subscriptions(sl, callback_url=public_url)
            assert sorted(s.event_type or "" for s in subs) == sorted(
                ex.PERSON_EVENTS + ex.TASK_EVENTS
            )
            assert len({s.callback_token for s in subs}) == len(subs)  # one token per type

            async def call(method: str, path: str, body: Any = None) -> Any:
                return (await sl.request(method, path, json=body)).data

            ada = (await call("POST", "/v2/people", {"email_address": "ada@example.com"}))["data"]
            await call("PUT", f"/v2/people/{ada['id']}", {"first_name": "Ada", "title": "CTO"})
            bob = (await call("POST", "/v2/people", {"email_address": "bob@example.com"}))["data"]
            task = (
                await call(
                    "POST",
                    "/v2/tasks",
                    {
                        "person_id": ada["id"],
                        "user_id": 1,
                        "subject": "Send the contract",
                        "task_type": "email",
                        "current_state": "scheduled",
                        "due_date": "2026-12-01",
                    },
                )
            )["data"]
            await call("PUT", f"/v2/tasks/{task['id']}", {"current_state": "completed"})
            await call("DELETE", f"/v2/people/{bob['id']}")
            await sb.drain()

            people = copy.rows("people")
            assert [(r[0], r[1], r[2], r[4]) for r in people] == [
                (ada["id"], "ada@example.com", "Ada", "CTO")
            ]
            tasks = copy.rows("tasks")
            assert [(r[0], r[1], r[2], r[3]) for r in tasks] == [
                (task["id"], ada["id"], "Send the contract", "completed")
            ]
            assert all(d.ok for d in sb.webhooks.deliveries)
        finally:
            await runner.cleanup()
            copy.close()


async def test_an_older_version_never_overwrites_a_newer_row(tmp_path: Path) -> None:
    ex = load_example()
    from salesloft_async.webhooks import parse_event

    copy = ex.LocalCopy(str(tmp_path / "order.db"))
    newer = {"id": 1, "first_name": "New", "updated_at": "2026-11-23T10:00:00.000002Z"}
    older = {"id": 1, "first_name": "Old", "updated_at": "2026-11-23T10:00:00.000001Z"}
    await copy.upsert_person(parse_event("person_updated", newer))
    await copy.upsert_person(parse_event("person_updated", older))  # a late retry
    assert [r[2] for r in copy.rows("people")] == ["New"]
    copy.close()


def test_the_command_in_the_docstring_runs_as_written(tmp_path: Path) -> None:
    """``python examples/webhook_sync.py --public-url ... --port ... --db ...`` with the key in
    the environment and ``--base-url`` at a sandbox, as the docstring says: a write made in
    the sandbox reaches the SQLite file, and Ctrl-C stops it cleanly."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    db = tmp_path / "salesloft.db"
    with sandbox_in_thread(people=10, accounts=2, users=2, cadences=1) as sb:
        proc = subprocess.Popen(
            [
                sys.executable,
                str(EXAMPLE),
                "--public-url",
                f"http://127.0.0.1:{port}/salesloft/",
                "--port",
                str(port),
                "--db",
                str(db),
                "--base-url",
                sb.url,
            ],
            env={"PATH": os.environ.get("PATH", ""), "SALESLOFT_API_KEY": sb.api_key},
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert proc.stderr is not None
            for line in proc.stderr:  # its INFO log; ends (and fails below) if it exits
                if "listening on" in line:
                    break
            assert proc.poll() is None, "the example exited before it listened"

            async def write() -> int:
                async with SalesloftClient(sb.api_key, base_url=sb.url) as sl:
                    body = {"email_address": "ada@example.com", "first_name": "Ada"}
                    return int(
                        (await sl.request("POST", "/v2/people", json=body)).data["data"]["id"]
                    )

            ada = asyncio.run(write())
            deadline = time.monotonic() + 30
            rows: list[Any] = []
            while not rows and time.monotonic() < deadline:  # the delivery is asynchronous
                time.sleep(0.05)
                with contextlib.closing(sqlite3.connect(db)) as conn:
                    rows = conn.execute("SELECT id, email, first_name FROM people").fetchall()
            assert rows == [(ada, "ada@example.com", "Ada")]
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
