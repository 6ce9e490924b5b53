"""`url_for` is byte for byte the URL the client puts on the wire, so a mock registered for it
matches the real request."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from salesloft_async import SalesloftClient
from salesloft_async.testing import url_for


async def test_the_client_sends_exactly_the_url_url_for_builds() -> None:
    seen: list[str] = []

    async def record(request: web.Request) -> web.Response:
        seen.append(request.raw_path)
        return web.json_response({"data": []})

    app = web.Application()
    app.router.add_get("/v2/people", record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    params = {
        "ids": [3, 1],
        "updated_at": {"gte": datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=UTC)},
        "email_addresses": ["a+b@example.com", "c d@example.com"],
        "include_paging_counts": True,
        "sort_by": None,
    }
    try:
        async with SalesloftClient(api_key="ak_test", base_url=base) as sl:
            await sl.request("GET", "/v2/people", params=params)
    finally:
        await runner.cleanup()
    assert seen == [url_for("/v2/people", params, base_url=base).raw_path_qs]
