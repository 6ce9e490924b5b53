"""subscribe / unsubscribe against an in-memory stand-in for the subscription endpoints."""

from __future__ import annotations

import itertools
from typing import Any

import attrs
import pytest

from salesloft_async.errors import (
    ConfigurationError,
    ConnectionFailedError,
    NotFoundError,
    ResponseDecodeError,
    ServerError,
)
from salesloft_async.models import Subscription
from salesloft_async.webhooks import (
    generate_token,
    list_subscriptions,
    subscribe,
    tokens_by_event_type,
    unsubscribe,
)

URL = "https://app.example.com/hooks/salesloft"


@attrs.frozen
class FakeResponse:
    status: int
    data: Any


class FakeAPI:
    """Just enough of /v2/webhook_subscriptions; can fail the Nth POST, before or after storing."""

    def __init__(self, *, wrap_lists: bool = True) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.ids = itertools.count(100)
        self.calls: list[tuple[str, str]] = []
        self.wrap_lists = wrap_lists
        self.fail_post: int | None = None  # 1-based index of the POST that fails
        self.lose_answer = False  # the failing POST was stored but its answer lost
        self.posts = 0
        self.fail_deletes = False

    def seed(self, **fields: Any) -> dict[str, Any]:
        row = {"id": next(self.ids), "enabled": True, "tenant_id": 1, **fields}
        self.rows[row["id"]] = row
        return row

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = None, json: Any = None
    ) -> FakeResponse:
        self.calls.append((method, path))
        base = "/v2/webhook_subscriptions"
        if method == "GET" and path == base:
            data = [dict(r) for r in self.rows.values()]
            return FakeResponse(200, {"data": data} if self.wrap_lists else data)
        if method == "POST" and path == base:
            self.posts += 1
            if self.posts == self.fail_post and not self.lose_answer:
                raise ServerError(500, "boom", method=method, path=path)
            row = self.seed(enabled=True, **json)
            if self.posts == self.fail_post:
                raise ConnectionFailedError("connection reset", method=method, path=path)
            return FakeResponse(200, {"data": dict(row)})
        sid = int(path.rsplit("/", 1)[1])
        if sid not in self.rows:
            raise NotFoundError(404, "not found", method=method, path=path)
        if method == "DELETE":
            if self.fail_deletes:
                raise ServerError(503, "try later", method=method, path=path)
            del self.rows[sid]
            return FakeResponse(204, None)
        if method == "PUT":
            self.rows[sid].update(json)
            return FakeResponse(200, dict(self.rows[sid]))  # bare object, as the definition says
        raise AssertionError(f"unexpected {method} {path}")

    def types(self) -> list[str]:
        return sorted(r["event_type"] for r in self.rows.values())


async def test_subscribe_creates_one_per_type_each_with_its_own_strong_token() -> None:
    api = FakeAPI()
    types = ["person_created", "person_updated", "task_completed"]
    subs = await subscribe(api, URL, types)
    assert all(isinstance(s, Subscription) for s in subs)
    assert [s.event_type for s in subs] == types
    tokens = tokens_by_event_type(subs)
    assert list(tokens) == types
    assert len(set(tokens.values())) == 3  # a body re-labelled with another type cannot verify
    assert all(len(token) >= 43 for token in tokens.values())  # 32 random bytes, urlsafe base64
    assert {r["event_type"]: r["callback_token"] for r in api.rows.values()} == tokens
    assert all(r["callback_url"] == URL for r in api.rows.values())


async def test_a_token_shared_by_several_types_is_replaced_by_one_per_type() -> None:
    api = FakeAPI()
    old = [
        api.seed(callback_url=URL, event_type=t, callback_token="shared")
        for t in ("person_updated", "person_deleted")
    ]
    subs = await subscribe(api, URL, ["person_updated", "person_deleted"])
    tokens = tokens_by_event_type(subs)
    assert "shared" not in tokens.values()
    assert len(set(tokens.values())) == 2
    assert not any(r["id"] in api.rows for r in old)  # the shared ones are gone
    assert sorted(api.types()) == ["person_deleted", "person_updated"]


async def test_generated_tokens_differ() -> None:
    assert len({generate_token() for _ in range(20)}) == 20


async def test_a_given_token_is_used() -> None:
    api = FakeAPI()
    subs = await subscribe(api, URL, ["person_updated"], callback_token="mine")
    assert subs[0].callback_token == "mine"
    assert next(iter(api.rows.values()))["callback_token"] == "mine"


async def test_a_bare_string_is_one_event_type_not_its_letters() -> None:
    api = FakeAPI()
    subs = await subscribe(api, URL, "person_updated")
    assert [s.event_type for s in subs] == ["person_updated"]


async def test_rerun_is_idempotent_and_reuses_the_tokens() -> None:
    api = FakeAPI()
    first = await subscribe(api, URL, ["person_updated", "task_completed"])
    posts = api.posts
    again = await subscribe(api, URL, ["task_completed", "person_updated"])
    assert api.posts == posts  # nothing new created
    assert {s.id for s in again} == {s.id for s in first}
    assert len(api.rows) == 2
    # Adding a type later keeps the existing types' tokens, so the receiver's tokens still work.
    more = await subscribe(api, URL, ["person_updated", "note_created"])
    assert len(api.rows) == 3
    assert tokens_by_event_type(more)["person_updated"] == first[0].callback_token
    assert tokens_by_event_type(more)["note_created"] not in {s.callback_token for s in first}


async def test_identical_means_same_url_type_and_token_when_a_token_is_given() -> None:
    api = FakeAPI()
    api.seed(callback_url=URL, event_type="person_updated", callback_token="same")
    api.seed(
        callback_url="https://other.example.com/", event_type="person_updated", callback_token="x"
    )
    subs = await subscribe(api, URL, ["person_updated"], callback_token="same")
    assert api.posts == 0
    assert subs[0].callback_token == "same"
    assert len(api.rows) == 2


async def test_a_new_token_replaces_the_old_subscription_after_creating_the_new_one() -> None:
    api = FakeAPI()
    old = api.seed(callback_url=URL, event_type="person_updated", callback_token="old")
    subs = await subscribe(api, URL, ["person_updated"], callback_token="new")
    assert subs[0].callback_token == "new"
    assert old["id"] not in api.rows
    assert [r["callback_token"] for r in api.rows.values()] == ["new"]
    methods = [m for m, _ in api.calls]
    assert methods.index("POST") < methods.index("DELETE")


async def test_a_disabled_identical_subscription_is_enabled_not_duplicated() -> None:
    api = FakeAPI()
    row = api.seed(callback_url=URL, event_type="task_completed", callback_token="t", enabled=False)
    subs = await subscribe(api, URL, ["task_completed"])
    assert api.posts == 0
    assert subs[0].id == row["id"]
    assert subs[0].enabled is True
    assert subs[0].callback_token == "t"
    assert api.rows[row["id"]]["enabled"] is True


async def test_a_failed_create_rolls_back_what_this_call_created() -> None:
    api = FakeAPI()
    keep = api.seed(callback_url=URL, event_type="person_updated", callback_token="t")
    api.fail_post = 2
    with pytest.raises(ServerError):
        await subscribe(
            api, URL, ["person_updated", "task_created", "task_completed", "note_created"]
        )
    # The pre-existing one stays; the one created before the failure is gone.
    assert list(api.rows) == [keep["id"]]


async def test_rollback_also_finds_a_create_whose_answer_was_lost() -> None:
    api = FakeAPI()
    api.fail_post = 2
    api.lose_answer = True  # the server stored #2, but the client saw a connection reset
    with pytest.raises(ConnectionFailedError):
        await subscribe(api, URL, ["person_updated", "task_created", "task_completed"])
    assert api.rows == {}


async def test_rollback_failures_do_not_hide_the_original_error() -> None:
    api = FakeAPI()
    api.fail_post = 2
    api.fail_deletes = True
    with pytest.raises(ServerError, match="boom"):
        await subscribe(api, URL, ["person_updated", "task_created"])


async def test_a_bare_array_list_answer_is_understood() -> None:
    api = FakeAPI(wrap_lists=False)
    api.seed(callback_url=URL, event_type="person_updated", callback_token="t")
    subs = await list_subscriptions(api, callback_url=URL)
    assert [s.event_type for s in subs] == ["person_updated"]
    assert (await subscribe(api, URL, ["person_updated"]))[0].callback_token == "t"
    assert api.posts == 0


async def test_a_list_answer_that_is_not_a_list_is_a_decode_error() -> None:
    class Weird(FakeAPI):
        async def request(self, method: str, path: str, **kw: Any) -> FakeResponse:
            return FakeResponse(200, {"data": "nope"})

    with pytest.raises(ResponseDecodeError, match="not a list"):
        await list_subscriptions(Weird())


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((URL, []), "at least one event type"),
        ((URL, [""]), "at least one event type"),
        (("", ["person_updated"]), "callback URL"),
        ((URL, ["person_updated"], ""), "must not be empty"),
    ],
)
async def test_bad_arguments_are_refused_before_any_request(
    args: tuple[Any, ...], match: str
) -> None:
    api = FakeAPI()
    with pytest.raises(ConfigurationError, match=match):
        await subscribe(api, *args)
    assert api.calls == []


async def test_unsubscribe_by_subscription_or_id_tolerates_already_gone() -> None:
    api = FakeAPI()
    subs = await subscribe(api, URL, ["person_updated", "task_created", "note_created"])
    deleted = await unsubscribe(api, [subs[0], subs[1].id, subs[1].id])
    assert deleted == [subs[0].id, subs[1].id]
    assert [r["event_type"] for r in api.rows.values()] == ["note_created"]
    assert await unsubscribe(api, [subs[0]]) == [subs[0].id]  # 404 is fine


async def test_unsubscribe_by_url_and_types() -> None:
    api = FakeAPI()
    await subscribe(api, URL, ["person_updated", "task_created", "note_created"])
    other = api.seed(callback_url="https://else.example.com/", event_type="person_updated")
    await unsubscribe(api, callback_url=URL, event_types=["task_created", "note_created"])
    assert sorted(r["event_type"] for r in api.rows.values()) == [
        "person_updated",
        "person_updated",
    ]
    await unsubscribe(api, callback_url=URL)
    assert list(api.rows) == [other["id"]]


async def test_unsubscribe_refuses_what_it_cannot_identify() -> None:
    with pytest.raises(ConfigurationError, match="subscription id"):
        await unsubscribe(FakeAPI(), [{"event_type": "x"}])
    with pytest.raises(ConfigurationError, match="give callback_url too"):
        await unsubscribe(FakeAPI(), event_types=["person_updated"])
