"""The command line as a newcomer meets it, through the real `salesloft-async` process.

Every mistake ends with one line on stderr and the documented exit code (0 done, 1 failed while
running, 2 bad usage or configuration); no file is lost, cut or mixed with another export's.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from subprocess import Popen

import pytest

from salesloft_async import __version__
from salesloft_async.cli import main
from salesloft_async.commands._common import CommandError
from salesloft_async.errors import ConfigurationError
from tests.fifo_support import fifo_at

from .test_export_cli import refusing_server, sandbox_in_thread

SMALL = ["--sandbox", "--sandbox-people", "300", "--progress", "off"]


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SALESLOFT_")}
    return subprocess.run(
        [sys.executable, "-m", "salesloft_async.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single stderr line of a refused command (after any sandbox banner)."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if not line.startswith("sandbox: ")]
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_a_checkpoint_of_another_resource_or_range_is_refused_untouched(tmp_path: Path) -> None:
    out = tmp_path / "since1.jsonl"
    ckpt = tmp_path / "since1.jsonl.ckpt"
    assert cli("export", "people", *SMALL, "--out", str(out)).returncode == 0
    before = out.read_bytes(), ckpt.read_bytes()
    # the export of another resource, or another --since, used to say "already complete"
    accounts = cli("export", "accounts", *SMALL, "--out", str(out))
    line = one_line(accounts, 2)
    assert "belongs to another export: resource people (this run: accounts)" in line
    assert "already complete" not in accounts.stdout + accounts.stderr
    since = cli("export", "people", *SMALL, "--since", "2020-01-01T00:00:00Z", "--out", str(out))
    assert "--since none (this run: 2020-01-01T00:00:00+00:00)" in one_line(since, 2)
    assert (out.read_bytes(), ckpt.read_bytes()) == before


def test_a_checkpoint_that_is_not_an_export_checkpoint_leaves_the_file_alone(
    tmp_path: Path,
) -> None:
    out = tmp_path / "people.jsonl"
    out.write_bytes(b"x" * 3893)
    ckpt = tmp_path / "people.jsonl.ckpt"
    ckpt.write_text(json.dumps({"output": {"offset": 5}, "format": "something else"}))
    result = cli("export", "people", *SMALL, "--out", str(out))
    assert "is not a checkpoint of `salesloft-async export`" in one_line(result, 2)
    assert out.read_bytes() == b"x" * 3893


def test_resuming_against_another_server_or_team_is_refused_and_the_file_is_unchanged(
    tmp_path: Path,
) -> None:
    out = tmp_path / "people.jsonl"
    ckpt = tmp_path / "people.jsonl.ckpt"
    with sandbox_in_thread(people=300, budget=100_000) as one, sandbox_in_thread(people=300) as two:
        env = {"SALESLOFT_API_KEY": one.api_key}
        first = cli("export", "people", "--base-url", one.url, "--out", str(out), env=env)
        assert first.returncode == 0, first.stderr
        # make it look interrupted: the rerun would then resume and append
        saved = json.loads(ckpt.read_text())
        ckpt.write_text(json.dumps({**saved, "complete": False}))
        before = out.read_bytes(), ckpt.read_bytes()

        other = cli(
            "export", "people", "--base-url", two.url, "--out", str(out),
            env={"SALESLOFT_API_KEY": two.api_key},
        )  # fmt: skip
        line = one_line(other, 2)
        assert f"base URL {one.url} (this run: {two.url})" in line
        assert (out.read_bytes(), ckpt.read_bytes()) == before

        # the same server, credentials of another team (as /v2/me tells)
        saved["belongs_to"]["credentials"]["team_id"] = 99
        ckpt.write_text(json.dumps({**saved, "complete": False}))
        before = out.read_bytes(), ckpt.read_bytes()
        team = cli("export", "people", "--base-url", one.url, "--out", str(out), env=env)
        assert "credentials team 99, user 1 (this run: team 1, user 1)" in one_line(team, 2)
        assert (out.read_bytes(), ckpt.read_bytes()) == before

        # an output that is not the one the checkpoint was written with is never cut
        saved["belongs_to"]["credentials"]["team_id"] = 1
        ckpt.write_text(json.dumps({**saved, "complete": False}))
        out.write_bytes(b"{}" + out.read_bytes()[2:])
        before = out.read_bytes(), ckpt.read_bytes()
        changed = cli("export", "people", "--base-url", one.url, "--out", str(out), env=env)
        assert "is not the file" in one_line(changed, 2)
        assert (out.read_bytes(), ckpt.read_bytes()) == before


def test_a_typo_in_a_filter_exits_2_listing_the_filters(tmp_path: Path) -> None:
    out = tmp_path / "x.jsonl"
    typo = cli("export", "people", *SMALL, "--filter", "acount_id=1885", "--out", str(out))
    line = one_line(typo, 2)
    assert "people has no filter acount_id (did you mean account_id?); its filters:" in line
    assert "sandbox:" not in typo.stderr  # refused before the sandbox seeded
    assert not out.exists()


def main_says(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """`salesloft-async ARGV` in this process: the exit code and the one line on stderr."""
    code = main(list(argv))
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    return code, err


def test_usage_mistakes_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = str(tmp_path / "x.jsonl")
    code, err = main_says(capsys, "export", "peeple", *SMALL, "--out", out)
    assert (
        code == 2
        and "peeple (did you mean people?) is not a list resource; choose one of: account_stages"
        in err
    )
    code, err = main_says(capsys, "export", "people", *SMALL, "--since", "2026-01-01", "--out", out)
    assert code == 2 and "--since must be timezone-aware" in err
    same = ["--out", out, "--checkpoint", str(Path(out).parent / "." / Path(out).name)]
    code, err = main_says(capsys, "export", "people", *SMALL, *same)  # once: the records lost
    assert code == 2 and "is the --out file; give it another name" in err
    early = "0001-01-01T00:00:00+14:00"  # year 0 in UTC: once an OverflowError, exit 1
    code, err = main_says(capsys, "export", "people", *SMALL, "--since", early, "--out", out)
    assert code == 2 and "--since: " + early + " is outside the years 1-9999" in err
    for flag in ("--base-url", "--api-key"):
        code, err = main_says(
            capsys, "export", "people", *SMALL, flag, "http://[::1]:1", "--out", out
        )
        assert code == 2 and f"--sandbox runs its own server with its own key: drop {flag}" in err
    code, err = main_says(capsys, "sandbox", "--people", "-5", "--port", "0")
    assert code == 2 and "people must be at least 0, got -5" in err
    assert not Path(out).exists()
    for fault, says in (
        ("/v2/people*:eror_rate=0.1", "unknown fault option 'eror_rate'"),
        ("/v2/people*:error_rate=lots", "is not a number"),
    ):
        with pytest.raises(SystemExit) as exited:
            main(["sandbox", "--fault", fault, "--port", "0"])
        assert exited.value.code == 2 and says in capsys.readouterr().err


def test_version_help_and_client_credentials(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out == f"salesloft-async {__version__}\n"
    for command in ("export", "login"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        shown = capsys.readouterr().out
        assert "--client-id" in shown and "--client-secret" in shown
        assert "exit codes: 0 done, 1 failed while running, 2 bad usage" in shown
        assert re.search(r"--debug +show tracebacks", shown)
        if command == "export":
            assert "resources: account_stages," in shown and " people," in shown
    with pytest.raises(SystemExit):  # the top-level help speaks to the reader, not of modules
        main(["--help"])
    shown = capsys.readouterr().out
    assert "export a list as JSON lines" in shown and "salesloft_async" not in shown
    with pytest.raises(SystemExit):  # every sandbox option says what it sets, with its default
        main(["sandbox", "--help"])
    shown = capsys.readouterr().out
    assert "default 8787" in shown and "(default 25000)" in shown


def test_os_errors_are_one_line_naming_the_path_with_the_documented_code(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "d"
    directory.mkdir()
    for extra in ([], ["--overwrite"]):
        line = one_line(cli("export", "people", *SMALL, "--out", str(directory), *extra), 2)
        assert f"--out {directory} is a directory" in line and "--overwrite" not in line
    missing = one_line(cli("export", "people", *SMALL, "--out", str(tmp_path / "no/x.jsonl")), 2)
    assert f"directory {tmp_path / 'no'} does not exist" in missing
    # a place nobody may write to (root may write anywhere but /sys)
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    read_only = Path("/sys") if os.geteuid() == 0 else locked
    denied = one_line(cli("export", "people", *SMALL, "--out", str(read_only / "x.jsonl")), 2)
    assert denied.endswith(f"cannot write {read_only / 'x.jsonl'}: Permission denied; choose"
                           " another --out")  # fmt: skip
    # a device that is always full: the disk fails while running (1), naming the file
    full = one_line(cli("export", "people", *SMALL, "--out", "/dev/full"), 1)
    assert full.endswith("cannot write /dev/full: No space left on device; free space or fix"
                         " the file, then rerun")  # fmt: skip
    token = one_line(cli("export", "people", "--token-file", str(tmp_path / "t.json"), "--out",
                         str(tmp_path / "t.jsonl")), 2)  # fmt: skip
    assert f"no token in {tmp_path / 't.json'}: run `salesloft-async login" in token


def test_a_refused_key_or_a_dead_port_leaves_no_file_and_promises_no_progress(
    tmp_path: Path,
) -> None:
    out = tmp_path / "x.jsonl"
    with refusing_server() as url:
        refused = cli("export", "people", "--base-url", url, "--out", str(out),
                      env={"SALESLOFT_API_KEY": "ak_wrong"})  # fmt: skip
    assert "HTTP 401" in one_line(refused, 2)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"  # bound, never listening: refused
        down = cli("export", "people", "--base-url", dead, "--out", str(out),
                   env={"SALESLOFT_API_KEY": "ak_x"})  # fmt: skip
    assert "could not connect" in one_line(down, 1)
    for result in (refused, down):
        assert "progress is saved" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        taken = cli("sandbox", "--port", str(port), "--people", "10")
    line = one_line(taken, 2)
    assert f"cannot listen on 127.0.0.1:{port}" in line and "free port" in line


def test_a_non_loopback_host_is_warned_about(tmp_path: Path) -> None:
    args = [sys.executable, "-m", "salesloft_async.cli", "sandbox", "--host", "0.0.0.0"]
    proc = subprocess.Popen(
        [*args, "--port", "0", "--people", "10"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline().startswith("Salesloft sandbox listening on")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0
    assert "warning: --host 0.0.0.0 exposes this sandbox beyond this machine" in err
    assert "read and change all its data" in err


def test_one_page_is_one_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = str(tmp_path / "p.jsonl")
    assert main(["export", "people", "--sandbox", "--sandbox-people", "40", "--out", out]) == 0
    err = capsys.readouterr().err
    assert "wrote 40 records" in err and ": 1 page, cost 1" in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="is a directory"):
        main(["--debug", "export", "people", *SMALL, "--out", str(tmp_path)])


@pytest.mark.parametrize("kind", ["binary", "deep", "fifo"])
def test_a_checkpoint_that_cannot_be_read_as_one_exits_2_untouched(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    out = tmp_path / "people.jsonl"
    out.write_bytes(b"x" * 3893)
    ckpt = tmp_path / "people.jsonl.ckpt"
    with contextlib.ExitStack() as stack:
        if kind == "fifo":
            stack.enter_context(fifo_at(ckpt))
        else:
            ckpt.write_bytes(b"\xff\xfe" if kind == "binary" else b"[" * 100_000)
        assert main(["export", "people", *SMALL, "--out", str(out)]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if not line.startswith("sandbox")]
    expected = "not a regular file" if kind == "fifo" else "is not a checkpoint of"
    assert len(err) == 1 and expected in err[0] and "unexpected" not in err[0], err
    assert out.read_bytes() == b"x" * 3893


@pytest.mark.parametrize("value", ["nan", "inf", "-1"])
def test_a_window_or_wait_that_is_not_a_finite_positive_number_exits_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    out = tmp_path / "x.jsonl"
    key = ["--api-key", "ak_x", "--base-url", "http://127.0.0.1:9", "--progress", "off"]
    code, err = main_says(capsys, "export", "people", *key, "--window", value, "--out", str(out))
    assert code == 2 and "--window must be positive and finite" in err  # nan read as a window once
    code, err = main_says(
        capsys, "export", "people", *SMALL, "--sandbox-window", value, "--out", str(out)
    )
    assert code == 2 and "--sandbox-window positive (and finite)" in err
    assert "sandbox:" not in err  # refused before a sandbox was started
    assert not out.exists()
    if value != "inf":  # --timeout inf waits for the callback as long as it takes
        code, err = main_says(capsys, "login", "--client-id", "i", "--timeout", value)
        assert code == 2 and "--timeout must be a positive number of seconds" in err


def cli_all(*commands: list[str], env: dict[str, str] | None = None) -> list[Popen[str]]:
    """Every command started at once (each is a fresh interpreter: a second of imports)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SALESLOFT_")}
    return [
        subprocess.Popen(
            [sys.executable, "-m", "salesloft_async.cli", *argv],
            env={**clean, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for argv in commands
    ]


def finished(proc: Popen[str]) -> subprocess.CompletedProcess[str]:
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # a command that hangs fails its test, and is not left running
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_sandbox_sizes_times_and_faults_are_bounded_before_it_seeds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = ["sandbox", "--port", "0", "--people", "10"]
    for extra, says in (
        (["--people", "2000000"], ": --people must be at most 1,000,000 (the sandbox holds"),
        (["--cadences", "10000000000"], ": --cadences must be at most 1,000,000"),
        (["--people", "25000", "--teams", "100"], ": --teams x --people must be at most 1,000,000"),
        (["--people", "0", "--teams", "1000000"], ": --teams must be from 1 to 1,000, got"),
        (["--window", "nan"], ": --window must be a finite number of seconds above 0, got nan"),
        (["--token-ttl", "inf"], ": --token-ttl must be a finite number of seconds above 0"),
        (["--latency", "nan"], ": --latency must be a finite number of seconds, at least 0"),
        (["--webhook-retry-delay", "-1"], ": --webhook-retry-delay must be a finite number"),
    ):
        code, err = main_says(capsys, *sandbox, *extra)
        assert code == 2 and says in err and "sandbox: sandbox:" not in err, err
    for fault, says in (
        ("/v2/*:error_rate=2", "error_rate must be a share from 0 to 1, got 2.0"),
        ("/v2/*:times=-1", "times must be at least 0, got -1"),
        ("/v2/*:error_status=99", "error_status must be an HTTP error, 400 to 599, got 99"),
        ("/v2/*:latency=nan", "latency must be a finite number of seconds, at least 0, got nan"),
    ):
        with pytest.raises(SystemExit) as exited:
            main([*sandbox, "--fault", fault])
        assert exited.value.code == 2 and says in capsys.readouterr().err
    out = str(tmp_path / "x.jsonl")
    code, err = main_says(
        capsys, "export", "people", "--sandbox", "--sandbox-people", "2000000", "--out", out
    )
    assert code == 2 and "--sandbox-people must be from 0 to 1,000,000" in err
    assert not Path(out).exists()
    # and through the real process: one line, exit 2, nothing seeded
    (huge,) = cli_all(["sandbox", "--port", "0", "--people", "2000000"])
    line = one_line(finished(huge), 2)
    assert line.startswith("salesloft-async sandbox: --people must be at most 1,000,000")


def test_mirror_mistakes_are_one_line_with_the_documented_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = ["--db", f"sqlite:///{tmp_path / 'm.db'}"]
    demo = ["--sandbox", "--sandbox-people", "100", "--once", "--progress", "off"]
    hooks = ["--webhook-url", "http://127.0.0.1:1/"]
    key = ["--api-key", "ak_wrong", "--once", "--progress", "off"]
    with contextlib.ExitStack() as stack:
        busy = stack.enter_context(socket.socket())
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        dead_socket = stack.enter_context(socket.socket())
        dead_socket.bind(("127.0.0.1", 0))  # bound, never listening: refused
        dead = f"http://127.0.0.1:{dead_socket.getsockname()[1]}"
        refusing = stack.enter_context(refusing_server())
        procs = cli_all(
            ["mirror", "peeple", *db, *demo],
            ["mirror", "people", *db, *demo, "--listen", f"127.0.0.1:{port}", *hooks],
            ["mirror", "people", *db, "--base-url", refusing, *key],
            ["mirror", "people", *db, "--base-url", dead, *key],
        )
        unknown, in_use, refused, down = [finished(proc) for proc in procs]
    line = one_line(unknown, 2)
    assert (
        "no list resource peeple (did you mean people?) to mirror; choose from: account_st" in line
    )
    assert "sandbox:" not in unknown.stderr  # refused before the sandbox seeded
    line = one_line(in_use, 2)  # once "cannot continue at: ...; check the path", exit 1
    assert f"cannot listen on 127.0.0.1:{port} for webhooks" in line and "free port" in line
    assert "HTTP 401" in one_line(refused, 2)
    assert "could not connect" in one_line(down, 1)
    for argv, says in (
        (["status", "people"], "`mirror status` takes no resources"),
        (["people", *demo, "--poll", "nan"], "--poll must be a finite number above 0, got nan"),
        (["people", *demo, "--reconcile", "inf"], "--reconcile must be a finite number above 0"),
        (["people", *demo, "--listen", "127.0.0.1:99999", *hooks], "(a port from 0 to 65535)"),
        (
            ["people", *demo, "--listen", "0.0.0.0:0", "--webhook-url", "https://x.example/h"],
            "--sandbox delivers webhooks only to loopback URLs",  # once a 422 after seeding, exit 1
        ),
    ):
        code, err = main_says(capsys, "mirror", *argv, *db)
        assert code == 2 and says in err and "sandbox:" not in err, err
    with pytest.raises(ConfigurationError, match="takes no resources"):  # the traceback's error
        main(["mirror", "status", "people", *db, "--debug"])
    typo = tmp_path / "salesloft.bd"  # status asks; it does not create the file it was given
    assert main(["mirror", "status", "--db", f"sqlite:///{typo}"]) == 0
    assert f"{typo} does not exist (check --db)" in capsys.readouterr().out and not typo.exists()
    with pytest.raises(SystemExit) as exited:
        main(["mirror", "--help"])
    shown = capsys.readouterr().out
    assert exited.value.code == 0
    assert "resources: account_stages," in shown and " people," in shown
    assert "exit codes: 0 done, 1 failed while running, 2 bad usage" in shown
    assert "--client-id" in shown and "--client-secret" in shown


def test_ctrl_c_ends_the_mirror_with_130(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'm.db'}"
    (proc,) = cli_all(
        [
            "mirror",
            "people",
            "--db",
            db,
            "--sandbox",
            "--sandbox-people",
            "100",
            "--progress",
            "off",
        ]
    )
    try:
        assert proc.stderr is not None
        for line in proc.stderr:  # following once webhooks are served
            if line.startswith("webhooks: "):
                break
        else:
            raise AssertionError(finished(proc).stderr)
        proc.send_signal(signal.SIGINT)
        result = finished(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert result.returncode == 130, result.stderr
    assert result.stderr.strip() == "interrupted"


def unwritable(tmp_path: Path) -> Path:
    """A folder nobody may create files in (root may write anywhere but /sys)."""
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    return Path("/sys") if os.geteuid() == 0 else locked


def test_a_token_file_that_cannot_be_written_is_refused_before_anyone_authorizes(
    tmp_path: Path,
) -> None:
    place = unwritable(tmp_path)
    folder = tmp_path / "token.json"
    folder.mkdir()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        login, export, in_use = cli_all(
            # once it waited for the browser, and the token the code bought could not be saved
            ["login", "--client-id", "i", "--token-file", str(place / "t.json"), "--port", "0"],
            ["export", "people", "--token-file", str(folder), "--out", str(tmp_path / "x.jsonl")],
            ["login", "--client-id", "i", "--token-file", str(tmp_path / "t.json"), "--port", port],
            env={"SALESLOFT_CLIENT_SECRET": "s"},
        )
        line = one_line(finished(in_use), 2)
    assert f"cannot listen on 127.0.0.1:{port}:" in line and "pass --port with a free port" in line
    result = finished(login)
    line = one_line(result, 2)
    assert "Permission denied; nothing was authorized: choose another --token-file" in line
    assert "Open this URL" not in result.stdout
    line = one_line(finished(export), 2)  # once exit 1, with no advice
    assert f"cannot read '{folder}': is a directory; check --token-file" in line
    assert not (tmp_path / "x.jsonl").exists()


def test_a_checkpoint_that_cannot_be_written_is_refused_before_the_output_is(
    tmp_path: Path,
) -> None:
    place = unwritable(tmp_path)
    out = tmp_path / "x.jsonl"
    result = cli("export", "people", *SMALL, "--out", str(out), "--checkpoint", str(place / "c"))
    # once exit 1 "free space or fix the file", after a page was written with no checkpoint
    line = one_line(result, 2)
    assert line.endswith(f"cannot write checkpoint {place / 'c'} (in {place}): Permission denied;"
                         " choose another --checkpoint")  # fmt: skip
    assert not out.exists()
