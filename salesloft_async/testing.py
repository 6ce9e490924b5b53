"""pytest plugin: a `salesloft_sandbox` fixture serving a small local Salesloft per test.

Installed with the package (entry point `pytest11`), so any project can write::

    async def test_sync(salesloft_sandbox):
        async with SalesloftClient(api_key=salesloft_sandbox.api_key,
                                   base_url=salesloft_sandbox.url) as sl:
            ...

    async def test_quicker(salesloft_client, salesloft_sandbox):   # the same, ready-made
        await salesloft_client.request("GET", "/v2/me")

Options (any `SandboxConfig` field, plus `clock` and `sleep`) come from a marker,
``@pytest.mark.salesloft_sandbox(people=50, budget=10, clock=ManualClock())``, or from an indirect
parametrization, ``@pytest.mark.parametrize("salesloft_sandbox", [{"window": 1}], indirect=True)``;
the parameter wins over the marker.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from .sandbox import Sandbox, SandboxConfig

__all__ = ["SANDBOX_TEST_DEFAULTS", "salesloft_client", "salesloft_sandbox"]

#: small and quick: a start-up in a few milliseconds, yet one `updated_at` cluster larger than a
#: page (120 people), a short budget window, and webhook retries without waiting
SANDBOX_TEST_DEFAULTS: dict[str, Any] = {
    "people": 300,
    "accounts": 40,
    "users": 5,
    "cadences": 6,
    "big_cluster": 120,
    "window": 5.0,
    "budget": 600,
    "webhook_retry_delay": 0.0,
}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "salesloft_sandbox(**options): SandboxConfig fields (and clock, sleep) for the "
        "salesloft_sandbox fixture",
    )


def sandbox_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    options = dict(SANDBOX_TEST_DEFAULTS)
    marker = request.node.get_closest_marker("salesloft_sandbox")
    if marker is not None:
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, SandboxConfig):
        return {"config": param}
    if isinstance(param, dict):
        options.update(param)
    return options


async def _sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    options = sandbox_options(request)
    config = options.pop("config", None)
    clock = options.pop("clock", None)
    sleep = options.pop("sleep", None)
    async with Sandbox(config, clock=clock, sleep=sleep, **options) as sandbox:
        yield sandbox


async def _client(salesloft_sandbox: Sandbox) -> AsyncIterator[Any]:
    from .client import SalesloftClient

    async with SalesloftClient(
        api_key=salesloft_sandbox.api_key, base_url=salesloft_sandbox.url
    ) as client:
        yield client


try:
    import pytest_asyncio

    salesloft_sandbox = pytest_asyncio.fixture(_sandbox, name="salesloft_sandbox")
    #: a SalesloftClient (API key auth) pointed at the `salesloft_sandbox` of the same test
    salesloft_client = pytest_asyncio.fixture(_client, name="salesloft_client")
except ImportError:  # pragma: no cover - pytest-asyncio absent: asyncio mode of another plugin
    salesloft_sandbox = pytest.fixture(_sandbox, name="salesloft_sandbox")
    salesloft_client = pytest.fixture(_client, name="salesloft_client")
