"""parse_event: one typed event per modelled kind, UnknownEvent for the rest, clean refusals."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from salesloft_async import models
from salesloft_async.webhooks import (
    EVENT_TYPES,
    AccountEvent,
    BulkJobEvent,
    CadenceEvent,
    CadenceMembershipEvent,
    CallDataRecordEvent,
    CallEvent,
    EmailEvent,
    Event,
    LinkSwapEvent,
    MeetingEvent,
    NoteEvent,
    PersonEvent,
    StepEvent,
    SuccessEvent,
    TaskEvent,
    UnknownEvent,
    UserEvent,
    WebhookPayloadError,
    event_class_for,
    parse_event,
    split_event_type,
)

STAMP = "2026-11-23T10:15:30.123456Z"

CASES: list[tuple[str, type[Event[Any]], type[models.Model], str | None]] = [
    ("person_created", PersonEvent, models.Person, "created"),
    ("person_updated", PersonEvent, models.Person, "updated"),
    ("person_deleted", PersonEvent, models.Person, "deleted"),
    ("account_created", AccountEvent, models.Account, "created"),
    ("account_updated", AccountEvent, models.Account, "updated"),
    ("account_deleted", AccountEvent, models.Account, "deleted"),
    ("cadence_created", CadenceEvent, models.Cadence, "created"),
    ("cadence_deleted", CadenceEvent, models.Cadence, "deleted"),
    ("cadence_membership_created", CadenceMembershipEvent, models.CadenceMembership, "created"),
    ("cadence_membership_updated", CadenceMembershipEvent, models.CadenceMembership, "updated"),
    ("call_created", CallEvent, models.Call, "created"),
    ("call_updated", CallEvent, models.Call, "updated"),
    ("call_data_record_created", CallDataRecordEvent, models.CallDataRecord, "created"),
    ("call_data_record_updated", CallDataRecordEvent, models.CallDataRecord, "updated"),
    ("email_updated", EmailEvent, models.Email, "updated"),
    ("meeting_booked", MeetingEvent, models.Meeting, "booked"),
    ("meeting_updated", MeetingEvent, models.Meeting, "updated"),
    ("note_created", NoteEvent, models.Note, "created"),
    ("note_deleted", NoteEvent, models.Note, "deleted"),
    ("step_created", StepEvent, models.Step, "created"),
    ("step_updated", StepEvent, models.Step, "updated"),
    ("success_created", SuccessEvent, models.Success, "created"),
    ("task_created", TaskEvent, models.Task, "created"),
    ("task_completed", TaskEvent, models.Task, "completed"),
    ("task_deleted", TaskEvent, models.Task, "deleted"),
    ("user_created", UserEvent, models.User, "created"),
    ("user_updated", UserEvent, models.User, "updated"),
    ("bulk_job_completed", BulkJobEvent, models.BulkJob, "completed"),
]


@pytest.mark.parametrize(("event_type", "event_cls", "model", "action"), CASES)
def test_each_modelled_type_decodes_into_its_model(
    event_type: str, event_cls: type[Event[Any]], model: type[models.Model], action: str
) -> None:
    body = json.dumps({"id": 7, "updated_at": STAMP, "brand_new_field": [1, 2]}).encode()
    event = parse_event(event_type, body)
    assert type(event) is event_cls
    assert event.event_type == event_type
    assert event.action == action
    assert isinstance(event.record, model)
    assert event.record.id == 7  # type: ignore[attr-defined]
    assert event.record_id == 7
    # Fields the API grew in place survive on the model and on the event.
    assert event.record.extra == {"brand_new_field": [1, 2]}
    assert event.raw["brand_new_field"] == [1, 2]


def test_a_person_event_carries_typed_fields_and_references() -> None:
    body = {
        "id": 42,
        "first_name": "Ada",
        "email_address": "ada@example.com",
        "updated_at": STAMP,
        "account": {"id": 9, "_href": "https://api.salesloft.com/v2/accounts/9"},
    }
    event = parse_event("person_updated", json.dumps(body).encode())
    assert isinstance(event, PersonEvent)
    person = event.record
    assert person.first_name == "Ada"
    assert person.updated_at == datetime(2026, 11, 23, 10, 15, 30, 123456, tzinfo=UTC)
    assert person.account is not None
    assert person.account.id == 9


def test_every_documented_type_parses_without_error() -> None:
    for event_type in EVENT_TYPES:
        event = parse_event(event_type, b'{"id": 1, "links": []}')
        assert event.event_type == event_type
        assert isinstance(event, event_class_for(event_type))


@pytest.mark.parametrize(
    ("event_type", "action"),
    [
        ("conversation_created", "created"),
        ("conversation_recording_created", "created"),
        ("conversation_transcript_created", "created"),
        ("opportunity_updated", "updated"),  # a kind Salesloft may add later
        ("person_exploded", None),  # not an action we know
    ],
)
def test_unmodelled_types_become_unknown_events_keeping_the_raw_json(
    event_type: str, action: str | None
) -> None:
    payload = {"id": 3, "whatever": {"nested": True}}
    event = parse_event(event_type, json.dumps(payload).encode())
    assert type(event) is UnknownEvent
    assert event.action == action
    assert event.record == payload
    assert event.raw == payload


def test_unknown_event_may_hold_any_json_value() -> None:
    event = parse_event("conversation_created", b"[1, 2, 3]")
    assert isinstance(event, UnknownEvent)
    assert event.record == [1, 2, 3]
    assert event.record_id is None


def test_link_swap_is_typed_with_what_it_asks_about() -> None:
    body = {
        "user": {"id": 1, "email": "rep@example.com"},
        "team": {"id": 123456},
        "mailing": {"id": 30},
        "email": {"id": 31},
        "person": {"id": 7, "email": "ada@example.com"},
        "links": ["http://old-1.example", "http://old-2.example"],
    }
    event = parse_event("link_swap", json.dumps(body).encode())
    assert isinstance(event, LinkSwapEvent)
    assert event_class_for("link_swap") is LinkSwapEvent
    swap = event.record
    assert swap.links == ("http://old-1.example", "http://old-2.example")
    assert (swap.user_id, swap.user_email, swap.team_id) == (1, "rep@example.com", 123456)
    assert (swap.mailing_id, swap.email_id) == (30, 31)
    assert (swap.person_id, swap.person_email) == (7, "ada@example.com")


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"links": "http://x"}', b'{"links": [1]}'])
def test_a_link_swap_without_a_list_of_links_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError, match="list of links"):
        parse_event("link_swap", body)


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("cadence_membership_created", ("cadence_membership", "created")),
        ("call_data_record_updated", ("call_data_record", "updated")),
        ("meeting_booked", ("meeting", "booked")),
        ("bulk_job_completed", ("bulk_job", "completed")),
        ("link_swap", ("link_swap", None)),
        ("created", ("created", None)),
        ("_created", ("_created", None)),
    ],
)
def test_split_event_type(event_type: str, expected: tuple[str, str | None]) -> None:
    assert split_event_type(event_type) == expected


def test_body_may_be_text_or_an_already_decoded_object() -> None:
    assert parse_event("note_created", '{"id": 5}').record_id == 5
    event = parse_event("note_created", {"id": 6, "content": "hi"})
    assert isinstance(event, NoteEvent)
    assert event.record.content == "hi"


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b'{"id": 1', b"\xff\xfe\x00garbage", b"[" * 100_000],
)
def test_a_body_that_is_not_json_is_a_payload_error(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError, match="not valid JSON"):
        parse_event("person_updated", body)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"person"', b"42", b"null"])
def test_a_modelled_type_needs_a_json_object(body: bytes) -> None:
    with pytest.raises(WebhookPayloadError, match="not the person object expected"):
        parse_event("person_updated", body)


def test_an_odd_field_value_is_kept_rather_than_failing_the_event() -> None:
    event = parse_event("person_updated", b'{"id": 1, "updated_at": "yesterday-ish"}')
    assert isinstance(event, PersonEvent)
    assert event.record.raw["updated_at"] == "yesterday-ish"


def test_a_decoder_failure_surfaces_as_a_payload_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from salesloft_async.webhooks import events

    def broken(cls: type[models.Model], raw: Any) -> Any:
        raise TypeError("boom")

    monkeypatch.setattr(events, "decode_record", broken)
    with pytest.raises(WebhookPayloadError, match="does not decode into Person: TypeError"):
        parse_event("person_updated", b'{"id": 1}')


def test_a_missing_event_type_is_a_payload_error() -> None:
    with pytest.raises(WebhookPayloadError, match="event type is missing"):
        parse_event("", b"{}")


def test_payload_error_is_a_salesloft_error_and_a_value_error() -> None:
    from salesloft_async.errors import SalesloftError

    assert issubclass(WebhookPayloadError, SalesloftError)
    assert issubclass(WebhookPayloadError, ValueError)
