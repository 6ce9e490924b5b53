"""How a sandbox is shaped: data sizes, the cost budget, timing knobs, and the OAuth test client.

Everything is in one frozen value so that a test can say exactly which Salesloft it wants and a
benchmark can print the configuration it measured.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..clock import ManualClock
from ..errors import ConfigurationError
from .faults import FaultRule

__all__ = [
    "ADDITIVE_COST_TABLE",
    "TOTAL_COST_TABLE",
    "CostTable",
    "ManualClock",
    "OAuthClientInfo",
    "SandboxConfig",
    "page_cost",
    "resolve_cost_table",
]

#: (first page of the band, cost of one page in it), ascending.  Salesloft's own page heads the
#: table "Page # / Total Cost", so by default the number is the whole cost of the call.
CostTable = tuple[tuple[int, int], ...]
TOTAL_COST_TABLE: CostTable = ((1, 1), (101, 3), (151, 8), (251, 10), (501, 30))
#: The API guide's reading: the same numbers added to the base cost of 1.
ADDITIVE_COST_TABLE: CostTable = ((1, 1), (101, 4), (151, 9), (251, 11), (501, 31))


def resolve_cost_table(table: Literal["total", "additive"] | CostTable) -> CostTable:
    if table == "total":
        return TOTAL_COST_TABLE
    if table == "additive":
        return ADDITIVE_COST_TABLE
    if isinstance(table, str) or not table:
        raise ValueError(f"cost_table must be 'total', 'additive' or bands; got {table!r}")
    return tuple(sorted((int(first), int(cost)) for first, cost in table))


def page_cost(table: CostTable, page: int) -> int:
    cost = table[0][1]
    for first, band_cost in table:
        if page >= first:
            cost = band_cost
        else:
            break
    return cost


@dataclass(frozen=True, slots=True)
class OAuthClientInfo:
    """The OAuth application the sandbox knows; the secret stays out of repr."""

    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox serves and how strictly.  Defaults are Salesloft's own numbers."""

    seed: int = 1
    people: int = 25_000
    #: None: one account per five people (5,000 for 25,000), so a small sandbox starts fast
    accounts: int | None = None
    users: int = 25
    cadences: int = 60
    #: counts for the other collections ("cadence_memberships", "calls", "emails", "tasks", "notes",
    #: "steps", or any other resource name); missing ones are derived from `people`.
    sizes: Mapping[str, int] = field(default_factory=dict)
    #: records in the one large cluster of people sharing an `updated_at` (a bulk import)
    big_cluster: int = 250
    window: float = 60.0
    budget: int = 600
    cost_table: Literal["total", "additive"] | CostTable = "total"
    #: cost spent by the team's other integrations in every window, spread evenly over it
    background_spend: int = 0
    token_ttl: float = 7200.0
    webhook_retry_delay: float = 15.0
    webhook_retries: int = 3
    #: fixed latency added to every API answer (seconds)
    latency: float = 0.0
    faults: tuple[FaultRule, ...] = ()
    api_key: str | None = None
    #: teams served, each with its own API key, OAuth users, data and budget (team 1: `api_key`)
    teams: int = 1
    client_id: str = "sandbox-client"
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    clock: Callable[[], float] = time.time
    #: deliver webhooks to any http(s) URL; by default only to loopback ones, so that a snippet
    #: pointed at the sandbox can never post its data off the machine
    allow_remote_webhooks: bool = False

    def __post_init__(self) -> None:
        counts = {"people": self.people, "users": self.users, "cadences": self.cadences}
        counts.update(accounts=self.accounts or 0, big_cluster=self.big_cluster)
        counts.update(background_spend=self.background_spend, webhook_retries=self.webhook_retries)
        counts.update(self.sizes)
        spans = {"latency": self.latency, "webhook_retry_delay": self.webhook_retry_delay}
        problems = [f"{name} must be at least 0, got {n}" for name, n in counts.items() if n < 0]
        problems += [f"{name} must be at least 0, got {v}" for name, v in spans.items() if v < 0]
        if self.budget < 1:
            problems.append(f"budget must be at least 1, got {self.budget}")
        if self.teams < 1:
            problems.append(f"teams must be at least 1, got {self.teams}")
        for name, value in (("window", self.window), ("token_ttl", self.token_ttl)):
            if value <= 0:
                problems.append(f"{name} must be positive, got {value}")
        if problems:
            raise ConfigurationError("sandbox: " + "; ".join(problems))

    def size(self, name: str) -> int:
        if name in self.sizes:
            return int(self.sizes[name])
        accounts = self.accounts if self.accounts is not None else max(5, self.people // 5)
        fixed = {"people": self.people, "accounts": accounts, "users": self.users}
        if name in fixed:
            return fixed[name]
        if name == "cadences":
            return self.cadences
        derived = {
            "cadence_memberships": self.people // 5,
            "calls": self.people // 10,
            "emails": self.people // 5,
            "tasks": self.people // 10,
            "notes": self.people // 10,
            "steps": self.cadences * 4,
            "call_data_records": self.people // 20,
            "actions": self.people // 50,
            "successes": self.people // 100,
            "meetings": self.people // 100,
        }
        if name in derived:
            return max(5, derived[name]) if self.people else 0
        return 20
