"""Phone numbers: caller ids, assignments, recording settings."""

from __future__ import annotations

from ._generated import CallerIdsBase, PhoneNumberAssignmentsBase, RecordingSettingsBase

__all__ = ["CallerIds", "PhoneNumberAssignments", "RecordingSettings"]


class CallerIds(CallerIdsBase):
    """Caller ids that would show for a person (`/v2/phone_numbers/caller_ids`); not paged."""


class PhoneNumberAssignments(PhoneNumberAssignmentsBase):
    """Phone numbers assigned to users."""


class RecordingSettings(RecordingSettingsBase):
    """Whether calls to a phone number are recorded."""
