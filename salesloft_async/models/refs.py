"""Typed references: the `{"id": 1, "_href": "..."}` objects that records embed.

A record points at its neighbours by reference rather than embedding them.  The class of a
reference says what it points at, so `person.account` is an `AccountRef` and
`getattr(sl, ref.resource).get(ref.id)` fetches the record; `Ref` is the fallback where the
definition does not say.  References are decoded on every record of every page, so they are
small slotted classes with a positional constructor.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

__all__ = [
    "AccountRef",
    "AccountStageRef",
    "AccountTierRef",
    "ActionRef",
    "CadenceRef",
    "CallRef",
    "ConversationRef",
    "CrmActivityRef",
    "EmailRef",
    "EmailTemplateRef",
    "GroupRef",
    "ImportRef",
    "MimeEmailPayloadRef",
    "NoteRef",
    "OpportunityRef",
    "PersonRef",
    "PersonStageRef",
    "PhoneNumberAssignmentRef",
    "Ref",
    "SignalRegistrationRef",
    "StepRef",
    "TaskRef",
    "TeamRef",
    "TeamTemplateRef",
    "TranscriptionRef",
    "UserRef",
]


@attrs.define(slots=True)
class Ref:
    """A reference to another record; `raw` keeps anything besides id and _href."""

    id: Any = None
    href: str | None = None
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    #: the SalesloftClient attribute that fetches the target ("" when unknown)
    resource: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "_href": self.href} if self.href is not None else {"id": self.id}


class AccountRef(Ref):
    """A reference to an account (`sl.accounts`)."""

    __slots__ = ()
    resource = "accounts"


class AccountStageRef(Ref):
    __slots__ = ()
    resource = "account_stages"


class AccountTierRef(Ref):
    __slots__ = ()
    resource = "account_tiers"


class ActionRef(Ref):
    __slots__ = ()
    resource = "actions"


class CadenceRef(Ref):
    __slots__ = ()
    resource = "cadences"


class CallRef(Ref):
    __slots__ = ()
    resource = "calls"


class CrmActivityRef(Ref):
    __slots__ = ()
    resource = "crm_activities"


class EmailRef(Ref):
    __slots__ = ()
    resource = "emails"


class EmailTemplateRef(Ref):
    __slots__ = ()
    resource = "email_templates"


class GroupRef(Ref):
    __slots__ = ()
    resource = "groups"


class ImportRef(Ref):
    __slots__ = ()
    resource = "imports"


class MimeEmailPayloadRef(Ref):
    __slots__ = ()
    resource = "mime_email_payloads"


class NoteRef(Ref):
    __slots__ = ()
    resource = "notes"


class PersonRef(Ref):
    __slots__ = ()
    resource = "people"


class PersonStageRef(Ref):
    __slots__ = ()
    resource = "person_stages"


class PhoneNumberAssignmentRef(Ref):
    __slots__ = ()
    resource = "phone_number_assignments"


class StepRef(Ref):
    __slots__ = ()
    resource = "steps"


class TaskRef(Ref):
    __slots__ = ()
    resource = "tasks"


class TeamRef(Ref):
    __slots__ = ()
    resource = "team"


class TeamTemplateRef(Ref):
    __slots__ = ()
    resource = "team_templates"


class UserRef(Ref):
    __slots__ = ()
    resource = "users"


class ConversationRef(Ref):
    __slots__ = ()
    resource = "conversations"


class OpportunityRef(Ref):
    __slots__ = ()
    resource = "opportunities"


class SignalRegistrationRef(Ref):
    __slots__ = ()
    resource = "signal_registrations"


class TranscriptionRef(Ref):
    __slots__ = ()
    resource = "transcriptions"
