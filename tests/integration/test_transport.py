"""The request pipeline against a real aiohttp server on loopback.

The server here is deliberately tiny and hostile: it produces the failures (HTML error pages, cut
bodies, dropped connections, wrong shapes) that the sandbox is too well-behaved to make by default.
"""

from __future__ import annotations

import json
import logging
import socket
from collections import Counter
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import RetryPolicy, SalesloftClient
from salesloft_async.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    ResponseDecodeError,
    ServerError,
    ValidationError,
)

KEY = "ak_0123456789abcdef0123456789abcdef"


def make_app(hits: Counter[str]) -> web.Application:
    async def ok(request: web.Request) -> web.Response:
        hits["ok"] += 1
        return web.json_response(
            {"data": [{"id": 1}], "metadata": {}},
            headers={"x-ratelimit-endpoint-cost": "1", "x-ratelimit-remaining-minute": "599"},
        )

    async def echo(request: web.Request) -> web.Response:
        return web.json_response(
            {
                "data": {
                    "query": list(request.query.items()),
                    "auth": request.headers.get("Authorization"),
                    "body": await request.json() if request.can_read_body else None,
                }
            }
        )

    async def status(request: web.Request) -> web.Response:
        code = int(request.match_info["code"])
        hits[f"status{code}"] += 1
        if code == 422:
            return web.json_response({"errors": {"email_address": ["is invalid"]}}, status=422)
        return web.json_response({"error": f"failure {code}"}, status=code)

    async def flaky(request: web.Request) -> web.Response:
        """Fails `fails` times with `code` (and Retry-After if given), then succeeds."""
        key = request.path_qs
        hits[key] += 1
        if hits[key] <= int(request.query["fails"]):
            headers = {}
            if "retry_after" in request.query:
                headers["Retry-After"] = request.query["retry_after"]
            code = int(request.query["code"])
            return web.json_response({"error": "try later"}, status=code, headers=headers)
        return web.json_response({"data": {"attempts": hits[key]}})

    async def html(request: web.Request) -> web.Response:
        code = int(request.query.get("code", "200"))
        return web.Response(
            text="<html><body>Bad gateway</body></html>", status=code, content_type="text/html"
        )

    async def truncated(request: web.Request) -> web.StreamResponse:
        hits["truncated"] += 1
        body = json.dumps({"data": [{"id": i} for i in range(50)]}).encode()
        resp = web.StreamResponse(headers={"Content-Type": "application/json"})
        resp.content_length = len(body)
        await resp.prepare(request)
        await resp.write(body[: len(body) // 2])
        assert request.transport is not None
        request.transport.close()
        return resp

    async def drop(request: web.Request) -> web.StreamResponse:
        hits["drop"] += 1
        assert request.transport is not None
        request.transport.close()
        return web.Response()

    async def shape(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        body = {"nodata": {"items": []}, "dict": {"data": {"id": 1}}, "list": {"data": []}}[kind]
        return web.json_response(body)

    async def nocontent(request: web.Request) -> web.Response:
        return web.Response(status=204)

    app = web.Application()
    app.router.add_route("*", "/ok", ok)
    app.router.add_route("*", "/echo", echo)
    app.router.add_route("*", "/status/{code}", status)
    app.router.add_route("*", "/flaky", flaky)
    app.router.add_route("*", "/html", html)
    app.router.add_route("*", "/truncated", truncated)
    app.router.add_route("*", "/drop", drop)
    app.router.add_route("*", "/shape/{kind}", shape)
    app.router.add_route("*", "/nocontent", nocontent)
    return app


@pytest.fixture
def hits() -> Counter[str]:
    return Counter()


@pytest.fixture
async def server(hits: Counter[str]) -> AsyncIterator[TestServer]:
    srv = TestServer(make_app(hits), host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
async def client(server: TestServer, sleeps: list[float]) -> AsyncIterator[SalesloftClient]:
    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with SalesloftClient(
        KEY,
        base_url=str(server.make_url("")),
        sleep=fake_sleep,
        retry=RetryPolicy(max_attempts=4, base=0.5, cap=4.0),
    ) as sl:
        yield sl


async def test_success_returns_data_and_headers(client: SalesloftClient) -> None:
    resp = await client.request("GET", "/ok", expect="list")
    assert resp.status == 200
    assert resp.data["data"] == [{"id": 1}]
    assert resp.cost == 1
    assert resp.remaining == 599
    assert resp.headers["X-RateLimit-Endpoint-Cost"] == "1"  # case-insensitive


async def test_query_encoding_reaches_the_server(client: SalesloftClient) -> None:
    resp = await client.request(
        "GET", "/echo", params={"ids": [1, 2], "updated_at": {"gte": "2024-01-01"}, "x": None}
    )
    assert resp.data["data"]["query"] == [
        ["ids[]", "1"],
        ["ids[]", "2"],
        ["updated_at[gte]", "2024-01-01"],
    ]
    assert resp.data["data"]["auth"] == f"Bearer {KEY}"


async def test_json_body_is_sent(client: SalesloftClient) -> None:
    resp = await client.request("POST", "/echo", json={"first_name": "Ada"})
    assert resp.data["data"]["body"] == {"first_name": "Ada"}


async def test_204_decodes_to_none(client: SalesloftClient) -> None:
    resp = await client.request("DELETE", "/nocontent")
    assert resp.status == 204 and resp.data is None


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (422, ValidationError),
    ],
)
async def test_client_errors_map_and_are_not_retried(
    client: SalesloftClient, hits: Counter[str], code: int, cls: type[Exception]
) -> None:
    with pytest.raises(cls) as info:
        await client.request("GET", f"/status/{code}")
    assert hits[f"status{code}"] == 1
    if code == 422:
        assert info.value.errors == {"email_address": ["is invalid"]}  # type: ignore[attr-defined]
    else:
        assert f"failure {code}" in str(info.value)


async def test_5xx_is_retried_then_raised(
    client: SalesloftClient, hits: Counter[str], sleeps: list[float]
) -> None:
    with pytest.raises(ServerError, match="failure 503"):
        await client.request("GET", "/status/503")
    assert hits["status503"] == 4
    assert len(sleeps) == 3 and all(0 <= s <= 4.0 for s in sleeps)


async def test_429_exhausted_raises_rate_limited(
    client: SalesloftClient, hits: Counter[str]
) -> None:
    with pytest.raises(RateLimitedError):
        await client.request("GET", "/status/429")
    assert hits["status429"] == 4


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_methods_recover_from_503(client: SalesloftClient, method: str) -> None:
    resp = await client.request(method, "/flaky", params={"fails": 2, "code": 503})
    assert resp.data["data"]["attempts"] == 3


async def test_post_is_not_resent_after_a_5xx(client: SalesloftClient, hits: Counter[str]) -> None:
    with pytest.raises(ServerError):
        await client.request("POST", "/flaky", params={"fails": 1, "code": 502})
    assert sum(v for k, v in hits.items() if k.startswith("/flaky")) == 1


async def test_post_is_retried_after_a_429(client: SalesloftClient) -> None:
    resp = await client.request("POST", "/flaky", params={"fails": 1, "code": 429})
    assert resp.data["data"]["attempts"] == 2


async def test_retry_after_header_is_honoured(client: SalesloftClient, sleeps: list[float]) -> None:
    await client.request("GET", "/flaky", params={"fails": 1, "code": 429, "retry_after": "7"})
    assert sleeps == [7.0]


async def test_post_is_not_resent_after_a_dropped_connection(
    client: SalesloftClient, hits: Counter[str]
) -> None:
    with pytest.raises(ConnectionFailedError, match="may have been processed"):
        await client.request("POST", "/drop")
    assert hits["drop"] == 1


async def test_get_is_retried_after_a_dropped_connection(
    client: SalesloftClient, hits: Counter[str], sleeps: list[float]
) -> None:
    with pytest.raises(ConnectionFailedError):
        await client.request("GET", "/drop")
    assert len(sleeps) == 3  # four attempts of ours ...
    # ... each of which aiohttp itself resends once on a fresh connection (RFC 9112 9.3.1.1)
    assert hits["drop"] == 8


async def test_refused_connection_is_retried_even_for_post(sleeps: list[float]) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens once the socket closes

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    async with SalesloftClient(
        KEY,
        base_url=f"http://127.0.0.1:{port}",
        sleep=fake_sleep,
        retry=RetryPolicy(max_attempts=3),
    ) as sl:
        with pytest.raises(ConnectionFailedError) as info:
            await sl.request("POST", "/v2/people", json={"email_address": "a@example.com"})
    assert info.value.sent is False
    assert len(sleeps) == 2


async def test_html_error_page_maps_by_status_with_an_excerpt(client: SalesloftClient) -> None:
    with pytest.raises(ServerError, match="Bad gateway"):
        await client.request("GET", "/html", params={"code": 502})


async def test_html_success_page_is_a_decode_error(client: SalesloftClient) -> None:
    with pytest.raises(ResponseDecodeError) as info:
        await client.request("GET", "/html")
    assert info.value.status == 200
    assert info.value.body_excerpt.startswith("<html>")


async def test_truncated_body_is_retried_then_a_decode_error(
    client: SalesloftClient, hits: Counter[str]
) -> None:
    with pytest.raises(ResponseDecodeError, match="cut off") as info:
        await client.request("GET", "/truncated")
    assert info.value.status == 200
    assert hits["truncated"] == 4


@pytest.mark.parametrize(
    ("kind", "expect"), [("nodata", "list"), ("dict", "list"), ("list", "object")]
)
async def test_wrong_shape_is_a_decode_error(
    client: SalesloftClient, kind: str, expect: str
) -> None:
    with pytest.raises(ResponseDecodeError, match="'data' is a") as info:
        await client.request("GET", f"/shape/{kind}", expect=expect)  # type: ignore[arg-type]
    assert info.value.status == 200
    assert len(info.value.body_excerpt) <= 200


class RefreshingAuth:
    def __init__(self) -> None:
        self.token = "old"
        self.refreshes = 0

    async def authorization(self) -> str:
        return f"Bearer {self.token}"

    async def on_unauthorized(self, used: str) -> bool:
        self.refreshes += 1
        self.token = "new"
        return True


async def test_401_asks_auth_to_refresh_then_retries_once(server: TestServer) -> None:
    auth = RefreshingAuth()
    async with SalesloftClient(auth=auth, base_url=str(server.make_url(""))) as sl:
        resp = await sl.request("GET", "/echo")
        assert resp.data["data"]["auth"] == "Bearer old"
        with pytest.raises(AuthenticationError):
            await sl.request("GET", "/status/401")  # still 401 after one refresh: surface it
    assert auth.refreshes == 1


async def test_secrets_never_reach_logs_reprs_or_errors(
    client: SalesloftClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="salesloft_async")
    texts: list[str] = [repr(client), str(client), repr(client.transport.auth)]
    for path in ("/status/401", "/status/503", "/html", "/truncated", "/drop"):
        with pytest.raises(Exception) as info:
            await client.request("GET", path)
        texts += [str(info.value), repr(info.value), repr(info.value.__dict__)]
    texts += [r.getMessage() for r in caplog.records]
    assert any("GET /status/503" in t for t in texts)  # the logs do say what happened
    assert not [t for t in texts if KEY in t or KEY[3:] in t]


@pytest.mark.parametrize(
    "url", ["http://api.salesloft.com", "http://10.0.0.5:8080", "ftp://x", "api.salesloft.com"]
)
def test_plain_http_is_refused_off_loopback(url: str) -> None:
    with pytest.raises(ConfigurationError):
        SalesloftClient(KEY, base_url=url)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8787", "http://localhost:1", "http://[::1]:9", "https://x.test"]
)
def test_loopback_http_and_https_are_allowed(url: str) -> None:
    assert SalesloftClient(KEY, base_url=url).transport.base_url == url


def test_exactly_one_credential() -> None:
    with pytest.raises(ConfigurationError, match="exactly one"):
        SalesloftClient()
    with pytest.raises(ConfigurationError, match="exactly one"):
        SalesloftClient(KEY, auth=RefreshingAuth())


async def test_injected_session_is_not_closed(server: TestServer) -> None:
    async with aiohttp.ClientSession() as session:
        async with SalesloftClient(KEY, base_url=str(server.make_url("")), session=session) as sl:
            await sl.request("GET", "/ok")
        assert not session.closed


async def test_owned_session_opens_lazily_and_closes(server: TestServer) -> None:
    sl = SalesloftClient(KEY, base_url=str(server.make_url("")))
    assert sl.transport._session is None  # nothing opened at construction
    async with sl:
        await sl.request("GET", "/ok")
        session = sl.transport._session
    assert session is not None and session.closed
