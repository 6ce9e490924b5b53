"""The operations only Salesloft's current list has, against the sandbox, through the resources.

One scenario walks a create/read/update/delete (or read) round trip for each new resource and fails
if any of them was not exercised.  The others: `read_all` of a list that cannot filter by
`updated_at` (custom fields) returns each record once; every `_href` in the seed data resolves;
seed values follow the definition's types, listed values and example forms; a POST carrying an
`idempotency_key` is resent after a cut or dropped connection and creates one record, while one
without a key is not resent; `read_all` and `export` read every new list by the strategy its
definition allows; and every list honours an `updated_at` filter or sort only if it lists one.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from salesloft_async._operations import OLDER_DEFINITION, OPERATIONS, SCHEMAS
from salesloft_async.client import SalesloftClient
from salesloft_async.commands.export import ExportOptions, SandboxDemo, export, exportable
from salesloft_async.errors import (
    NotFoundError,
    ResponseDecodeError,
    TransportError,
    ValidationError,
)
from salesloft_async.models import (
    Conversation,
    ConversationExtensive,
    ConversationRecording,
    ExternalMapping,
    Opportunity,
    OpportunityStage,
    PlayRegistration,
    SignalRegistration,
    Transcription,
    TranscriptionSentence,
)
from salesloft_async.retry import RetryPolicy
from salesloft_async.sandbox import Sandbox
from salesloft_async.spec import Field, Operation

from .op_recorder import recording_client

SMALL = {"people": 60, "accounts": 12, "users": 6, "cadences": 6}
NEW = {o.name for o in OPERATIONS} - {name for _, _, name in OLDER_DEFINITION}


@pytest.fixture
async def env() -> AsyncIterator[tuple[Sandbox, SalesloftClient, set[str]]]:
    async with Sandbox(**SMALL) as sb, recording_client(sb) as (client, seen):
        yield sb, client, seen


async def test_every_new_operation_round_trips(
    env: tuple[Sandbox, SalesloftClient, set[str]],
) -> None:
    sb, sl, seen = env
    now = datetime.now(UTC)

    # -- opportunities and their people and stages ------------------------------------------------
    opp = await sl.opportunities.list(is_won=True, per_page=5).first()
    assert isinstance(opp, Opportunity) and opp.is_won is True
    assert (await sl.opportunities.get(opp.id)).id == opp.id
    person = await sl.people.list(per_page=1).first()
    assert person is not None
    link = await sl.opportunity_people.create(opportunity_id=opp.id, person_id=person.id)
    assert (link.opportunity_id, link.person_id) == (opp.id, person.id)
    assert link.id in {r.id async for r in sl.opportunity_people.list(per_page=100)}
    await sl.opportunity_people.delete(link.id)
    stage = await sl.opportunity_stages.create(name="Negotiation", order=4)
    assert isinstance(stage, OpportunityStage) and stage.order == 4
    assert (await sl.opportunity_stages.update(stage.id, name="Closing")).name == "Closing"
    assert (await sl.opportunity_stages.get(stage.id)).name == "Closing"
    assert stage.id in {s.id async for s in sl.opportunity_stages.list(per_page=100)}
    await sl.opportunity_stages.delete(stage.id)
    with pytest.raises(NotFoundError):
        await sl.opportunity_stages.get(stage.id)

    # -- conversations, recordings, transcriptions ------------------------------------------------
    talk = await sl.conversations.list(per_page=5).first()
    assert isinstance(talk, Conversation) and isinstance(talk.id, str) and len(talk.id) == 36
    assert (await sl.conversations.get(talk.id)).id == talk.id
    extensive = await sl.conversations.get_extensive(talk.id)
    assert isinstance(extensive, ConversationExtensive) and extensive.id == talk.id
    recording = await sl.conversations.get_recording(talk.id)
    assert isinstance(recording, ConversationRecording) and recording.url
    assert talk.transcription is not None
    transcript = await sl.transcriptions.get(talk.transcription.id)
    assert isinstance(transcript, Transcription)
    assert transcript.conversation is not None and transcript.conversation.id == talk.id
    assert (await sl.transcriptions.get_artifact(transcript.id)).url
    sentences = await sl.transcriptions.list_sentences(transcript.id).collect()
    assert sentences and all(isinstance(s, TranscriptionSentence) for s in sentences)
    assert [s.order_number for s in sentences] == list(range(1, len(sentences) + 1))
    assert await sl.transcriptions.list(ids=[transcript.id]).collect(limit=2) == [transcript]

    # -- CRM account teams, external ids ----------------------------------------------------------
    assert await sl.account_team_member_roles.list(per_page=5).collect(limit=5)
    assert await sl.crm_account_team_members.list(per_page=5).collect(limit=5)
    config = await sl.external_configurations.create(external_type="zendesk", object_type="people")
    assert config.external_type == "zendesk"
    assert config.id in {c.id async for c in sl.external_configurations.list(per_page=100)}
    await sl.external_configurations.delete(config.id)
    mapping = await sl.external_mappings.create(
        external_type="zendesk", external_id="Z-1", object_type="person", object_id=person.id
    )
    assert isinstance(mapping, ExternalMapping) and mapping.external_id == "Z-1"
    listed = await sl.external_mappings.list(external_id="Z-1").collect()
    assert [m.id for m in listed] == [mapping.id]  # the list honours its own filters
    await sl.external_mappings.delete(mapping.id)

    # -- signals, their registrations and plays ---------------------------------------------------
    reg = await sl.signal_registrations.create(type="video_watched", integration_id=1)
    assert isinstance(reg, SignalRegistration) and reg.type == "video_watched"
    assert (await sl.signal_registrations.update(reg.id, data_shape={"a": 1})).data_shape == {
        "a": 1
    }
    assert (await sl.signal_registrations.get(reg.id)).id == reg.id
    assert reg.id in {r.id async for r in sl.signal_registrations.list(per_page=100)}
    play = await sl.play_registrations.create(
        signal_registration_id=reg.id, name={"en": "Call them"}, indicators=["watched"]
    )
    assert isinstance(play, PlayRegistration) and play.signal_registration is not None
    assert play.signal_registration.id == reg.id
    assert (await sl.play_registrations.update(play.id, label={"en": "Hot"})).label == {"en": "Hot"}
    assert (await sl.play_registrations.get(play.id)).id == play.id
    assert play.id in {p.id async for p in sl.play_registrations.list(per_page=100)}
    await sl.play_registrations.delete(play.id)
    await sl.signal_registrations.delete(reg.id)
    signal = await sl.signals.create(type="video_watched", occurred_at=now, idempotency_key="s-1")
    again = await sl.signals.create(type="video_watched", occurred_at=now, idempotency_key="s-1")
    assert signal.id == again.id and len(sb.store["signals"]) == 1

    # -- data control -----------------------------------------------------------------------------
    made = [
        await sl.data_control.redact_account(account_id=1, dry_run=True),
        await sl.data_control.redact_account_and_people(account_id=1, dry_run=True),
        await sl.data_control.soft_delete_people(people_ids=[person.id], dry_run=True),
        await sl.data_control.forget_people(people_ids=[person.id], dry_run=True),
    ]
    kinds = {r.request_type for r in made}
    assert len(kinds) == 4 and all(r.dry_run for r in made)
    requests = await sl.data_control_requests.list(per_page=100).collect()
    assert {r.id for r in made} <= {r.id for r in requests}
    assert (await sl.data_control_requests.get(made[0].id)).request_type == made[0].request_type

    # -- the rest: counts, stats, profile, links, templates, groups -------------------------------
    counts = await sl.tasks.counts(current_state=["scheduled"])
    assert counts.extra["total"] == sum(
        1 for t in sb.store["tasks"].records.values() if t["current_state"] == "scheduled"
    )
    cadence = await sl.cadences.list(per_page=1).first()
    assert cadence is not None
    stats = await sl.cadence_stats.get(cadence.id)
    assert stats.id == cadence.id and "counts" in stats.extra
    assert (await sl.profiles.get()).raw["user"]["id"] == 1
    link_id = sb.store["meeting_reschedule_links"].ids[0]
    assert (await sl.meeting_reschedule_links.get(link_id)).id == link_id
    tags = await sl.email_missing_tags.check(
        person_id=person.id, subject="Hi {{first_name}}", body="{{no_such_field}}"
    )
    assert tags.extra["missing_tags"] == ["no_such_field"]
    task_ids = sb.store["tasks"].ids[:2]
    await sl.bulk_reschedule_tasks.create(task_ids=task_ids, due_date="2030-01-02")
    assert {sb.store["tasks"].records[t]["due_date"] for t in task_ids} == {"2030-01-02"}
    template = await sl.email_templates.create(title="Hello", subject="Hi", body="<p>x</p>")
    assert (await sl.email_templates.update(template.id, title="Hey")).title == "Hey"
    team_template = await sl.team_templates.create(title="Team hello", subject="Hi", body="x")
    assert isinstance(team_template.id, str) and len(team_template.id) == 36
    updated = await sl.team_templates.update(team_template.id, title="Team hey")
    assert updated.title == "Team hey" and updated.id == team_template.id
    group = await sl.groups.create(name="Renewals")
    assert (await sl.groups.update(group.id, name="Renewals EU")).name == "Renewals EU"
    await sl.groups.delete(group.id)
    with pytest.raises(NotFoundError):
        await sl.groups.get(group.id)

    missing = NEW - seen
    assert not missing, f"operations never exercised: {sorted(missing)}"


async def test_read_all_of_a_list_without_an_updated_at_filter_reads_each_record_once() -> None:
    async with (
        Sandbox(people=20, sizes={"custom_fields": 57}) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        assert sl.custom_fields.supports_updated_at_cursor is False
        run = sl.custom_fields.read_all(per_page=10)
        ids = [record.id async for record in run]
        assert run.stats.mode == "pages"
        assert sorted(ids) == sorted(sb.store["custom_fields"].ids) and len(ids) == 57
        # the opportunities list does filter and sort by updated_at: read by the cheap cursor
        assert sl.opportunities.supports_updated_at_cursor is True
        run = sl.opportunities.read_all(per_page=7)
        opportunity_ids = [record.id async for record in run]
        assert run.stats.mode == "keyset"
        assert sorted(opportunity_ids) == sb.store["opportunities"].ids


async def test_every_href_in_the_seed_data_resolves() -> None:
    async with Sandbox(people=30, cadences=3, users=4) as sb:
        hrefs: set[str] = set()

        def walk(value: Any) -> None:
            if isinstance(value, dict):
                href = value.get("_href")
                if isinstance(href, str):
                    hrefs.add(href)
                for item in value.values():
                    walk(item)
            elif isinstance(value, list):
                for item in value:
                    walk(item)

        for col in sb.store.collections.values():
            for record in col.records.values():
                walk(record)
        walk(sb.store.singletons)
        assert len(hrefs) > 100
        headers = {"Authorization": f"Bearer {sb.api_key}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            for href in sorted(hrefs):
                assert href.startswith(sb.url + "/v2/"), href
                async with http.get(href) as resp:
                    assert resp.status == 200, href


async def test_seed_values_follow_the_definition() -> None:
    async with Sandbox(people=100) as sb:
        meetings = list(sb.store["meetings"].records.values())
        status = next(f for f in SCHEMAS["Meeting"].fields if f.name == "status")
        assert (
            {m["status"] for m in meetings}
            <= set(status.choices)
            == {
                "pending",
                "booked",
                "failed",
                "retry",
            }
        )
        for meeting in meetings:
            assert meeting["task_id"].isdigit() and meeting["account_id"].isdigit()
        for template in sb.store["team_templates"].records.values():
            assert re.fullmatch(r"[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", template["id"])
            href = template["last_modified_user"]["_href"]
            assert "/v2/users/" in href
        placeholder = re.compile(r"^[a-z_]+ \d+$")  # "status 25": a field name and a number
        for name in ("meetings", "opportunities", "conversations", "signal_registrations"):
            for record in sb.store[name].records.values():
                for key, value in record.items():
                    if key not in ("name", "title", "subject", "text"):
                        assert not (isinstance(value, str) and placeholder.match(value)), (
                            name,
                            key,
                            value,
                        )


_ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_UUID = re.compile(r"^[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}$")


def _breaks(fld: Field, value: Any) -> str | None:
    """What is wrong with one seeded value for its schema field, or None.

    Type, listed values, a date's and a UUID's form, and a numeric-string id's form.  Free text
    is not held to its example (`size` "1500" where Salesloft's own samples say "1000-5000").
    """
    if value is None:
        return None
    values = value if fld.array and isinstance(value, list) else [value]
    if fld.array and not isinstance(value, list):
        return "not a list"
    for v in values:
        if fld.type == "integer" and (not isinstance(v, int) or isinstance(v, bool)):
            return "not an integer"
        if fld.type == "number" and (not isinstance(v, int | float) or isinstance(v, bool)):
            return "not a number"
        if fld.type == "boolean" and not isinstance(v, bool):
            return "not a boolean"
        if fld.type == "datetime" and not (isinstance(v, str) and _ISO.match(v)):
            return "not an ISO-8601 timestamp"
        if fld.type != "string" or fld.ref is not None:
            continue
        if not isinstance(v, str):
            return "not a string"
        if fld.choices and v not in fld.choices:
            return f"not one of {fld.choices}"
        if fld.format == "date" and not re.fullmatch(r"\d{4}-\d\d-\d\d", v):
            return "not a YYYY-MM-DD date"
        if (fld.format == "uuid" or _UUID.match(fld.example)) and not _UUID.match(v):
            return "not a UUID"
        if fld.name.endswith("_id") and fld.example.isdigit() and not v.isdigit():
            return "not a numeric string"
    return None


async def test_every_seeded_value_follows_its_schema_field() -> None:
    """Each stored record of each resource with a schema: every field of its type, among its
    listed values, in its form (what an Airbyte schema check would hold it to)."""
    schema_of = {o.resource: o.schema for o in OPERATIONS if o.method == "GET" and o.schema}
    async with Sandbox(people=100) as sb:
        checked, wrong = 0, []
        for name, col in sb.store.collections.items():
            schema = SCHEMAS.get(schema_of.get(name) or "")
            if schema is None:
                continue
            checked += 1
            fields = {f.name: f for f in schema.fields}
            for record in list(col.records.values())[:200]:
                for key, value in record.items():
                    problem = _breaks(fields[key], value) if key in fields else None
                    if problem:
                        wrong.append((name, key, value, problem))
        assert checked >= 55
        assert not wrong, wrong[:10]


@pytest.mark.parametrize(
    ("fault", "raised", "match", "reached"),
    [
        # the sandbox creates the signal, then cuts the connection half way through the answer
        ("truncate", ResponseDecodeError, "cut off", 1),
        # the connection closes with no answer before the API sees the request
        ("drop", TransportError, "check before resending", 0),
    ],
)
async def test_a_post_with_an_idempotency_key_is_resent_after_a_cut_connection(
    fault: str, raised: type[Exception], match: str, reached: int
) -> None:
    async with Sandbox(people=10) as sb:
        policy = RetryPolicy(base=0.0, cap=0.0)
        async with SalesloftClient(api_key=sb.api_key, base_url=sb.url, retry=policy) as sl:
            when = datetime.now(UTC)
            sb.faults.add("/v2/signals", times=1, **{f"{fault}_rate": 1.0})
            signal = await sl.signals.create(
                type="video_watched", occurred_at=when, idempotency_key="evt-81"
            )
            assert sb.counters[f"fault:{fault}"] == 1
            assert sb.counters["path:/v2/signals"] == 1 + reached  # sent twice...
            signals = sb.store["signals"].records.values()
            assert [r["id"] for r in signals] == [signal.id]  # ...created once

            sb.faults.add("/v2/signals", times=1, **{f"{fault}_rate": 1.0})
            with pytest.raises(raised, match=match):
                await sl.signals.create(type="video_watched", occurred_at=when)
            assert sb.counters[f"fault:{fault}"] == 2
            assert sb.counters["path:/v2/signals"] == 1 + 2 * reached  # not resent
            # where it reached the API it was created: the caller must check
            assert len(sb.store["signals"]) == 1 + reached


async def test_read_all_reads_every_new_list_by_the_strategy_its_definition_allows() -> None:
    lists = sorted({o.resource for o in OPERATIONS if o.name in NEW and o.action == "list"})
    assert len(lists) == 12
    async with (
        Sandbox(people=20) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        for name in lists:
            resource = getattr(sl, name)
            run = resource.read_all(per_page=6, raw=True)
            ids = [record["id"] async for record in run]
            expected = [sb.store[name].records[k]["id"] for k in sb.store[name].ids]
            assert sorted(ids) == sorted(expected), name
            keyset = resource.supports_updated_at_cursor
            assert run.stats.mode == ("keyset" if keyset else "pages"), name


async def test_export_writes_every_new_list_once_saying_how_it_reads(tmp_path: Path) -> None:
    lists = sorted({o.resource for o in OPERATIONS if o.name in NEW and o.action == "list"})
    assert set(lists) <= set(exportable())
    pages = set()
    for name in lists:
        out = tmp_path / f"{name}.jsonl"
        err = io.StringIO()
        options = ExportOptions(name, out, sandbox=SandboxDemo(people=30), progress="off")
        assert await export(options, err=err) == 0, err.getvalue()
        ids = [json.loads(line)["id"] for line in out.read_bytes().splitlines()]
        assert ids and len(ids) == len(set(ids)), name
        if f"note: {name} cannot be sorted by updated_at" in err.getvalue():
            pages.add(name)
    cursor = {"opportunities", "opportunity_people", "opportunity_stages", "signal_registrations"}
    assert pages == set(lists) - cursor


async def test_every_list_honours_an_updated_at_filter_and_sort_only_if_it_lists_them() -> None:
    """As Salesloft does: a list whose definition has no `updated_at` filter (custom_fields,
    tasks, account_team_member_roles...) answers the same records with one, and an unlisted sort
    key changes nothing; a list that has the filter answers nothing updated after 2100."""
    future = {"updated_at[gt]": "2100-01-01T00:00:00Z"}
    lists = [o for o in OPERATIONS if o.method == "GET" and o.paged and "{" not in o.path]
    ignoring: list[str] = []
    async with (
        Sandbox(people=20) as sb,
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {sb.api_key}"}) as http,
    ):

        async def ids(op: Operation, **params: str) -> list[Any]:
            async with http.get(sb.url + op.path, params={"per_page": "100", **params}) as resp:
                assert resp.status == 200, (op.path, params)
                return [r.get("id") for r in (await resp.json())["data"]]

        for op in lists:
            names = {p.name for p in op.query}
            everything = await ids(op)
            if "updated_at" in names:
                assert await ids(op, **future) == [], op.path
                continue
            assert await ids(op, **future) == everything, op.path
            sort = next((p for p in op.query if p.name == "sort_by"), None)
            if sort is None or "updated_at" not in sort.description.partition("Defaults")[0]:
                assert await ids(op, sort_by="updated_at", sort_direction="ASC") == await ids(
                    op, sort_direction="ASC"
                ), op.path
            if everything:
                ignoring.append(op.resource)
    assert {"custom_fields", "tasks", "account_team_member_roles"} <= set(ignoring)


async def test_scoped_fields_answer_only_the_fields_asked_for() -> None:
    async with (
        Sandbox(people=50) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        email_id = sb.store["emails"].ids[0]
        email = await sl.emails.get(email_id, scoped_fields="status,subject")
        assert set(email.raw) == {"id", "status", "subject"}
        opp = await sl.opportunities.list(scoped_fields="name", per_page=3).first()
        assert opp is not None and set(opp.raw) == {"id", "name"}
        full = await sl.emails.get(email_id)
        assert len(full.raw) > 10  # without it: every field


async def test_a_prefix_filter_the_definition_lists_is_honoured() -> None:
    async with (
        Sandbox(people=20) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        first = sb.store["conversations"].records[1]
        sb.store["conversations"].update(1, {"title": "Demo with Acme"}, 10**15)
        found = await sl.conversations.list(title_starts_with="demo w").collect()
        assert [c.id for c in found] == [first["id"]]


async def test_new_lists_filter_by_what_they_list() -> None:
    async with (
        Sandbox(people=20) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        conversations = sb.store["conversations"]
        owner = conversations.records[3]["owner_id"]
        found = await sl.conversations.list(owner_ids=[owner]).collect()
        expected = {c["id"] for c in conversations.records.values() if c["owner_id"] == owner}
        assert {c.id for c in found} == expected and expected
        won = await sl.opportunities.list(is_won=False, per_page=100).collect()
        assert {o.id for o in won} == {
            o["id"] for o in sb.store["opportunities"].records.values() if not o["is_won"]
        }
        requests = await sl.data_control_requests.list(request_type=["nope"]).collect()
        assert requests == []


async def test_new_writes_are_validated_like_the_rest() -> None:
    async with (
        Sandbox(people=20) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        with pytest.raises(ValidationError) as caught:
            await sl.request("POST", "/v2/integrations/signals/registrations", json={})
        assert "type" in str(caught.value)
        with pytest.raises(ValidationError) as caught:
            await sl.opportunity_people.create(opportunity_id=10**6, person_id=1)
        assert "opportunity_id" in str(caught.value)
        assert len(sb.store["opportunity_people"]) == 20  # nothing was created
