"""Meetings, meeting settings, and calendar events."""

from __future__ import annotations

from ._generated import CalendarEventsBase, MeetingRescheduleLinksBase, MeetingsBase

__all__ = ["CalendarEvents", "MeetingRescheduleLinks", "Meetings"]


class Meetings(MeetingsBase):
    """Meetings booked through Salesloft.

    Meeting settings live here too: `search_settings()` and `update_setting()`.
    """


class CalendarEvents(CalendarEventsBase):
    """Calendar events; `upsert()` writes one from an external calendar."""


class MeetingRescheduleLinks(MeetingRescheduleLinksBase):
    """A link a person can use to reschedule a meeting."""
