"""examples/webhook_sync.py against the sandbox: writes in Salesloft show up in the SQLite copy."""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.sandbox import Sandbox
from salesloft_async.webhooks import list_subscriptions

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
