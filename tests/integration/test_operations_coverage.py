"""Every operation sends its method and path, to a loopback server that records each request.

The operation table itself (fingerprints, both definitions) is checked without a socket in
tests/unit/test_operations_table.py.
"""

from __future__ import annotations

import keyword
from collections.abc import AsyncIterator
from typing import Any

import attrs
import pytest
from aiohttp import web

from salesloft_async._operations import OPERATIONS
from salesloft_async.client import SalesloftClient
from salesloft_async.pagination import Paginator
from salesloft_async.resources import Upserted
from salesloft_async.spec import Operation


@attrs.define
class Recorder:
    """A loopback server that records each request and answers with `status`/`payload`.

    A real socket rather than an aioresponses mock: the server reads each request as Salesloft
    would, after aiohttp has encoded its query and body.
    """

    status: int = 200
    payload: Any = None
    requests: list[tuple[str, str, dict[str, Any], Any]] = attrs.Factory(list)
    base_url: str = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, dict(request.query), body))
        if self.payload is None:
            return web.Response(status=self.status)
        return web.json_response(self.payload, status=self.status)


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    rec.base_url = f"http://127.0.0.1:{port}"
    try:
        yield rec
    finally:
        await runner.cleanup()


def dummy(p: Any) -> Any:
    value: Any = {
        "integer": 1,
        "number": 1.5,
        "boolean": True,
        "object": {},
        "datetime": "2024-01-01T00:00:00Z",
    }.get(p.type, "x")
    return [value] if p.array else value


def arguments(op: Operation) -> tuple[list[Any], dict[str, Any]]:
    """Path arguments, and every required keyword argument with a value of its type."""
    args: list[Any] = [7 for _ in op.path_params]
    kwargs: dict[str, Any] = {}
    for p in (*op.query, *op.body):
        if p.required:
            py = p.name.lstrip("_")
            kwargs[py + "_" if keyword.iskeyword(py) or p.name.startswith("_") else py] = dummy(p)
    return args, kwargs


def response_for(op: Operation) -> tuple[int, Any]:
    if op.returns == "none":
        return 204, None
    if op.returns == "list":
        return 200, {"data": [], "metadata": {"paging": {"next_page": None}}}
    if op.schema in ("PersonUpsert", "AccountUpsert"):
        key = "person" if op.schema == "PersonUpsert" else "account"
        return 200, {"data": {"upsert_type": "update", key: {"id": 7}}}
    return 200, {"data": {"id": 7}}


@pytest.mark.parametrize("op", OPERATIONS, ids=[o.name for o in OPERATIONS])
async def test_operation_sends_its_method_and_path(op: Operation, recorder: Recorder) -> None:
    recorder.status, recorder.payload = response_for(op)
    args, kwargs = arguments(op)
    async with SalesloftClient(api_key="ak_test", base_url=recorder.base_url) as sl:
        method = getattr(getattr(sl, op.resource), op.action)
        result = method(*args, **kwargs)
        if isinstance(result, Paginator):
            assert await result.collect() == []
        else:
            result = await result
            if op.returns == "none":
                assert result is None
            elif op.schema in ("PersonUpsert", "AccountUpsert"):
                assert isinstance(result, Upserted) and result.created is False
            elif op.returns == "object":
                assert result.raw == {"id": 7}
    assert len(recorder.requests) == 1, recorder.requests
    sent_method, path, _query, body = recorder.requests[0]
    assert sent_method == op.method
    assert path == op.path.format(**{p: 7 for p in op.path_params})
    if op.method in ("POST", "PUT") and op.body:
        required = {p.name for p in op.body if p.required}
        assert required <= set(body or {})


async def test_a_typo_in_a_filter_raises_type_error_before_any_request(
    recorder: Recorder,
) -> None:
    async with SalesloftClient(api_key="ak_test", base_url=recorder.base_url) as sl:
        with pytest.raises(TypeError):
            sl.people.list(email_adresses=["a@example.com"])  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await sl.people.update(1, titel="CTO")  # type: ignore[call-arg]
        with pytest.raises(TypeError):
            await sl.webhook_subscriptions.create(callback_url="https://x")  # type: ignore[call-arg]
    assert recorder.requests == []
