"""The mirror against the sandbox, on SQLite and on PostgreSQL: exact after the initial load,
exact again after 500 changes (polling only, and webhooks plus polling), and never overwritten by
an older version whatever order the versions race in."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.commands.export import exportable
from salesloft_async.errors import ConfigurationError
from salesloft_async.mirror import Mirror, MirrorStore, Row, SqliteStore
from salesloft_async.mirror.follower import refusal
from salesloft_async.mirror.webhooks import serve
from salesloft_async.sandbox import ManualClock, Sandbox
from salesloft_async.webhooks import compute_signature, tokens_by_event_type

from ..mirror_stores import StoreFactory, store_factory
from .test_export_cli import sandbox_in_thread

KINDS = ["sqlite", "postgres"]


@pytest.fixture(params=KINDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    async with store_factory(request.param, tmp_path) as (factory, _):
        yield factory


@pytest.fixture(scope="module")
def big_team() -> Iterator[tuple[Sandbox, dict[int, dict[str, Any]]]]:
    """25,000 people and their records, seeded once for both databases' loads (which only read);
    served from a thread of its own, so any test's event loop can reach it."""
    with sandbox_in_thread(people=25_000, budget=1_000_000, window=1) as sb:
        yield sb, sandbox_records(sb)


def sandbox_records(sb: Sandbox, name: str = "people") -> dict[int, dict[str, Any]]:
    col = sb.store[name]
    return {rid: json.loads(col.json_of(rid)) for rid in col.ids}


async def assert_exact(
    sb: Sandbox,
    store: MirrorStore,
    name: str = "people",
    expected: dict[int, dict[str, Any]] | None = None,
) -> None:
    mirrored = await store.records(name)
    expected = sandbox_records(sb, name) if expected is None else expected
    assert mirrored.keys() == expected.keys()
    assert mirrored == expected


async def change(sl: SalesloftClient, sb: Sandbox, rng: random.Random, n: int) -> None:
    """`n` writes through the API: updates, creates and deletes (in a 3:1:1 mix)."""
    for i in range(n):
        ids = sb.store["people"].ids
        roll = i % 5
        if roll < 3:
            await sl.people.update(rng.choice(ids), title=f"title {i} {rng.random():.6f}")
        elif roll == 3:
            await sl.people.create(email_address=f"new{i}-{rng.random()}@example.com")
        else:
            await sl.people.delete(rng.choice(ids))


async def test_initial_load_of_25000_people_equals_the_sandbox(
    stores: StoreFactory, big_team: tuple[Sandbox, dict[int, dict[str, Any]]]
) -> None:
    sb, expected = big_team
    async with (
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["people"]) as mirror,
    ):
        await mirror.load()
        await assert_exact(sb, mirror.store, expected=expected)
        load = mirror.stats["people"].load_stats
        assert load is not None and load.records >= 25_000
        # every page was a first page: about one request per 100 records
        assert load.cost <= 25_000 // 100 + 2 * load.slices + 2
        [status] = await mirror.store.status()
        assert status.rows == 25_000 and status.deleted == 0 and status.cursor is not None


async def test_converges_while_500_records_change_polling_only(stores: StoreFactory) -> None:
    clock = ManualClock()
    async with (
        Sandbox(people=1_000, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["people"], reconcile_interval=600, clock=clock) as mirror,
    ):
        await mirror.load()
        assert await mirror.reconcile() == {}, "the load counts as a sweep"
        rng = random.Random(18)
        for _ in range(10):
            await change(sl, sb, rng, 50)
            await mirror.poll()
        await mirror.poll()
        mirrored = await mirror.store.records("people")
        # without webhooks, polls see updates and creates but no deletes...
        gone = mirrored.keys() - sandbox_records(sb).keys()
        assert len(gone) > 90
        assert await mirror.reconcile() == {}, "not due yet by the injected clock"
        clock.advance(600)
        assert await mirror.reconcile() == {"people": len(gone)}  # ...the sweep does
        await assert_exact(sb, mirror.store)
        # nothing changed: one request per poll
        before = mirror.stats["people"].requests
        await mirror.poll()
        assert mirror.stats["people"].requests == before + 1


async def test_converges_with_webhooks_and_polling(stores: StoreFactory) -> None:
    async with (
        Sandbox(people=1_000, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        # the receiver first: its port is part of the URL the mirror subscribes
        mirror = Mirror(sl, stores(), ["people"], webhook_url="pending")
        runner, port = await serve(mirror.webhook_app(), "127.0.0.1", 0)
        assert mirror.webhooks is not None
        mirror.webhooks.url = f"http://127.0.0.1:{port}/"
        try:
            async with mirror:
                await mirror.webhooks.subscribe()
                assert {s.event_type for s in mirror.webhooks.subscriptions} == {
                    "person_created",
                    "person_updated",
                    "person_deleted",
                }
                # one token per event type, as the receiver verifies them
                subs = mirror.webhooks.subscriptions
                assert mirror.webhooks.tokens == tokens_by_event_type(subs)
                assert len(set(mirror.webhooks.tokens.values())) == 3
                assert mirror.sweep_targets() == []  # person_deleted announces deletes
                mirror.sweep_all = True
                assert mirror.sweep_targets() == ["people"]
                mirror.sweep_all = False
                await mirror.load()
                rng = random.Random(81)
                for _ in range(10):
                    await change(sl, sb, rng, 50)
                    await mirror.poll()
                await sb.drain()  # every delivery made
                await mirror.poll()
                await assert_exact(sb, mirror.store)
                assert mirror.stats["people"].webhooks >= 500
                assert sb.counters["webhook:delivered"] >= 500
                assert sb.counters["webhook:failed_attempt"] == 0
                await mirror.webhooks.unsubscribe()
                assert [s async for s in sl.webhook_subscriptions.list()] == []
        finally:
            await runner.cleanup()


async def test_an_older_webhook_never_overwrites_a_newer_row(stores: StoreFactory) -> None:
    async with (
        Sandbox(people=50, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        mirror = Mirror(sl, stores(), ["people"], webhook_url="http://127.0.0.1:9/never")
        async with mirror:
            assert mirror.webhooks is not None
            mirror.webhooks.tokens["person_updated"] = "tok-u"
            mirror.webhooks.tokens["person_deleted"] = "tok-d"
            await mirror.load()

            async def deliver(event_type: str, record: dict[str, Any]) -> int:
                assert mirror.webhooks is not None
                body = json.dumps(record).encode()
                token = mirror.webhooks.tokens[event_type]
                outcome = await mirror.webhooks.receiver.handle(
                    body, event_type=event_type, signature=compute_signature(body, token)
                )
                return outcome.status

            old = sandbox_records(sb)[3]
            await sl.people.update(3, title="newer")
            await mirror.poll()  # the poll brings the newer version first...
            assert await deliver("person_updated", old) == 204  # ...the late webhook is refused
            assert (await mirror.store.records("people"))[3]["title"] == "newer"

            # a delete at the version it deleted beats that version arriving late from a poll
            current = sandbox_records(sb)[3]
            await sl.people.delete(3)
            assert await deliver("person_deleted", current) == 204
            await mirror.store.write("people", [Row(3, current["updated_at"], False, "{}")])
            assert 3 not in await mirror.store.records("people")
            # ...and a later version under the same id still wins by updated_at
            later = {**current, "updated_at": "2099-01-01T00:00:00.000000Z", "title": "back"}
            assert await deliver("person_updated", later) == 204
            assert (await mirror.store.records("people"))[3]["title"] == "back"
            # a repeat is claimed already: answered 204 without a second write
            written = mirror.stats["people"].webhooks
            assert await deliver("person_updated", later) == 204
            assert mirror.stats["people"].webhooks == written
            # a genuine update re-labelled as a delete fails person_deleted's token
            body = json.dumps({**later, "updated_at": "2099-01-02T00:00:00.000000Z"}).encode()
            relabelled = await mirror.webhooks.receiver.handle(
                body,
                event_type="person_deleted",
                signature=compute_signature(body, mirror.webhooks.tokens["person_updated"]),
            )
            assert relabelled.status == 401
            assert 3 in await mirror.store.records("people")
            # a body that cannot be placed in time is acknowledged and changes nothing
            assert await deliver("person_updated", {**later, "updated_at": None}) == 204
            assert (await mirror.store.records("people"))[3]["title"] == "back"


async def test_every_order_of_versions_ends_at_the_newest(stores: StoreFactory) -> None:
    """Forced races: the same versions of one record written in all 24 orders."""
    versions = [
        Row(1, "2026-01-01T00:00:00.000001+00:00", False, '{"v":1}'),
        Row(1, "2026-01-01T00:00:00.000002+00:00", False, '{"v":2}'),
        Row(1, "2026-01-01T00:00:00.000002+00:00", True, '{"v":"2-deleted"}'),
        Row(1, "2026-01-01T00:00:00.000003+00:00", False, '{"v":3}'),
    ]
    async with stores() as store:  # type: ignore[attr-defined]
        for n, order in enumerate(itertools.permutations(versions)):
            name = f"race_{n}"
            await store.prepare(name)
            for row in order:
                await store.write(name, [row])
            assert await store.records(name) == {1: {"v": 3}}, order
        for n, order in enumerate(itertools.permutations(versions[:3])):
            name = f"race_deleted_{n}"
            await store.prepare(name)
            for row in order:
                await store.write(name, [row])
            assert await store.records(name) == {}, order
        # and all at once, on as many connections as the store has
        await store.prepare("race_concurrent")
        rng = random.Random(4)
        for _ in range(10):
            shuffled = rng.sample(versions, len(versions))
            await asyncio.gather(*(store.write("race_concurrent", [row]) for row in shuffled))
            assert await store.records("race_concurrent") == {1: {"v": 3}}


async def test_run_polls_every_interval_and_sweeps_when_due(tmp_path: Path) -> None:
    clock = ManualClock()
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        clock.advance(seconds)
        if len(sleeps) == 6:
            raise asyncio.CancelledError  # stop the loop the way Ctrl-C does

    async with (
        Sandbox(people=300, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        store = SqliteStore(tmp_path / "m.db")
        options = {"poll_interval": 30, "reconcile_interval": 60, "clock": clock, "sleep": sleep}
        async with Mirror(sl, store, ["people"], **options) as mirror:  # type: ignore[arg-type]
            with pytest.raises(asyncio.CancelledError):
                await mirror.run()
            stats = mirror.stats["people"]
            assert sleeps == [30] * 6
            assert stats.polls == 6  # at 0, 30, ..., 150 by the injected clock
            assert stats.swept == 2  # at 60 and 120: the load counted as the sweep at 0
            [status] = await store.status()
            assert status.last_sweep == clock.now - 60  # the sixth sleep moved the clock too
            assert status.last_poll == clock.now - 30


async def test_a_list_without_updated_at_is_polled_whole(stores: StoreFactory) -> None:
    """custom_fields cannot filter by updated_at (the server would ignore such a cursor): the
    mirror reads it by page numbers, as `read_all` chooses, and every poll is a sweep."""
    async with (
        Sandbox(people=10, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["custom_fields"]) as mirror,
    ):
        assert not mirror.by_updated_at("custom_fields")
        await mirror.load()
        load = mirror.stats["custom_fields"].load_stats
        assert load is not None and load.mode == "pages"
        await assert_exact(sb, mirror.store, "custom_fields")
        assert mirror.sweep_targets() == [], "every poll already sweeps it"
        ids = sb.store["custom_fields"].ids
        await sl.custom_fields.update(ids[0], name="renamed")
        await sl.custom_fields.delete(ids[1])
        await sl.custom_fields.create(name="new field", field_type="person")
        assert (await mirror.store.records("custom_fields")) != sandbox_records(sb, "custom_fields")
        before = sb.counters["path:/v2/custom_fields"]
        await mirror.poll()
        await assert_exact(sb, mirror.store, "custom_fields")
        assert sb.counters["path:/v2/custom_fields"] == before + 1  # 20 fields: one page
        [status] = await mirror.store.status()
        assert status.deleted == 1 and status.last_poll is not None


async def test_a_list_keyed_by_text_ids_is_mirrored_and_swept(stores: StoreFactory) -> None:
    """conversations are keyed by UUIDs: the table is keyed by text, and a sweep marks deleted the
    rows it did not see (150 of them: PostgreSQL COPYs a batch that big)."""
    async with (
        Sandbox(people=10, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["conversations"]) as mirror,
    ):
        assert mirror.text_ids == {"conversations"}
        await mirror.load()
        col = sb.store["conversations"]
        expected = {(r := json.loads(col.json_of(i)))["id"]: r for i in col.ids}
        assert len(expected) >= 20 and all(isinstance(k, str) for k in expected)
        await assert_exact(sb, mirror.store, "conversations", expected)
        stale = [
            Row(f"00000000-0000-0000-0000-{n:012d}", "2020-01-01T00:00:00Z", False, "{}")
            for n in range(150)
        ]
        await mirror.store.write("conversations", stale)
        assert len(await mirror.store.records("conversations")) == len(expected) + 150
        await mirror.poll()  # a list read by pages: every poll is a sweep
        await assert_exact(sb, mirror.store, "conversations", expected)
        assert mirror.stats["conversations"].tombstoned == 150


async def test_every_list_is_mirrored_exactly_or_refused_before_reading(tmp_path: Path) -> None:
    """Every list `read_all` reads: either the mirror copies it exactly, or (no `id` or no
    `updated_at` in its records, so the write rule cannot order versions) it is refused by name
    before a request is sent."""
    refused = {name for name, cls in exportable().items() if refusal(cls) is not None}
    assert {"tags", "groups", "custom_roles", "caller_ids"} <= refused
    assert not {"people", "opportunities", "conversations", "custom_fields"} & refused
    async with (
        Sandbox(people=20, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        for name in exportable():
            store = SqliteStore(tmp_path / f"{name}.db")
            if name in refused:
                requests = sb.counters["requests"]
                with pytest.raises(ConfigurationError, match=f"^{name} cannot be mirrored: its"):
                    Mirror(sl, store, [name])
                assert sb.counters["requests"] == requests
                continue
            async with Mirror(sl, store, [name]) as mirror:
                await mirror.load()
                col = sb.store[name]
                expected = {(r := json.loads(col.json_of(i)))["id"]: r for i in col.ids}
                assert await store.records(name) == expected, name


async def test_run_subscribes_for_its_resources_and_unsubscribes_when_it_stops(
    tmp_path: Path,
) -> None:
    async with (
        Sandbox(people=20, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
    ):
        url = "http://127.0.0.1:9/hooks/"
        mirror = Mirror(sl, SqliteStore(tmp_path / "m.db"), ["people", "notes"], webhook_url=url)
        async with mirror:
            await mirror.run(once=True)
            assert mirror.stats["people"].polls == 1
        created = {k: v for k, v in sb.counters.items() if k.startswith("route:POST /v2/webhook")}
        deleted = {k: v for k, v in sb.counters.items() if k.startswith("route:DELETE /v2/webhook")}
        assert sum(created.values()) == 6  # person_ and note_ created/updated/deleted
        assert sum(deleted.values()) == 6
        assert [s async for s in sl.webhook_subscriptions.list()] == []


async def test_the_sweep_finds_the_delete_of_the_most_recently_changed_record(
    stores: StoreFactory,
) -> None:
    """The sweep judges every row up to the newest version stored, not only up to the newest it
    read: the record changed last, then deleted, is newer than anything left in the list."""
    async with (
        Sandbox(people=300, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["people"]) as mirror,
    ):
        await mirror.load()
        await sl.people.update(7, title="changed last")
        await mirror.poll()
        await sl.people.delete(7)
        await mirror.poll()
        assert 7 in await mirror.store.records("people")
        assert await mirror.reconcile(force=True) == {"people": 1}
        await assert_exact(sb, mirror.store)


async def test_a_record_missed_when_pages_shift_comes_back_at_the_next_sweep(
    stores: StoreFactory,
) -> None:
    """A list read by page numbers: a change during the sweep shifts the pages after it, so the
    sweep misses a live record and marks it deleted; the next sweep reads it again (same version)
    and brings it back, while the record really deleted is marked."""
    async with (
        Sandbox(people=10, budget=1_000_000, window=1) as sb,
        SalesloftClient(api_key=sb.api_key, base_url=sb.url) as sl,
        Mirror(sl, stores(), ["custom_fields"]) as mirror,
    ):
        for i in range(110):  # two pages
            await sl.custom_fields.create(name=f"field {i}", field_type="person")
        await mirror.load()
        transport = mirror.lists["custom_fields"].transport
        request = transport.request
        gone: list[int] = []

        async def delete_after_page_1(method: str, path: str, **kw: Any) -> Any:
            response = await request(method, path, **kw)
            if not gone and method == "GET" and (kw.get("params") or {}).get("page") == 1:
                gone.append(response.data["data"][0]["id"])  # page 2 now starts one later
                await sl.custom_fields.delete(gone[0])
            return response

        transport.request = delete_after_page_1
        try:
            await mirror.poll()  # every poll of this list is a sweep
        finally:
            transport.request = request
        assert gone
        missed = (sandbox_records(sb, "custom_fields").keys() - {gone[0]}) - (
            await mirror.store.records("custom_fields")
        ).keys()
        assert len(missed) == 1, "the shift made the sweep miss one live record"
        await mirror.poll()
        await assert_exact(sb, mirror.store, "custom_fields")


async def test_a_database_holds_one_teams_copy_and_refuses_another(stores: StoreFactory) -> None:
    """The first mirror records its source (base URL and team, from /v2/me); a mirror of another
    team into the same tables is refused, naming the difference, before it reads or writes."""
    async with Sandbox(people=20, accounts=5, users=2, cadences=2, teams=2) as sb:
        one, two = sb.teams[1], sb.teams[2]
        async with SalesloftClient(api_key=one.api_key, base_url=sb.url) as sl:
            async with Mirror(sl, stores(), ["people"]) as mirror:
                await mirror.load()
            async with Mirror(sl, stores(), ["people"]) as again:  # the same team resumes
                assert again.states["people"].source == {"base_url": sb.url, "team_id": 1}
        async with SalesloftClient(api_key=two.api_key, base_url=sb.url) as other:
            with pytest.raises(ConfigurationError, match="team_id 1, not 2") as refused:
                async with Mirror(other, stores(), ["people"]):
                    pass
        assert "use another database or schema" in str(refused.value)
        async with stores() as store:
            assert len(await store.records("people")) == 20  # team 1's rows, untouched
