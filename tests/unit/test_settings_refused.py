"""A setting out of range (nan, inf, below the floor; a URL carrying a password) is a
ConfigurationError.

`nan` passes every `x <= 0` test, and `round(nan)` or `int(inf)` raise ValueError/OverflowError:
each constructor says which setting is wrong instead, before anything runs.  Constructing a Redis
store or budget opens no connection, so no Redis is needed here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.auth import FileTokenStore, MemoryTokenStore, OAuthApp, TokenManager
from salesloft_async.budget import CostBudget
from salesloft_async.errors import ConfigurationError
from salesloft_async.redis import RedisBudget, RedisTokenStore
from salesloft_async.webhooks.claims import MemoryClaimStore, RedisClaimStore

URL = "redis://127.0.0.1:6379/0"

BUILDERS: dict[str, tuple[Callable[[Any], object], str]] = {
    "CostBudget limit": (lambda v: CostBudget(v, 60.0), "limit"),
    "CostBudget window": (lambda v: CostBudget(600, v), "window"),
    "RedisBudget limit": (lambda v: RedisBudget(URL, "k", v, 60.0), "limit"),
    "RedisBudget window": (lambda v: RedisBudget(URL, "k", 600, v), "window"),
    "OAuthApp timeout": (lambda v: OAuthApp("i", "s", timeout=v), "timeout"),
    "OAuthApp max_response_size": (
        lambda v: OAuthApp("i", "s", max_response_size=v),
        "max_response_size",
    ),
    "TokenManager leeway": (
        lambda v: TokenManager(OAuthApp("i", "s"), MemoryTokenStore(), leeway=v),
        "leeway",
    ),
    "SalesloftClient timeout": (lambda v: SalesloftClient("ak_x", timeout=v), "timeout"),
    **{
        f"RedisBudget {name}": (
            lambda v, name=name: RedisBudget(URL, "k", **{name: v}),
            name,
        )
        for name in (
            "op_timeout",
            "retry_interval",
            "max_poll",
            "probe_poll",
            "stale",
            "probe_timeout",
            "inflight_ttl",
            "max_pause",
        )
    },
    "MemoryClaimStore ttl": (lambda v: MemoryClaimStore(ttl=v), "ttl"),
    "MemoryClaimStore max_entries": (lambda v: MemoryClaimStore(max_entries=v), "max_entries"),
    "RedisClaimStore ttl": (lambda v: RedisClaimStore(URL, ttl=v), "ttl"),
    "RedisClaimStore lease": (lambda v: RedisClaimStore(URL, lease=v), "lease"),
    "RedisTokenStore lock_ttl": (lambda v: RedisTokenStore(URL, "k", lock_ttl=v), "lock_ttl"),
    "RedisTokenStore lock_wait": (lambda v: RedisTokenStore(URL, "k", lock_wait=v), "lock_wait"),
}


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0], ids=["nan", "inf", "negative"])
@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_a_setting_out_of_range_is_a_configuration_error(name: str, value: float) -> None:
    build, setting = BUILDERS[name]
    if value == math.inf and setting == "lock_wait":
        build(value)  # waiting for ever is a choice, not a mistake
        return
    with pytest.raises(ConfigurationError, match=setting):
        build(value)


def test_file_token_store_lock_timeout(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="lock_timeout"):
        FileTokenStore(tmp_path / "t.json", lock_timeout=math.nan)  # would wait for ever
    FileTokenStore(tmp_path / "t.json", lock_timeout=math.inf)  # as asked


@pytest.mark.parametrize(
    "url",
    ["https://user:s3cret@api.example.com", "http://:s3cret@127.0.0.1:9/v2", "ftp://u:s3cret@h"],
)
def test_a_url_with_a_user_or_password_is_refused_without_showing_it(url: str) -> None:
    # aiohttp refused it only at the first request, with a bare ValueError
    for build in (
        lambda: SalesloftClient("ak_x", base_url=url),
        lambda: OAuthApp("i", "s", token_url=url),
    ):
        with pytest.raises(ConfigurationError, match="user name or password") as caught:
            build()
        assert "s3cret" not in str(caught.value)
