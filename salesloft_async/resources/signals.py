"""Signals an integration sends, the registrations that describe them, and the plays they start."""

from __future__ import annotations

from ._generated import PlayRegistrationsBase, SignalRegistrationsBase, SignalsBase

__all__ = ["PlayRegistrations", "SignalRegistrations", "Signals"]


class Signals(SignalsBase):
    """Signals: `create(..., idempotency_key=...)` may be resent safely, so it is retried."""


class SignalRegistrations(SignalRegistrationsBase):
    """Signal types an integration registers."""


class PlayRegistrations(PlayRegistrationsBase):
    """Plays (tasks) a signal registration can start."""
