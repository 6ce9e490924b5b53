"""Every operation of the definition, exercised through the resources against the sandbox.

Real loopback sockets, the real transport, the sandbox's real validation.  One scenario walks
list/get/create/update/delete round trips for each resource that has them and records which
operations it sent; the test fails if any of the 121 of the older definition was not exercised
(test_current_sandbox.py does the same for the operations only the current list has).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from salesloft_async._operations import OLDER_DEFINITION, OPERATIONS
from salesloft_async.client import SalesloftClient
from salesloft_async.errors import NotFoundError, ValidationError
from salesloft_async.models import (
    Account,
    BulkJobResult,
    CadenceMembership,
    CustomField,
    Group,
    Import,
    Note,
    Person,
    PersonStage,
    SavedListView,
    Subscription,
    Task,
    Team,
    User,
)
from salesloft_async.pagination import Paginator
from salesloft_async.resources import Upserted
from salesloft_async.sandbox import Sandbox

from .op_recorder import recording_client

SMALL = {"people": 60, "accounts": 12, "users": 6, "cadences": 6}
#: lists whose definition requires a filter
REQUIRED_FILTERS: dict[str, dict[str, Any]] = {"caller_ids": {"phone_number": "+15550100"}}


@pytest.fixture
async def sl() -> AsyncIterator[tuple[SalesloftClient, set[str]]]:
    async with Sandbox(**SMALL) as sb, recording_client(sb) as recorded:
        yield recorded


async def first(paginator: Paginator[Any]) -> Any:
    record = await paginator.first()
    assert record is not None, f"{paginator!r} listed nothing"
    return record


async def test_every_operation_is_exercised(sl: tuple[SalesloftClient, set[str]]) -> None:
    client, seen = sl
    now = datetime.now(UTC)

    # -- read-only resources: list, then get what was listed --------------------------------------
    for op in OPERATIONS:
        if op.action != "list":
            continue
        resource = getattr(client, op.resource)
        required = REQUIRED_FILTERS.get(op.resource, {})
        paging = {"per_page": 5} if op.paged else {}
        listed = await resource.list(**required, **paging).collect(limit=5)
        assert all(isinstance(r, resource.model) for r in listed), op.name
        if "get" in resource.operations and listed:
            got = await resource.get(listed[0].id)
            assert isinstance(got, resource.model) and got.id == listed[0].id

    me = await client.me.get()
    assert isinstance(me, User) and me.id is not None
    team = await client.team.get()
    assert isinstance(team, Team)
    cadence = await first(client.cadences.list())
    export = await client.cadence_exports.get(cadence.id)
    assert export.raw
    assert (await client.recording_settings.get(1)).raw
    pending = await client.pending_emails.list().collect(limit=1)
    assert pending
    email = await first(client.emails.list())
    assert (await client.mime_email_payloads.get(email.id)).raw

    # -- people: create / get / update / delete, and upsert ---------------------------------------
    person = await client.people.create(email_address="ada@example.com", first_name="Ada")
    assert isinstance(person, Person) and person.first_name == "Ada"
    updated = await client.people.update(person.id, title="CTO")
    assert updated.title == "CTO" and updated.first_name == "Ada"
    assert (await client.people.get(person.id)).title == "CTO"
    up = await client.people.upsert(
        upsert_key="email_address", email_address="ada@example.com", last_name="Lovelace"
    )
    assert isinstance(up, Upserted) and up.created is False and up.record.id == person.id
    new = await client.people.upsert(upsert_key="email_address", email_address="new@example.com")
    assert new.created is True and isinstance(new.record, Person)

    # -- accounts ---------------------------------------------------------------------------------
    acct = await client.accounts.create(name="Acme", domain="acme-roundtrip.test")
    assert isinstance(acct, Account) and acct.domain == "acme-roundtrip.test"
    assert (await client.accounts.update(acct.id, industry="Rockets")).industry == "Rockets"
    assert (await client.accounts.get(acct.id)).name == "Acme"
    aup = await client.accounts.upsert(
        upsert_key="domain", domain="acme-roundtrip.test", name="Acme Inc"
    )
    assert aup.created is False and aup.record.id == acct.id
    await client.accounts.delete(acct.id)
    with pytest.raises(NotFoundError):
        await client.accounts.get(acct.id)

    # -- cadence memberships ----------------------------------------------------------------------
    membership = await client.cadence_memberships.create(person_id=person.id, cadence_id=cadence.id)
    assert isinstance(membership, CadenceMembership)
    assert (await client.cadence_memberships.get(membership.id)).id == membership.id
    await client.cadence_memberships.delete(membership.id)

    # -- activities -------------------------------------------------------------------------------
    call = await client.calls.create(person_id=person.id, disposition="Connected", notes="hi")
    assert (await client.calls.get(call.id)).id == call.id
    note = await client.notes.create(
        content="met at the fair", associated_with_type="person", associated_with_id=person.id
    )
    assert isinstance(note, Note)
    assert (await client.notes.update(note.id, content="edited")).content == "edited"
    assert (await client.notes.get(note.id)).content == "edited"
    await client.notes.delete(note.id)
    task = await client.tasks.create(
        subject="Follow up",
        person_id=person.id,
        user_id=me.id,
        task_type="call",
        due_date=(now + timedelta(days=1)).date().isoformat(),
        current_state="scheduled",
    )
    assert isinstance(task, Task)
    assert (await client.tasks.update(task.id, subject="Follow up 2")).subject == "Follow up 2"
    assert (await client.tasks.get(task.id)).id == task.id
    action = await first(client.actions.list())
    await client.activities.create(action_id=action.id, task_id=task.id)
    await client.ongoing_actions.create(action_id=action.id)
    feed = await client.third_party_live_feed_items.create(
        subject_type="person",
        subject_id=person.id,
        user_guid=me.guid or "guid",
        message="visited pricing",
        event_occurred_at=now,
        idempotency_key="k-1",
    )
    assert len(feed) == 1
    await client.conversations_calls.create(
        from_="+15550100",
        duration=60,
        to="+15550101",
        recording={"url": "https://rec.example/1"},
        user_guid=me.guid,
    )
    await client.external_emails.create(mailbox="ada@example.com", raw="From: a\r\n\r\nbody")
    await client.live_website_tracking_parameters.create(person_id=person.id)

    # -- cadence import (from the export read above) ----------------------------------------------
    await client.cadence_imports.create(cadence_content=export.raw.get("cadence_content") or {})

    # -- stages, imports, custom fields, saved views ----------------------------------------------
    stage = await client.person_stages.create(name="Qualified")
    assert isinstance(stage, PersonStage)
    assert (await client.person_stages.update(stage.id, name="Very qualified")).name == (
        "Very qualified"
    )
    assert (await client.person_stages.get(stage.id)).id == stage.id
    await client.person_stages.delete(stage.id)
    imp = await client.imports.create(name="Fair leads")
    assert isinstance(imp, Import)
    assert (await client.imports.update(imp.id, name="Fair leads 2")).name == "Fair leads 2"
    assert (await client.imports.get(imp.id)).id == imp.id
    await client.imports.delete(imp.id)
    field = await client.custom_fields.create(name="Tier", field_type="person")
    assert isinstance(field, CustomField)
    assert (await client.custom_fields.update(field.id, name="Tier 2")).name == "Tier 2"
    assert (await client.custom_fields.get(field.id)).id == field.id
    await client.custom_fields.delete(field.id)
    view = await client.saved_list_views.create(view="people", name="Mine")
    assert isinstance(view, SavedListView)
    assert (await client.saved_list_views.update(view.id, name="Ours")).name == "Ours"
    assert (await client.saved_list_views.get(view.id)).id == view.id
    await client.saved_list_views.delete(view.id)

    # -- users, meetings, calendar, pending emails ------------------------------------------------
    user = await first(client.users.list())
    assert (await client.users.update(user.id, work_country="DE")).work_country == "DE"
    assert (await client.users.get(user.id)).work_country == "DE"
    group = await first(client.groups.list())
    assert isinstance(group, Group)
    meeting = await first(client.meetings.list())
    assert (await client.meetings.update(meeting.id, no_show=True)).no_show is True
    setting = (await client.meetings.search_settings().collect(limit=1))[0]
    assert (await client.meetings.update_setting(setting.id, title="Chat")).title == "Chat"
    event = await client.calendar_events.upsert(
        id="evt-1",
        i_cal_uid="uid-1",
        calendar_id="cal-1",
        start_time=now.isoformat(),
        end_time=(now + timedelta(hours=1)).isoformat(),
    )
    assert event.i_cal_uid == "uid-1"
    sent = await client.pending_emails.update(pending[0].id, message_id="<m1@x>", status="sent")
    assert sent.id == pending[0].id

    # -- webhook subscriptions --------------------------------------------------------------------
    sub = await client.webhook_subscriptions.create(
        callback_url="http://127.0.0.1:9/sl",  # the sandbox delivers to loopback only
        callback_token="secret-token",
        event_type="person_created",
    )
    assert isinstance(sub, Subscription)
    assert (await client.webhook_subscriptions.update(sub.id, enabled=False)).enabled is False
    assert (await client.webhook_subscriptions.get(sub.id)).id == sub.id
    assert [s.id for s in await client.webhook_subscriptions.list().collect()] == [sub.id]
    await client.webhook_subscriptions.delete(sub.id)

    # -- bulk jobs: the whole workflow, then each step's read side --------------------------------
    rows = [
        {"email_address": f"bulk{i}@example.com", "upsert_key": "email_address"} for i in range(7)
    ]
    run = await client.bulk_jobs.run("person/upsert", rows, batch_size=3, poll_interval=0.01)
    assert run.records_sent == 7
    results = [r async for r in run.results()]
    assert len(results) == 7 and all(isinstance(r, BulkJobResult) for r in results)
    assert len(await client.bulk_jobs.list_job_data(run.job.id).collect()) == 7
    assert run.job.id in {j.id for j in await client.bulk_jobs.list().collect()}

    # -- the last deletes -------------------------------------------------------------------------
    await client.people.delete(person.id)
    with pytest.raises(NotFoundError):
        await client.people.get(person.id)

    missing = {name for _, _, name in OLDER_DEFINITION} - seen
    assert not missing, f"operations never exercised: {sorted(missing)}"


async def test_validation_errors_carry_field_messages(sl: tuple[SalesloftClient, set[str]]) -> None:
    client, _ = sl
    with pytest.raises(ValidationError) as err:
        await client.people.create(first_name="No contact details")
    assert err.value.status == 422
    assert err.value.errors.get("email_address")
    with pytest.raises(ValidationError) as err2:
        await client.webhook_subscriptions.create(
            callback_url="not a url", callback_token="t", event_type="no_such_event"
        )
    assert set(err2.value.errors) >= {"callback_url", "event_type"}


async def test_filters_reach_the_server(sl: tuple[SalesloftClient, set[str]]) -> None:
    client, _ = sl
    made = await client.people.create(email_address="filter-me@example.com")
    found = await client.people.list(email_addresses=["filter-me@example.com"]).collect()
    assert [p.id for p in found] == [made.id]
    since = made.updated_at
    assert isinstance(since, datetime)
    recent = await client.people.list(updated_at={"gte": since}, sort_by="updated_at").collect()
    assert made.id in {p.id for p in recent}
    assert all(p.updated_at >= since for p in recent if isinstance(p.updated_at, datetime))


async def test_listing_walks_every_page(sl: tuple[SalesloftClient, set[str]]) -> None:
    client, _ = sl
    paginator = client.people.list(per_page=25, include_paging_counts=True)
    ids = [p.id async for p in paginator]
    assert len(ids) == len(set(ids)) == SMALL["people"]
    assert paginator.pages_read == 3
    assert paginator.paging is not None and paginator.paging.next_page is None


async def test_read_all_is_reachable_from_a_list_resource(
    sl: tuple[SalesloftClient, set[str]],
) -> None:
    client, seen = sl
    people = [p async for p in client.people.read_all(concurrency=2)]
    assert len({p.id for p in people}) == SMALL["people"]
    assert all(isinstance(p, Person) for p in people)
    assert seen == {"list_people"}
