"""Cross-process OAuth: OS processes sharing one FileTokenStore against the sandbox.

The trials live in `shared_grant`, which `RedisTokenStore` must pass too.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from . import shared_grant as trials

pytestmark = pytest.mark.slow


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[trials.Env]:
    async with trials.small_sandbox() as sb:
        yield trials.Env(sb, tmp_path, f"file:{tmp_path / 'token.json'}")


async def test_four_processes_twenty_expiries_twenty_refreshes(env: trials.Env) -> None:
    await trials.four_processes_through_twenty_expiries(env)


async def test_process_killed_holding_the_lock_leaves_a_usable_store(env: trials.Env) -> None:
    await trials.killed_holding_the_lock(env)  # the kernel drops an flock with its process


async def test_process_killed_after_persisting_leaves_its_new_token(env: trials.Env) -> None:
    await trials.killed_after_persisting(env)
