"""Regenerate everything derived from Salesloft's API definitions.

    python tools/generate.py [--check] [path/to/salesloft-v2-openapi.yaml]
        [--current salesloft-postman-openapi.yml] [--fields current-api-fields.yaml]
        [--samples PATH]

(with the dev environment's python, e.g. `.venv/bin/python`: it needs PyYAML and ruff).  The
inputs default to ../shared/reference/ as laid out on the project's machines: the older v2
definition, the current operation list (a conversion of Salesloft's Postman collection, read by
`current_api.py`, which also says how each of its garbled entries is read) and the field facts
of the resources only the current list has.  Writes:
  - salesloft_async/_operations.py     the operation table (OPERATIONS, SCHEMAS, both definitions)
  - salesloft_async/models/_generated.py  one attrs class per schema + fast structure functions
  - salesloft_async/resources/_generated.py  typed resource classes (signatures from the parameters)
  - docs/operations.md                  every operation -> the method that calls it
  - README.md (a summary between its markers: counts and a link)
  - tests/fixtures/connector_samples.json  the connector's sample records (if --samples exists)

`--check` renders everything in memory and fails, naming the files, if a committed output differs.

Where the definition is wrong (a wrong response schema, a list declared as one record, a body
field typed as strings that holds objects), the fix is a table in this file or in
`current_api.py`, never an edit of a generated file: DEFINITION_FIXES, BODY_TYPE_FIXES, READINGS.

Everything it writes is committed; rerunning it on the same definition must give the same bytes.
The outputs are formatted with ruff so that `ruff format --check` passes on them.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import keyword
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import current_api

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
OPERATIONS_DOC = ROOT / "docs" / "operations.md"
#: ../shared/reference beside the checkout (or beside the folder of worktrees holding it)
REFERENCE = next(
    (
        p / "shared" / "reference"
        for p in (ROOT.parent, ROOT.parent.parent)
        if (p / "shared").is_dir()
    ),
    ROOT.parent / "shared" / "reference",
)
DEFAULT_SPEC = REFERENCE / "salesloft-v2-openapi.yaml"
DEFAULT_CURRENT = REFERENCE / "salesloft-postman-openapi.yml"
DEFAULT_FIELDS = REFERENCE / "current-api-fields.yaml"
COMMAND = "python tools/generate.py"


#: fields holding secrets: generated with repr=False
SECRET_FIELDS = frozenset({"callback_token", "access_token", "refresh_token", "client_secret"})


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
        name = names.get((e.read_method, current_api.shape(e.read_path)), "")
        why = e.reading or current_api.NOT_RESOURCES.get((e.method, e.raw_path), "")
        rows.append((e.method, e.raw_path, name, e.read_method, e.read_path, why))
    seen: set[str] = set()
    for o in merged:
        if o.name in seen:
            raise SystemExit(f"duplicate operation name {o.name}: add it to SPECIAL_ACTIONS")
        seen.add(o.name)
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


# ---------------------------------------------------------------------------------------------
# Writing Python
# ---------------------------------------------------------------------------------------------

_DEFAULTS: dict[type, Any] = {}


def lit(value: Any) -> str:
    """A Python literal of a spec dataclass that leaves out fields at their defaults."""
    if isinstance(value, Param | Field | Operation | Schema):
        cls = type(value)
        if cls not in _DEFAULTS:
            _DEFAULTS[cls] = {f.name: f.default for f in dataclasses.fields(cls)}
        defaults = _DEFAULTS[cls]
        parts: list[str] = []
        for fname in (f.name for f in dataclasses.fields(cls)):
            v = getattr(value, fname)
            if fname in defaults and defaults[fname] == v:
                continue
            if fname == "fields" and v == ():
                continue
            parts.append(f"{fname}={lit(v)}")
        return f"{cls.__name__}({', '.join(parts)})"
    if isinstance(value, tuple):
        if not value:
            return "()"
        return "(" + ", ".join(lit(v) for v in value) + ",)"
    return repr(value)


def header(source: Path) -> str:
    return (
        f"# GENERATED by `{COMMAND}` from {source.name}; do not edit by hand.\n"
        f"# Regenerate with: {COMMAND}\n"
        "# ruff: noqa: E501\n"
    )


def render_operations(
    ops: list[Operation],
    schemas: dict[str, Schema],
    source: Path,
    older: list[OlderEntry],
    current: list[CurrentRow],
) -> str:
    lines = [
        header(source),
        '"""The operation table of the Salesloft v2 API (see `salesloft_async.spec`).',
        "",
        "OLDER_DEFINITION and CURRENT_DEFINITION list every operation of the two definitions",
        "as written there, and the operation of OPERATIONS that serves it; a garbled entry of the",
        "current list carries the reading chosen for it (tools/current_api.py says why).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from .spec import Field, Operation, Param, Schema",
        "",
        '__all__ = ["CURRENT_DEFINITION", "OLDER_DEFINITION", "OPERATIONS", "SCHEMAS"]',
        "",
        "OPERATIONS: tuple[Operation, ...] = (",
    ]
    for o in ops:
        lines.append(f"    {lit(o)},")
    lines.append(")")
    lines.append("")
    lines.append("#: salesloft-v2-openapi.yaml: (METHOD, path as written, operation name)")
    lines.append("OLDER_DEFINITION: tuple[tuple[str, str, str], ...] = (")
    lines += [f"    {row!r}," for row in older]
    lines.append(")")
    lines.append("")
    lines.append(
        "#: salesloft-postman-openapi.yml: (METHOD, path as written, operation name or '',"
        " METHOD read, path read, the reading or where else it is served)"
    )
    lines.append("CURRENT_DEFINITION: tuple[tuple[str, str, str, str, str, str], ...] = (")
    lines += [f"    {row!r}," for row in current]
    lines.append(")")
    lines.append("")
    lines.append("SCHEMAS: dict[str, Schema] = {")
    for name, s in schemas.items():
        lines.append(f"    {name!r}: {lit(s)},")
    lines.append("}")
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------------------------

# Field name -> typed reference class of an `EmbeddedResource` field (see models/refs.py).
REF_CLASSES: dict[str, str] = {
    "account": "AccountRef",
    "company_stage": "AccountStageRef",
    "account_tier": "AccountTierRef",
    "action": "ActionRef",
    "latest_action": "ActionRef",
    "cadence": "CadenceRef",
    "cadences": "CadenceRef",
    "most_recent_cadence": "CadenceRef",
    "last_completed_step_cadence": "CadenceRef",
    "latest_cadence": "CadenceRef",
    "call": "CallRef",
    "latest_call": "CallRef",
    "crm_activity": "CrmActivityRef",
    "latest_email": "EmailRef",
    "email_template": "EmailTemplateRef",
    "group": "GroupRef",
    "groups": "GroupRef",
    "accessible_groups": "GroupRef",
    "import": "ImportRef",
    "mime_email_payload": "MimeEmailPayloadRef",
    "note": "NoteRef",
    "person": "PersonRef",
    "called_person": "PersonRef",
    "last_contacted_person": "PersonRef",
    "recipient": "PersonRef",
    "person_stage": "PersonStageRef",
    "added_stage": "PersonStageRef",
    "bounced_stage": "PersonStageRef",
    "finished_stage": "PersonStageRef",
    "replied_stage": "PersonStageRef",
    "phone_number_assignment": "PhoneNumberAssignmentRef",
    "step": "StepRef",
    "last_completed_step": "StepRef",
    "latest_step": "StepRef",
    "task": "TaskRef",
    "team": "TeamRef",
    "team_template": "TeamTemplateRef",
    "owner": "UserRef",
    "creator": "UserRef",
    "user": "UserRef",
    "completed_by": "UserRef",
    "created_by_user": "UserRef",
    "last_contacted_by": "UserRef",
    "booked_by_user": "UserRef",
    "last_modified_user": "UserRef",
    "template_owner": "UserRef",
}
REF_SCHEMA = "EmbeddedResource"
RESERVED_ATTRS = {"raw", "extra", "is_set", "fields_set", "schema_name"}

PY_TYPES = {
    "string": "str",
    "integer": "int",
    "number": "float",
    "boolean": "bool",
    "object": "dict[str, Any]",
    "datetime": "datetime",
    "any": "Any",
}


def attr_name(json_name: str) -> str:
    name = json_name.lstrip("_") or json_name
    if keyword.iskeyword(name) or name in RESERVED_ATTRS:
        name += "_"
    return name


def snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


#: (schema, field) -> reference class, for the schemas built from the fields file
FIELD_REF_CLASSES: dict[tuple[str, str], str] = {}


def model_field(f: Field, schema: str = "") -> tuple[str, str]:
    """(annotation, decode expression) of one field; `v` is the raw value expression."""
    v = f"g({f.name!r})"
    if f.ref == REF_SCHEMA:
        cls = FIELD_REF_CLASSES.get((schema, f.name)) or REF_CLASSES.get(f.name, "Ref")
        if f.array:
            return f"list[{cls}] | None", f"to_refs({v}, {cls})"
        return f"{cls} | None", f"to_ref({v}, {cls})"
    if f.ref:
        fn = f"structure_{snake(f.ref)}"
        if f.array:
            return f"list[{f.ref}] | None", f"to_list({v}, {fn})"
        return f"{f.ref} | None", f"to_model({v}, {fn})"
    base = "date" if f.format == "date" else PY_TYPES[f.type]
    if f.array:
        inner = f"list[{base}]"
        if f.type == "datetime":
            return f"{inner} | None", f"to_list({v}, to_datetime)"
        return f"{inner} | None", v
    if f.type == "datetime":
        return f"{base} | None", f"to_datetime({v})"
    if f.format == "date":
        return f"{base} | None", f"to_date({v})"
    return ("Any" if base == "Any" else f"{base} | None"), v


def doc_line(text: str, limit: int = 96) -> str:
    line = first_line(text)
    if len(line) > limit:
        line = line[: limit - 3].rstrip() + "..."
    return line


def render_models(raw_schemas: dict[str, Any], schemas: dict[str, Schema], source: Path) -> str:
    out = [
        header(source),
        '"""One attrs class per schema of the definition, and a fast structure function for each.',
        "",
        "Decode through `salesloft_async.models.converter` or `structure()`, not these functions:",
        "the converter is the one place that knows how records become models.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Callable",
        "from datetime import date, datetime",
        "from typing import Any, ClassVar",
        "",
        "import attrs",
        "",
        "from ._base import Model",
        "from ._decode import to_date, to_datetime, to_list, to_model, to_ref, to_refs",
        "from .refs import (",
    ]
    refs_used = sorted({*REF_CLASSES.values(), *FIELD_REF_CLASSES.values(), "Ref"})
    out += [f"    {r}," for r in refs_used]
    out += [")", ""]
    names = list(schemas)
    out.append("__all__ = [")
    out += [f"    {n!r}," for n in sorted([*names, "MODELS", "STRUCTURE"])]
    out += ["]", ""]
    for name, sch in schemas.items():
        props = raw_schemas[name].get("properties") or {}
        out += ["", "@attrs.define(slots=True, kw_only=True)", f"class {name}(Model):"]
        desc = doc_line(raw_schemas[name].get("description", "")) or f"A {name} record."
        out.append(f'    """{desc}"""')
        out.append("")
        out.append(f"    schema_name: ClassVar[str] = {name!r}")
        mapping = {f.name: attr_name(f.name) for f in sch.fields}
        out.append(f"    _json_to_attr: ClassVar[dict[str, str]] = {mapping!r}")
        for f in sch.fields:
            ann, _ = model_field(f, name)
            d = doc_line(props.get(f.name, {}).get("description", ""))
            if d:
                out.append(f"    #: {d}")
            if f.name in SECRET_FIELDS:  # a webhook's signing key must never reach a repr or log
                out.append(
                    f"    {attr_name(f.name)}: {ann} = attrs.field(default=None, repr=False)"
                )
            else:
                out.append(f"    {attr_name(f.name)}: {ann} = None")
        out += [
            "",
            "",
            f"def structure_{snake(name)}(d: dict[str, Any]) -> {name}:",
            "    g = d.get",
            f"    return {name}(",
        ]
        for f in sch.fields:
            _, expr = model_field(f, name)
            out.append(f"        {attr_name(f.name)}={expr},")
        out += ["        raw=d,", "    )", ""]
    out += ["", "MODELS: dict[str, type[Model]] = {"]
    out += [f"    {n!r}: {n}," for n in names]
    out += ["}", "", "STRUCTURE: dict[type[Model], Callable[[dict[str, Any]], Model]] = {"]
    out += [f"    {n}: structure_{snake(n)}," for n in names]
    out += ["}", ""]
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Resources
# ---------------------------------------------------------------------------------------------

RESERVED_ARGS = {"self", "extra_params", "extra_fields", "lane", "op", "params", "fields"}
UPSERT_KEYS = {"PersonUpsert": ("person", "Person"), "AccountUpsert": ("account", "Account")}


def camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def arg_name(name: str, taken: set[str]) -> str:
    name = re.sub(r"\W+", "_", name).strip("_") if "[" in name else name  # title[_starts_with]
    py = name.lstrip("_") or name
    if name.startswith("_") or keyword.iskeyword(py) or py in RESERVED_ARGS or py in taken:
        py += "_"
    return py


# Parameters whose documented values ("must be one of: a, b") become a Literal for completion:
# closed sets exactly; open ones (the API may sort by more than it documents) also accept str.
CLOSED_CHOICES = {"sort_direction", "upsert_key", "crm_id_type"}
OPEN_CHOICES = {"sort_by"}


def choices(p: Param) -> list[str]:
    if p.name not in CLOSED_CHOICES | OPEN_CHOICES or p.type != "string" or p.array:
        return []
    m = re.search(r"(?:one of|options are):?\s*([^.]*)", p.description)
    values = [v.strip() for v in m.group(1).split(",")] if m else []
    return values if values and all(re.fullmatch(r"[A-Za-z_]+", v) for v in values) else []


def literal(p: Param) -> str | None:
    values = choices(p)
    if not values:
        return None
    lit_ = "Literal[" + ", ".join(repr(v) for v in values) + "]"
    return lit_ if p.name in CLOSED_CHOICES else f"{lit_} | str"


def query_annotation(p: Param) -> str:
    if lit_ := literal(p):
        return lit_
    if p.range:
        return {"integer": "IdRange", "number": "NumberRange"}.get(p.type, "DatetimeRange")
    if p.array:
        inner = {"integer": "int | str", "number": "float", "boolean": "bool"}.get(p.type, "str")
        return f"Sequence[{inner}]"
    return {
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "object": "Mapping[str, Any]",
        "datetime": "datetime | str",
        "any": "Any",
    }.get(p.type, "str")


def body_annotation(p: Param) -> str:
    if lit_ := literal(p):
        return lit_
    base = {
        "integer": "int",
        "number": "float",
        "boolean": "bool",
        "object": "Mapping[str, Any]",
        "datetime": "datetime | str",
        "any": "Any",
    }.get(p.type, "str")
    if p.format == "date":
        base = "date | str"
    return f"Sequence[{base}]" if p.array else base


def arg_doc(p: Param, py: str) -> str:
    d = doc_line(p.description, 100)
    return f"            {py}: {d}" if d else f"            {py}"


def render_method(op: Operation) -> list[str]:
    """One typed method whose body hands its arguments to a `Resource` helper."""
    taken = set(op.path_params)
    pos = [f"{pp}: int | str | None" for pp in op.path_params]  # None raises, for model ids
    path_args = "{" + ", ".join(f"{pp!r}: {pp}" for pp in op.path_params) + "}"
    kw: list[str] = []
    docs: list[str] = []
    mapping: list[str] = []
    is_write = op.method in ("POST", "PUT") and not (op.returns == "list" and op.paged)
    qmapping: list[str] = []
    if is_write:
        # a few writes take their arguments in the query string (cadence_memberships.create)
        for p in op.query:
            py = arg_name(p.name, taken)
            taken.add(py)
            ann = query_annotation(p)
            kw.append(f"{py}: {ann}" if p.required else f"{py}: {ann} | None = None")
            qmapping.append(f"{p.name!r}: {py}")
            docs.append(arg_doc(p, py))
    params = op.body if is_write else op.query
    # An update is partial (PUT sends only what changes) and what an upsert needs depends on its
    # upsert_key, so their "required" flags (copied from the create) are left to the server.
    partial = op.action.startswith("update") or op.action == "upsert"
    for p in params:
        py = arg_name(p.name, taken)
        taken.add(py)
        if is_write:
            ann = body_annotation(p)
            required = p.required and not partial
            kw.append(f"{py}: {ann}" if required else f"{py}: {ann} | None | Unset = UNSET")
        else:
            ann = query_annotation(p)
            kw.append(f"{py}: {ann}" if p.required else f"{py}: {ann} | None = None")
        mapping.append(f"{p.name!r}: {py}")
        docs.append(arg_doc(p, py))
    op_ref = f"_OPS[{op.name!r}]"
    model = op.schema or "Any"
    summary = doc_line(op.summary or op.name, 90)
    lines: list[str] = []
    if op.returns == "list" and not is_write:
        kw += ["extra_params: Mapping[str, Any] | None = None", 'lane: Lane = "interactive"']
        docs += [
            "            extra_params: query parameters the definition does not name",
            '            lane: "bulk" to spend from the bulk share of the budget',
        ]
        ret = f"Paginator[{model}]"
        sig_async = "def"
        body = [
            f"op = {op_ref}",
            "params: dict[str, Any] = {" + ", ".join(mapping) + "}",
            f"return self._paginate(op, {path_args}, params, extra_params, lane,"
            " self._list_mode(op, params))"
            if op.action == "list"
            else f"return self._paginate(op, {path_args}, params, extra_params, lane,"
            " self._mode(op))",
        ]
    elif op.returns == "none":
        ret, sig_async = "None", "async def"
        body = [f"await self._delete({op_ref}, {path_args})"]
    elif is_write:
        kw.append("extra_fields: Mapping[str, Any] | None = None")
        docs.append("            extra_fields: body fields the definition does not name")
        fields = "{" + ", ".join(mapping) + "}"
        if op.schema in UPSERT_KEYS:
            key, rec = UPSERT_KEYS[op.schema]
            ret, sig_async = f"Upserted[{rec}]", "async def"
            body = [f"return await self._upsert({op_ref}, {fields}, extra_fields, {key!r})"]
        else:
            ret = f"builtins.list[{model}]" if op.returns == "list" else model
            sig_async = "async def"
            query = "{" + ", ".join(qmapping) + "}"
            call = f"self._write({op_ref}, {path_args}, {fields}, extra_fields"
            call += f", {query})" if qmapping else ")"
            body = [f"result: {ret} = await {call}", "return result"]
    else:
        kw.append("extra_params: Mapping[str, Any] | None = None")
        docs.append("            extra_params: query parameters the definition does not name")
        ret, sig_async = model, "async def"
        body = [
            f"result: {ret} = await self._read({op_ref}, {path_args},"
            " {" + ", ".join(mapping) + "}, extra_params)",
            "return result",
        ]
    args = ["self", *pos]
    if kw:
        args += ["*", *kw]
    lines.append(f"    {sig_async} {op.action}({', '.join(args)}) -> {ret}:")
    lines.append(f'        """{summary} (`{op.method} {op.path}`).')
    if docs:
        lines += ["", "        Args:", *docs]
    lines.append('        """')
    lines += [f"        {b}" for b in body]
    lines.append("")
    return lines


def render_resources(
    ops: list[Operation], source: Path, schemas: dict[str, Schema] | None = None
) -> str:
    by_resource: dict[str, list[Operation]] = {}
    for op in ops:
        by_resource.setdefault(op.resource, []).append(op)
    schemas_used = sorted(
        {o.schema for o in ops if o.schema} | {r for _, r in UPSERT_KEYS.values()}
    )
    out = [
        header(source),
        '"""Typed resource base classes, one per path group: signatures from the definition.',
        "",
        "Hand-written subclasses in the area modules (people.py, activities.py...) add behaviour;",
        "this file only maps typed arguments onto the helpers of `_base.Resource`.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "import builtins",
        "from collections.abc import Mapping, Sequence",
        "from datetime import date, datetime",
        "from typing import Any, ClassVar, Literal",
        "",
        "from .._operations import OPERATIONS",
        "from ..hooks import Lane",
        "from ..models import (",
        *[f"    {n}," for n in schemas_used],
        ")",
        "from ..pagination import Paginator",
        "from ..spec import Operation",
        "from ._base import (",
        "    UNSET,",
        "    DatetimeRange,",
        "    IdRange,",
        "    ListResource,",
        "    NumberRange,",
        "    Resource,",
        "    Unset,",
        "    Upserted,",
        ")",
        "",
        "_OPS: dict[str, Operation] = {op.name: op for op in OPERATIONS}",
        "",
        "__all__ = [",
        *[f'    "{camel(r)}Base",' for r in sorted(by_resource)],
        "]",
        "",
    ]
    for resource, rops in by_resource.items():
        actions = {o.action: o for o in rops}
        lst = actions.get("list")
        base = f"ListResource[{lst.schema}]" if lst and lst.schema else "Resource"
        out += ["", f"class {camel(resource)}Base({base}):"]
        out.append(f'    """The operations of `sl.{resource}` (generated)."""')
        out.append("")
        out.append(f"    name: ClassVar[str] = {resource!r}")
        ops_map = ", ".join(f"{o.action!r}: _OPS[{o.name!r}]" for o in rops)
        out.append(f"    operations: ClassVar[Mapping[str, Operation]] = {{{ops_map}}}")
        if lst and lst.schema:
            qnames = {q.name for q in lst.query}
            cursor = reads_by_cursor(lst, schemas or {})
            out.append(f"    list_path: ClassVar[str] = {lst.path!r}")
            out.append(f"    model: ClassVar[type[{lst.schema}]] = {lst.schema}")
            out.append(f"    supports_updated_at_cursor: ClassVar[bool] = {cursor}")
            names = ", ".join(repr(n) for n in sorted(qnames))
            out.append(f"    list_params: ClassVar[frozenset[str]] = frozenset({{{names}}})")
        out.append("")
        for op in rops:
            out += render_method(op)
    return "\n".join(out) + "\n"


def reads_by_cursor(op: Operation, schemas: dict[str, Schema]) -> bool:
    """Whether a list filters by an `updated_at` range and sorts by `updated_at`, and its records
    have integer ids (which break ties between equal timestamps): read_all's keyset cursor (cost 1
    a page); any other paged list is read by page numbers."""
    schema = schemas.get(op.schema or "")
    id_field = next((f for f in schema.fields if f.name == "id"), None) if schema else None
    if id_field is not None and id_field.type != "integer":
        return False
    sort_by = next((q for q in op.query if q.name == "sort_by"), None)
    sortable = sort_by is not None and (
        "must be one of" not in sort_by.description or "updated_at" in sort_by.description
    )
    return any(q.name == "updated_at" and q.range for q in op.query) and sortable


def call_of(op: Operation) -> str:
    args = [*op.path_params]
    if op.body or op.query:
        args.append("...")
    return f"sl.{op.resource}.{op.action}({', '.join(args)})"


README_BEGIN = "<!-- operations summary: generated by `python tools/generate.py`; do not edit -->"
README_END = "<!-- end of operations summary -->"
DOC_LINK = "docs/operations.md"


@dataclass(frozen=True)
class Surface:
    """What the docs say about the surface: the operations and where they came from."""

    ops: list[Operation]
    older: list[OlderEntry]
    current: list[CurrentRow]
    schemas: dict[str, Schema]
    no_facts: list[str]


def _returns(op: Operation) -> str:
    if op.returns == "list" and not (op.method in ("POST", "PUT") and not op.paged):
        return f"`Paginator[{op.schema}]`"
    if op.returns == "none":
        return "`None`"
    if op.schema in UPSERT_KEYS:
        return f"`Upserted[{UPSERT_KEYS[op.schema][1]}]`"
    if op.returns == "list":
        return f"`list[{op.schema}]`"
    return f"`{op.schema}`"


def reading_strategies(ops: list[Operation], schemas: dict[str, Schema]) -> dict[str, list[str]]:
    """List resources by how read_all reads them."""
    out: dict[str, list[str]] = {"keyset": [], "pages": [], "id": [], "single": []}
    for op in ops:
        if op.action != "list":
            continue
        if op.paged and reads_by_cursor(op, schemas):
            out["keyset"].append(op.resource)
        elif op.paged:
            out["pages"].append(op.resource)
        elif any(q.name == "id" and q.range for q in op.query):
            out["id"].append(op.resource)
        else:
            out["single"].append(op.resource)
    return {k: sorted(v) for k, v in out.items()}


def _counts(s: Surface) -> str:
    older = {e[2] for e in s.older}
    served = {r[2] for r in s.current if r[2]}
    from_current = len(served - older)
    extra = len(current_api.EXTRA_OPERATIONS)
    return (
        f"{len(s.ops)} operations: the {len(older)} of the older v2 definition, {from_current}"
        f" that only Salesloft's current operation list has, and {extra} that list leaves out but"
        f" Salesloft's documentation shows (the current list's {len(s.current)} entries are"
        f" {len(served)} of these operations plus the OAuth token request)"
    )


def render_readme_summary(s: Surface) -> str:
    """The README's short account of the surface (spliced between README_BEGIN and README_END)."""
    ways = reading_strategies(s.ops, s.schemas)

    def names(key: str) -> str:
        return ", ".join(f"`{n}`" for n in ways[key])

    return "\n".join(
        [
            README_BEGIN,
            "",
            f"{_counts(s)}, {len(s.schemas)} models. [{DOC_LINK}]({DOC_LINK}) lists every"
            " operation, the method that calls it and what it returns, and how each garbled"
            " entry of the current list is read.",
            "",
            "`read_all` and `export` read each list the cheapest way its definition allows:",
            "",
            f"- **cost 1 per page** (an `updated_at` cursor): {names('keyset')};",
            f"- **cost 1 per page** (an `id[gt]` cursor): {names('id')};",
            f"- **one request** (not paged): {names('single')};",
            "- **page numbers, paying deep-page costs** (no `updated_at` cursor, or ids that are"
            " not integers):"
            f" {names('pages')}.",
            "",
            "Models without field facts (`id`, timestamps, the rest in `extra`): "
            + ", ".join(f"`{n}`" for n in s.no_facts)
            + ".",
            "",
            README_END,
        ]
    )


def render_operations_doc(s: Surface) -> str:
    """docs/operations.md: every operation, and every entry of both definitions."""
    lines = [
        "<!-- generated by `python tools/generate.py`; do not edit -->",
        "",
        "# Every operation",
        "",
        f"{_counts(s)}. Lists return a `Paginator` (`async for record in ...`, `.pages()`);"
        " the rest are awaited.",
        "",
        "| HTTP | Path | Method | Returns | Summary |",
        "| --- | --- | --- | --- | --- |",
    ]
    for op in sorted(s.ops, key=lambda o: (o.resource, o.path, o.method)):
        summary = doc_line(op.summary, 90).replace("|", "\\|")
        lines.append(
            f"| {op.method} | `{op.path}` | `{call_of(op)}` | {_returns(op)} | {summary} |"
        )
    lines += [
        "",
        "## How the current operation list is read",
        "",
        "The current list (a conversion of Salesloft's Postman collection) has a few garbled"
        " entries; each is read as what it evidently is (`tools/current_api.py`, `READINGS`):",
        "",
        "| As written | Read as | Why |",
        "| --- | --- | --- |",
    ]
    for method, raw, _name, rmethod, rpath, why in s.current:
        if why:
            why_text = why.replace("|", "\\|")
            lines.append(f"| {method} `{raw}` | {rmethod} `{rpath}` | {why_text} |")
    for (method, path), (summary, source) in current_api.EXTRA_OPERATIONS.items():
        lines.append(f"| (absent) | {method} `{path}` | {summary}: {source} |")
    older_only = sorted(
        f"{o.method} `{o.path}`"
        for o in s.ops
        if o.name in {e[2] for e in s.older} and o.name not in {r[2] for r in s.current}
    )
    lines += [
        "",
        "Kept although the current list drops them (no source says they are gone): "
        + ", ".join(older_only)
        + ".",
        "",
        "Models without field facts in any source (`id`, `created_at`, `updated_at`, the rest"
        " in `extra`): " + ", ".join(f"`{n}`" for n in s.no_facts) + ".",
        "",
    ]
    return "\n".join(lines)


def splice_readme(summary: str) -> str:
    """The README with its operations summary replaced by `summary`."""
    text = README.read_text()
    begin, end = text.find(README_BEGIN), text.find(README_END)
    if begin < 0 or end < begin:
        raise SystemExit(f"{README}: no operations summary markers to write between")
    return text[:begin] + summary + text[end + len(README_END) :]


# ---------------------------------------------------------------------------------------------
# Sample payloads -> test fixture
# ---------------------------------------------------------------------------------------------

DEFAULT_SAMPLES = DEFAULT_SPEC.with_name("salesloft-connector-operations.txt")
SAMPLES_FIXTURE = ROOT / "tests" / "fixtures" / "connector_samples.json"

# Title of a section of the connector's sample payloads -> the schema of its `data`.
SAMPLE_SCHEMAS: dict[str, str] = {
    "Create account": "Account",
    "Create bulk job": "BulkJob",
    "Create bulk job data": "JobDataCreationResult",
    "Create cadence membership": "CadenceMembership",
    "Create call": "Call",
    "Create custom field": "CustomField",
    "Create import": "Import",
    "Create note": "Note",
    "Create person": "Person",
    "Create person stage": "PersonStage",
    "Create task": "Task",
    "Get account": "Account",
    "Get bulk job": "BulkJob",
    "Get cadence": "Cadence",
    "Get cadence membership": "CadenceMembership",
    "Get call": "Call",
    "Get custom field": "CustomField",
    "Get email": "Email",
    "Get import": "Import",
    "Get note": "Note",
    "Get person": "Person",
    "Get person stage": "PersonStage",
    "Get step": "Step",
    "Get task": "Task",
    "Get user": "User",
    "List account stages": "AccountStage",
    "List account tiers": "AccountTier",
    "List accounts": "Account",
    "List actions": "Action",
    "List bulk job results": "BulkJobResult",
    "List cadence memberships": "CadenceMembership",
    "List cadences": "Cadence",
    "List call data records": "CallDataRecord",
    "List call dispositions": "CallDisposition",
    "List call sentiments": "CallSentiment",
    "List caller IDs": "CallerId",
    "List calls": "Call",
    "List CRM activities": "CrmActivity",
    "List CRM activity fields": "CrmActivityField",
    "List custom fields": "CustomField",
    "List emails": "Email",
    "List groups": "Group",
    "List imports": "Import",
    "List notes": "Note",
    "List person stages": "PersonStage",
    "List steps": "Step",
    "List tags": "Tag",
    "List tasks": "Task",
    "List users": "User",
    "Update account": "Account",
    "Update bulk job": "BulkJob",
    "Update custom field": "CustomField",
    "Update import": "Import",
    "Update note": "Note",
    "Update person": "Person",
    "Update person stage": "PersonStage",
    "Upsert person": "PersonUpsert",
}


def extract_samples(text: str) -> list[dict[str, Any]]:
    """Sections are 'Title / Copy / ... Sample Output / <numbered JSON lines>'."""
    lines = text.split("\n")
    sections: list[tuple[str, list[str]]] = []
    i = 0
    while i < len(lines):
        title = lines[i].strip()
        if i + 1 < len(lines) and lines[i + 1].strip() == "Copy" and title not in ("", "Copy"):
            sections.append((title, []))
            i += 2
            continue
        if sections:
            sections[-1][1].append(lines[i])
        i += 1
    out: list[dict[str, Any]] = []
    for title, body in sections:
        schema = SAMPLE_SCHEMAS.get(title)
        if schema is None:
            continue
        text_lines = [ln for ln in body if not re.fullmatch(r"\s*\d+\s*", ln)]
        joined = "\n".join(text_lines)
        payload = json.loads(joined.split("Sample Output", 1)[1])
        out.append({"title": title, "schema": schema, "body": payload})
    missing = set(SAMPLE_SCHEMAS) - {o["title"] for o in out}
    if missing:
        raise SystemExit(f"sample sections not found: {sorted(missing)}")
    return out


# ---------------------------------------------------------------------------------------------
# Entry point
# ---------------------------------------------------------------------------------------------


@dataclass
class Output:
    path: Path
    text: str
    python: bool = True
    extra: list[str] = field(default_factory=list)


def ruff_format(paths: list[Path]) -> None:
    py = [str(p) for p in paths if p.suffix == ".py"]
    if not py:
        return
    cmd = [sys.executable, "-m", "ruff"]
    subprocess.run([*cmd, "format", "--quiet", *py], check=True, cwd=ROOT)
    subprocess.run([*cmd, "check", "--fix", "--quiet", *py], check=True, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("spec", nargs="?", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--current", type=Path, default=DEFAULT_CURRENT)
    parser.add_argument("--fields", type=Path, default=DEFAULT_FIELDS)
    parser.add_argument(
        "--samples",
        type=Path,
        default=DEFAULT_SAMPLES,
        help="the connector's sample payloads; skipped (fixture kept) when the file is absent",
    )
    parser.add_argument(
        "--check", action="store_true", help="write nothing; fail if an output would change"
    )
    args = parser.parse_args(argv)
    spec = yaml.safe_load(args.spec.read_text())
    current = yaml.safe_load(args.current.read_text())
    facts = yaml.safe_load(args.fields.read_text())
    older_ops = build_operations(spec)
    ops, current_rows = merge_current(older_ops, current)
    schemas = build_schemas(spec)
    new_schemas, new_raw, ref_classes = current_api.build_schemas(Field, Schema, facts)
    FIELD_REF_CLASSES.update(ref_classes)
    clash = set(schemas) & set(new_schemas)
    if clash:
        raise SystemExit(f"schemas named in both definitions: {sorted(clash)}")
    schemas.update(new_schemas)
    raw_schemas = {**spec["components"]["schemas"], **new_raw}
    no_facts = sorted(
        n for n, r in new_raw.items() if current_api.NO_FACTS_NOTE in r["description"]
    )
    surface = Surface(ops, older_entries(spec, older_ops), current_rows, schemas, no_facts)
    outputs = [
        Output(
            ROOT / "salesloft_async" / "_operations.py",
            render_operations(ops, schemas, args.spec, surface.older, current_rows),
        ),
        Output(
            ROOT / "salesloft_async" / "models" / "_generated.py",
            render_models(raw_schemas, schemas, args.spec),
        ),
        Output(
            ROOT / "salesloft_async" / "resources" / "_generated.py",
            render_resources(ops, args.spec, schemas),
        ),
        Output(OPERATIONS_DOC, render_operations_doc(surface), python=False),
        Output(README, splice_readme(render_readme_summary(surface)), python=False),
    ]
    if args.samples.exists():
        samples = extract_samples(args.samples.read_text())
        text = json.dumps(samples, indent=1, sort_keys=True) + "\n"
        outputs.append(Output(SAMPLES_FIXTURE, text, python=False))
    else:
        print(f"{args.samples} not found: {SAMPLES_FIXTURE.name} left as it is")
    if args.check:
        return check(outputs)
    written: list[Path] = []
    for out in outputs:
        out.path.parent.mkdir(parents=True, exist_ok=True)
        out.path.write_text(out.text)
        written.append(out.path)
    ruff_format(written)
    names = ", ".join(str(p.relative_to(ROOT)) for p in written)
    print(f"{len(ops)} operations, {len(schemas)} schemas -> {names}")
    return 0


def check(outputs: list[Output]) -> int:
    """Render into a scratch copy, format it there, and compare with the committed files."""
    import tempfile

    stale: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        scratch: list[tuple[Output, Path]] = []
        for i, out in enumerate(outputs):
            path = Path(tmp) / f"{i}{out.path.suffix}"
            path.write_text(out.text)
            scratch.append((out, path))
        py = [str(p) for o, p in scratch if o.path.suffix == ".py"]
        cmd = [sys.executable, "-m", "ruff"]
        config = ["--config", str(ROOT / "pyproject.toml")]
        subprocess.run([*cmd, "format", "--quiet", *config, *py], check=True, cwd=tmp)
        subprocess.run([*cmd, "check", "--fix", "--quiet", *config, *py], check=True, cwd=tmp)
        for out, path in scratch:
            if not out.path.exists() or out.path.read_text() != path.read_text():
                stale.append(str(out.path.relative_to(ROOT)))
    if stale:
        print(f"out of date (rerun `{COMMAND}`): {', '.join(stale)}")
        return 1
    print("generated files are up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
