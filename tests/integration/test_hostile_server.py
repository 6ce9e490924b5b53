"""One bad answer must not freeze, exhaust or crash the client.

Every test here runs against a real aiohttp server on loopback that misbehaves on purpose (the
kind of answer a proxy, a bad deploy or a network fault produces), and asserts the bound that
holds anyway: how long the call waited, how much memory it took, how often it tried, or which
`SalesloftError` it raised.  Servers are bounded too: no endless body outlives its test.
"""

from __future__ import annotations

import asyncio
import json
import time
import tracemalloc
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from salesloft_async import RetryPolicy, SalesloftClient
from salesloft_async.auth import MemoryTokenStore, Token, TokenManager
from salesloft_async.auth.app import OAuthApp
from salesloft_async.budget import CostBudget
from salesloft_async.errors import (
    AuthenticationError,
    ConfigurationError,
    ConnectionFailedError,
    PaginationError,
    RateLimitedError,
    RedirectError,
    RequestTimeoutError,
    ResponseDecodeError,
    ResponseTooLargeError,
    SalesloftError,
)
from salesloft_async.pagination import Paginator
from salesloft_async.testing import ManualClock

KEY = "ak_hostile0123456789abcdef0123456789"
MiB = 1024 * 1024
CHUNK = b"x" * MiB


class Hostile:
    """The server's state: hits per route and what each streaming route managed to write."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.written: Counter[str] = Counter()


async def _stream(
    request: web.Request, name: str, state: Hostile, *, mib: int, length: int | None
) -> web.StreamResponse:
    """Write up to `mib` MiB (a bound, so that no test can hang on it) until the peer leaves."""
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    if length is not None:
        resp.content_length = length
    else:
        resp.enable_chunked_encoding()
    await resp.prepare(request)
    try:
        for _ in range(mib):
            await resp.write(CHUNK)
            state.written[name] += len(CHUNK)
    except (ConnectionError, RuntimeError):
        pass  # the client hung up: exactly what it should do
    return resp


def make_app(state: Hostile) -> web.Application:
    hits = state.hits

    async def retry_after(request: web.Request) -> web.Response:
        key = request.path_qs
        hits[key] += 1
        if hits[key] <= int(request.query.get("fails", "1")):
            return web.json_response(
                {"error": "busy"},
                status=int(request.query.get("code", "503")),
                headers={"Retry-After": request.query["value"]},
            )
        return web.json_response({"data": {"attempts": hits[key]}})

    async def huge(request: web.Request) -> web.StreamResponse:
        hits["huge"] += 1
        declared = 500 * MiB if request.query.get("declare") else None
        return await _stream(request, "huge", state, mib=500, length=declared)

    async def endless(request: web.Request) -> web.StreamResponse:
        hits["endless"] += 1
        return await _stream(request, "endless", state, mib=4096, length=None)

    async def token_huge(request: web.Request) -> web.StreamResponse:
        hits["token"] += 1
        return await _stream(request, "token", state, mib=8, length=None)

    async def bad_body(request: web.Request) -> web.StreamResponse:
        """`fails` bad 2xx answers of one `kind`, then a good one."""
        kind = request.match_info["kind"]
        key = request.path_qs + request.method
        hits[key] += 1
        if hits[key] > int(request.query.get("fails", "1000")):
            return web.json_response({"data": [{"id": 1}]})
        if kind == "cut":  # no Content-Length: the close looks like the end of the body
            resp = web.StreamResponse(headers={"Content-Type": "application/json"})
            resp.force_close()
            await resp.prepare(request)
            await resp.write(b'{"data": [{"id": 1}, {"id"')
            assert request.transport is not None
            request.transport.close()
            return resp
        body = {
            "html": b"<html>Service Unavailable</html>",
            "shape": b'{"items": []}',
            "deep": b"[" * 200_000 + b"]" * 200_000,
        }[kind]
        return web.Response(body=body, content_type="application/json")

    async def hang(request: web.Request) -> web.Response:
        hits["hang"] += 1
        await asyncio.sleep(30)  # ends with the test server at the latest
        return web.json_response({"data": []})

    async def echo_secret(request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        code = int(request.query.get("code", "400"))
        headers = {"X-Echo": auth}
        if request.query.get("text"):
            return web.Response(text=f"<pre>you sent {auth}</pre>", status=code, headers=headers)
        body = {"error": f"bad key {auth}", "errors": {"auth": [auth]}}
        return web.json_response(body, status=code, headers=headers)

    async def redirect(request: web.Request) -> web.Response:
        hits["redirect"] += 1
        raise web.HTTPFound(f"/target?leak={KEY}")

    async def target(request: web.Request) -> web.Response:
        hits["target"] += 1
        return web.json_response({"data": {}})

    async def oauth_echo(request: web.Request) -> web.Response:
        form = await request.post()
        said = " ".join([*map(str, form.values()), request.headers.get("Authorization", "")])
        return web.json_response(
            {"error": "invalid_grant", "error_description": f"cannot use {said}"},
            status=400,
            headers={"X-Echo": said},
        )

    async def anything(request: web.Request) -> web.Response:
        hits["anything"] += 1
        return web.json_response({"data": {"id": 1}})

    app = web.Application()
    app.router.add_route("*", "/retry-after", retry_after)
    app.router.add_route("*", "/huge", huge)
    app.router.add_route("*", "/endless", endless)
    app.router.add_route("*", "/oauth/huge", token_huge)
    app.router.add_route("*", "/oauth/echo", oauth_echo)
    app.router.add_route("*", "/bad/{kind}", bad_body)
    app.router.add_route("*", "/hang", hang)
    app.router.add_route("*", "/echo-secret", echo_secret)
    app.router.add_route("*", "/redirect", redirect)
    app.router.add_route("*", "/target", target)
    app.router.add_route("*", "/{tail:.*}", anything)
    return app


@pytest.fixture
def state() -> Hostile:
    return Hostile()


@pytest.fixture
async def server(state: Hostile) -> AsyncIterator[TestServer]:
    srv = TestServer(make_app(state), host="127.0.0.1")
    await srv.start_server()
    yield srv
    await srv.close()


class Sleeps:
    """An injected sleep that records its waits and advances an injected clock by them."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def client(server: TestServer, sleeps: Sleeps) -> AsyncIterator[SalesloftClient]:
    async with SalesloftClient(
        KEY,
        base_url=str(server.make_url("")),
        sleep=sleeps,
        clock=sleeps.clock,
        timeout=60.0,
        retry=RetryPolicy(max_attempts=4, base=0.5, cap=4.0),
    ) as sl:
        yield sl


async def timed(call: Awaitable[object]) -> tuple[BaseException | None, float]:
    began = time.monotonic()
    try:
        await call
    except BaseException as exc:
        return exc, time.monotonic() - began
    return None, time.monotonic() - began


# -- 1. Retry-After is bounded ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["999999999", "inf", "1e400", "nan", "-5", "soon", "Fri, 31 Dec 9999 23:59:59 GMT", "90000"],
)
async def test_absurd_retry_after_is_ignored_for_backoff(
    client: SalesloftClient, sleeps: Sleeps, value: str
) -> None:
    resp = await client.request("GET", "/retry-after", params={"value": value})
    assert resp.data["data"]["attempts"] == 2
    # one wait, and it is the first backoff, not the header's
    assert len(sleeps.waits) == 1 and 0.0 <= sleeps.waits[0] <= 0.5


async def test_long_retry_after_is_capped(client: SalesloftClient, sleeps: Sleeps) -> None:
    await client.request("GET", "/retry-after", params={"value": "3600", "code": "429"})
    assert sleeps.waits == [client.transport.retry.max_retry_after] == [75.0]


async def test_retry_after_never_sleeps_past_the_deadline(
    server: TestServer, sleeps: Sleeps
) -> None:
    policy = RetryPolicy(max_attempts=5, max_elapsed=10.0, max_retry_after=60.0)
    async with SalesloftClient(
        KEY, base_url=str(server.make_url("")), sleep=sleeps, clock=sleeps.clock, retry=policy
    ) as sl:
        with pytest.raises(SalesloftError, match="HTTP 503"):
            await sl.request("GET", "/retry-after", params={"value": "30", "fails": "9"})
    assert sleeps.waits == []  # 30 s would overrun a 10 s deadline: give up now, not after it


# -- 2. Body limits --------------------------------------------------------------------------------


@pytest.mark.parametrize("declare", [False, True], ids=["chunked", "content-length"])
async def test_a_500_mb_body_is_refused_in_bounded_memory(
    client: SalesloftClient, state: Hostile, declare: bool
) -> None:
    tracemalloc.start()
    try:
        error, _ = await timed(client.request("GET", "/huge", params={"declare": declare or None}))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(error, ResponseTooLargeError)
    assert error.limit == 32 * MiB
    assert peak < 160 * MiB  # the whole body took 1 GB; the limit plus buffers stays far below
    assert state.written["huge"] < 200 * MiB  # the connection was dropped, not drained
    assert state.hits["huge"] == 1  # the same body again would be just as long


async def test_an_endless_chunked_body_fails_long_before_the_timeout(
    client: SalesloftClient, state: Hostile
) -> None:
    error, _ = await timed(client.request("GET", "/endless"))
    # the timeout is 60 s: read until it, the error would be a RequestTimeoutError
    assert isinstance(error, ResponseTooLargeError)
    assert state.written["endless"] < 200 * MiB
    assert state.hits["endless"] == 1  # not read again on a retry


async def test_the_limit_is_configurable(server: TestServer, state: Hostile) -> None:
    async with SalesloftClient(KEY, base_url=str(server.make_url("")), max_response_size=MiB) as sl:
        with pytest.raises(ResponseTooLargeError, match=f"longer than {MiB} bytes"):
            await sl.request("GET", "/endless")
    with pytest.raises(ConfigurationError):
        SalesloftClient(KEY, max_response_size=0)


async def test_the_token_endpoint_reads_at_most_64_kib(server: TestServer, state: Hostile) -> None:
    app = OAuthApp("cid", "csecret", token_url=str(server.make_url("/oauth/huge")))
    with pytest.raises(ResponseTooLargeError, match="65536 bytes"):
        await app.refresh("rt_single_use")
    assert state.written["token"] < 8 * MiB  # dropped long before the 8 MiB the server had


# -- 3. Bad 2xx bodies are retried for idempotent methods ------------------------------------------


@pytest.mark.parametrize("kind", ["cut", "html", "shape"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_idempotent_bad_bodies_are_retried(
    client: SalesloftClient, state: Hostile, sleeps: Sleeps, kind: str, method: str
) -> None:
    resp = await client.request(method, f"/bad/{kind}", params={"fails": 2}, expect="list")
    assert resp.data["data"] == [{"id": 1}]
    assert state.hits[f"/bad/{kind}?fails=2{method}"] == 3
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize("kind", ["cut", "html", "shape"])
async def test_a_post_with_a_bad_body_is_never_resent(
    client: SalesloftClient, state: Hostile, kind: str
) -> None:
    with pytest.raises(ResponseDecodeError, match="resend"):
        await client.request("POST", f"/bad/{kind}", params={"fails": 2}, expect="list")
    assert state.hits[f"/bad/{kind}?fails=2POST"] == 1


async def test_bad_bodies_count_as_attempts(client: SalesloftClient, state: Hostile) -> None:
    with pytest.raises(ResponseDecodeError):
        await client.request("GET", "/bad/html", expect="list")
    assert state.hits["/bad/htmlGET"] == 4  # max_attempts


async def test_deep_nesting_is_a_decode_error_not_a_recursion_error(
    client: SalesloftClient,
) -> None:
    with pytest.raises(ResponseDecodeError, match="nested too deeply"):
        await client.request("GET", "/bad/deep")


# -- 4. Bad input stops before the request; nothing but SalesloftError escapes ---------------------


@pytest.mark.parametrize("key", ["ak_abc\r\nX-Evil: 1", "ak_ab\rc", "ak_a\x00b", "ak_a b", "ak_é"])
def test_an_api_key_with_control_characters_is_refused(key: str) -> None:
    with pytest.raises(ConfigurationError, match="copy it again") as info:
        SalesloftClient(key)
    assert key.strip() not in str(info.value)


class BrokenAuth:
    async def authorization(self) -> str:
        return "Bearer tok_secret_9\r\nX-Evil: 1"

    async def on_unauthorized(self, used: str) -> bool:
        return False


async def test_an_auth_hook_with_control_characters_sends_nothing(
    server: TestServer, state: Hostile
) -> None:
    async with SalesloftClient(auth=BrokenAuth(), base_url=str(server.make_url(""))) as sl:
        with pytest.raises(ConfigurationError, match="control characters") as info:
            await sl.request("GET", "/v2/people")
    assert "tok_secret_9" not in str(info.value)
    assert state.hits["anything"] == 0


@pytest.mark.parametrize(
    "bad", ["..", ".", "", "  ", "a/b", "../users", "a\\b", "1?x=2", "#", "a\n"]
)
async def test_path_breaking_ids_are_refused_before_any_request(
    client: SalesloftClient, state: Hostile, bad: str
) -> None:
    for call in (client.people.get, client.people.delete):
        with pytest.raises(ConfigurationError, match="not a usable id"):
            await call(bad)
    assert state.hits["anything"] == 0


@pytest.mark.parametrize("path", ["/v2/people/..", "/v2/people/../users", "/v2/./x", "/v2/%2E%2E"])
async def test_raw_paths_may_not_climb(client: SalesloftClient, state: Hostile, path: str) -> None:
    with pytest.raises(ConfigurationError, match="segment"):
        await client.request("GET", path)
    assert state.hits["anything"] == 0


@pytest.mark.parametrize("body", [{"x": float("nan")}, {"x": object()}, {"x": {1, 2}}])
async def test_an_unsendable_json_body_is_a_configuration_error(
    client: SalesloftClient, state: Hostile, body: object
) -> None:
    with pytest.raises(ConfigurationError, match="JSON body"):
        await client.request("POST", "/v2/people", json=body)
    assert state.hits["anything"] == 0


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "http://[::1"},
        {"timeout": "30"},
        {"timeout": float("nan")},
        {"max_response_size": 1.5},
    ],
)
def test_bad_client_settings_are_configuration_errors(options: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        SalesloftClient(KEY, **options)  # type: ignore[arg-type]


async def test_a_bad_method_is_a_configuration_error(client: SalesloftClient) -> None:
    with pytest.raises(ConfigurationError, match="method"):
        await client.request("GE T", "/v2/people")


@pytest.mark.parametrize(("method", "path"), [("GET", 5), (None, "/v2/people"), ("GET", None)])
async def test_a_method_or_path_that_is_no_string_is_a_configuration_error(
    client: SalesloftClient, state: Hostile, method: object, path: object
) -> None:
    with pytest.raises(ConfigurationError, match="must be strings"):  # once: AttributeError
        await client.request(method, path)  # type: ignore[arg-type]
    assert sum(state.hits.values()) == 0


async def _raw_server(answer: bytes) -> tuple[asyncio.Server, str]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(answer)
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    return srv, f"http://127.0.0.1:{port}"


@pytest.mark.parametrize(
    "answer",
    [
        b"garbage\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        b"HTTP/1.1 99999 What\r\n\r\n",
    ],
    ids=["status-line", "huge-header", "bad-length", "bad-chunk", "bad-status"],
)
async def test_protocol_garbage_is_a_salesloft_error(answer: bytes) -> None:
    srv, url = await _raw_server(answer)
    try:
        async with SalesloftClient(
            KEY, base_url=url, retry=RetryPolicy(max_attempts=1), timeout=10.0
        ) as sl:
            with pytest.raises(SalesloftError):
                await sl.request("GET", "/v2/people")
    finally:
        srv.close()
        await srv.wait_closed()


# -- 6. max_elapsed is a hard deadline -------------------------------------------------------------


async def test_max_elapsed_cuts_the_last_attempts_timeout() -> None:
    """Each hanging attempt takes 4.95 s of the injected clock (and its timeout, 0.2 s, of real
    time): the first gets the whole timeout, the second only the 0.05 s left of `max_elapsed`."""
    clock = ManualClock(start=0.0)

    async def hang(request: web.Request) -> web.Response:
        clock.advance(4.95)
        await asyncio.sleep(30)  # ends with the test server at the latest
        return web.json_response({"data": []})

    app = web.Application()
    app.router.add_get("/hang", hang)
    policy = RetryPolicy(max_attempts=10, base=0.0, cap=0.0, max_elapsed=5.0)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        SalesloftClient(
            KEY,
            base_url=str(server.make_url("")),
            timeout=0.2,
            retry=policy,
            clock=clock,
            sleep=clock.sleep,
        ) as sl,
    ):
        with pytest.raises(RequestTimeoutError) as caught:
            await sl.request("GET", "/hang")
    assert clock() == 2 * 4.95  # two attempts: the second ran out of max_elapsed
    # the error names the last attempt's timeout: uncut, it would be the full 0.2 s
    assert "within 0.05s" in str(caught.value)


async def limited_once(budget: CostBudget, max_elapsed: float, **client: object) -> list[str]:
    """GET from a server whose first answer is a 429 asking for a minute's pause (then 200s),
    through `budget`; the call must raise that 429.  The paths the server saw."""
    seen: list[str] = []

    async def people(request: web.Request) -> web.Response:
        seen.append(request.path)
        if len(seen) == 1:
            return web.json_response(
                {"error": "slow down"}, status=429, headers={"Retry-After": "60"}
            )
        return web.json_response({"data": []})

    app = web.Application()
    app.router.add_get("/people", people)
    async with (
        TestServer(app, host="127.0.0.1") as server,
        SalesloftClient(
            KEY,
            base_url=str(server.make_url("")),
            budget=budget,
            retry=RetryPolicy(max_attempts=5, max_elapsed=max_elapsed),
            **client,  # type: ignore[arg-type]
        ) as sl,
    ):
        with pytest.raises(RateLimitedError):
            # the 20 s bound only keeps a regression from hanging the suite
            await asyncio.wait_for(sl.request("GET", "/people"), 20.0)
    return seen


async def test_a_retrys_wait_for_the_budget_ends_by_max_elapsed_on_an_injected_clock() -> None:
    """The 429 pauses the budget for 60 s; the retry waits for it on the injected clock, finds
    `max_elapsed` (5 s) gone, and gives up unsent instead of sending 55 s past the deadline."""
    clock = ManualClock()
    budget = CostBudget(600, 60.0, clock=clock, sleep=clock.sleep, wall_clock=clock)
    seen = await limited_once(budget, 5.0, clock=clock, sleep=clock.sleep)
    assert seen == ["/people"]  # before: a second GET, sent 60 s after the first
    assert budget.stats.in_flight == 0  # the late grant was handed back


async def test_a_retrys_wait_for_the_budget_is_cut_at_max_elapsed_in_real_time() -> None:
    """The same on the real clock: the retry's 60 s wait for the budget is cut at `max_elapsed`
    (0.2 s) by the event loop's timer."""
    budget = CostBudget(600, 60.0)
    assert await limited_once(budget, 0.2) == ["/people"]
    assert budget.stats.in_flight == 0 and budget.stats.queued == 0


async def test_a_refresh_after_a_401_ends_by_max_elapsed() -> None:
    """The API answers 401 and the token endpoint never does: the refresh the 401 starts is
    waited for only until `max_elapsed` (0.2 s), not the OAuth app's 30 s timeout; the call
    raises the 401 it has (the 20 s bound only keeps a regression from hanging)."""
    hits: list[str] = []
    release = asyncio.Event()

    async def people(request: web.Request) -> web.Response:
        hits.append("api")
        return web.json_response({"error": "expired"}, status=401)

    async def token(request: web.Request) -> web.Response:
        hits.append("token")
        await release.wait()  # answers once the call is over
        return web.json_response({"error": "server_error"}, status=500)

    app = web.Application()
    app.router.add_get("/people", people)
    app.router.add_post("/oauth/token", token)
    async with TestServer(app, host="127.0.0.1") as server:
        base = str(server.make_url("")).rstrip("/")
        manager = TokenManager(
            OAuthApp.for_sandbox(base, "client", "secret"),
            MemoryTokenStore(Token("acc-0", "ref-0", expires_at=time.time() + 3600)),
        )
        async with SalesloftClient(
            auth=manager, base_url=base, retry=RetryPolicy(max_elapsed=0.2)
        ) as sl:
            with pytest.raises(AuthenticationError):
                await asyncio.wait_for(sl.request("GET", "/people"), 20.0)
            release.set()
    assert hits == ["api", "token"]


# -- 7. Echoed secrets are redacted ----------------------------------------------------------------


@pytest.mark.parametrize("code", [400, 401, 403, 422, 503])
@pytest.mark.parametrize("text", [False, True], ids=["json", "text"])
async def test_an_echoed_key_never_reaches_an_exception(
    client: SalesloftClient, code: int, text: bool
) -> None:
    with pytest.raises(SalesloftError) as info:
        await client.request("GET", "/echo-secret", params={"code": code, "text": text or None})
    error = info.value
    shown = " ".join([str(error), repr(error), repr(error.__dict__)])
    assert "<redacted>" in shown
    assert KEY not in shown and KEY[3:] not in shown


@pytest.mark.parametrize("client_auth", ["client_secret_post", "client_secret_basic"])
async def test_an_echoed_refresh_token_or_secret_never_reaches_an_oauth_error(
    server: TestServer, client_auth: str
) -> None:
    app = OAuthApp(
        "cid",
        "csecret_0123456789",
        token_url=str(server.make_url("/oauth/echo")),
        client_auth=client_auth,  # type: ignore[arg-type]
    )
    with pytest.raises(SalesloftError) as info:
        await app.refresh("rt_single_use_0123456789")
    shown = " ".join([str(info.value), repr(info.value), repr(info.value.__dict__)])
    assert "cannot use" in shown and "<redacted>" in shown
    assert "rt_single_use_0123456789" not in shown and "csecret_0123456789" not in shown


# -- 8. Redirects are errors -----------------------------------------------------------------------


async def test_a_redirect_is_an_error_and_is_not_followed(
    client: SalesloftClient, state: Hostile
) -> None:
    with pytest.raises(RedirectError, match="never followed") as info:
        await client.request("GET", "/redirect")
    assert info.value.status == 302
    assert KEY not in str(info.value)
    assert state.hits["redirect"] == 1 and state.hits["target"] == 0


# -- 5. Lists that do not advance ------------------------------------------------------------------


def paging_app(answer: Callable[[web.Request, int], dict[str, object]]) -> web.Application:
    calls = Counter[str]()

    async def people(request: web.Request) -> web.Response:
        calls["n"] += 1
        if calls["n"] > 50:  # a bound for the server, whatever the client does
            return web.json_response({"error": "test loop"}, status=418)
        return web.json_response(answer(request, calls["n"]))

    app = web.Application()
    app.router.add_get("/v2/people", people)
    return app


def _records(start: int, n: int = 2) -> list[dict[str, object]]:
    return [
        {"id": i, "updated_at": f"2024-01-01T00:{i // 60:02d}:{i % 60:02d}+00:00"}
        for i in range(start, start + n)
    ]


@pytest.mark.parametrize(
    "answer",
    [
        lambda r, n: {"data": _records(n), "metadata": {"paging": {"next_page": 1}}},
        lambda r, n: {"data": _records(n), "metadata": {"paging": {"next_page": n}}},
        lambda r, n: {"data": _records(1), "metadata": {"paging": {"next_page": n + 1}}},
    ],
    ids=["next-page-goes-back", "next-page-repeats", "same-records"],
)
async def test_a_paginator_stops_on_a_server_that_does_not_advance(
    answer: Callable[[web.Request, int], dict[str, object]],
) -> None:
    srv = TestServer(paging_app(answer), host="127.0.0.1")
    await srv.start_server()
    try:
        async with SalesloftClient(KEY, base_url=str(srv.make_url(""))) as sl:
            with pytest.raises(PaginationError, match="does not advance"):
                await sl.people.list().collect()
    finally:
        await srv.close()


async def test_a_keyset_paginator_stops_when_ids_do_not_grow() -> None:
    srv = TestServer(paging_app(lambda r, n: {"data": _records(4 - 2 * n)}), host="127.0.0.1")
    await srv.start_server()
    try:
        async with SalesloftClient(KEY, base_url=str(srv.make_url(""))) as sl:
            pages = Paginator(sl.transport, "/v2/people", {}, list, mode="keyset")
            with pytest.raises(PaginationError, match=r"answered id 1 to id\[gt\]=3"):
                await pages.collect()
            assert pages.pages_read == 2
    finally:
        await srv.close()


@pytest.mark.parametrize("concurrency", [1, 3])
@pytest.mark.parametrize("stamp", ["spread", "one-instant"])
async def test_keyset_reading_stops_on_a_server_that_ignores_its_filter(
    concurrency: int, stamp: str
) -> None:
    def page(request: web.Request, n: int) -> dict[str, object]:
        records = _records(1, 100)
        if stamp == "one-instant":
            for r in records:
                r["updated_at"] = "2024-01-01T00:00:00+00:00"
        return {"data": records, "metadata": {"paging": {"total_count": 100_000}}}

    srv = TestServer(paging_app(page), host="127.0.0.1")
    await srv.start_server()
    try:
        async with SalesloftClient(KEY, base_url=str(srv.make_url(""))) as sl:
            seen = 0
            with pytest.raises(PaginationError, match="does not advance"):
                async for _ in sl.people.read_all(concurrency=concurrency):
                    seen += 1
            assert seen <= 100  # nothing was handed over twice
    finally:
        await srv.close()


async def test_protocol_garbage_leaves_no_raw_aiohttp_error(server: TestServer) -> None:
    """A body cut off in a chunked stream is a ResponseDecodeError, never a ClientPayloadError."""
    srv, url = await _raw_server(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\n"
        b"10\r\n" + json.dumps({"data": []}).encode()[:8]
    )
    try:
        async with SalesloftClient(KEY, base_url=url, retry=RetryPolicy(max_attempts=2)) as sl:
            with pytest.raises((ResponseDecodeError, ConnectionFailedError)):
                await sl.request("GET", "/v2/people")
    finally:
        srv.close()
        await srv.wait_closed()
