"""Reading Salesloft's current operation list and the field facts of its new resources.

The current list is a conversion of Salesloft's public Postman collection to OpenAPI
(`salesloft-postman-openapi.yml`).  It has no response schemas and types every parameter as a
string, and a few of its entries are garbled.  This module turns it into the same `Operation`
values the older definition gives, so that the rest of the generator renders both alike:

- each garbled entry is read as what it evidently is (READINGS, with the reason for each), and
  each misspelt parameter name as the older file's spelling (MISSPELLINGS);
- an operation both files have keeps the older definition's typing, and gains only the
  parameters the current list adds that a client must be able to send (ADDED_PARAMS);
- an operation only the current list has gets typed parameters (PARAM_TYPES and the rules in
  `param_for`), the paging, filters and sort keys its resource's facts give (`LIST_FACTS`), and
  a schema built from `current-api-fields.yaml` (`build_schemas`);
- `/oauth/token` on the accounts host is not an API operation: `OAuthApp.client_credentials`
  calls it (NOT_RESOURCES).

Nothing here renders code; `generate.py` does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "LIST_FACTS",
    "MISSPELLINGS",
    "NOT_RESOURCES",
    "READINGS",
    "CurrentEntry",
    "build_schemas",
    "read_current",
]

#: (METHOD, path as the conversion writes it) -> (METHOD, /v2 path, why): the garbled entries.
READINGS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("GET", "/activities"): (
        "POST",
        "/v2/activities",
        "N1: summary 'Create an activity' on a GET with no parameters; the older file has POST",
    ),
    ("GET", "/bulk_jobs/{bulk_jobs_id}/job_data/{bulk_jobs_id}"): (
        "GET",
        "/v2/bulk_jobs/{bulk_jobs_id}/job_data",
        "N2: the job id is repeated at the end of the path; the older path has it once",
    ),
    ("POST", "/bulk_jobs/{bulk_jobs_id}/job_data/{bulk_jobs_id}"): (
        "POST",
        "/v2/bulk_jobs/{bulk_jobs_id}/job_data",
        "N2: the job id is repeated at the end of the path; the older path has it once",
    ),
    ("GET", "/pending_emails/{id}"): (
        "PUT",
        "/v2/pending_emails/{id}",
        "N3: summary 'Update a pending email' on a GET; the older file has PUT",
    ),
    ("GET", "/people/199954973"): (
        "DELETE",
        "/v2/people/{id}",
        "N4: summary 'Delete a person' on a GET of a literal id; the older file has DELETE",
    ),
    ("POST", "/configurations"): (
        "POST",
        "/v2/external/configurations",
        "N5: its server is '{{base}}external' (the slash lost); DELETE sits at /external/...",
    ),
    ("POST", "/mappings"): (
        "POST",
        "/v2/external/mappings",
        "N5: its server is '{{base}}external' (the slash lost); DELETE sits at /external/...",
    ),
    ("GET", "/external/configurations"): (
        "GET",
        "/v2/external/configurations",
        "N6: the path is the configurations list; its mapping filters and summary were copied"
        " from the mappings list (EXTRA_OPERATIONS), so only paging and sorting are kept here",
    ),
}

#: Operations of resources the current list adds that it leaves out but an official page shows
#: (the fields file gives the page); each reads a list the current list otherwise cannot read.
EXTRA_OPERATIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/v2/external/mappings"): (
        "List team mappings",
        "https://developer.salesloft.com/docs/api/external-mappings-index/",
    ),
}

#: Query parameters N6 moved from the mappings list to the configurations list.
N6_PARAMS = ("external_type", "deleted", "external_id", "object_type", "object_id")

#: Operations of the conversion served elsewhere than a resource: (METHOD, path) -> by what.
NOT_RESOURCES: dict[tuple[str, str], str] = {
    ("POST", "/oauth/token"): "served by OAuthApp.client_credentials on accounts.salesloft.com",
}

#: Parameter names the conversion misspells on operations both files have -> the older file's
#: spelling, which is the one a method takes (CURRENT-API-DIFF.md's parameter table): only
#: ADDED_PARAMS are taken from the conversion there, and `generate.py` refuses to emit these.
MISSPELLINGS: dict[str, str] = {
    "sort_driection": "sort_direction",  # GET /account_stages
    "user_guid;": "user_guid",  # GET /crm_users
    "action_d": "action_id",  # POST /activities/calls
    "crm_d": "crm_id",  # POST /people, PUT /people/{id}, POST /person_upserts
    "secondary_email_adress": "secondary_email_address",  # the same three
    "person-company_name": "person_company_name",  # the same three
    "crm_id_tyep": "crm_id_type",  # PUT /accounts/{id}
}

#: Parameters the current list adds to operations both files have, which a client must type.
ADDED_PARAMS = frozenset({"scoped_fields", "idempotency_key"})

#: Parameter name -> (type, array), where the name alone does not say it (Postman says "string").
PARAM_TYPES: dict[str, tuple[str, bool]] = {
    "page": ("integer", False),
    "per_page": ("integer", False),
    "include_paging_counts": ("boolean", False),
    "limit_paging_counts": ("boolean", False),
    "deleted": ("boolean", False),
    "dry_run": ("boolean", False),
    "active": ("boolean", False),
    "open_tracking": ("boolean", False),
    "click_tracking": ("boolean", False),
    "shared": ("boolean", False),
    "order": ("integer", False),
    "team_id": ("integer", False),
    "object_id": ("integer", False),
    "external_id": ("string", False),
    "signal_registration_id": ("integer", False),
    "integration_id": ("integer", False),
    "opportunity_id": ("integer", False),
    "tag": ("string", True),
    "tag_id": ("integer", True),
    "crm_id": ("string", True),
    "account_crm_id": ("string", True),
    "owner_crm_id": ("string", True),
    "opportunity_type": ("string", True),
    "owner_id": ("integer", True),
    "person_id": ("integer", True),
    "account_id": ("integer", True),
    "user_id": ("integer", True),
    "associated_account_id": ("integer", True),
    "most_recent_cadence_id": ("integer", True),
    "stage_name": ("string", True),
    "current_state": ("string", True),
    "task_type": ("string", True),
    "request_type": ("string", True),
    "user_guid": ("string", False),
    "language_code": ("string", True),
    "platform": ("string", True),
    "media_type": ("string", True),
    "people_ids": ("integer", True),
    "task_ids": ("integer", True),
    "attachment_ids": ("integer", True),
    "indicators": ("any", True),
    "attribution": ("string", True),
    "schedule": ("object", False),
    "data": ("object", False),
    "data_shape": ("object", False),
    "description": ("object", False),
    "name": ("string", False),
    "label": ("object", False),
    "attributes": ("object", False),
}

#: (resource, parameter) -> (type, array) where one resource differs from the rule above.
RESOURCE_PARAM_TYPES: dict[tuple[str, str], tuple[str, bool]] = {
    # conversations and transcriptions are keyed by UUID strings
    ("conversations", "ids"): ("string", True),
    ("conversations", "owner_ids"): ("string", True),
    ("conversations", "account_ids"): ("integer", True),
    ("conversations", "person_ids"): ("integer", True),
    ("conversations", "user_guids"): ("string", True),
    ("conversations", "is_api"): ("boolean", False),
    ("conversations", "duration"): ("number", False),
    ("transcriptions", "ids"): ("string", True),
    # a description and a name are locale maps on play and signal registrations
    ("play_registrations", "name"): ("object", False),
    ("opportunity_stages", "name"): ("string", False),
    ("email_missing_tags", "body"): ("string", False),
    ("signals", "occurred_at"): ("datetime", False),
    ("signals", "data"): ("object", False),
    ("signals", "attribution"): ("object", False),
    ("signals", "indicators"): ("object", True),
    ("bulk_reschedule_tasks", "due_date"): ("string", False),
    ("data_control", "account_id"): ("integer", False),
}


#: (resource, body field) a write cannot do without, though the conversion marks nothing required
REQUIRED_BODY = frozenset(
    {
        ("bulk_reschedule_tasks", "task_ids"),
        ("bulk_reschedule_tasks", "due_date"),
        ("email_missing_tags", "person_id"),
        ("external_mappings", "external_id"),
        ("external_mappings", "external_type"),
        ("external_mappings", "object_id"),
        ("external_mappings", "object_type"),
        ("external_configurations", "external_type"),
        ("external_configurations", "object_type"),
        ("opportunity_people", "opportunity_id"),
        ("opportunity_people", "person_id"),
        ("signals", "type"),
        ("signals", "occurred_at"),
        ("signal_registrations", "type"),
        ("play_registrations", "signal_registration_id"),
        ("opportunity_stages", "name"),
        ("groups", "name"),
    }
)


#: Parameters that are named by the resource's facts, per resource with a list: the paging its
#: page says, whether `updated_at` filters and sorts it, and its sort keys (None: not documented).
@dataclass(frozen=True)
class ListFacts:
    sort_keys: tuple[str, ...] | None
    default_sort: str | None
    updated_at: bool


LIST_FACTS: dict[str, ListFacts] = {
    "opportunities": ListFacts(("updated_at",), "updated_at", True),
    "opportunity_people": ListFacts(("updated_at",), "updated_at", True),
    "opportunity_stages": ListFacts(("updated_at",), "updated_at", True),
    "conversations": ListFacts(("created_at", "updated_at", "duration"), "updated_at", True),
    "transcriptions": ListFacts(("created_at", "updated_at"), "created_at", True),
    "transcriptions:sentences": ListFacts(None, None, False),
    "account_team_member_roles": ListFacts(None, None, False),
    "crm_account_team_members": ListFacts(None, None, False),
    "external_configurations": ListFacts(None, None, False),
    "external_mappings": ListFacts(("id",), "id", False),
    "signal_registrations": ListFacts(("id", "updated_at"), "updated_at", True),
    "play_registrations": ListFacts(None, None, False),
    "data_control_requests": ListFacts(("inserted_at",), "inserted_at", False),
}

#: resource -> the fields-file section its records follow, and the model name
SCHEMA_OF: dict[str, tuple[str, str]] = {
    "opportunities": ("opportunities", "Opportunity"),
    "opportunity_people": ("opportunity_people", "OpportunityPerson"),
    "opportunity_stages": ("opportunity_stages", "OpportunityStage"),
    "conversations": ("conversations", "Conversation"),
    "conversations:extensive": ("conversations_extensive", "ConversationExtensive"),
    "conversations:recording": ("conversation_recording", "ConversationRecording"),
    "transcriptions": ("transcriptions", "Transcription"),
    "transcriptions:artifact": ("transcription_artifact", "TranscriptionArtifact"),
    "transcriptions:sentences": ("transcription_sentences", "TranscriptionSentence"),
    "account_team_member_roles": ("account_team_member_roles", "AccountTeamMemberRole"),
    "crm_account_team_members": ("crm_account_team_members", "CrmAccountTeamMember"),
    "external_configurations": ("external_configurations", "ExternalConfiguration"),
    "external_mappings": ("external_mappings", "ExternalMapping"),
    "signal_registrations": ("signal_registrations", "SignalRegistration"),
    "play_registrations": ("play_registrations", "PlayRegistration"),
    "data_control_requests": ("data_control_requests", "DataControlRequest"),
    "data_control": ("data_control_requests", "DataControlRequest"),
    "cadence_stats": ("cadence_stats", "CadenceStats"),
    "profiles": ("profiles", "Profile"),
    "tasks:counts": ("tasks_counts", "TaskCounts"),
    "meeting_reschedule_links": ("meetings_reschedule_links", "MeetingRescheduleLink"),
    "signals": ("", "Signal"),
    "email_missing_tags": ("", "EmailMissingTags"),
    "bulk_reschedule_tasks": ("", "BulkRescheduleTasks"),
}

#: (model, field) the fields file types `date` whose source's description says a timestamp: read
#: as date-time, since decoding a timestamp as a date drops its time (a date reads as midnight UTC)
TIMESTAMP_DATES = frozenset(
    {("PlayRegistration", "created_at"), ("PlayRegistration", "enabled_at")}
)

#: fields-file ref target -> typed reference class (models/refs.py); others decode as `Ref`
REF_CLASS_OF_TARGET: dict[str, str] = {
    "people": "PersonRef",
    "accounts": "AccountRef",
    "users": "UserRef",
    "cadences": "CadenceRef",
    "steps": "StepRef",
    "opportunities": "OpportunityRef",
    "conversations": "ConversationRef",
    "transcriptions": "TranscriptionRef",
    "signal_registrations": "SignalRegistrationRef",
}


@dataclass(frozen=True)
class CurrentEntry:
    """One operation of the conversion: as written, and as read (the /v2 path it reaches)."""

    method: str
    raw_path: str
    read_method: str
    read_path: str
    summary: str
    reading: str = ""


def _v2(path: str) -> str:
    """'/accounts/53457352' -> '/v2/accounts/{id}': literal ids and UUIDs become `{id}`."""
    parts = []
    for part in path.split("/"):
        if re.fullmatch(r"\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", part):
            part = "{id}"
        parts.append(part)
    return "/v2" + "/".join(parts)


def shape(path: str) -> str:
    """A path with every parameter named `{}`, to compare the two files' spellings."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def entries(spec: dict[str, Any]) -> list[CurrentEntry]:
    out: list[CurrentEntry] = []
    for raw_path, item in spec["paths"].items():
        for method_lc, op in item.items():
            if method_lc not in ("get", "post", "put", "delete"):
                continue
            method = method_lc.upper()
            reading = READINGS.get((method, raw_path))
            if reading is not None:
                read_method, read_path, why = reading
            else:
                read_method, read_path, why = method, _v2(raw_path), ""
            out.append(
                CurrentEntry(
                    method,
                    raw_path,
                    read_method,
                    read_path,
                    " ".join(op.get("summary", "").split()),
                    why,
                )
            )
    return out


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------

RANGE_SUFFIX = re.compile(r"^(?P<name>\w+)\[(?P<op>gt|gte|lt|lte)\]$")


#: what a parameter of a new operation means, where its name alone may not say
PARAM_DOCS: dict[str, str] = {
    "page": "The page to answer, from 1",
    "per_page": "How many records a page holds (1 to 100)",
    "include_paging_counts": "Whether the paging metadata counts every record (costs more)",
    "limit_paging_counts": "Cap the counts at 10,000 records",
    "ids": "Only these records",
    "updated_at": "A range of last-update times",
    "created_at": "A range of creation times",
    "idempotency_key": "A key unique to this request: a resend with the same key changes nothing",
    "dry_run": "Only report what the request would do",
    "schedule": "When the request runs",
    "people_ids": "The people the request is about",
    "account_id": "The account the request is about",
    "scoped_fields": "Scoped fields of the record to answer with (a comma-separated list)",
    "sort_direction": "Direction of sort, must be one of: ASC, DESC. Defaults to DESC",
}


#: where a name means something else in a query string than in a body
QUERY_DOCS = {"idempotency_key": "Only records created with this idempotency key"}


def _type_of(resource: str, name: str, example: Any = None) -> tuple[str, bool]:
    found = RESOURCE_PARAM_TYPES.get((resource, name)) or PARAM_TYPES.get(name)
    if found is not None:
        return found
    if example is not None and example != "string":
        if isinstance(example, bool):
            return "boolean", False
        if isinstance(example, int):
            return "integer", False
        if isinstance(example, dict):
            return "object", False
        if isinstance(example, list):
            inner = _type_of(resource, name, example[0] if example else None)[0]
            return inner, True
    if name == "ids" or name.endswith("_ids"):
        return "integer", True
    if name.endswith("_id") and not name.endswith("crm_id"):
        return "integer", False
    if name.startswith(("is_", "has_")):
        return "boolean", False
    if name.endswith("_at") or name.endswith("_date"):
        return "datetime", False
    return "string", False


def query_params(
    Param: Any, resource: str, raw: list[dict[str, Any]], facts: ListFacts | None
) -> tuple[Any, ...]:
    """Typed query parameters from the conversion's string-typed list, plus the facts' ones."""
    seen: dict[str, Any] = {}
    for p in raw:
        if p.get("in") != "query":
            continue
        name = p["name"]
        ranged = RANGE_SUFFIX.match(name)
        if ranged:
            base = ranged.group("name")
            kind = "number" if base == "duration" else "datetime"
            seen.setdefault(base, Param(base, kind, range=True, description=_range_doc(base)))
            continue
        if name.endswith("[_starts_with]"):
            seen.setdefault(name, Param(name, "string", description="Prefix of the value"))
            continue
        if name in seen:  # the conversion lists some twice
            continue
        ptype, array = _type_of(resource, name)
        desc = QUERY_DOCS.get(name) or PARAM_DOCS.get(name, "")
        seen[name] = Param(name, ptype, array=array, description=desc)
    if facts is not None:
        for name, ptype in (
            ("page", "integer"),
            ("per_page", "integer"),
            ("include_paging_counts", "boolean"),
        ):
            seen.setdefault(name, Param(name, ptype, description=PARAM_DOCS[name]))
        if facts.updated_at:
            seen.setdefault(
                "updated_at",
                Param("updated_at", "datetime", range=True, description=_range_doc("updated_at")),
            )
        if facts.sort_keys is not None or "sort_by" in seen:
            seen["sort_by"] = Param("sort_by", "string", description=_sort_text(facts))
            seen.setdefault("sort_direction", Param("sort_direction", "string"))
        if "sort_direction" in seen:
            seen["sort_direction"] = Param(
                "sort_direction",
                "string",
                description="Direction of sort, must be one of: ASC, DESC. Defaults to DESC",
            )
    return tuple(seen[k] for k in sorted(seen))


def _range_doc(name: str) -> str:
    return PARAM_DOCS.get(name) or f"A range of {name.replace('_', ' ')} values"


def _sort_text(facts: ListFacts) -> str:
    if facts.sort_keys is None:
        return "Key to sort on (the keys it accepts are not documented)"
    keys = ", ".join(facts.sort_keys)
    return f"Key to sort on, must be one of: {keys}. Defaults to {facts.default_sort}"


def _body_type(resource: str, name: str, example: Any = None) -> tuple[str, bool]:
    """A body field's type: a filter that takes many values (`person_id[]`) takes one here."""
    ptype, array = _type_of(resource, name, example)
    return ptype, array and (name.endswith("s") or isinstance(example, list))


def body_params(Param: Any, resource: str, op: dict[str, Any]) -> tuple[Any, ...]:
    rb = op.get("requestBody") or {}
    out: dict[str, Any] = {}
    for media in (rb.get("content") or {}).values():
        sch = media.get("schema") or {}
        props = sch.get("properties")
        if isinstance(props, dict):
            for name in props:
                ptype, array = _body_type(resource, name)
                required = (resource, name) in REQUIRED_BODY
                desc = PARAM_DOCS.get(name, "")
                out[name] = Param(name, ptype, array=array, required=required, description=desc)
        example = sch.get("example")
        if isinstance(example, dict):
            for name, value in example.items():
                ptype, array = _body_type(resource, name, value)
                required = (resource, name) in REQUIRED_BODY
                desc = PARAM_DOCS.get(name, "")
                out.setdefault(
                    name, Param(name, ptype, array=array, required=required, description=desc)
                )
        break
    return tuple(out[k] for k in sorted(out))


def added_params(Param: Any, raw: list[dict[str, Any]], have: set[str]) -> tuple[Any, ...]:
    """ADDED_PARAMS the conversion lists on an operation the older file has without them."""
    out = []
    for p in raw:
        name = p.get("name")
        if name in ADDED_PARAMS and name not in have:
            out.append(Param(name, "string", description=PARAM_DOCS[name]))
            have.add(name)
    return tuple(out)


def read_current(
    spec: dict[str, Any],
) -> tuple[list[CurrentEntry], dict[tuple[str, str], dict[str, Any]]]:
    """The conversion's entries, and its operation objects by (read METHOD, read path)."""
    found = entries(spec)
    ops: dict[tuple[str, str], dict[str, Any]] = {}
    for e in found:
        op = spec["paths"][e.raw_path][e.method.lower()]
        ops.setdefault((e.read_method, e.read_path), op)
    return found, ops


# ---------------------------------------------------------------------------------------------
# Schemas from the fields file
# ---------------------------------------------------------------------------------------------

NO_FACTS_NOTE = "No source lists its fields: `id`, the timestamps, and the rest kept in `extra`."


def build_schemas(
    Field: Any, Schema: Any, facts: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, dict[str, Any]], dict[tuple[str, str], str]]:
    """(schemas, raw descriptions for the model renderer, (schema, field) -> ref class)."""
    schemas: dict[str, Any] = {}
    raw: dict[str, dict[str, Any]] = {}
    ref_classes: dict[tuple[str, str], str] = {}
    for section, name in sorted(set(SCHEMA_OF.values()), key=lambda x: x[1]):
        entry = facts.get(section) or {}
        fields_in = entry.get("fields") or {}
        props: dict[str, Any] = {}
        fields: list[Any] = []
        if not fields_in:
            fields_in = {
                "id": {"type": "integer"},
                "created_at": {"type": "datetime"},
                "updated_at": {"type": "datetime"},
            }
            description = f"{name}: {NO_FACTS_NOTE}"
        else:
            source = entry.get("source", "")
            article = "An" if name[0] in "AEIOU" else "A"
            description = f"{article} {name} record (fields from {source})."
        for fname, fact in sorted(fields_in.items()):
            fields.append(_field(Field, name, fname, fact, ref_classes))
            props[fname] = {"description": fact.get("note", "")}
        schemas[name] = Schema(name, tuple(fields))
        raw[name] = {"description": description, "properties": props}
    return schemas, raw, ref_classes


def _field(
    Field: Any,
    schema: str,
    name: str,
    fact: dict[str, Any],
    ref_classes: dict[tuple[str, str], str],
) -> Any:
    t = fact.get("type", "string")
    ref = fact.get("ref")
    enum = tuple(fact.get("enum") or ())
    fmt = fact.get("format", "")
    if t == "object" and ref:
        ref_classes[(schema, name)] = REF_CLASS_OF_TARGET.get(ref, "Ref")
        return Field(name, "object", ref="EmbeddedResource", target=ref, format=fmt)
    if t == "array":
        items = fact.get("items")
        item_type = items if isinstance(items, str) else (items or {}).get("type", "any")
        item_type = {"object": "object", "string": "string", "integer": "integer"}.get(
            item_type, "any"
        )
        return Field(name, item_type, array=True)
    if t == "date" and (schema, name) in TIMESTAMP_DATES:
        return Field(name, "datetime")
    if t == "date":
        return Field(name, "string", format="date")
    kind = {"integer": "integer", "number": "number", "boolean": "boolean", "datetime": "datetime"}
    return Field(
        name,
        kind.get(t, "object" if t == "object" else "string"),
        format=fmt,
        choices=enum,
        target=ref if isinstance(ref, str) and ref != "unknown" else None,
    )
