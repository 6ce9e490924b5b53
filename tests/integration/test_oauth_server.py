"""The sandbox's authorization server on the wire: single-use refresh tokens, client auth,
expiry on the sandbox clock, revocation, counters."""

from __future__ import annotations

import base64
from typing import Any

import aiohttp

from .test_oauth_flows import authorize, make_app
from .test_oauth_sandbox import start_oauth_sandbox


async def post(s: aiohttp.ClientSession, url: str, **form: str) -> tuple[int, Any]:
    async with s.post(url, data=form) as resp:
        return resp.status, await resp.json(content_type=None)


async def test_refresh_tokens_are_single_use_and_rotation_kills_all_earlier() -> None:
    async with start_oauth_sandbox(token_ttl=50) as sb, aiohttp.ClientSession() as s:
        info, token_url = sb.oauth_client, f"{sb.url}/oauth/token"
        creds = {"client_id": info.client_id, "client_secret": info.client_secret}
        app = make_app(sb)
        code, _state, verifier = await authorize(app, s)
        status, first = await post(
            s, token_url, grant_type="authorization_code", code=code,
            redirect_uri=info.redirect_uri, code_verifier=verifier, **creds,
        )  # fmt: skip
        assert status == 200 and first["expires_in"] == 50 and first["token_type"] == "Bearer"
        assert "created_at" in first and first["refresh_token"]
        # the code itself is single-use too
        status, again = await post(
            s, token_url, grant_type="authorization_code", code=code,
            redirect_uri=info.redirect_uri, code_verifier=verifier, **creds,
        )  # fmt: skip
        assert (status, again["error"]) == (400, "invalid_grant")
        chain = [first["refresh_token"]]
        for _ in range(2):
            status, body = await post(
                s, token_url, grant_type="refresh_token", refresh_token=chain[-1], **creds
            )
            assert status == 200
            chain.append(body["refresh_token"])
        for spent in chain[:-1]:
            status, body = await post(
                s, token_url, grant_type="refresh_token", refresh_token=spent, **creds
            )
            assert (status, body["error"]) == (400, "invalid_grant")
        assert sb.counters["grant:authorization_code"] == 1
        assert sb.counters["grant:refresh_token"] == 2
        assert sb.counters["invalid_grant"] == 3
        status, _ = await post(
            s, token_url, grant_type="refresh_token", refresh_token=chain[-1], **creds
        )
        assert status == 200  # the newest one still works


async def test_client_credentials_with_basic_auth_expire_on_the_sandbox_clock() -> None:
    async with start_oauth_sandbox(token_ttl=30) as sb, aiohttp.ClientSession() as s:
        info = sb.oauth_client
        basic = base64.b64encode(f"{info.client_id}:{info.client_secret}".encode()).decode()
        async with s.post(
            f"{sb.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        ) as resp:
            assert resp.status == 200
            body = await resp.json()
        assert "refresh_token" not in body
        bearer = {"Authorization": f"Bearer {body['access_token']}"}
        async with s.get(f"{sb.url}/v2/me", headers=bearer) as resp:
            assert resp.status == 200
        sb.clock.advance(30)
        async with s.get(f"{sb.url}/v2/me", headers=bearer) as resp:
            assert resp.status == 401
        assert sb.counters["grant:client_credentials"] == 1


async def test_bad_client_and_revocation() -> None:
    async with start_oauth_sandbox() as sb, aiohttp.ClientSession() as s:
        info = sb.oauth_client
        status, body = await post(
            s, f"{sb.url}/oauth/token", grant_type="client_credentials",
            client_id=info.client_id, client_secret="wrong",
        )  # fmt: skip
        assert (status, body["error"]) == (401, "invalid_client")
        creds = {"client_id": info.client_id, "client_secret": info.client_secret}
        status, tok = await post(
            s, f"{sb.url}/oauth/token", grant_type="client_credentials", **creds
        )
        assert status == 200
        status, _ = await post(s, f"{sb.url}/oauth/revoke", token=tok["access_token"], **creds)
        assert status == 200
        bearer = {"Authorization": f"Bearer {tok['access_token']}"}
        async with s.get(f"{sb.url}/v2/me", headers=bearer) as resp:
            assert resp.status == 401


async def test_authorize_without_a_known_client_does_not_redirect() -> None:
    async with start_oauth_sandbox() as sb, aiohttp.ClientSession() as s:
        url = f"{sb.url}/oauth/authorize?response_type=code&client_id=nobody&state=x"
        async with s.get(url, allow_redirects=False) as resp:
            assert resp.status == 400
            assert "Location" not in resp.headers


async def test_plain_http_off_loopback_is_refused_like_authlib_does() -> None:
    async with (
        start_oauth_sandbox() as sb,
        aiohttp.ClientSession() as s,
        s.post(
            f"{sb.url}/oauth/token",
            data={"grant_type": "client_credentials"},
            headers={"Host": "sandbox.example.com"},
        ) as resp,
    ):
        assert resp.status == 400
        assert (await resp.json())["error"] == "insecure_transport"
