"""Typed webhook events: what a verified delivery means, decoded into the project's models.

Salesloft sends the bare changed record; what happened to it is only in the event-type header
(``person_updated``).  An `Event` carries both halves: the type, its action (``created``,
``updated``, ``deleted``, ``completed``, ``booked``) and the record decoded into the model of its
kind.  ``link_swap`` is not a record change but a question (which links to put in an email), so
it becomes a `LinkSwapEvent` whose handler answers it.  Types this package does not model (the
conversation events, anything Salesloft adds later) become an `UnknownEvent` that keeps the decoded
JSON, so that a new event type never breaks a receiver.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import attrs

from ..bodies import loads
from ..errors import WebhookPayloadError
from ..models import (
    Account,
    BulkJob,
    Cadence,
    CadenceMembership,
    Call,
    CallDataRecord,
    Email,
    Meeting,
    Model,
    Note,
    Person,
    Step,
    Success,
    Task,
    User,
)
from ._records import decode_record

__all__ = [
    "ACTIONS",
    "EVENT_TYPES",
    "LINK_SWAP",
    "AccountEvent",
    "BulkJobEvent",
    "CadenceEvent",
    "CadenceMembershipEvent",
    "CallDataRecordEvent",
    "CallEvent",
    "EmailEvent",
    "Event",
    "LinkSwap",
    "LinkSwapEvent",
    "MeetingEvent",
    "NoteEvent",
    "PersonEvent",
    "StepEvent",
    "SuccessEvent",
    "TaskEvent",
    "UnknownEvent",
    "UserEvent",
    "WebhookPayloadError",
    "parse_event",
    "split_event_type",
]

#: The one event type whose delivery waits for an answer (see `LinkSwapEvent`).
LINK_SWAP = "link_swap"

#: The verbs Salesloft appends to a record kind to name an event type.
ACTIONS = frozenset({"created", "updated", "deleted", "completed", "booked"})

R = TypeVar("R")


@attrs.frozen(kw_only=True)
class Event(Generic[R]):
    """One delivery: `event_type` as sent, its `action`, the decoded `record`, and the `raw` JSON.

    `raw` is the JSON value exactly as decoded, for fields a model does not name yet.
    """

    #: the record kind this class stands for ("person"); empty on `UnknownEvent`
    kind: ClassVar[str] = ""

    event_type: str
    action: str | None
    record: R
    raw: Any = attrs.field(repr=False, eq=False)

    @property
    def record_id(self) -> int | None:
        """The changed record's id, when the payload has an integer one."""
        rid = self.raw.get("id") if isinstance(self.raw, Mapping) else None
        return rid if isinstance(rid, int) and not isinstance(rid, bool) else None


@attrs.frozen(kw_only=True)
class PersonEvent(Event[Person]):
    kind: ClassVar[str] = "person"


@attrs.frozen(kw_only=True)
class AccountEvent(Event[Account]):
    kind: ClassVar[str] = "account"


@attrs.frozen(kw_only=True)
class CadenceEvent(Event[Cadence]):
    kind: ClassVar[str] = "cadence"


@attrs.frozen(kw_only=True)
class CadenceMembershipEvent(Event[CadenceMembership]):
    kind: ClassVar[str] = "cadence_membership"


@attrs.frozen(kw_only=True)
class CallEvent(Event[Call]):
    kind: ClassVar[str] = "call"


@attrs.frozen(kw_only=True)
class CallDataRecordEvent(Event[CallDataRecord]):
    kind: ClassVar[str] = "call_data_record"


@attrs.frozen(kw_only=True)
class EmailEvent(Event[Email]):
    kind: ClassVar[str] = "email"


@attrs.frozen(kw_only=True)
class MeetingEvent(Event[Meeting]):
    kind: ClassVar[str] = "meeting"


@attrs.frozen(kw_only=True)
class NoteEvent(Event[Note]):
    kind: ClassVar[str] = "note"


@attrs.frozen(kw_only=True)
class StepEvent(Event[Step]):
    kind: ClassVar[str] = "step"


@attrs.frozen(kw_only=True)
class SuccessEvent(Event[Success]):
    kind: ClassVar[str] = "success"


@attrs.frozen(kw_only=True)
class TaskEvent(Event[Task]):
    kind: ClassVar[str] = "task"


@attrs.frozen(kw_only=True)
class UserEvent(Event[User]):
    kind: ClassVar[str] = "user"


@attrs.frozen(kw_only=True)
class BulkJobEvent(Event[BulkJob]):
    kind: ClassVar[str] = "bulk_job"


@attrs.frozen(kw_only=True)
class LinkSwap:
    """What a ``link_swap`` delivery asks about: the links of one email about to be sent.

    Ids and addresses are None when the delivery leaves them out.
    """

    links: tuple[str, ...]
    user_id: int | None = None
    user_email: str | None = None
    team_id: int | None = None
    mailing_id: int | None = None
    email_id: int | None = None
    person_id: int | None = None
    person_email: str | None = None


@attrs.frozen(kw_only=True)
class LinkSwapEvent(Event[LinkSwap]):
    """``link_swap``: Salesloft waits for the answer.  Its handler returns ``{old: new}`` for the
    links to replace (`LinkSwap.links` lists them); the receiver sends that back as
    ``{"links": {...}}``.  Links left out of the map are kept as they are.
    """

    kind: ClassVar[str] = "link_swap"


@attrs.frozen(kw_only=True)
class UnknownEvent(Event[Any]):
    """A type this package does not model: `record` is the decoded JSON, untouched."""


#: record kind -> (event class, model class)
_KINDS: dict[str, tuple[type[Event[Any]], type[Model]]] = {
    "person": (PersonEvent, Person),
    "account": (AccountEvent, Account),
    "cadence": (CadenceEvent, Cadence),
    "cadence_membership": (CadenceMembershipEvent, CadenceMembership),
    "call": (CallEvent, Call),
    "call_data_record": (CallDataRecordEvent, CallDataRecord),
    "email": (EmailEvent, Email),
    "meeting": (MeetingEvent, Meeting),
    "note": (NoteEvent, Note),
    "step": (StepEvent, Step),
    "success": (SuccessEvent, Success),
    "task": (TaskEvent, Task),
    "user": (UserEvent, User),
    "bulk_job": (BulkJobEvent, BulkJob),
}

#: The event types Salesloft documents (a receiver may still get others: they parse as unknown).
EVENT_TYPES: tuple[str, ...] = (
    "account_created",
    "account_updated",
    "account_deleted",
    "bulk_job_completed",
    "cadence_created",
    "cadence_updated",
    "cadence_deleted",
    "cadence_membership_created",
    "cadence_membership_updated",
    "call_created",
    "call_updated",
    "call_data_record_created",
    "call_data_record_updated",
    "conversation_created",
    "conversation_recording_created",
    "conversation_transcript_created",
    "email_updated",
    "link_swap",
    "meeting_booked",
    "meeting_updated",
    "note_created",
    "note_updated",
    "note_deleted",
    "person_created",
    "person_updated",
    "person_deleted",
    "step_created",
    "step_updated",
    "step_deleted",
    "success_created",
    "task_created",
    "task_updated",
    "task_completed",
    "task_deleted",
    "user_created",
    "user_updated",
)


def split_event_type(event_type: str) -> tuple[str, str | None]:
    """``"cadence_membership_created"`` -> ``("cadence_membership", "created")``.

    A type that does not end in a known action (``link_swap``) is all kind and no action.
    """
    kind, sep, action = event_type.rpartition("_")
    if sep and kind and action in ACTIONS:
        return kind, action
    return event_type, None


def event_class_for(event_type: str) -> type[Event[Any]]:
    """The class `parse_event` builds for `event_type` (`UnknownEvent` when not modelled)."""
    if event_type == LINK_SWAP:
        return LinkSwapEvent
    kind, action = split_event_type(event_type)
    entry = _KINDS.get(kind) if action is not None else None
    return entry[0] if entry else UnknownEvent


def parse_event(event_type: str, body: bytes | str | Mapping[str, Any]) -> Event[Any]:
    """Build the typed event for a delivery that has already been verified.

    `body` is the raw request body (bytes or text) or, for callers that decoded it themselves, the
    JSON object.  Raises `WebhookPayloadError` for a body that is not JSON, or that is not an
    object for a modelled type, or whose record does not decode into its model.
    """
    if not isinstance(event_type, str) or not event_type:
        raise WebhookPayloadError("webhook event type is missing")
    raw = _load(body)
    if event_type == LINK_SWAP:
        return LinkSwapEvent(event_type=event_type, action=None, record=_link_swap(raw), raw=raw)
    kind, action = split_event_type(event_type)
    entry = _KINDS.get(kind) if action is not None else None
    if entry is None:
        return UnknownEvent(event_type=event_type, action=action, record=raw, raw=raw)
    cls, model = entry
    if not isinstance(raw, Mapping):
        raise WebhookPayloadError(
            f"{event_type} payload is a JSON {type(raw).__name__}, not the {kind} object expected"
        )
    try:
        record = decode_record(model, raw)
    except Exception as exc:  # a bad date, a wrong type...: none may escape as-is
        raise WebhookPayloadError(
            f"{event_type} payload does not decode into {model.__name__}: {type(exc).__name__}"
        ) from exc
    return cls(event_type=event_type, action=action, record=record, raw=raw)


def _link_swap(raw: Any) -> LinkSwap:
    links = raw.get("links") if isinstance(raw, Mapping) else None
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise WebhookPayloadError("link_swap payload has no list of links")

    def ref(name: str, field: str) -> Any:
        part = raw.get(name)
        value = part.get(field) if isinstance(part, Mapping) else None
        if field == "id":
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        return value if isinstance(value, str) else None

    return LinkSwap(
        links=tuple(links),
        user_id=ref("user", "id"),
        user_email=ref("user", "email"),
        team_id=ref("team", "id"),
        mailing_id=ref("mailing", "id"),
        email_id=ref("email", "id"),
        person_id=ref("person", "id"),
        person_email=ref("person", "email"),
    )


def _load(body: bytes | str | Mapping[str, Any]) -> Any:
    if isinstance(body, Mapping):
        return body
    if isinstance(body, bytes | bytearray | memoryview | str):
        try:
            return loads(bytes(body) if not isinstance(body, str) else body)
        except ValueError as exc:  # bad JSON, bad UTF-8, absurd nesting
            raise WebhookPayloadError("webhook body is not valid JSON") from exc
    raise WebhookPayloadError(f"webhook body must be bytes, str or a mapping, not {type(body)}")
