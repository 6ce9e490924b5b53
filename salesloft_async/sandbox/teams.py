"""One Salesloft team inside the sandbox: its API key, data, cost budget, webhooks and handlers.

Salesloft keeps teams apart: each has its own records, its own budget per window and its own
webhook subscriptions, and every token acts as one user of one team.  A sandbox with `teams=N`
builds N of these from one configuration, so that a client serving many teams can be tested
against a server that keeps their budgets apart.  Team 1 is the sandbox's default team, seeded
exactly as a one-team sandbox; team t seeds from ``seed + t - 1``, so its data differs.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from aiohttp import web

from .api import Api, build_api
from .budget import ServerBudget
from .bulk import Spawn
from .config import SandboxConfig, resolve_cost_table
from .resources import ResourceInfo
from .seed import seed_store
from .store import Store
from .webhooks import WebhookDispatcher

__all__ = ["Team", "build_team", "team_api_key"]


@dataclass(eq=False)
class Team:
    """What one team owns; `Sandbox.teams` maps each team id to one."""

    id: int
    api_key: str = field(repr=False)
    config: SandboxConfig = field(repr=False)
    store: Store = field(repr=False)
    budget: ServerBudget = field(repr=False)
    webhooks: WebhookDispatcher = field(repr=False)
    api: Api = field(repr=False)
    #: this team's "requests", "cost" and "rate_limited" (Sandbox.counters keeps the totals)
    counters: Counter[str] = field(default_factory=Counter, repr=False)

    def seed(self, base_url: str, infos: dict[str, ResourceInfo]) -> None:
        """Fill the store once the server's URL is known (the `_href`s carry it)."""
        self.store.base_url = base_url
        seed_store(self.store, self.config, infos)
        if self.id != 1:  # the seed data names team 1 as every user's team
            users = self.store["users"]
            for rid, record in users.records.items():
                if isinstance(record.get("team"), dict):
                    record["team"] = {**record["team"], "id": self.id}
                    users.forget(rid)


def team_api_key(config: SandboxConfig, team_id: int) -> str:
    """Team 1's key is the configured one; team t's is ``<key>_t`` (random when none is set)."""
    if not config.api_key:
        return f"ak_{secrets.token_hex(24)}"
    return config.api_key if team_id == 1 else f"{config.api_key}_{team_id}"


def build_team(
    team_id: int,
    config: SandboxConfig,
    infos: dict[str, ResourceInfo],
    *,
    counters: Counter[str],
    spawn: Spawn,
    sleep: Callable[[float], Awaitable[None]],
    user_of: Callable[[web.Request], int | None],
) -> Team:
    own = config if team_id == 1 else replace(config, seed=config.seed + team_id - 1)
    store = Store("")  # its base URL is filled in, and the data seeded, once the port is bound
    webhooks = WebhookDispatcher(
        store.collection("webhook_subscriptions"),
        counters,
        retries=config.webhook_retries,
        retry_delay=config.webhook_retry_delay,
        sleep=sleep,
    )
    budget = ServerBudget(
        clock=config.clock,
        limit=config.budget,
        window=config.window,
        cost_table=resolve_cost_table(config.cost_table),
        background_spend=config.background_spend,
    )
    api = build_api(
        store,
        config.clock,
        infos,
        spawn=spawn,
        emit=webhooks.emit,
        user_of=user_of,
        allow_remote_webhooks=config.allow_remote_webhooks,
    )
    return Team(team_id, team_api_key(config, team_id), own, store, budget, webhooks, api)
