"""Testing code that uses salesloft-async: a pytest plugin, a manual clock, and mock URLs.

The package installs this module as a pytest plugin (entry point ``pytest11``), so every project
that installs salesloft-async gets, without any configuration:

Fixtures (both function-scoped: every test gets its own, so tests cannot leak state into each
other; the defaults start in milliseconds):

``salesloft_sandbox``
    yields a running `salesloft_async.sandbox.Sandbox` on a free loopback port: ``.url``,
    ``.api_key``, ``.oauth_client`` (id, secret, redirect URI), ``.clock``, ``.faults`` (add
    latency, 5xx answers, dropped connections, cut-off bodies), ``.counters``,
    ``.spend_by_window`` and ``.teams`` (each team's ``.api_key``, ``.counters`` and budget; one
    team unless ``teams=`` asks for more).  It is stopped after the test.  Its size and budget
    start from `SANDBOX_TEST_DEFAULTS` (300 people, a 600-cost budget per 5 s window).

``salesloft_client``
    yields a `SalesloftClient` authenticated with the sandbox's API key (team 1's) and pointed
    at the ``salesloft_sandbox`` of the same test (no budget attached).  When the sandbox runs on a
    `ManualClock`, so does the client's retry backoff.  It is closed after the test.

Options, from the ``salesloft_sandbox`` marker or an indirect parameter (the parameter wins)::

    @pytest.mark.salesloft_sandbox(people=50, budget=10, window=60, clock=ManualClock())
    @pytest.mark.parametrize("salesloft_sandbox", [{"people": 9}], indirect=True)

Any `SandboxConfig` field (``people``, ``accounts``, ``budget``, ``window``, ``token_ttl``,
``faults``, ``teams`` for a sandbox of several teams, each with its own key, data and budget, to
test a `SalesloftPool` against, ...), ``config=SandboxConfig(...)`` for a whole configuration,
``clock`` (a `ManualClock`, so windows and token expiry pass when the test says) and ``sleep``
(defaults to the clock's own ``sleep`` when it has one, so fault latency and webhook retry delays
take no real time either).

Without pytest fixtures: `ManualClock` is a clock and a ``sleep`` that take no real time, for any
``clock=``/``sleep=``/``wall_clock=`` argument (`CostBudget`, `TokenManager`, `OAuthApp`,
`SalesloftClient`, `Sandbox`); `url_for` builds the exact URL a call sends, so an aioresponses
mock can be registered for it.

A project that never asks for these fixtures pays nothing for them: this module imports only
pytest and the clock at start-up; the sandbox (aiohttp's server, Authlib's authorization server,
the seed data) and the client are imported inside the fixtures, on first use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import pytest

from .clock import ManualClock

if TYPE_CHECKING:
    from .client import SalesloftClient
    from .query import url_for
    from .sandbox import Sandbox

__all__ = [
    "SANDBOX_TEST_DEFAULTS",
    "ManualClock",
    "salesloft_client",
    "salesloft_sandbox",
    "sandbox_options",
    "url_for",
]

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


def __getattr__(name: str) -> Any:
    # `url_for` lives with the query encoding it must match; imported on first use (yarl, errors)
    if name == "url_for":
        from .query import url_for

        return url_for
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "salesloft_sandbox(**options): SandboxConfig fields (and config, clock, sleep) for the "
        "salesloft_sandbox fixture",
    )


def sandbox_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The fixture's options for this test: defaults, then the marker, then an indirect param."""
    options = dict(SANDBOX_TEST_DEFAULTS)
    marker = request.node.get_closest_marker("salesloft_sandbox")
    if marker is not None:
        options.update(marker.kwargs)
    param = getattr(request, "param", None)
    if isinstance(param, dict):
        options.update(param)
    elif param is not None:  # a whole SandboxConfig
        options["config"] = param
    return options


async def _sandbox(request: pytest.FixtureRequest) -> AsyncIterator[Sandbox]:
    """A running `Sandbox` on a free loopback port, stopped after the test.

    Options: ``@pytest.mark.salesloft_sandbox(**options)`` or an indirect parameter (see
    `salesloft_async.testing`).
    """
    from .sandbox import Sandbox

    options = sandbox_options(request)
    config = options.pop("config", None)
    clock = options.pop("clock", None)
    sleep = options.pop("sleep", None) or getattr(clock, "sleep", None)
    if config is not None:
        options = {}  # a whole configuration replaces the defaults
    async with Sandbox(config, clock=clock, sleep=sleep, **options) as sandbox:
        yield sandbox


async def _client(salesloft_sandbox: Sandbox) -> AsyncIterator[SalesloftClient]:
    """A `SalesloftClient` with the sandbox's API key (team 1's), closed after the test."""
    from .client import SalesloftClient

    clock = salesloft_sandbox.clock
    manual = isinstance(clock, ManualClock)
    async with SalesloftClient(
        api_key=salesloft_sandbox.api_key,
        base_url=salesloft_sandbox.url,
        clock=clock if manual else None,
        sleep=salesloft_sandbox.sleep if manual else None,
    ) as client:
        yield client


try:
    import pytest_asyncio

    salesloft_sandbox = pytest_asyncio.fixture(_sandbox, name="salesloft_sandbox")
    salesloft_client = pytest_asyncio.fixture(_client, name="salesloft_client")
except ImportError:  # pragma: no cover - pytest-asyncio absent: asyncio mode of another plugin
    salesloft_sandbox = pytest.fixture(_sandbox, name="salesloft_sandbox")
    salesloft_client = pytest.fixture(_client, name="salesloft_client")
