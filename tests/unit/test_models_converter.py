"""The converter: datetimes, references, unknown fields, surprising types, absent vs null."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloft_async._operations import SCHEMAS
from salesloft_async.errors import ResponseDecodeError
from salesloft_async.models import (
    MODELS,
    Account,
    AccountRef,
    CadenceRef,
    Model,
    Person,
    PersonCounts,
    PersonUpsert,
    Ref,
    Task,
    converter,
    structure,
    structure_many,
    unstructure,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def samples() -> list[dict[str, Any]]:
    return json.loads((FIXTURES / "connector_samples.json").read_text())  # type: ignore[no-any-return]


def test_every_schema_has_a_model_with_every_field() -> None:
    assert len(MODELS) == len(SCHEMAS) == 92  # 69 of the older definition, 23 new
    for name, schema in SCHEMAS.items():
        cls = MODELS[name]
        assert issubclass(cls, Model)
        assert cls.schema_name == name
        assert set(cls._json_to_attr) == {f.name for f in schema.fields}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-01-01 00:00:00-05:00", datetime(2022, 1, 1, 5, 0, tzinfo=UTC)),
        ("2023-05-15T10:30:00Z", datetime(2023, 5, 15, 10, 30, tzinfo=UTC)),
        ("2023-05-15T10:30:00.123456+02:00", datetime(2023, 5, 15, 8, 30, 0, 123456, tzinfo=UTC)),
        ("2023-05-15T10:30:00", datetime(2023, 5, 15, 10, 30, tzinfo=UTC)),  # naive means UTC
    ],
)
def test_datetimes_become_aware(text: str, expected: datetime) -> None:
    p = structure({"id": 1, "created_at": text}, Person)
    assert isinstance(p.created_at, datetime)
    assert p.created_at.tzinfo is not None
    assert p.created_at == expected


def test_offset_is_kept_not_converted() -> None:
    p = structure({"updated_at": "2022-01-01 00:00:00-05:00"}, Person)
    assert isinstance(p.updated_at, datetime)
    assert p.updated_at.utcoffset() == timedelta(hours=-5)
    assert p.updated_at.tzinfo == timezone(timedelta(hours=-5))


def test_date_fields_become_dates() -> None:
    t = structure({"id": 3, "due_date": "2024-02-29"}, Task)
    assert t.due_date == date(2024, 2, 29)


def test_references_become_typed_refs() -> None:
    p = structure(
        {
            "account": {"id": 5, "_href": "https://api.salesloft.com/v2/accounts/5"},
            "cadences": [{"id": 7, "_href": "https://api.salesloft.com/v2/cadences/7"}],
            "owner": {"id": 9},
            "counts": {"emails_sent": 3, "calls": 1},
        },
        Person,
    )
    assert isinstance(p.account, AccountRef)
    assert p.account.id == 5
    assert p.account.href == "https://api.salesloft.com/v2/accounts/5"
    assert p.account.resource == "accounts"
    assert p.cadences == [CadenceRef(7, "https://api.salesloft.com/v2/cadences/7")]
    assert p.owner is not None and p.owner.resource == "users" and p.owner.href is None
    assert isinstance(p.counts, PersonCounts) and p.counts.emails_sent == 3


def test_unknown_fields_are_kept_and_raw_is_exact() -> None:
    record = {"id": 1, "first_name": "Ada", "shiny_new_field": {"a": 1}, "another": [1, 2]}
    p = structure(record, Person)
    assert p.extra == {"shiny_new_field": {"a": 1}, "another": [1, 2]}
    assert p.raw is record
    assert unstructure(p)["shiny_new_field"] == {"a": 1}


def test_unknown_fields_inside_a_reference_are_kept() -> None:
    p = structure({"account": {"id": 5, "_href": "h", "name": "Acme"}}, Person)
    assert isinstance(p.account, Ref)
    assert p.account.raw["name"] == "Acme"


def test_surprising_types_keep_the_raw_value() -> None:
    record = {
        "id": "not-a-number",
        "created_at": 12345,  # a number where a timestamp was promised
        "updated_at": "yesterday",  # a string that is not ISO-8601
        "account": "acme",  # a string where a reference was promised
        "cadences": {"id": 1},  # an object where a list was promised
        "counts": [1, 2],  # a list where an object was promised
        "email_address": 42,
    }
    p = structure(record, Person)
    assert p.id == "not-a-number"
    assert p.created_at == 12345
    assert p.updated_at == "yesterday"
    assert p.account == "acme"
    assert p.cadences == {"id": 1}
    assert p.counts == [1, 2]
    assert p.email_address == 42


def test_a_page_with_one_odd_record_still_decodes() -> None:
    page = [{"id": 1, "created_at": "2024-01-01T00:00:00Z"}, {"id": 2, "created_at": False}]
    people = structure_many(page, Person)
    assert [p.id for p in people] == [1, 2]
    assert people[1].created_at is False


def test_a_record_that_is_not_an_object_is_a_decode_error() -> None:
    with pytest.raises(ResponseDecodeError):
        structure_many([{"id": 1}, "oops"], Person)
    with pytest.raises(ResponseDecodeError):
        structure(None, Person)


def test_absent_and_null_are_told_apart() -> None:
    p = structure({"id": 1, "title": None}, Person)
    assert p.title is None and p.first_name is None
    assert p.is_set("title") is True
    assert p.is_set("first_name") is False
    assert "title" in p.fields_set and "first_name" not in p.fields_set
    out = unstructure(p)
    assert out == {"id": 1, "title": None}  # null stays null, absent stays absent


def test_is_set_accepts_attribute_names_of_renamed_fields() -> None:
    p = structure({"import": {"id": 3}}, Person)
    assert p.import_ is not None and p.import_.id == 3
    assert p.is_set("import_") and p.is_set("import")


def test_unstructure_round_trips_datetimes_and_refs() -> None:
    record = {
        "id": 1,
        "created_at": "2024-01-02T03:04:05.000006+00:00",
        "account": {"id": 5, "_href": "h"},
    }
    out = unstructure(structure(record, Person))
    assert out["account"] == {"id": 5, "_href": "h"}
    again = structure(out, Person)
    assert again.created_at == datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=UTC)


def test_cattrs_converter_structures_models_and_lists() -> None:
    people = converter.structure([{"id": 1}, {"id": 2}], list[Person])
    assert [p.id for p in people] == [1, 2]
    acct = converter.structure({"id": 4, "name": "Acme"}, Account)
    assert acct.name == "Acme"


def test_upsert_answer_nests_the_person() -> None:
    u = structure({"upsert_type": "create", "person": {"id": 8}}, PersonUpsert)
    assert u.upsert_type == "create"
    assert isinstance(u.person, Person) and u.person.id == 8


def test_every_connector_sample_record_decodes() -> None:
    decoded = 0
    for sample in samples():
        cls = MODELS[sample["schema"]]
        data = sample["body"]["data"]
        for record in data if isinstance(data, list) else [data]:
            model = structure(record, cls)
            assert model.raw is record
            if "id" in record:
                assert model.is_set("id")
            for json_name, attr in cls._json_to_attr.items():
                value = getattr(model, attr)
                if (
                    json_name in record
                    and record[json_name] is not None
                    and isinstance(value, datetime)
                ):
                    assert value.tzinfo is not None
            decoded += 1
    assert decoded >= 80


def test_reference_shaped_record_with_extra_fields() -> None:
    record = {
        "id": 1,
        "_href": "https://api.salesloft.com/v2/people/1",
        "first_name": "Ada",
        "account": {"id": 2, "_href": "https://api.salesloft.com/v2/accounts/2", "x": 1},
        "brand_new": True,
    }
    p = structure(record, Person)
    assert p.first_name == "Ada"
    assert p.extra == {"_href": "https://api.salesloft.com/v2/people/1", "brand_new": True}
    assert p.account is not None and p.account.raw["x"] == 1


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(sorted(Person._json_to_attr)), json_values, max_size=12))
def test_any_json_values_in_known_fields_decode_without_crashing(record: dict[str, Any]) -> None:
    p = structure(record, Person)
    assert p.raw is record
    assert p.fields_set == {Person._json_to_attr[k] for k in record}
    unstructure(p)  # and they go back out without crashing either


def test_a_subscription_repr_never_shows_its_callback_token() -> None:
    from salesloft_async.models import Subscription

    secret = "s3cr3t-callback-token-value"
    sub = Subscription(id=1, callback_url="https://x.test/h", callback_token=secret)
    assert secret not in repr(sub) and secret not in str(sub)
    assert sub.callback_token == secret
