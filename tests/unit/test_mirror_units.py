"""The mirror's pure parts: versions, the poll cursor between polls, and database URLs."""

from __future__ import annotations

import pytest

from salesloft_async import SalesloftClient
from salesloft_async.bulk import Cursor, Page
from salesloft_async.errors import ConfigurationError, ResponseDecodeError
from salesloft_async.mirror import Mirror, PostgresStore, Row, SqliteStore, open_store
from salesloft_async.mirror.follower import PAGES, _follow_on, _settle
from salesloft_async.mirror.store import check_identifier, newest, row_of
from salesloft_async.models import Subscription

T1 = "2026-01-01T00:00:01.000000+00:00"
T2 = "2026-01-01T00:00:02.000000+00:00"


def person(rid: int, ts: str) -> dict[str, object]:
    return {"id": rid, "updated_at": ts.replace("+00:00", "Z"), "email_address": f"{rid}@x.io"}


def test_a_row_keeps_the_json_and_a_canonical_time() -> None:
    row = row_of(person(7, T1))
    assert row.updated_at == T1  # "Z" and "+00:00" compare as one instant
    assert '"email_address":"7@x.io"' in row.record
    assert Row(1, "2026-01-01T01:00:01+01:00", False, "{}").updated_at == T1
    with pytest.raises(ResponseDecodeError):
        row_of({"id": "7", "updated_at": T1})
    with pytest.raises(ResponseDecodeError):
        row_of({"id": 7, "updated_at": "yesterday"})
    # a list keyed by UUIDs keeps them as text, and still needs one
    assert row_of({"id": "c0ffee", "updated_at": T1}, text_id=True).id == "c0ffee"
    with pytest.raises(ResponseDecodeError, match="without a text id"):
        row_of({"id": 7, "updated_at": T1}, text_id=True)


def test_newest_keeps_one_version_per_id_and_a_delete_outranks_its_version() -> None:
    rows = [
        Row(2, T1, False, "a"),
        Row(1, T2, False, "b"),
        Row(2, T2, False, "c"),
        Row(2, T2, True, "d"),
        Row(1, T1, True, "e"),
    ]
    assert [(r.id, r.record) for r in newest(rows)] == [(1, "b"), (2, "d")]


def test_a_settled_poll_cursor_asks_only_for_what_is_new() -> None:
    start = Cursor(after=T1, seen=frozenset({1}))
    page = Page([person(1, T1), person(2, T2), person(3, T2)])
    nxt = _settle(start, page)
    assert (nxt.after, nxt.seen, nxt.done, nxt.strict) == (T2, {2, 3}, False, False)
    assert nxt.params()["updated_at"] == {"gte": Cursor(after=T2).position}
    # the same instant again: the ids add up, so none is handed over twice
    again = _settle(nxt, Page([person(4, T2)]))
    assert again.seen == {2, 3, 4}
    # nothing at all: the cursor stays where it was
    assert _settle(nxt, Page([])) == nxt


def test_a_finished_load_hands_its_open_ended_slice_to_the_poll() -> None:
    snapshot = {
        "slices": [
            {"tail": False, "cursor": Cursor(lo=T1, hi=T2, done=True).to_json()},
            {
                "tail": True,
                "cursor": Cursor(lo=T2, after=T2, seen=frozenset({5}), done=True).to_json(),
            },
        ]
    }
    cursor = _follow_on(snapshot)
    assert (cursor.after, cursor.seen, cursor.hi, cursor.done) == (T2, {5}, None, False)
    assert _follow_on({"slices": []}) == Cursor()  # an empty list: poll from the start


def test_database_urls_and_names() -> None:
    assert isinstance(open_store("sqlite:///salesloft.db"), SqliteStore)
    pg = open_store("postgresql://u:secret@h/db", schema="crm")
    assert isinstance(pg, PostgresStore) and pg.schema == "crm"
    assert "secret" not in repr(pg)
    for url, message in [
        ("mysql://h/db", "--db takes"),
        ("sqlite:///", "needs a file path"),
    ]:
        with pytest.raises(ConfigurationError, match=message):
            open_store(url)
    with pytest.raises(ConfigurationError, match="--schema is for PostgreSQL"):
        open_store("sqlite:///x.db", schema="crm")
    with pytest.raises(ConfigurationError, match="lower-case"):
        check_identifier('people"; drop table x; --')
    with pytest.raises(ConfigurationError, match="schema name"):
        PostgresStore("postgresql://h/db", schema="Crm")


def test_a_list_read_by_pages_is_swept_by_polls_or_when_webhooks_cover_it() -> None:
    """A list without `updated_at` is polled whole, unless webhooks bring its changes; then the
    reconciliation sweep catches what they missed (no client is contacted here)."""
    client = SalesloftClient(api_key="ak_unit")
    mirror = Mirror(client, SqliteStore(":memory:"), ["people", "tasks"], webhook_url="http://x/")
    assert mirror.by_updated_at("people") and not mirror.by_updated_at("tasks")
    hooks = mirror.webhooks
    assert hooks is not None
    assert mirror.sweep_targets() == ["people"]  # nothing subscribed yet: tasks is polled whole
    hooks.subscriptions = [
        Subscription(id=n, event_type=t, callback_token=f"t{n}")  # type: ignore[call-arg]
        for n, t in enumerate(["person_deleted", "task_updated"])
    ]
    assert hooks.covered() == {"people", "tasks"}
    assert mirror.sweep_targets() == ["tasks"]  # people's deletes are announced
    assert _follow_on({"mode": "pages", "slices": [{"cursor": {"page": 3}}]}) == PAGES
