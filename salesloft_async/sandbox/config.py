"""How a sandbox is shaped: data sizes, the cost budget, timing knobs, and the OAuth test client.

Everything is in one frozen value so that a test can say exactly which Salesloft it wants and a
benchmark can print the configuration it measured.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ..clock import ManualClock
from ..errors import ConfigurationError
from .faults import FaultRule

__all__ = [
    "ADDITIVE_COST_TABLE",
    "MAX_RECORDS",
    "MAX_TEAMS",
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


#: The most records one collection may hold, and the most people of all teams together.  The
#: sandbox keeps everything in memory: 200,000 people (with their accounts, activities and
#: cadence memberships) take about 1 GB and 45 s to seed, so this is about 5 GB and several
#: minutes, more than a demo, a test or a benchmark here needs.  A larger number is a typo.
MAX_RECORDS = 1_000_000
#: The most teams one sandbox serves: each has its own users, cadences and budget.
MAX_TEAMS = 1_000


@dataclass(frozen=True)
class SandboxConfig:
    """What the sandbox serves and how strictly.  Defaults are Salesloft's own numbers.

    Every field is checked when the config is built: a count below 0 or above `MAX_RECORDS`, a
    time that is negative, nan or infinite, a budget below 1 and a team count outside 1 to
    `MAX_TEAMS` are refused with a `ConfigurationError` naming each problem.

    :param seed: seeds the generated data and the faults' dice: the same seed, the same sandbox.
    :param people: people per team.
    :param accounts: accounts per team (None: one per five people, at least 5).
    :param users: users per team.
    :param cadences: cadences per team.
    :param sizes: counts for the other collections ("cadence_memberships", "calls", "emails",
        "tasks", "notes", "steps", or any other resource name); missing ones are derived from
        `people`.
    :param big_cluster: people in the one large cluster sharing an `updated_at` (a bulk import).
    :param window: seconds of one budget window (Salesloft: 60).
    :param budget: cost each team may spend per window (Salesloft: 600).
    :param cost_table: deep-page costs: "total" (Salesloft's table read as the whole cost of a
        call), "additive" (the API guide's reading) or explicit (first page, cost) bands.
    :param background_spend: cost the team's other integrations spend in every window, spread
        evenly over it.
    :param token_ttl: seconds an OAuth access token lives.
    :param webhook_retry_delay: seconds before a failed webhook delivery is retried.
    :param webhook_retries: retries of a failed delivery.
    :param latency: seconds added to every API answer.
    :param faults: rules for what goes wrong (`FaultRule`); more can be added while it runs.
    :param api_key: team 1's API key (None: a random one); team t's is ``<api_key>_t``.
    :param teams: teams served, each with its own API key, OAuth users, data and budget.
    :param client_id: the OAuth test client's id.
    :param client_secret: its secret (None: a random one).
    :param redirect_uri: the redirect URI registered for it.
    :param clock: the time the budget, tokens and `Date` headers use (`ManualClock` in tests).
    :param allow_remote_webhooks: deliver webhooks to any http(s) URL; by default only to
        loopback ones, so that a snippet pointed at the sandbox never posts its data off the
        machine.
    """

    seed: int = 1
    people: int = 25_000
    accounts: int | None = None
    users: int = 25
    cadences: int = 60
    sizes: Mapping[str, int] = field(default_factory=dict)
    big_cluster: int = 250
    window: float = 60.0
    budget: int = 600
    cost_table: Literal["total", "additive"] | CostTable = "total"
    background_spend: int = 0
    token_ttl: float = 7200.0
    webhook_retry_delay: float = 15.0
    webhook_retries: int = 3
    latency: float = 0.0
    faults: tuple[FaultRule, ...] = ()
    api_key: str | None = None
    teams: int = 1
    client_id: str = "sandbox-client"
    client_secret: str | None = field(default=None, repr=False)
    redirect_uri: str = "http://127.0.0.1:8765/callback"
    clock: Callable[[], float] = time.time
    allow_remote_webhooks: bool = False

    def __post_init__(self) -> None:
        records = {"people": self.people, "users": self.users, "cadences": self.cadences}
        records.update(accounts=self.accounts or 0, big_cluster=self.big_cluster)
        records.update(self.sizes)
        counts = {"background_spend": self.background_spend}
        counts.update(webhook_retries=self.webhook_retries)
        problems = [
            f"{name} must be at least 0, got {n}"
            for name, n in {**records, **counts}.items()
            if n < 0
        ]
        problems += [
            f"{name} must be at most {MAX_RECORDS:,} (the sandbox holds everything in memory),"
            f" got {n:,}"
            for name, n in records.items()
            if n > MAX_RECORDS
        ]
        if self.budget < 1:
            problems.append(f"budget must be at least 1, got {self.budget}")
        if not 1 <= self.teams <= MAX_TEAMS:
            problems.append(f"teams must be from 1 to {MAX_TEAMS:,}, got {self.teams:,}")
        elif self.people <= MAX_RECORDS < self.people * self.teams:
            problems.append(
                f"teams x people must be at most {MAX_RECORDS:,} (the sandbox holds everything"
                f" in memory), got {self.teams:,} x {self.people:,}"
            )
        spans = {"latency": self.latency, "webhook_retry_delay": self.webhook_retry_delay}
        problems += [
            f"{name} must be a finite number of seconds, at least 0, got {v}"
            for name, v in spans.items()
            if not 0 <= v < math.inf
        ]
        for name, value in (("window", self.window), ("token_ttl", self.token_ttl)):
            if not 0 < value < math.inf:
                problems.append(f"{name} must be a finite number of seconds above 0, got {value}")
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
