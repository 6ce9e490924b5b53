"""Reading the older v2 definition, and merging the current operation list into it.

Parse and fix, nothing rendered: `build_operations` and `build_schemas` turn the older definition
into `salesloft_async.spec` values, with its errors fixed by the tables here (DEFINITION_FIXES,
BODY_TYPE_FIXES) and its path groups named (RESOURCE_RENAMES, SPECIAL_ACTIONS); `merge_current`
adds what only the current operation list has (read by `current_api.py`).  `generate.py` renders.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import current_api

ROOT = Path(__file__).resolve().parent.parent


def _load_spec_module() -> Any:
    """salesloft_async/spec.py on its own: importing the package would import the very files
    this script writes, so a broken or half-written output could never be regenerated."""
    spec = importlib.util.spec_from_file_location(
        "_salesloft_spec", ROOT / "salesloft_async" / "spec.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


_spec = _load_spec_module()
Field, Operation, Param, Schema = _spec.Field, _spec.Operation, _spec.Param, _spec.Schema

# Path groups whose attribute name is not simply the path joined with "_" (see DESIGN.md).
RESOURCE_RENAMES: dict[str, str] = {
    "activities/calls": "calls",
    "activities/emails": "emails",
    "phone_numbers/caller_ids": "caller_ids",
    "phone_numbers/recording_settings": "recording_settings",
    "action_details/call_instructions": "call_instructions",
    "account_upserts": "accounts",
    "person_upserts": "people",
    "meetings/settings": "meetings",
    "meetings/settings/searches": "meetings",
    "calendar/events/upsert": "calendar_events",
    # resources only the current operation list has
    "integrations/signals/registrations": "signal_registrations",
    "integrations/signals/registrations/plays": "play_registrations",
    "external/configurations": "external_configurations",
    "external/mappings": "external_mappings",
    "data_control/account_redaction": "data_control",
    "data_control/account_and_people_redaction": "data_control",
    "data_control/people_soft_deletion": "data_control",
    "data_control/right_to_be_forgotten": "data_control",
    "data_control/requests": "data_control_requests",
    "meetings/reschedule_links": "meeting_reschedule_links",
    "tasks/counts": "tasks",
}

# (METHOD, path without .json) -> (action, operation name) for the verbs CRUD does not cover.
SPECIAL_ACTIONS: dict[tuple[str, str], tuple[str, str]] = {
    ("POST", "/v2/account_upserts"): ("upsert", "upsert_account"),
    ("POST", "/v2/person_upserts"): ("upsert", "upsert_person"),
    ("POST", "/v2/calendar/events/upsert"): ("upsert", "upsert_calendar_event"),
    ("POST", "/v2/meetings/settings/searches"): ("search_settings", "search_meeting_settings"),
    ("PUT", "/v2/meetings/settings/{id}"): ("update_setting", "update_meeting_setting"),
    ("GET", "/v2/bulk_jobs/{bulk_jobs_id}/job_data"): ("list_job_data", "list_bulk_job_data"),
    ("POST", "/v2/bulk_jobs/{bulk_jobs_id}/job_data"): ("create_job_data", "create_bulk_job_data"),
    ("GET", "/v2/bulk_jobs/{bulk_jobs_id}/results"): ("list_results", "list_bulk_job_results"),
    # operations only the current list has
    ("GET", "/v2/conversations/{id}/extensive"): ("get_extensive", "get_conversation_extensive"),
    ("GET", "/v2/conversations/{id}/recording"): ("get_recording", "get_conversation_recording"),
    ("GET", "/v2/transcriptions/{id}/artifact"): ("get_artifact", "get_transcription_artifact"),
    ("GET", "/v2/transcriptions/{id}/sentences"): (
        "list_sentences",
        "list_transcription_sentences",
    ),
    ("GET", "/v2/tasks/counts"): ("counts", "get_task_counts"),
    ("GET", "/v2/profiles"): ("get", "get_profiles"),
    ("POST", "/v2/email_missing_tags"): ("check", "check_email_missing_tags"),
    ("POST", "/v2/data_control/account_redaction"): ("redact_account", "redact_account"),
    ("POST", "/v2/data_control/account_and_people_redaction"): (
        "redact_account_and_people",
        "redact_account_and_people",
    ),
    ("POST", "/v2/data_control/people_soft_deletion"): (
        "soft_delete_people",
        "soft_delete_people",
    ),
    ("POST", "/v2/data_control/right_to_be_forgotten"): ("forget_people", "forget_people"),
}

# Where the definition is wrong: (METHOD, path) -> (schema, returns).  Each is checked against
# Salesloft's documentation and sample payloads; the definition file itself is left as published.
DEFINITION_FIXES: dict[tuple[str, str], tuple[str, str]] = {
    # "List Past Activities" answers a list, but the definition declares a single record
    ("GET", "/v2/activity_histories"): ("ActivityHistory", "list"),
    # job data records carry status/started_at/finished_at: JobData, not BulkJobResult
    ("GET", "/v2/bulk_jobs/{bulk_jobs_id}/job_data"): ("JobData", "list"),
    # "Update a note" answers the note, not a Person
    ("PUT", "/v2/notes/{id}"): ("Note", "object"),
    # "Fetch a task" answers the task, not a Step
    ("GET", "/v2/tasks/{id}"): ("Task", "object"),
}

# Body fields whose item type the definition gets wrong: (METHOD, path, field) -> type.
BODY_TYPE_FIXES: dict[tuple[str, str, str], str] = {
    # "Array of objects containing parameters": objects, not strings
    ("POST", "/v2/bulk_jobs/{bulk_jobs_id}/job_data", "data"): "object",
}

RANGE_KEYS = {"gt", "gte", "lt", "lte"}
CUSTOM_MARK = "---CUSTOM---"


# ---------------------------------------------------------------------------------------------
# Reading the definition
# ---------------------------------------------------------------------------------------------


def strip_json(path: str) -> str:
    return path[: -len(".json")] if path.endswith(".json") else path


def path_group(path: str) -> str:
    """'/v2/bulk_jobs/{bulk_jobs_id}/job_data' -> 'bulk_jobs': children join their parent."""
    parts = [p for p in path.split("/")[2:] if p]
    head: list[str] = []
    for p in parts:
        if p.startswith("{"):
            break
        head.append(p)
    return "/".join(head)


def resource_for(path: str) -> str:
    group = path_group(path)
    return RESOURCE_RENAMES.get(group, group.replace("/", "_"))


def ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def first_line(text: str) -> str:
    return " ".join(text.split(CUSTOM_MARK)[0].split())


def param_type(schema: dict[str, Any]) -> str:
    t = schema.get("type")
    if t == "string" and schema.get("format") == "date-time":
        return "datetime"
    if t in ("string", "integer", "number", "boolean", "object"):
        return str(t)
    return "any"


def custom_range(description: str) -> str | None:
    """The value type of a ---CUSTOM--- gt/gte/lt/lte filter, or None if it is not one."""
    if CUSTOM_MARK not in description:
        return None
    try:
        block = json.loads(description.split(CUSTOM_MARK, 1)[1])
    except json.JSONDecodeError:
        return None
    keys = {k.get("name") for k in block.get("keys", [])}
    if not keys or not keys <= RANGE_KEYS:
        return None
    types = {k.get("type", "") for k in block["keys"]}
    return "datetime" if any("iso8601" in t for t in types) else "string"


def make_param(name: str, schema: dict[str, Any], description: str, required: bool) -> Param:
    rng = custom_range(description)
    if rng is not None:
        return Param(name, rng, range=True, required=required, description=first_line(description))
    if schema.get("type") == "object" and re.search(r"comparison operators", description):
        # bulk_jobs' `id[gt]=123` keyset filter
        return Param(
            name, "integer", range=True, required=required, description=first_line(description)
        )
    if schema.get("type") == "array":
        items = schema.get("items") or {}
        return Param(
            name,
            param_type(items),
            array=True,
            required=required,
            description=first_line(description),
        )  # type: ignore[arg-type]
    return Param(name, param_type(schema), required=required, description=first_line(description))  # type: ignore[arg-type]


def response_schema(op: dict[str, Any]) -> tuple[str | None, str]:
    """(schema name, returns) from the first 2xx response."""
    for code in ("200", "201"):
        resp = op.get("responses", {}).get(code)
        if not resp:
            continue
        content = resp.get("content") or {}
        for media in content.values():
            sch = media.get("schema") or {}
            if "$ref" in sch:
                return ref_name(sch["$ref"]), "object"
            if sch.get("type") == "array":
                items = sch.get("items") or {}
                return (ref_name(items["$ref"]) if "$ref" in items else None), "list"
        return None, "none"
    return None, "none"


def body_params(op: dict[str, Any], spec: dict[str, Any]) -> tuple[Param, ...]:
    rb = op.get("requestBody")
    if not rb:
        return ()
    if "$ref" in rb:
        rb = spec["components"]["requestBodies"][ref_name(rb["$ref"])]
    out: list[Param] = []
    for media in (rb.get("content") or {}).values():
        sch = media.get("schema") or {}
        required = set(sch.get("required") or [])
        for name, prop in sorted((sch.get("properties") or {}).items()):
            param = make_param(name, prop, prop.get("description", ""), name in required)
            if param.range:  # a "---CUSTOM---" range block on a body field means one timestamp
                param = dataclasses.replace(param, range=False, type="datetime")
            out.append(param)
        break
    return tuple(out)


def build_operations(spec: dict[str, Any]) -> list[Operation]:
    ops: list[Operation] = []
    for raw_path, item in spec["paths"].items():
        path = strip_json(raw_path)
        for method_lc, op in item.items():
            if method_lc not in ("get", "post", "put", "delete"):
                continue
            method = method_lc.upper()
            resource = resource_for(path)
            params = op.get("parameters") or []
            path_params = tuple(p["name"] for p in params if p["in"] == "path")
            query = tuple(
                make_param(
                    p["name"],
                    p.get("schema") or {},
                    p.get("description", ""),
                    p.get("required", False),
                )
                for p in params
                if p["in"] == "query"
            )
            schema, returns = response_schema(op)
            schema, returns = DEFINITION_FIXES.get((method, path), (schema, returns))
            special = SPECIAL_ACTIONS.get((method, path))
            ends_in_id = path.endswith("}")
            if special:
                action, name = special
            else:
                if method == "GET":
                    action = "get" if ends_in_id or returns == "object" else "list"
                elif method == "POST":
                    action = "create"
                elif method == "PUT":
                    action = "update"
                else:
                    action = "delete"
                name = f"{action}_{resource}"
            names = {q.name for q in query}
            ops.append(
                Operation(
                    name=name,
                    method=method,  # type: ignore[arg-type]
                    path=path,
                    resource=resource,
                    action=action,
                    path_params=path_params,
                    query=query,
                    body=tuple(
                        dataclasses.replace(b, type=BODY_TYPE_FIXES[(method, path, b.name)])  # type: ignore[arg-type]
                        if (method, path, b.name) in BODY_TYPE_FIXES
                        else b
                        for b in body_params(op, spec)
                    ),
                    schema=schema,
                    returns=returns,  # type: ignore[arg-type]
                    paged=returns == "list" and {"page", "per_page"} <= names,
                    summary=first_line(op.get("summary", "")),
                )
            )
    seen: set[str] = set()
    for o in ops:
        if o.name in seen:
            raise SystemExit(f"duplicate operation name {o.name}: add it to SPECIAL_ACTIONS")
        seen.add(o.name)
    return ops


#: "Possible values are: a, b" and its variants, in a field's description
CHOICES_TEXT = re.compile(
    r"(?:possible values are|valid (?:options|values) are|must be one of)\s*:?\s*([^.\n]*)", re.I
)


def field_choices(prop: dict[str, Any]) -> tuple[str, ...]:
    """The values a field's enum or description lists, when each is a plain word."""
    if prop.get("enum"):
        return tuple(str(v) for v in prop["enum"])
    m = CHOICES_TEXT.search(prop.get("description") or "")
    if not m:
        return ()
    values = [v.strip(" '\"") for v in m.group(1).split(",")]
    if values and all(re.fullmatch(r"[A-Za-z0-9_\-]+", v) for v in values):
        return tuple(values)
    return ()


def field_example(prop: dict[str, Any]) -> str:
    """A string field's example, as the form its seed values take (scalars only)."""
    value = prop.get("example")
    if prop.get("type") != "string" or not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = str(value)
    return text if len(text) <= 40 and text.isascii() and "\n" not in text else ""


def _a_timestamp(value: Any) -> bool:
    """An example that is a point in time: YAML reads `2022-12-19T16:49:17.931396+02:00` as one."""
    return isinstance(value, datetime) or (isinstance(value, str) and "T" in value[10:11])


def field_for(name: str, prop: dict[str, Any]) -> Field:
    if "$ref" in prop:
        return Field(name, "object", ref=ref_name(prop["$ref"]))
    t = prop.get("type")
    if t == "array":
        items = prop.get("items") or {}
        if "$ref" in items:
            return Field(name, "object", array=True, ref=ref_name(items["$ref"]))
        return Field(name, param_type(items), array=True)  # type: ignore[arg-type]
    fmt = prop.get("format", "")
    if fmt == "date" and _a_timestamp(prop.get("example")):
        # `format: date` on a field whose example is a timestamp (Meeting.start_time and the
        # meeting timestamps): Salesloft sends the time; a date would drop it when decoded
        return Field(name, "datetime")
    return Field(
        name,
        param_type(prop),  # type: ignore[arg-type]
        format=fmt if fmt == "date" else "",
        choices=field_choices(prop) if t == "string" else (),
        example=field_example(prop),
    )


def build_schemas(spec: dict[str, Any]) -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for name, sch in spec["components"]["schemas"].items():
        props = sch.get("properties") or {}
        out[name] = Schema(name, tuple(field_for(n, p) for n, p in sorted(props.items())))
    return out


# ---------------------------------------------------------------------------------------------
# The current operation list: merged into the older definition's operations
# ---------------------------------------------------------------------------------------------

#: (older op name) -> (METHOD, path as the older file writes it)
OlderEntry = tuple[str, str, str]
#: (METHOD, path as the conversion writes it, op name or "", read METHOD, read path, reading)
CurrentRow = tuple[str, str, str, str, str, str]


def older_entries(spec: dict[str, Any], ops: list[Operation]) -> list[OlderEntry]:
    by_key = {(o.method, o.path): o.name for o in ops}
    out: list[OlderEntry] = []
    for raw_path, item in spec["paths"].items():
        for method_lc in item:
            if method_lc in ("get", "post", "put", "delete"):
                method = method_lc.upper()
                out.append((method, raw_path, by_key[(method, strip_json(raw_path))]))
    return out


def merge_current(
    ops: list[Operation], current: dict[str, Any]
) -> tuple[list[Operation], list[CurrentRow]]:
    """The older operations, plus every operation only the current list has, plus the params it
    adds to shared ones; and one row per entry of the current list saying what serves it."""
    entries, by_read = current_api.read_current(current)
    index = {(o.method, current_api.shape(o.path)): i for i, o in enumerate(ops)}
    merged = list(ops)
    for (method, path), raw in by_read.items():
        at = index.get((method, current_api.shape(path)))
        if at is not None:
            merged[at] = _with_added_params(merged[at], raw)
    for (method, path), raw in by_read.items():
        if (method, current_api.shape(path)) in index:
            continue
        if any(
            e.read_method == method
            and e.read_path == path
            and (e.method, e.raw_path) in current_api.NOT_RESOURCES
            for e in entries
        ):
            continue
        op = new_operation(method, path, raw, merged)
        index[(method, current_api.shape(path))] = len(merged)
        merged.append(op)
    for (method, path), (summary, _source) in current_api.EXTRA_OPERATIONS.items():
        params = [{"in": "query", "name": n} for n in current_api.N6_PARAMS]
        op = new_operation(method, path, {"summary": summary, "parameters": params}, merged)
        index[(method, current_api.shape(path))] = len(merged)
        merged.append(op)
    names = {(o.method, current_api.shape(o.path)): o.name for o in merged}
    rows: list[CurrentRow] = []
    for e in entries:
        elsewhere = current_api.NOT_RESOURCES.get((e.method, e.raw_path))
        if elsewhere is not None:  # the token request: the accounts host, not the API
            rows.append((e.method, e.raw_path, "", e.method, e.raw_path, elsewhere))
            continue
        name = names.get((e.read_method, current_api.shape(e.read_path)), "")
        rows.append((e.method, e.raw_path, name, e.read_method, e.read_path, e.reading))
    seen: set[str] = set()
    for o in merged:
        if o.name in seen:
            raise SystemExit(f"duplicate operation name {o.name}: add it to SPECIAL_ACTIONS")
        seen.add(o.name)
        misspelt = {p.name for p in (*o.query, *o.body)} & set(current_api.MISSPELLINGS)
        if misspelt:
            raise SystemExit(f"{o.name} takes the misspelt {sorted(misspelt)}: see MISSPELLINGS")
    return merged, rows


def _with_added_params(op: Operation, raw: dict[str, Any]) -> Operation:
    params = [p for p in raw.get("parameters") or [] if p.get("in") == "query"]
    rb = raw.get("requestBody") or {}
    for media in (rb.get("content") or {}).values():
        example = (media.get("schema") or {}).get("example") or {}
        params += [{"in": "body", "name": k} for k in example if isinstance(example, dict)]
    have = {p.name for p in (*op.query, *op.body)}
    query = current_api.added_params(Param, [p for p in params if p.get("in") == "query"], have)
    body = current_api.added_params(Param, [p for p in params if p.get("in") == "body"], have)
    if not query and not body:
        return op
    return dataclasses.replace(
        op,
        query=tuple(sorted((*op.query, *query), key=lambda p: p.name)) if query else op.query,
        body=tuple(sorted((*op.body, *body), key=lambda p: p.name)) if body else op.body,
    )


def new_operation(method: str, path: str, raw: dict[str, Any], known: list[Operation]) -> Operation:
    """An operation only the current list has, typed from its names and the resource's facts."""
    resource = resource_for(path)
    tail = path.rsplit("}/", 1)[1] if "}/" in path else ""
    special = SPECIAL_ACTIONS.get((method, path))
    ends_in_id = path.endswith("}")
    if special:
        action, name = special
    else:
        action = {"POST": "create", "PUT": "update", "DELETE": "delete"}.get(
            method, "get" if ends_in_id else "list"
        )
        name = f"{action}_{resource}"
    # the facts of a sub-resource (conversations:extensive) or a verb (tasks:counts), else the
    # resource's own
    key = next(
        (k for k in (f"{resource}:{tail}", f"{resource}:{action}") if k in current_api.SCHEMA_OF),
        resource,
    )
    if method == "DELETE":
        returns = "none"
    elif action.startswith("list"):
        returns = "list"
    else:
        returns = "object"
    facts = current_api.LIST_FACTS.get(key) if returns == "list" else None
    raw_params = raw.get("parameters") or []
    if (method, path) == ("GET", "/v2/external/configurations"):
        raw_params = [p for p in raw_params if p.get("name") not in current_api.N6_PARAMS]
    query = current_api.query_params(Param, resource, raw_params, facts) if method == "GET" else ()
    body = current_api.body_params(Param, resource, raw) if method in ("POST", "PUT") else ()
    schema = current_api.SCHEMA_OF.get(key, ("", ""))[1] or None
    if schema is None:  # a new method on a resource the older file has: its records' schema
        schema = next(
            (
                o.schema
                for o in known
                if o.resource == resource and o.schema and o.action in ("list", "get")
            ),
            None,
        )
    names = {q.name for q in query}
    path_params = tuple(re.findall(r"\{(\w+)\}", path))
    return Operation(
        name=name,
        method=method,  # type: ignore[arg-type]
        path=path,
        resource=resource,
        action=action,
        path_params=path_params,
        query=query,
        body=body,
        schema=schema,
        returns=returns,  # type: ignore[arg-type]
        paged=returns == "list" and {"page", "per_page"} <= names,
        summary=first_line(raw.get("summary", "")),
    )
