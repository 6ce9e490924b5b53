"""What the sandbox knows about each resource, derived from the generated operation table.

One `ResourceInfo` per SalesloftClient attribute (people, calls, caller_ids, ...): its base path,
record schema, operations, which filter reads which record field, and which webhook events its
writes raise.  Reading the same table as the client keeps the two from disagreeing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..spec import Operation, Schema

__all__ = [
    "EVENT_PREFIX",
    "REF_TARGETS",
    "SINGLETONS",
    "ResourceInfo",
    "accessor_for",
    "load_resources",
]

#: embedded reference field -> collection it points into
REF_TARGETS: dict[str, str] = {
    "person": "people",
    "called_person": "people",
    "recipient": "people",
    "last_contacted_person": "people",
    "associated_with": "people",
    "account": "accounts",
    "user": "users",
    "owner": "users",
    "creator": "users",
    "created_by_user": "users",
    "completed_by": "users",
    "last_contacted_by": "users",
    "booked_by_user": "users",
    "cadence": "cadences",
    "latest_cadence": "cadences",
    "last_completed_step_cadence": "cadences",
    "most_recent_cadence": "cadences",
    "step": "steps",
    "latest_step": "steps",
    "last_completed_step": "steps",
    "person_stage": "person_stages",
    "added_stage": "person_stages",
    "bounced_stage": "person_stages",
    "finished_stage": "person_stages",
    "replied_stage": "person_stages",
    "company_stage": "account_stages",
    "account_stage": "account_stages",
    "account_tier": "account_tiers",
    "import": "imports",
    "note": "notes",
    "action": "actions",
    "latest_action": "actions",
    "crm_activity": "crm_activities",
    "task": "tasks",
    "email_template": "email_templates",
    "team_template": "team_templates",
    "group": "groups",
    "accessible_group": "groups",
    "call": "calls",
    "latest_call": "calls",
    "latest_email": "emails",
    "bulk_job": "bulk_jobs",
    "phone_number_assignment": "phone_number_assignments",
    "mailing": "mailings",
    "last_modified_user": "users",
    "most_recent_step": "steps",
    "opportunity": "opportunities",
    "conversation": "conversations",
    "transcription": "transcriptions",
    "signal_registration": "signal_registrations",
}

#: resource -> webhook event prefix (`person` -> person_created, person_updated, person_deleted)
EVENT_PREFIX: dict[str, str] = {
    "people": "person",
    "accounts": "account",
    "tasks": "task",
    "notes": "note",
    "cadence_memberships": "cadence_membership",
    "calls": "call",
    "cadences": "cadence",
    "users": "user",
    "steps": "step",
    "call_data_records": "call_data_record",
    "meetings": "meeting",
    "successes": "success",
}

#: resources with one record and no id in the path
SINGLETONS = frozenset({"me", "team", "profiles"})

#: (resource, action) -> the collection serving a record's sub-resource, and its schema; its
#: records carry the parent's `id` (a UUID), and the path is the parent's plus a suffix
SUB_RESOURCES: dict[tuple[str, str], tuple[str, str]] = {
    ("conversations", "get_extensive"): ("conversation_extensives", "ConversationExtensive"),
    ("conversations", "get_recording"): ("conversation_recordings", "ConversationRecording"),
    ("transcriptions", "get_artifact"): ("transcription_artifacts", "TranscriptionArtifact"),
    ("transcriptions", "list_sentences"): ("transcription_sentences", "TranscriptionSentence"),
}

#: (resource, filter) -> record field it reads, where the name does not say it
FILTER_ALIASES: dict[tuple[str, str], str] = {
    ("people", "email_addresses"): "email_address",
    ("people", "cadence_id"): "cadences",
    ("people", "owned_by_guid"): "owner.guid",
    ("people", "tag_id"): "-",
    ("accounts", "tag"): "tags",
    ("accounts", "archived"): "archived_at?",
    ("accounts", "account_stage_id"): "company_stage",
    ("accounts", "locales"): "locale",
    ("calls", "person_id"): "called_person",
    ("calls", "user_guid"): "user.guid",
    ("call_data_records", "person_id"): "called_person",
    ("call_data_records", "user_guid"): "user.guid",
    ("emails", "person_id"): "recipient",
    ("emails", "email_addresses"): "recipient_email_address",
    ("notes", "associated_with_type"): "associated_type",
    ("notes", "associated_with_id"): "associated_with",
    ("cadences", "owned_by_guid"): "owner.guid",
    ("cadences", "archived"): "archived_at?",
    ("users", "guid"): "guid",
    ("users", "group_id"): "group",
    ("actions", "user_guid"): "user.guid",
    ("opportunities", "tag"): "tags",
    ("conversations", "owner_ids"): "owner_id",
}


@dataclass
class ResourceInfo:
    name: str
    path: str
    schema: str | None = None
    ops: list[Operation] = field(default_factory=list)
    #: serve it from a collection of seeded records
    collection: bool = True
    seeded: bool = True
    #: its records' `id` is a UUID string (conversations, team templates)
    uuid_ids: bool = False

    def schema_obj(self) -> Schema | None:
        from .._operations import SCHEMAS

        return SCHEMAS.get(self.schema) if self.schema else None

    def op(self, action: str) -> Operation | None:
        for op in self.ops:
            if op.action == action:
                return op
        return None


def load_resources() -> dict[str, ResourceInfo]:
    """Group the operation table by resource."""
    from .._operations import OPERATIONS

    infos: dict[str, ResourceInfo] = {}
    for op in OPERATIONS:
        info = infos.get(op.resource)
        if info is None:
            info = infos[op.resource] = ResourceInfo(op.resource, _base_path(op))
        info.ops.append(op)
        if op.action in ("list", "get") and not op.path.endswith("}"):
            info.path = op.path
        if (op.action == "list" and op.schema) or (
            info.schema is None and op.action in ("get", "create") and op.schema
        ):
            info.schema = op.schema
    for info in infos.values():
        if info.name in SINGLETONS:
            info.collection = False
        if not any(op.action in ("list", "get") for op in info.ops):
            info.seeded = False
    infos["meeting_settings"] = ResourceInfo(
        "meeting_settings", "/v2/meetings/settings", "MeetingSetting"
    )
    for (parent, _action), (name, schema) in SUB_RESOURCES.items():
        infos[name] = ResourceInfo(name, infos[parent].path, schema, seeded=False)
    for info in infos.values():
        found = info.schema_obj()
        id_field = next((f for f in found.fields if f.name == "id"), None) if found else None
        info.uuid_ids = id_field is not None and id_field.type == "string"
    return infos


def _base_path(op: Operation) -> str:
    path = op.path
    for suffix in ("/{id}", "/upsert"):
        if path.endswith(suffix):
            return path[: -len(suffix)]
    return path


Getter = Callable[[dict[str, Any]], Any]


def accessor_for(
    resource: str, name: str, sample: dict[str, Any], guid_of: Callable[[int], str | None]
) -> tuple[Getter, bool] | None:
    """How to read a filter's value off a record: (getter, yields-many) or None if unknown."""
    target = FILTER_ALIASES.get((resource, name))
    if target == "-":
        return None
    if target is None:
        if name == "ids":
            target = "id"
        elif name in sample:
            target = name
        elif name.endswith("_ids") and name[:-4] in sample:
            target = name[:-4]
        elif name.endswith("_id") and name[:-3] in sample:
            target = name[:-3]
        elif name.endswith("s") and name[:-1] in sample:
            target = name[:-1]
        elif name.endswith("es") and name[:-2] in sample:
            target = name[:-2]
        else:
            return None
    if target.endswith("?"):
        key = target[:-1]
        return (lambda r: r.get(key) is not None), False
    if "." in target:
        ref_key, _ = target.split(".", 1)

        def by_guid(r: dict[str, Any]) -> Any:
            ref = r.get(ref_key)
            return guid_of(ref["id"]) if isinstance(ref, dict) and "id" in ref else None

        return by_guid, False
    value = sample.get(target)
    if isinstance(value, list):

        def many(r: dict[str, Any]) -> Any:
            items = r.get(target) or []
            return [i["id"] if isinstance(i, dict) else i for i in items]

        return many, True
    if (isinstance(value, dict) and "id" in value) or target in REF_TARGETS:

        def ref_id(r: dict[str, Any]) -> Any:
            ref = r.get(target)
            return ref.get("id") if isinstance(ref, dict) else None

        return ref_id, False
    return (lambda r: r.get(target)), False
