"""`salesloft-async export` end to end: the demo command, resuming after SIGKILL, clear failures."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from salesloft_async.auth import Token
from salesloft_async.cli import main
from salesloft_async.commands.export import ExportOptions, SandboxDemo, export
from salesloft_async.errors import ConfigurationError
from salesloft_async.sandbox import Sandbox


def lines_of(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def test_sandbox_export_writes_every_person_once_and_a_rerun_is_a_no_op(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "people.jsonl"
    argv = ["export", "people", "--sandbox", "--sandbox-people", "2000", "--out", str(out)]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "sandbox: 2,000 people" in err and "budget 600 cost per 1s window" in err
    assert re.search(r"people: 2,000/2,000 records .* pages .* cost .* budget left", err)
    records = lines_of(out)
    ids = [r["id"] for r in records]
    assert len(ids) == 2000 == len(set(ids))
    assert json.loads((tmp_path / "people.jsonl.ckpt").read_text())["complete"] is True
    assert main(argv) == 0
    assert "already complete" in capsys.readouterr().out
    assert len(lines_of(out)) == 2000


def test_failures_exit_non_zero_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SALESLOFT_API_KEY", raising=False)
    out = tmp_path / "x.jsonl"
    assert main(["export", "people", "--out", str(out)]) == 2
    assert "no credentials" in capsys.readouterr().err
    args = ["export", "nonsense", "--sandbox", "--sandbox-people", "10", "--out", str(out)]
    assert main(args) == 2
    assert "not a list resource" in capsys.readouterr().err
    out.write_text("precious\n")
    assert main(["export", "people", "--sandbox", "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert out.read_text() == "precious\n"
    # a server that refuses the key: exit 2 (a rerun cannot help), no file, no talk of progress
    key = "ak_" + "0" * 32
    with refusing_server() as url:
        refused = ["export", "people", "--api-key", key, "--base-url", url]
        assert main([*refused, "--out", str(tmp_path / "y.jsonl")]) == 2
    err = capsys.readouterr().err
    assert "HTTP 401" in err and err.count("\n") == 1
    assert "progress is saved" not in err
    assert not (tmp_path / "y.jsonl").exists() and not (tmp_path / "y.jsonl.ckpt").exists()
    assert key not in err


@contextlib.contextmanager
def refusing_server() -> Iterator[str]:
    """A loopback HTTP server that answers every request 401, in a thread."""

    class Refuse(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"error":"Unauthorized"}'
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


#: The library-level kill test reads 25,000; here two processes seed their own sandbox each, so
#: a smaller one keeps the suite quick while exercising the same resume path.
KILL_PEOPLE = 12_000


@contextlib.contextmanager
def sandbox_in_thread(**options: object) -> Iterator[Sandbox]:
    """A sandbox serving from its own event loop, so `main()` can run asyncio.run beside it."""
    loop = asyncio.new_event_loop()
    sandbox = Sandbox(**options)  # type: ignore[arg-type]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(sandbox.start(), loop).result(timeout=30)
    try:
        yield sandbox
    finally:
        asyncio.run_coroutine_threadsafe(sandbox.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def test_token_file_credentials_and_a_base_url(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with sandbox_in_thread(people=300, budget=100_000) as sb:
        sb.tokens.issue("sandbox-access-token", 3600)
        token = Token.from_response(
            {"access_token": "sandbox-access-token", "token_type": "bearer", "expires_in": 3600},
            received_at=time.time(),
        )
        token_file = tmp_path / "token.json"
        token_file.write_text(token.to_json())
        # a fresh token needs no client credentials
        monkeypatch.delenv("SALESLOFT_CLIENT_ID", raising=False)
        monkeypatch.delenv("SALESLOFT_CLIENT_SECRET", raising=False)
        monkeypatch.setenv("SALESLOFT_BASE_URL", sb.url)
        out = tmp_path / "people.jsonl"
        argv = ["export", "people", "--token-file", str(token_file), "--out", str(out)]
        assert main([*argv, "--concurrency", "2"]) == 0, capsys.readouterr().err
        ids = [r["id"] for r in lines_of(out)]
        assert sorted(ids) == sb.store["people"].ids
        assert "sandbox-access-token" not in capsys.readouterr().err

        # once a refresh is due, the client credentials are asked for, by their flag names
        stale = Token.from_response(
            {"access_token": "old", "token_type": "bearer", "expires_in": 10},
            received_at=time.time() - 3600,
        )
        token_file.write_text(stale.to_json())
        again = ["export", "people", "--token-file", str(token_file), "--out", str(out) + ".2"]
        assert main(again) == 2
        err = capsys.readouterr().err
        assert "needs a refresh: give --client-id/--client-secret" in err
        assert "resume" not in err  # nothing was written: there is nothing to resume
        assert not (tmp_path / "people.jsonl.2").exists()


def test_sigkill_halfway_then_rerun_gives_every_line_exactly_once(tmp_path: Path) -> None:
    out = tmp_path / "people.jsonl"
    ckpt = tmp_path / "people.jsonl.ckpt"
    cmd = [sys.executable, "-m", "salesloft_async.cli", "export", "people", "--sandbox"]
    cmd += ["--sandbox-people", str(KILL_PEOPLE), "--out", str(out), "--progress", "off"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # about 1.75 kB a person: kill at about 40%
        while not (out.exists() and out.stat().st_size > KILL_PEOPLE * 700):
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the export did not get going"
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    saved = json.loads(ckpt.read_text())
    assert not saved["complete"]
    unfinished = sum(1 for s in saved["slices"] if not s["cursor"]["done"])
    committed = saved["records"]
    assert 0 < committed < KILL_PEOPLE

    rerun = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "resuming from" in rerun.stderr
    ids = [r["id"] for r in lines_of(out)]
    assert len(ids) == KILL_PEOPLE == len(set(ids)), "every person, no duplicate line"
    found = re.search(r"wrote ([\d,]+) records .*: ([\d,]+) pages", rerun.stderr)
    assert found, rerun.stderr
    wrote, pages = (int(g.replace(",", "")) for g in found.groups())
    assert wrote == KILL_PEOPLE - committed
    # the pages the rest needs, plus per unfinished slice its re-read page and its last one
    assert pages <= math.ceil(wrote / 99) + 2 * unfinished + 1


def test_ctrl_c_exits_130_saying_where_the_progress_is(tmp_path: Path) -> None:
    out = tmp_path / "people.jsonl"
    cmd = [sys.executable, "-m", "salesloft_async.cli", "export", "people", "--sandbox"]
    cmd += ["--sandbox-people", "3000", "--sandbox-latency", "0.05", "--concurrency", "1"]
    cmd += ["--out", str(out), "--progress", "off"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not Path(f"{out}.ckpt").exists():  # a page is written and checkpointed
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the export did not get going"
            time.sleep(0.01)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert f"progress is saved in {out}.ckpt; rerun the same command to resume" in err
    assert "Traceback" not in err


async def test_an_export_that_finds_nothing_leaves_the_empty_output_it_reports(
    tmp_path: Path,
) -> None:
    out = tmp_path / "calls.jsonl"
    since = datetime(2100, 1, 1, tzinfo=UTC)  # after every record of the sandbox
    options = ExportOptions(
        "calls", out, since=since, sandbox=SandboxDemo(people=50), progress="off"
    )
    for _ in range(2):  # and the same command again: an empty output is no file in the way
        err = io.StringIO()
        assert await export(options, err=err) == 0
        assert f"wrote 0 records to {out}" in err.getvalue()
        assert out.read_bytes() == b""


async def test_export_runs_from_options_without_argparse(tmp_path: Path) -> None:
    out = tmp_path / "calls.jsonl"
    options = ExportOptions("calls", out, sandbox=SandboxDemo(people=500), progress="off")
    err = io.StringIO()
    assert await export(options, err=err) == 0
    assert len(lines_of(out)) == 50 and "wrote 50 records" in err.getvalue()
    with pytest.raises(ConfigurationError, match="calls has no filter onwer_id"):
        ExportOptions("calls", out, filters={"onwer_id": "1"}, api_key="ak_x")
    # one instant is one --since, whatever its time zone
    paris = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    utc = datetime(2026, 1, 1, tzinfo=UTC)
    same = [ExportOptions("calls", out, since=t, api_key="k").identity() for t in (paris, utc)]
    assert same[0] == same[1] and same[0]["since"] == "2026-01-01T00:00:00+00:00"
