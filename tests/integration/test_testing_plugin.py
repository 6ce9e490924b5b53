"""The pytest plugin: its options, and its cost to a project that installs it but never uses it.

pytest loads every installed ``pytest11`` plugin in every run, so the plugin module must not import
the sandbox (aiohttp's server, Authlib's authorization server, the seed data) or the client until a
test asks for a fixture.  Those checks run in a fresh interpreter, as a user's pytest would.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from salesloft_async import CostBudget, SalesloftClient, SalesloftPool
from salesloft_async.sandbox import Sandbox, SandboxConfig
from salesloft_async.testing import ManualClock
from tests.integration.fresh_pytest import fresh_env, run_pytest

#: what a project that never asks for the fixtures must not have imported because of them
HEAVY = ("salesloft_async.sandbox", "salesloft_async.client", "aiohttp", "authlib")


def heavy(modules: list[str]) -> list[str]:
    return sorted(m for m in modules if m.startswith(HEAVY))


def test_importing_the_plugin_imports_no_sandbox_and_no_client() -> None:
    code = "import json, sys, salesloft_async.testing; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=fresh_env(), check=True
    )
    modules = json.loads(out.stdout)
    assert "salesloft_async.testing" in modules
    assert heavy(modules) == []


def test_collecting_a_project_that_does_not_use_the_plugin_loads_nothing_heavy(
    tmp_path: Path,
) -> None:
    (tmp_path / "test_plain.py").write_text(
        "import json, sys\n"
        "\n"
        "def test_plain():\n"
        "    assert 'salesloft_async.testing' in sys.modules  # the plugin was loaded\n"
        "    with open('modules.json', 'w') as f:\n"
        "        json.dump(sorted(sys.modules), f)\n"
    )
    result = run_pytest(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    assert heavy(json.loads((tmp_path / "modules.json").read_text())) == []


def test_a_project_without_pytest_asyncio_still_runs_and_lists_the_fixtures(
    tmp_path: Path,
) -> None:
    # pytest-asyncio is not a dependency of this package: a project may have none, or another
    # async plugin.  Here it cannot be imported (shadowed, and its pytest plugin blocked).
    shadow = tmp_path / "shadow"
    shadow.mkdir()
    (shadow / "pytest_asyncio.py").write_text("raise ImportError('no pytest-asyncio here')\n")
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_plain.py").write_text(
        "import sys\n"
        "\n"
        "def test_plain():\n"
        "    assert 'salesloft_async.testing' in sys.modules  # the plugin was loaded\n"
        "    assert 'pytest_asyncio' not in sys.modules  # without pytest-asyncio\n"
    )
    env = {"PYTHONPATH": str(shadow)}
    result = run_pytest(project, "-p", "no:asyncio", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
    listed = run_pytest(project, "-p", "no:asyncio", "--fixtures", env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert "salesloft_sandbox -- " in listed.stdout and "salesloft_client -- " in listed.stdout


@pytest.mark.salesloft_sandbox(people=5, clock=ManualClock(start=0.0))
async def test_a_manual_clock_drives_the_sandbox_and_the_client_fixture(
    salesloft_sandbox: Sandbox, salesloft_client: SalesloftClient
) -> None:
    salesloft_sandbox.faults.add("/v2/team", latency=30.0, times=1)
    await salesloft_client.request("GET", "/v2/team")
    assert salesloft_sandbox.clock() == 30.0  # the latency passed on the manual clock
    salesloft_sandbox.faults.add("/v2/me", error_rate=1.0, error_status=503, times=1)
    assert (await salesloft_client.request("GET", "/v2/me")).status == 200
    assert salesloft_sandbox.clock() > 30.0  # and so did the client's backoff before its retry


@pytest.mark.salesloft_sandbox(config=SandboxConfig(people=4, accounts=2, users=2, big_cluster=2))
async def test_a_whole_config_replaces_the_defaults(salesloft_client: SalesloftClient) -> None:
    response = await salesloft_client.request("GET", "/v2/people", params={"per_page": 100})
    assert len(response.data["data"]) == 4


@pytest.mark.salesloft_sandbox(teams=2, people=6, budget=4, window=60, clock=ManualClock())
async def test_a_multi_team_sandbox_serves_a_pool_on_the_manual_clock(
    salesloft_sandbox: Sandbox, salesloft_client: SalesloftClient
) -> None:
    sb, clock = salesloft_sandbox, salesloft_sandbox.clock
    assert isinstance(clock, ManualClock)
    assert (await salesloft_client.team.get()).id == 1  # the client fixture is team 1's
    start = clock()

    def budget_for(team: int) -> CostBudget:
        return CostBudget(4, 60, clock=clock, sleep=clock.sleep, wall_clock=clock)

    async with SalesloftPool(
        base_url=sb.url, budget_for=budget_for, clock=clock, sleep=clock.sleep
    ) as pool:
        for team in (1, 2):
            async with pool.client(sb.teams[team].api_key) as sl:
                assert len([p async for p in sl.people.list(per_page=1)]) == 6
        assert sorted(pool.budgets) == [1, 2]
    # each team's budget of 4 per window, kept apart: 7 calls each (a /v2/me lookup and 6 pages;
    # team 1 also had the fixture's /v2/team), so each team waited for one window end of its own,
    # on the manual clock, and not one 429; one budget for both would have waited for three
    assert [sb.teams[t].counters["requests"] for t in (1, 2)] == [8, 7]
    assert sb.counters["rate_limited"] == 0
    assert 2 * 60 <= clock() - start < 3 * 60
