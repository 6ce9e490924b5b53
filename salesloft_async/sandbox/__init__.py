"""A local Salesloft v2 server for demos, tests and benchmarks.

    async with Sandbox(people=500, window=5) as sb:      # binds a free loopback port
        sb.url, sb.api_key, sb.oauth_client               # point any client at it
        sb.faults.add("/v2/people*", error_rate=0.2)      # misbehave on demand
        sb.counters["rate_limited"], sb.spend_by_window   # what happened

    async with Sandbox(teams=2) as sb:                    # teams apart: keys, users, data, budgets
        sb.teams[2].api_key, sb.teams[2].counters         # sb.api_key, sb.store... are team 1's

Every operation of the v2 definition is served from deterministic seed data; the cost budget,
paging, filters, validation, webhooks and OAuth behave as Salesloft documents them.  From a shell:
`salesloft-async sandbox --port 8787`; from pytest: the `salesloft_sandbox` fixture.
"""

from __future__ import annotations

from .config import (
    ADDITIVE_COST_TABLE,
    TOTAL_COST_TABLE,
    ManualClock,
    OAuthClientInfo,
    SandboxConfig,
)
from .faults import FaultRule, Faults
from .server import Sandbox
from .webhooks import sign

__all__ = [
    "ADDITIVE_COST_TABLE",
    "TOTAL_COST_TABLE",
    "FaultRule",
    "Faults",
    "ManualClock",
    "OAuthClientInfo",
    "Sandbox",
    "SandboxConfig",
    "sign",
]
