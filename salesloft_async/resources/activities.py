"""Activities: calls, emails, tasks, notes, successes, and the activity feed."""

from __future__ import annotations

from ._generated import (
    ActivitiesBase,
    ActivityHistoriesBase,
    BulkRescheduleTasksBase,
    CallsBase,
    EmailsBase,
    NotesBase,
    SuccessesBase,
    TasksBase,
    ThirdPartyLiveFeedItemsBase,
)

__all__ = [
    "Activities",
    "ActivityHistories",
    "BulkRescheduleTasks",
    "Calls",
    "Emails",
    "Notes",
    "Successes",
    "Tasks",
    "ThirdPartyLiveFeedItems",
]


class Activities(ActivitiesBase):
    """Create a generic activity (completes a task or step)."""


class Calls(CallsBase):
    """Logged calls (`/v2/activities/calls`)."""


class Emails(EmailsBase):
    """Sent and received emails (`/v2/activities/emails`)."""


class Tasks(TasksBase):
    """Tasks assigned to users."""


class Notes(NotesBase):
    """Notes on people and accounts."""


class ActivityHistories(ActivityHistoriesBase):
    """The activity feed: every past activity the application can see."""


class Successes(SuccessesBase):
    """Successes: people marked as having converted."""


class ThirdPartyLiveFeedItems(ThirdPartyLiveFeedItemsBase):
    """Items an integration posts to a user's live feed."""


class BulkRescheduleTasks(BulkRescheduleTasksBase):
    """Move many tasks to a new due date in one request."""
