"""The generator's rules, on a small inline definition (tests never read the real one)."""

from __future__ import annotations

import importlib.util
import sys
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
    assert fields["person"].ref == "EmbeddedResource"
    text = gen.render_models(SPEC, schemas, Path("x.yaml"))
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
    docs = gen.render_docs(ops, Path("x.yaml"))
    assert "`sl.calls.delete(id)`" in docs


def test_committed_readme_table_lists_every_operation() -> None:
    rows = [
        line
        for line in (ROOT / "README.md").read_text().splitlines()
        if line.startswith("| ") and "`/v2/" in line
    ]
    listed = {(r.split("|")[1].strip(), r.split("|")[2].strip().strip("`")) for r in rows}
    assert listed == {(o.method, o.path) for o in OPERATIONS}
