"""Every operation of both definitions is reachable from the client, by its method and path.

The operation list comes from the committed, generated `_operations.py`, which also lists every
entry of each definition as written there (OLDER_DEFINITION, CURRENT_DEFINITION) and the operation
serving it.  Committed fingerprints (count + hash of "METHOD path" lines) prove the file still
matches the definitions it was made from, so an operation cannot silently disappear from the table
(regenerate and update both).  That each operation really sends its method and path is
tests/integration/test_operations_coverage.py.
"""

from __future__ import annotations

import hashlib
import inspect
import re

from salesloft_async import resources
from salesloft_async._operations import CURRENT_DEFINITION, OLDER_DEFINITION, OPERATIONS
from salesloft_async.client import SalesloftClient
from salesloft_async.resources import ListResource, Resource
from salesloft_async.spec import Operation

#: 121 operations of salesloft-v2-openapi.yaml, 55 only the current list has, 1 only documented
EXPECTED_COUNT = 177
EXPECTED_FINGERPRINT = "4405d612d62a9e0fe717191da23489da049b530ffe6562e02dd464c655c69095"
#: the current list (salesloft-postman-openapi.yml): 176 entries as written there
CURRENT_COUNT = 176
CURRENT_FINGERPRINT = "fec1153fa34ca0e138f170d1156ddff076b5fd12e8a5e781fe717bf30dbf82e5"
BASE = "https://api.example.test"


def fingerprint(ops: tuple[Operation, ...]) -> str:
    lines = sorted(f"{o.method} {o.path}" for o in ops)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_operation_table_matches_the_committed_fingerprint() -> None:
    assert len(OPERATIONS) == EXPECTED_COUNT
    assert len({(o.method, o.path) for o in OPERATIONS}) == EXPECTED_COUNT
    assert len({o.name for o in OPERATIONS}) == EXPECTED_COUNT
    assert fingerprint(OPERATIONS) == EXPECTED_FINGERPRINT
    assert len({o.path for o in OPERATIONS}) == 125
    assert len(OLDER_DEFINITION) == 121 and len(CURRENT_DEFINITION) == CURRENT_COUNT
    current = sorted(f"{m} {p}" for m, p, *_ in CURRENT_DEFINITION)
    assert hashlib.sha256("\n".join(current).encode()).hexdigest() == CURRENT_FINGERPRINT


BY_NAME = {o.name: o for o in OPERATIONS}


def test_every_operation_of_the_older_definition_is_served_at_its_method_and_path() -> None:
    for method, raw_path, name in OLDER_DEFINITION:
        op = BY_NAME[name]
        assert (op.method, op.path) == (method, raw_path.removesuffix(".json")), name


def as_served(path: str) -> str:
    """The current list's path as the client sends it: /v2, literal ids and UUIDs as `{}`."""
    path = re.sub(r"/(\d+|[0-9a-f]{8}-[0-9a-f-]{27})(?=/|$)", "/{}", path)
    return "/v2" + re.sub(r"\{[^}]*\}", "{}", path)


def test_every_operation_of_the_current_list_is_served_or_read_as_recorded() -> None:
    readings = 0
    for method, raw_path, name, read_method, read_path, why in CURRENT_DEFINITION:
        if not name:  # the token request goes to the accounts host, not the API
            assert (method, raw_path) == ("POST", "/oauth/token") and "client_credentials" in why
            continue
        op = BY_NAME[name]
        served = (op.method, re.sub(r"\{[^}]*\}", "{}", op.path))
        if why:
            readings += 1
            assert (op.method, op.path) == (read_method, read_path), name
        else:
            assert served == (method, as_served(raw_path)), name
    # N1 to N6 of CURRENT-API-DIFF.md (N2 twice, N5 twice): each reading is recorded
    assert readings == 8


def test_paths_have_no_json_suffix() -> None:
    assert not [o.path for o in OPERATIONS if o.path.endswith(".json")]


def test_every_resource_is_a_typed_client_attribute() -> None:
    hints = inspect.get_annotations(resources.Resources)
    sl = SalesloftClient(api_key="ak_test", base_url=BASE)
    for name in {o.resource for o in OPERATIONS}:
        assert name in hints, f"Resources.{name} is not declared"
        res = getattr(sl, name)
        assert isinstance(res, Resource)
        assert res.name == name
        assert type(res).__name__ == hints[name]


def test_list_resources_expose_what_the_bulk_reader_needs() -> None:
    sl = SalesloftClient(api_key="ak_test", base_url=BASE)
    assert sl.people.list_path == "/v2/people"
    assert sl.people.supports_updated_at_cursor is True
    assert sl.people.model.__name__ == "Person"
    assert sl.calls.list_path == "/v2/activities/calls"
    assert sl.groups.supports_updated_at_cursor is False
    for op in OPERATIONS:
        if op.action == "list":
            res = getattr(sl, op.resource)
            assert isinstance(res, ListResource)
            assert res.list_path == op.path
            assert callable(res.read_all) and callable(res.fetch_page)
