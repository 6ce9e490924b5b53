"""Misbehaviour on demand, so that reliability code can be tested against real sockets.

A rule matches request paths (fnmatch by default, a regular expression when `regex=True`) and says
what goes wrong: extra latency (fixed plus jitter), a share of 5xx answers, dropped connections
(the transport is closed without an answer) and truncated bodies (a Content-Length is promised,
half is sent).  Draws come from one seeded generator, so a run is repeatable.
"""

from __future__ import annotations

import fnmatch
import math
import random
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from ..errors import ConfigurationError

__all__ = ["FaultDecision", "FaultRule", "Faults"]

Action = Literal["none", "error", "drop", "truncate"]


@dataclass(eq=False)
class FaultRule:
    """What goes wrong for the requests whose path matches; added with ``sb.faults.add(...)``.

    :param pattern: the request paths it applies to: an fnmatch pattern of the whole path
        (``"/v2/people*"``), or a regular expression searched in it when `regex` is set.
    :param latency: seconds added to every matching request.
    :param jitter: up to this many seconds more, drawn anew for each request.
    :param error_rate: share of matching requests answered with `error_status`.
    :param error_status: the status of those answers.
    :param drop_rate: share of matching requests whose connection is closed without an answer.
    :param truncate_rate: share of matching requests whose body stops halfway through the
        promised Content-Length.
    :param methods: the HTTP methods it applies to (None: every method).
    :param regex: read `pattern` as a regular expression.
    :param times: stop applying after this many matching requests (None: forever).
    """

    pattern: str
    latency: float = 0.0
    jitter: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    drop_rate: float = 0.0
    truncate_rate: float = 0.0
    methods: frozenset[str] | None = None
    regex: bool = False
    #: stop applying after this many matching requests (None: forever)
    times: int | None = None
    hits: int = field(default=0, init=False)
    _compiled: re.Pattern[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        problems = [
            f"{name} must be a share from 0 to 1, got {value}"
            for name, value in (
                ("error_rate", self.error_rate),
                ("drop_rate", self.drop_rate),
                ("truncate_rate", self.truncate_rate),
            )
            if not 0 <= value <= 1
        ]
        problems += [
            f"{name} must be a finite number of seconds, at least 0, got {value}"
            for name, value in (("latency", self.latency), ("jitter", self.jitter))
            if not 0 <= value < math.inf
        ]
        if not 400 <= self.error_status <= 599:
            problems.append(
                f"error_status must be an HTTP error, 400 to 599, got {self.error_status}"
            )
        if self.times is not None and self.times < 0:
            problems.append(f"times must be at least 0, got {self.times}")
        if problems:
            raise ConfigurationError(f"fault {self.pattern!r}: " + "; ".join(problems))
        source = self.pattern if self.regex else fnmatch.translate(self.pattern)
        self._compiled = re.compile(source)
        if self.methods is not None:
            self.methods = frozenset(m.upper() for m in self.methods)

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.hits >= self.times:
            return False
        if self.methods is not None and method.upper() not in self.methods:
            return False
        if self.regex:
            return self._compiled.search(path) is not None
        return self._compiled.match(path) is not None


@dataclass(frozen=True, slots=True)
class FaultDecision:
    delay: float = 0.0
    action: Action = "none"
    status: int = 503


NO_FAULT = FaultDecision()


class Faults:
    """The live rule set of one sandbox; tests add and clear rules while it runs.

    :param seed: seeds the draws (which request fails, how much jitter), so a run is repeatable.
    :param rules: the rules to start with.
    """

    def __init__(self, seed: int = 0, rules: Iterable[FaultRule] = ()) -> None:
        self._rng = random.Random(f"faults:{seed}")
        self.rules: list[FaultRule] = list(rules)

    def add(self, pattern: str | FaultRule, **options: object) -> FaultRule:
        rule = pattern if isinstance(pattern, FaultRule) else FaultRule(pattern, **options)  # type: ignore[arg-type]
        self.rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        self.rules.remove(rule)

    def clear(self) -> None:
        self.rules.clear()

    def decide(self, method: str, path: str) -> FaultDecision:
        """Draw what happens to one request; the first matching rule with an action wins."""
        if not self.rules:
            return NO_FAULT
        delay = 0.0
        action: Action = "none"
        status = 503
        for rule in self.rules:
            if not rule.matches(method, path):
                continue
            rule.hits += 1
            delay += rule.latency
            if rule.jitter:
                delay += self._rng.uniform(0.0, rule.jitter)
            if action != "none":
                continue
            draw = self._rng.random()
            if draw < rule.drop_rate:
                action = "drop"
            elif draw < rule.drop_rate + rule.truncate_rate:
                action = "truncate"
            elif draw < rule.drop_rate + rule.truncate_rate + rule.error_rate:
                action, status = "error", rule.error_status
        if delay == 0.0 and action == "none":
            return NO_FAULT
        return FaultDecision(delay=delay, action=action, status=status)
