"""`salesloft-async login` against the sandbox: a simulated browser follows the printed URL."""

from __future__ import annotations

import asyncio
import os
import re
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import aiohttp
import pytest

from salesloft_async import cli
from salesloft_async.auth import FileTokenStore, OAuthApp, OAuthError, TokenManager
from salesloft_async.commands._common import printable
from salesloft_async.commands.login import login_flow

from .test_export_cli import sandbox_in_thread
from .test_oauth_sandbox import start_oauth_sandbox


async def browse(url: str) -> None:
    """What the user's browser does: follow the authorize redirect to the loopback callback."""
    async with aiohttp.ClientSession() as s, s.get(url) as resp:
        assert resp.status == 200, await resp.text()


async def test_login_flow_writes_a_usable_token_file(tmp_path: Path) -> None:
    async with start_oauth_sandbox() as sb:
        info = sb.oauth_client
        app = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret, clock=sb.clock)
        store = FileTokenStore(tmp_path / "token.json")
        lines: list[str] = []
        token = await login_flow(
            app, store, port=0, open_url=browse, callback_timeout=20, out=lines.append
        )
        assert await store.load() == token
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert "/oauth/authorize?" in lines[0] and "code_challenge=" in lines[0]
        assert info.client_secret not in "\n".join(lines)
        assert sb.counters["grant:authorization_code"] == 1
        sb.clock.advance(sb.config.token_ttl)
        assert (await TokenManager(app, store).token()) != token  # refreshes from the file
        assert sb.counters["grant:refresh_token"] == 1


def with_query(url: str, **params: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(query=urlencode(params)))


async def test_stray_callbacks_change_nothing_and_the_code_is_exchanged_once(
    tmp_path: Path,
) -> None:
    async with start_oauth_sandbox() as sb:
        info = sb.oauth_client
        app = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret)
        pages: list[tuple[int, str]] = []

        async def browser(url: str) -> None:
            async with aiohttp.ClientSession() as s:
                async with s.get(url, allow_redirects=False) as resp:
                    location = resp.headers["Location"]
                real = dict(parse_qsl(urlsplit(location).query))
                strays = [
                    with_query(location, code=real["code"], state="forged"),
                    with_query(location),
                    with_query(location, error="<script>alert(1)</script>"),
                    with_query(location, state="forged", error="access_denied"),
                    with_query(location, state=real["state"]),  # the right state, but no code
                ]
                for stray in strays:
                    async with s.get(stray) as resp:
                        pages.append((resp.status, await resp.text()))
                # the real redirect, twice at once (a double click, a browser retry)
                answers = await asyncio.gather(s.get(location), s.get(location))
                for resp in answers:
                    pages.append((resp.status, await resp.text()))
                    resp.release()

        token = await login_flow(
            app, FileTokenStore(tmp_path / "t.json"), port=0, open_url=browser, callback_timeout=20
        )
        assert [status for status, _ in pages] == [400] * 5 + [200, 200]
        assert not any("<script>" in text for _, text in pages)
        assert "&lt;script&gt;" not in pages[2][1]  # a stray's words are not even echoed
        assert sb.counters["grant:authorization_code"] == 1
        assert await FileTokenStore(tmp_path / "t.json").load() == token


async def test_a_refusal_with_the_right_state_ends_the_login_escaped(tmp_path: Path) -> None:
    async with start_oauth_sandbox() as sb:
        info = sb.oauth_client
        app = OAuthApp.for_sandbox(sb.url, info.client_id, info.client_secret)
        texts: list[str] = []

        async def refuse(url: str) -> None:
            async with aiohttp.ClientSession() as s:
                async with s.get(url, allow_redirects=False) as resp:
                    location = resp.headers["Location"]
                state = dict(parse_qsl(urlsplit(location).query))["state"]
                denied = with_query(location, state=state, error="<b>no</b>\x1b[31m")
                async with s.get(denied) as resp:
                    assert resp.status == 400
                    texts.append(await resp.text())

        with pytest.raises(OAuthError) as caught:
            await login_flow(
                app,
                FileTokenStore(tmp_path / "t.json"),
                port=0,
                open_url=refuse,
                callback_timeout=20,
            )
        assert "&lt;b&gt;no&lt;/b&gt;" in texts[0] and "<b>" not in texts[0]
        assert printable(str(caught.value)).count("\x1b") == 0
        assert "\\x1b" in printable(str(caught.value))
        assert not (tmp_path / "t.json").exists()
        assert sb.counters["grant:authorization_code"] == 0


async def test_cli_login_with_env_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async with start_oauth_sandbox() as sb:
        loop = asyncio.get_running_loop()
        monkeypatch.setenv("SALESLOFT_CLIENT_ID", sb.oauth_client.client_id)
        monkeypatch.setenv("SALESLOFT_CLIENT_SECRET", sb.oauth_client.client_secret)
        monkeypatch.setattr(
            "webbrowser.open",
            lambda url: asyncio.run_coroutine_threadsafe(browse(url), loop).result(20),
        )
        path = tmp_path / "cli-token.json"
        argv = ["login", "--base-url", sb.url, "--token-file", str(path), "--port", "0"]
        code = await asyncio.to_thread(cli.main, [*argv, "--open", "--timeout", "20"])
        assert code == 0
        assert await FileTokenStore(path).load() is not None
        out = capsys.readouterr()
        assert "Saved the token" in out.out
        assert sb.oauth_client.client_secret not in out.out + out.err


def test_cli_login_without_credentials_explains(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SALESLOFT_CLIENT_ID", raising=False)
    monkeypatch.delenv("SALESLOFT_CLIENT_SECRET", raising=False)
    assert cli.main(["login", "--port", "0"]) == 2
    assert "SALESLOFT_CLIENT_ID" in capsys.readouterr().err


def test_the_login_command_outlives_stray_callbacks(tmp_path: Path) -> None:
    """Through the real process: strays get 400s, the command keeps waiting, the real one wins."""
    with sandbox_in_thread(people=20, accounts=5, users=3, cadences=2) as sb:
        token_file = tmp_path / "token.json"
        env = {
            **os.environ,
            "SALESLOFT_CLIENT_ID": sb.oauth_client.client_id,
            "SALESLOFT_CLIENT_SECRET": sb.oauth_client.client_secret,
            "PYTHONUNBUFFERED": "1",
        }
        cmd = [sys.executable, "-m", "salesloft_async.cli", "login", "--base-url", sb.url]
        cmd += ["--port", "0", "--token-file", str(token_file), "--timeout", "30"]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline() for _ in range(5)]
            authorize = next(line.strip() for line in lines if "/oauth/authorize?" in line)
            callback = re.search(r"redirect to (\S+) \.\.\.", "".join(lines))
            assert callback, lines
            for query in ("", "?state=forged&code=x", "?error=access_denied", "?state=x&error=y"):
                with pytest.raises(urllib.error.HTTPError) as stray:
                    urllib.request.urlopen(callback.group(1) + query, timeout=10)
                assert stray.value.code == 400
            assert proc.poll() is None  # still waiting for the real redirect
            with urllib.request.urlopen(authorize, timeout=10) as browser:  # follows the redirect
                assert browser.status == 200
            out, err = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode == 0, err
        assert "Saved the token" in out and token_file.exists()
        assert sb.counters["grant:authorization_code"] == 1
