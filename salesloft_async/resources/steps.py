"""Cadence steps and the actions they generate."""

from __future__ import annotations

from ._generated import ActionsBase, CallInstructionsBase, OngoingActionsBase, StepsBase

__all__ = ["Actions", "CallInstructions", "OngoingActions", "Steps"]


class Steps(StepsBase):
    """Steps of cadences."""


class Actions(ActionsBase):
    """Actions due: the next step to do for a person."""


class CallInstructions(CallInstructionsBase):
    """Call instructions of call steps (`/v2/action_details/call_instructions`)."""


class OngoingActions(OngoingActionsBase):
    """Mark an action as being worked on."""
