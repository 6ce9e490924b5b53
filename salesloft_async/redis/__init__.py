"""Shared state for many processes and hosts: a team's cost budget and OAuth tokens in Redis.

Needs the ``redis`` extra (``pip install 'salesloft-async[redis]'``).  Keys are named per team, with
the team in a Redis Cluster hash tag so that one script's keys always share a slot:

    salesloft:{<team>}:budget          the budget (plus :q, :qi, :costs, :fly, :seq beside it)
    salesloft:{<team>}:token:<user>    one user's OAuth token (plus :lock beside it)
"""

from __future__ import annotations

from ._compat import RedisKeyError
from .budget import RedisBudget, RedisReservation, SharedBudgetStats
from .tokens import RedisTokenStore

__all__ = [
    "RedisBudget",
    "RedisKeyError",
    "RedisReservation",
    "RedisTokenStore",
    "SharedBudgetStats",
    "budget_key",
    "token_key",
]


def budget_key(team: str | int, *, prefix: str = "salesloft") -> str:
    """The budget key every worker of `team` shares: ``salesloft:{team}:budget``."""
    return f"{prefix}:{{{team}}}:budget"


def token_key(team: str | int, user: str | int, *, prefix: str = "salesloft") -> str:
    """Where `user`'s OAuth token lives: ``salesloft:{team}:token:{user}``."""
    return f"{prefix}:{{{team}}}:token:{user}"
