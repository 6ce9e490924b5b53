"""Pure logic of the sandbox: cost tables, fixed-window budget, faults, timestamps, store, seed."""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from salesloft_async._operations import OPERATIONS
from salesloft_async.sandbox import ManualClock, SandboxConfig, sign
from salesloft_async.sandbox.budget import ServerBudget
from salesloft_async.sandbox.config import (
    ADDITIVE_COST_TABLE,
    TOTAL_COST_TABLE,
    page_cost,
    resolve_cost_table,
)
from salesloft_async.sandbox.faults import FaultRule, Faults
from salesloft_async.sandbox.query import QueryError, parse_list_query, run_list
from salesloft_async.sandbox.resources import load_resources
from salesloft_async.sandbox.seed import seed_store
from salesloft_async.sandbox.store import Collection, Store, iso_from_us, us_from_iso

LIST_PEOPLE = next(op for op in OPERATIONS if op.name == "list_people")


@pytest.mark.parametrize(
    ("page", "total", "additive"),
    [
        (1, 1, 1),
        (100, 1, 1),
        (101, 3, 4),
        (150, 3, 4),
        (151, 8, 9),
        (250, 8, 9),
        (251, 10, 11),
        (500, 10, 11),
        (501, 30, 31),
        (10_000, 30, 31),
    ],
)
def test_cost_tables(page: int, total: int, additive: int) -> None:
    assert page_cost(TOTAL_COST_TABLE, page) == total
    assert page_cost(ADDITIVE_COST_TABLE, page) == additive


def test_resolve_cost_table() -> None:
    assert resolve_cost_table("total") is TOTAL_COST_TABLE
    assert resolve_cost_table("additive") is ADDITIVE_COST_TABLE
    assert resolve_cost_table(((5, 2), (1, 1))) == ((1, 1), (5, 2))
    with pytest.raises(ValueError):
        resolve_cost_table("triple")  # type: ignore[arg-type]


def test_budget_windows_align_to_the_clock() -> None:
    clock = ManualClock(start=119.5)
    budget = ServerBudget(clock=clock, limit=10, window=60.0, cost_table=TOTAL_COST_TABLE)
    assert budget.window_index() == 1
    assert budget.try_spend(8) == (True, 2)
    assert budget.try_spend(3) == (False, 2)
    assert budget.spent == {1: 8}
    clock.advance(0.5)  # 120.0 is the first instant of window 2
    assert budget.try_spend(3) == (True, 7)
    assert budget.spent == {1: 8, 2: 3}


def test_background_spend_accrues_linearly() -> None:
    clock = ManualClock(start=0.0)
    budget = ServerBudget(
        clock=clock, limit=600, window=60.0, cost_table=TOTAL_COST_TABLE, background_spend=120
    )
    assert budget.remaining() == 600
    clock.set(15.0)
    assert budget.remaining() == 570
    clock.set(59.99)
    assert budget.remaining() == 481
    clock.set(60.0)
    assert budget.remaining() == 600


def test_faults_match_and_count() -> None:
    faults = Faults(seed=1)
    rule = faults.add("/v2/people*", error_rate=1.0, methods={"post"}, times=1)
    assert faults.decide("GET", "/v2/people").action == "none"
    decision = faults.decide("POST", "/v2/people")
    assert (decision.action, decision.status) == ("error", 503)
    assert faults.decide("POST", "/v2/people").action == "none"  # times=1 spent
    assert rule.hits == 1
    faults.clear()
    faults.add(FaultRule(r"/bulk_jobs/\d+$", regex=True, drop_rate=1.0))
    assert faults.decide("GET", "/v2/bulk_jobs/12").action == "drop"
    assert faults.decide("GET", "/v2/bulk_jobs/12/results").action == "none"


def test_faults_are_deterministic_by_seed() -> None:
    def draws(seed: int) -> list[str]:
        faults = Faults(seed=seed)
        faults.add("*", error_rate=0.3, drop_rate=0.2, truncate_rate=0.1, jitter=1.0)
        return [
            f"{d.action}:{d.delay:.6f}" for d in (faults.decide("GET", "/x") for _ in range(50))
        ]

    assert draws(3) == draws(3)
    assert draws(3) != draws(4)
    actions = Counter(d.split(":")[0] for d in draws(3))
    assert set(actions) == {"none", "error", "drop", "truncate"}


def test_timestamps_round_trip_at_microsecond_precision() -> None:
    us = 1_767_225_600_123_456
    text = iso_from_us(us)
    assert text == "2026-01-01T00:00:00.123456Z"
    assert us_from_iso(text) == us
    assert us_from_iso("2026-01-01T02:00:00.123456+02:00") == us
    assert us_from_iso("2026-01-01T00:00:00.123456 00:00") == us  # a '+' decoded as a space
    assert us_from_iso("2026-01-01") == 1_767_225_600_000_000
    with pytest.raises(ValueError):
        us_from_iso("last tuesday")


def test_collection_orders_follow_writes() -> None:
    col = Collection("things", "/v2/things")
    col.load([{"id": 1}, {"id": 2}], [(10, 30), (20, 30)])
    assert col.by_updated == [(30, 1), (30, 2)]
    col.update(1, {"name": "x"}, now_us=25)  # a clock behind the record never moves it back
    assert col.times[1] == (10, 30)
    col.update(1, {"name": "y"}, now_us=40)
    assert col.by_updated == [(30, 2), (40, 1)]
    assert col.records[1]["updated_at"] == iso_from_us(40)
    new = col.insert({"name": "z"}, now_us=50)
    assert new["id"] == 3 and col.ids == [1, 2, 3]
    col.delete(2)
    assert col.ids == [1, 3] and col.by_created == [(10, 1), (50, 3)]


def test_equality_index_is_kept_current() -> None:
    col = Collection("people", "/v2/people")
    col.load([{"id": 1, "title": "CEO"}, {"id": 2, "title": "cto"}], [(1, 1), (2, 2)])

    def title(record: dict[str, object]) -> object:
        return record.get("title")

    index = col.index("title", title, many=False)
    assert index == {"ceo": {1}, "cto": {2}}
    col.update(2, {"title": "CEO"}, now_us=5)
    col.insert({"title": None}, now_us=6)
    assert index["ceo"] == {1, 2} and index[None] == {3}
    col.delete(1)
    assert index["ceo"] == {2}


@pytest.fixture(scope="module")
def store() -> Store:
    seeded = Store("http://sandbox.test")
    config = SandboxConfig(people=500, accounts=20, users=3, cadences=4, big_cluster=130)
    seed_store(seeded, config, load_resources())
    return seeded


def test_seed_is_deterministic_and_shaped(store: Store) -> None:
    again = Store("http://sandbox.test")
    config = SandboxConfig(people=500, accounts=20, users=3, cadences=4, big_cluster=130)
    seed_store(again, config, load_resources())
    assert again["people"].records == store["people"].records
    other = Store("http://sandbox.test")
    seed_store(other, SandboxConfig(seed=2, people=500, accounts=20, users=3), load_resources())
    assert other["people"].records != store["people"].records
    person = store["people"].records[1]
    assert person["owner"]["_href"].startswith("http://sandbox.test/v2/users/")
    assert person["email_address"] and person["display_name"]
    clusters = Counter(updated for _, updated in store["people"].times.values())
    assert clusters.most_common(1)[0][1] >= 130
    assert sum(1 for size in clusters.values() if size > 1) > 1


def test_records_carry_every_field_of_their_schema(store: Store) -> None:
    from salesloft_async._operations import SCHEMAS

    for name, info in load_resources().items():
        if name in store and info.schema and len(store[name]):
            record = store[name].records[store[name].ids[0]]
            missing = {f.name for f in SCHEMAS[info.schema].fields} - set(record)
            assert not missing, (name, missing)


def test_every_listed_resource_has_a_collection(store: Store) -> None:
    for op in OPERATIONS:
        if op.action == "list" and op.resource not in ("me", "team"):
            assert op.resource in store, op.resource


def test_query_parsing_strictness(store: Store) -> None:
    col = store["people"]

    def parse(*pairs: tuple[str, str]) -> object:
        return parse_list_query(pairs, LIST_PEOPLE, col, lambda _: None)

    q = parse(("per_page", "500"), ("page", "-3"), ("sort_direction", "asc"))
    assert (q.per_page, q.page, q.descending) == (100, 1, False)  # type: ignore[attr-defined]
    with pytest.raises(QueryError) as caught:
        parse(("ids[]", "1"), ("ids[]", "x"), ("updated_at[gte]", "soon"))
    assert set(caught.value.errors) == {"ids", "updated_at[gte]"}
    # a sort key the list does not name is ignored, as Salesloft does: the default order stays
    assert parse(("sort_by", "shoe_size")).sort_by == "updated_at"  # type: ignore[attr-defined]
    q = parse(("not_a_filter[]", "1"))
    assert q.filtering == {} and run_list(col, q).ids  # type: ignore[attr-defined, arg-type]


def test_signature_is_hex_hmac_sha1() -> None:
    body = b'{"id":1}'
    assert sign(body, "k") == hmac.new(b"k", body, hashlib.sha1).hexdigest()


def test_limit_paging_counts_caps_at_ten_thousand() -> None:
    from salesloft_async.sandbox.query import paging_metadata

    col = Collection("things", "/v2/things")
    n = 10_050
    col.load([{"id": i} for i in range(1, n + 1)], [(i, i) for i in range(1, n + 1)])
    q = parse_list_query(
        [("include_paging_counts", "true"), ("per_page", "100")], LIST_PEOPLE, col, lambda _: None
    )
    assert paging_metadata(q, run_list(col, q))["total_count"] == n
    q.limit_counts = True
    paging = paging_metadata(q, run_list(col, q))
    assert (paging["total_count"], paging["total_pages"]) == (10_000, 100)


@settings(max_examples=60, deadline=None)
@given(
    per_page=st.integers(min_value=1, max_value=100),
    descending=st.booleans(),
    sort_by=st.sampled_from(["updated_at", "created_at", "id", "title"]),
    account=st.none() | st.integers(min_value=1, max_value=20),
)
def test_pages_partition_any_ordering(
    store: Store, per_page: int, descending: bool, sort_by: str, account: int | None
) -> None:
    col = store["people"]
    pairs = [("per_page", str(per_page)), ("sort_by", sort_by)]
    pairs.append(("sort_direction", "DESC" if descending else "ASC"))
    if account is not None:
        pairs.append(("account_id[]", str(account)))
    q = parse_list_query(pairs, LIST_PEOPLE, col, lambda _: None)
    seen: list[int] = []
    while True:
        result = run_list(col, q)
        seen.extend(result.ids)
        if not result.has_next:
            break
        q.page += 1
    expected = [
        rid
        for rid in col.ids
        if account is None or (col.records[rid]["account"] or {}).get("id") == account
    ]
    assert sorted(seen) == expected and len(seen) == len(set(seen))
    from salesloft_async.sandbox.query import _key_fn

    keys = [_key_fn(col, q.sort_by)(rid) for rid in seen]  # an unlisted key leaves the default
    assert keys == sorted(keys, reverse=descending)


@pytest.mark.timeout(20)
@pytest.mark.parametrize("people", [1, 3])
def test_the_smallest_teams_seed(people: int) -> None:
    """One cadence leaves each person one membership: seeding must not wait for pairs that cannot
    exist."""
    tiny = Store("http://sandbox.test")
    seed_store(
        tiny, SandboxConfig(people=people, accounts=1, users=1, cadences=1), load_resources()
    )
    memberships = tiny["cadence_memberships"].records.values()
    assert len(tiny["people"].records) == people
    assert 0 < len(memberships) <= people
    assert len({m["person"]["id"] for m in memberships}) == len(memberships)
