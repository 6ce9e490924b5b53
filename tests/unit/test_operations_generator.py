"""The generator's rules, on a small inline definition (tests never read the real one)."""

from __future__ import annotations

import importlib.util
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from salesloft_async._operations import OPERATIONS

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    spec = importlib.util.spec_from_file_location("_salesloft_generate", ROOT / "tools/generate.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


RANGE = (
    "Equality filters.\n\n---CUSTOM---\n"
    '{"type":"object","keys":[{"name":"gt","type":"iso8601 string"},'
    '{"name":"lte","type":"iso8601 string"}]}\n'
)

SPEC: dict[str, Any] = {
    "paths": {
        "/v2/activities/calls.json": {
            "get": {
                "summary": "List calls",
                "parameters": [
                    {
                        "in": "query",
                        "name": "updated_at",
                        "description": RANGE,
                        "schema": {"type": "array", "items": {"type": "string"}},
                    },
                    {
                        "in": "query",
                        "name": "ids",
                        "description": "IDs",
                        "schema": {"type": "array", "items": {"type": "integer"}},
                    },
                    {"in": "query", "name": "page", "schema": {"type": "integer"}},
                    {"in": "query", "name": "per_page", "schema": {"type": "integer"}},
                ],
                "responses": {
                    "200": {
                        "content": {
                            "*/*": {
                                "schema": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Call"},
                                }
                            }
                        }
                    }
                },
            },
            "post": {
                "summary": "Create a call",
                "requestBody": {
                    "content": {
                        "application/x-www-form-urlencoded": {
                            "schema": {
                                "required": ["person_id"],
                                "properties": {
                                    "person_id": {"type": "integer"},
                                    "from": {"type": "string"},
                                },
                            }
                        }
                    }
                },
                "responses": {
                    "200": {"content": {"*/*": {"schema": {"$ref": "#/components/schemas/Call"}}}}
                },
            },
        },
        "/v2/activities/calls/{id}.json": {
            "delete": {
                "parameters": [
                    {"in": "path", "name": "id", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"204": {"description": "gone"}},
            }
        },
    },
    "components": {
        "schemas": {
            "Call": {
                "properties": {
                    "id": {"type": "integer"},
                    "created_at": {"type": "string", "format": "date-time"},
                    "due_on": {"type": "string", "format": "date"},
                    # `format: date` with a timestamp example, as on Meeting.start_time
                    "started": {
                        "type": "string",
                        "format": "date",
                        "example": datetime(2022, 12, 19, 16, 49, 17, tzinfo=UTC),
                    },
                    "person": {"$ref": "#/components/schemas/EmbeddedResource"},
                }
            },
            "EmbeddedResource": {
                "properties": {"id": {"type": "integer"}, "_href": {"type": "string"}}
            },
        }
    },
}


def test_operations_follow_the_naming_and_paging_rules(gen: ModuleType) -> None:
    ops = {o.name: o for o in gen.build_operations(SPEC)}
    assert set(ops) == {"list_calls", "create_calls", "delete_calls"}
    lst = ops["list_calls"]
    assert lst.path == "/v2/activities/calls" and lst.resource == "calls"
    assert lst.paged and lst.returns == "list" and lst.schema == "Call"
    updated = next(q for q in lst.query if q.name == "updated_at")
    assert updated.range and updated.type == "datetime" and not updated.array
    assert "---CUSTOM---" not in updated.description
    ids = next(q for q in lst.query if q.name == "ids")
    assert ids.array and ids.type == "integer"
    create = ops["create_calls"]
    assert create.method == "POST" and create.returns == "object"
    assert [(b.name, b.required) for b in create.body] == [("from", False), ("person_id", True)]
    delete = ops["delete_calls"]
    assert delete.returns == "none" and delete.path_params == ("id",)


def test_schemas_and_models(gen: ModuleType) -> None:
    schemas = gen.build_schemas(SPEC)
    fields = {f.name: f for f in schemas["Call"].fields}
    assert fields["created_at"].type == "datetime"
    assert fields["due_on"].format == "date"
    assert (fields["started"].type, fields["started"].format) == ("datetime", "")
    assert fields["person"].ref == "EmbeddedResource"
    text = gen.render_models(SPEC["components"]["schemas"], schemas, Path("x.yaml"))
    assert "person: PersonRef | None = None" in text
    assert "created_at=to_datetime(g('created_at'))" in text.replace('"', "'")
    assert "href: str | None = None" in text  # "_href" becomes an attribute named href
    compile(text, "models", "exec")


def test_resources_render_typed_signatures(gen: ModuleType) -> None:
    ops = gen.build_operations(SPEC)
    text = gen.render_resources(ops, Path("x.yaml"))
    assert "updated_at: DatetimeRange | None = None" in text
    assert "from_: str | None | Unset = UNSET" in text  # a keyword becomes from_
    assert "person_id: int," in text  # required: no default
    compile(text, "resources", "exec")
    docs = gen.render_operations_doc(gen.Surface(ops, [], [], {}, []))
    assert "`sl.calls.delete(id)`" in docs


#: a current operation list in the conversion's style: every parameter a string, no schemas
CURRENT: dict[str, Any] = {
    "paths": {
        "/activities/calls": {
            "get": {
                "summary": "List calls",
                # misspelt, as on the conversion's GET /account_stages: never offered
                "parameters": [{"in": "query", "name": "sort_driection"}],
            }
        },
        "/activities/calls/{id}": {
            "delete": {
                "summary": "Delete a call",
                "parameters": [{"in": "path", "name": "id", "schema": {"type": "string"}}],
            }
        },
        "/opportunities": {
            "get": {
                "summary": "List Opportunities",
                "parameters": [
                    {"in": "query", "name": n, "schema": {"type": "string"}}
                    for n in ("updated_at[gt]", "updated_at[lte]", "ids", "is_won", "per_page")
                ],
            }
        },
        "/conversations/71d91aec-80bc-463b-b072-475aea744805/extensive": {
            "get": {"summary": "Fetch an extensive conversation"}
        },
        "/signals": {
            "post": {
                "summary": "Create a signal",
                "requestBody": {
                    "content": {
                        "application/json": {
                            "schema": {"example": {"idempotency_key": "string", "urgency": 0}}
                        }
                    }
                },
            }
        },
        "/activities": {"get": {"summary": "Create an activity"}},
        "/oauth/token": {"post": {"summary": "Token"}},
    }
}


def test_the_current_list_is_merged_typed_and_read(gen: ModuleType) -> None:
    older = gen.build_operations(SPEC)
    ops, rows = gen.merge_current(older, CURRENT)
    by_name = {o.name: o for o in ops}
    # shared operations keep the older typing (no misspelt name); new ones are typed from their
    # names and facts
    assert by_name["list_calls"] == next(o for o in older if o.name == "list_calls")
    assert gen.current_api.MISSPELLINGS["sort_driection"] == "sort_direction"
    opp = by_name["list_opportunities"]
    params = {q.name: q for q in opp.query}
    assert params["updated_at"].range and params["updated_at"].type == "datetime"
    assert params["ids"].array and params["ids"].type == "integer"
    assert params["is_won"].type == "boolean" and params["per_page"].type == "integer"
    assert "updated_at" in params["sort_by"].description  # from the resource's facts
    assert opp.paged and opp.schema == "Opportunity"
    extensive = by_name["get_conversation_extensive"]
    assert (
        extensive.path == "/v2/conversations/{id}/extensive" and extensive.action == "get_extensive"
    )
    signal = by_name["create_signals"]
    assert {b.name: b.type for b in signal.body} == {
        "idempotency_key": "string",
        "urgency": "integer",
    }
    # a garbled entry is served by the operation its reading names, with the reason recorded
    row = next(r for r in rows if r[1] == "/activities")
    assert row[3:5] == ("POST", "/v2/activities") and row[5].startswith("N1")
    token = next(r for r in rows if r[1] == "/oauth/token")
    assert token[2] == "" and "client_credentials" in token[5]


def test_models_from_field_facts(gen: ModuleType) -> None:
    facts = {
        "opportunities": {
            "source": "https://example.test/opportunities",
            "fields": {
                "id": {"type": "integer"},
                "amount": {"type": "string"},
                "close_date": {"type": "datetime"},
                "most_recent_cadence": {"type": "object", "ref": "cadences"},
                "opportunity_window_person_id": {"type": "integer", "ref": "people"},
                "tags": {"type": "array", "items": "string"},
            },
        }
    }
    schemas, raw, refs = gen.current_api.build_schemas(gen.Field, gen.Schema, facts)
    fields = {f.name: f for f in schemas["Opportunity"].fields}
    assert fields["amount"].type == "string"  # a decimal sent as a string stays one
    assert fields["most_recent_cadence"].ref == "EmbeddedResource"
    assert refs[("Opportunity", "most_recent_cadence")] == "CadenceRef"
    assert fields["opportunity_window_person_id"].target == "people"
    assert fields["tags"].array
    # a `date` whose source says timestamp is read as one (the reading is recorded there)
    facts = {"play_registrations": {"fields": {"created_at": {"type": "date"}}}}
    schemas, _, _ = gen.current_api.build_schemas(gen.Field, gen.Schema, facts)
    created = next(f for f in schemas["PlayRegistration"].fields if f.name == "created_at")
    assert (created.type, created.format) == ("datetime", "")
    # no facts: id, timestamps, and everything else in `extra`
    assert {f.name for f in schemas["Profile"].fields} == {"id", "created_at", "updated_at"}
    assert "No source lists its fields" in raw["Profile"]["description"]


def test_committed_operations_doc_lists_every_operation() -> None:
    doc = (ROOT / "docs" / "operations.md").read_text()
    rows = [
        line
        for line in doc.splitlines()
        if line.startswith("| ") and "`/v2/" in line and "`sl." in line
    ]
    listed = {(r.split("|")[1].strip(), r.split("|")[2].strip().strip("`")) for r in rows}
    assert listed == {(o.method, o.path) for o in OPERATIONS}
    # no method takes a name the current list misspells (the doc says how each is read)
    taken = {p.name for o in OPERATIONS for p in (*o.query, *o.body)}
    for wrong in ("sort_driection", "user_guid;", "action_d", "crm_d", "crm_id_tyep"):
        assert wrong not in taken and f"`{wrong}` as `" in doc
