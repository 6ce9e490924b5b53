"""The Redis layer's key names and constructor checks, without a Redis server.

A client made from a URL connects on first use, and nothing here uses it.
"""

from __future__ import annotations

import sys

import pytest

from salesloft_async.errors import ConfigurationError
from salesloft_async.redis import RedisBudget, RedisTokenStore, budget_key, token_key
from salesloft_async.redis._compat import connect
from tests.redis_support import REDIS_URL


def test_keys_are_named_per_team_with_a_cluster_hash_tag() -> None:
    assert budget_key("acme") == "salesloft:{acme}:budget"
    assert token_key("acme", 42) == "salesloft:{acme}:token:42"
    assert budget_key(7, prefix="app1") == "app1:{7}:budget"


def test_missing_redis_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    with pytest.raises(ConfigurationError, match=r"pip install 'salesloft-async\[redis\]'"):
        connect(REDIS_URL)


def test_a_non_client_is_refused() -> None:
    with pytest.raises(ConfigurationError, match=r"redis\.asyncio\.Redis client"):
        RedisTokenStore(object(), "k")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        RedisTokenStore(REDIS_URL, "")
    with pytest.raises(ConfigurationError):
        RedisBudget(REDIS_URL, "k", reserve_share=1.0)


def test_fallback_share_sizes_the_local_budget() -> None:
    b = RedisBudget(REDIS_URL, "k", limit=600, fallback_share=0.25)
    assert b._local_limit() == 150
    local = b._local()
    assert getattr(local, "limit", None) == 150
