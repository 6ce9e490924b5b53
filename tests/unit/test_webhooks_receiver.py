"""WebhookReceiver.handle: every status code, dispatch rules, and the ack_timeout contract."""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any

import pytest

from salesloft_async.errors import ConfigurationError
from salesloft_async.webhooks import (
    Event,
    LinkSwapEvent,
    PersonEvent,
    TaskEvent,
    UnknownEvent,
    WebhookReceiver,
    compute_signature,
)
from salesloft_async.webhooks.claims import MemoryClaimStore

TOKEN = "cb-token-for-tests"
PERSON = json.dumps({"id": 42, "first_name": "Ada"}).encode()


def signed(body: bytes, token: str = TOKEN) -> str:
    return compute_signature(body, token)


class Recorder:
    def __init__(self) -> None:
        self.events: list[Event[Any]] = []

    async def __call__(self, event: Event[Any]) -> None:
        self.events.append(event)


async def deliver(
    receiver: WebhookReceiver,
    body: bytes = PERSON,
    event_type: str | None = "person_updated",
    signature: str | None = "<good>",
    path: str = "/hooks",
) -> int:
    if signature == "<good>":
        signature = signed(body)
    outcome = await receiver.handle(body, event_type=event_type, signature=signature, path=path)
    return outcome.status


async def test_a_good_delivery_is_dispatched_typed_and_answered_204() -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    outcome = await receiver.handle(PERSON, event_type="person_updated", signature=signed(PERSON))
    assert outcome.status == 204
    assert isinstance(outcome.event, PersonEvent)
    assert len(rec.events) == 1
    event = rec.events[0]
    assert isinstance(event, PersonEvent)
    assert event.record.first_name == "Ada"


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"signature": None}, 401),
        ({"signature": ""}, 401),
        ({"signature": "nothex" * 5}, 401),
        ({"signature": "ab" * 10}, 401),
        ({"signature": signed(PERSON, "someone-elses-token")}, 401),
        ({"signature": signed(b'{"id": 43}')}, 401),  # signature of another body
        ({"event_type": None}, 400),
        ({"event_type": ""}, 400),
    ],
)
async def test_refusals_run_no_handler(kwargs: dict[str, Any], status: int) -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("*")(rec)
    assert await deliver(receiver, **kwargs) == status
    assert rec.events == []


async def test_a_changed_body_under_the_original_signature_is_401() -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    tampered = PERSON.replace(b"Ada", b"Eve")
    assert await deliver(receiver, body=tampered, signature=signed(PERSON)) == 401
    assert rec.events == []


async def test_signed_non_json_is_400_and_runs_no_handler() -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("*")(rec)
    assert await deliver(receiver, body=b"<html>oops</html>") == 400
    assert await deliver(receiver, body=b"[1,2]") == 400  # a person must be an object
    assert rec.events == []


async def test_unsigned_non_json_is_401_not_400() -> None:
    receiver = WebhookReceiver(TOKEN)
    assert await deliver(receiver, body=b"<html>", signature=None) == 401


async def test_an_oversized_body_is_413_before_anything_else() -> None:
    receiver = WebhookReceiver(TOKEN, max_body_size=10)
    assert await deliver(receiver, body=b'{"id": 1234567890}') == 413


async def test_no_handler_for_the_type_is_still_204_so_salesloft_does_not_retry() -> None:
    receiver = WebhookReceiver(TOKEN)
    outcome = await receiver.handle(
        PERSON, event_type="conversation_created", signature=signed(PERSON)
    )
    assert outcome.status == 204
    assert isinstance(outcome.event, UnknownEvent)


async def test_handlers_run_in_order_and_star_catches_everything() -> None:
    receiver = WebhookReceiver(TOKEN)
    order: list[str] = []

    @receiver.on("task_completed", "task_updated")
    async def first(event: Event[Any]) -> None:
        order.append(f"first:{event.event_type}")

    @receiver.on("*")
    async def every(event: Event[Any]) -> None:
        order.append(f"star:{event.event_type}")

    body = b'{"id": 5, "subject": "call back"}'
    assert await deliver(receiver, body=body, event_type="task_completed") == 204
    assert await deliver(receiver, body=body, event_type="person_updated") == 204
    assert order == ["first:task_completed", "star:task_completed", "star:person_updated"]


async def test_a_failing_handler_is_500_so_salesloft_retries_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()

    @receiver.on("person_updated")
    async def broken(event: Event[Any]) -> None:
        raise RuntimeError("database is down")

    receiver.on("person_updated")(rec)
    with caplog.at_level(logging.ERROR, logger="salesloft_async.webhooks"):
        assert await deliver(receiver) == 500
    assert len(rec.events) == 1
    assert "database is down" in caplog.text
    assert TOKEN not in caplog.text


async def test_on_error_receives_the_failure_instead_of_the_log() -> None:
    seen: list[tuple[str, str]] = []

    async def on_error(event: Event[Any], exc: BaseException) -> None:
        seen.append((event.event_type, str(exc)))

    receiver = WebhookReceiver(TOKEN, on_error=on_error)

    @receiver.on("person_updated")
    async def broken(event: Event[Any]) -> None:
        raise ValueError("nope")

    assert await deliver(receiver) == 500
    assert await receiver.drain(1.0)
    assert seen == [("person_updated", "nope")]


async def test_a_slow_handler_is_acked_202_and_keeps_running_as_a_tracked_task() -> None:
    release = asyncio.Event()
    done: list[int] = []
    failures: list[BaseException] = []
    receiver = WebhookReceiver(TOKEN, ack_timeout=0, on_error=lambda e, exc: failures.append(exc))

    @receiver.on("person_updated")
    async def slow(event: PersonEvent) -> None:
        await release.wait()
        done.append(event.record_id or 0)
        raise RuntimeError("late failure")

    assert await deliver(receiver) == 202
    assert receiver.pending == 1
    assert done == []
    release.set()
    assert await receiver.drain(1.0)
    assert done == [42]
    assert receiver.pending == 0
    # A failure after the ack cannot make Salesloft retry: it goes to on_error.
    assert [str(e) for e in failures] == ["late failure"]


async def test_ack_timeout_none_always_waits_for_the_handlers() -> None:
    receiver = WebhookReceiver(TOKEN, ack_timeout=None)
    done: list[bool] = []

    @receiver.on("person_updated")
    async def takes_a_few_turns(event: Event[Any]) -> None:
        for _ in range(5):
            await asyncio.sleep(0)
        done.append(True)

    assert await deliver(receiver) == 204
    assert done == [True]


async def test_max_pending_pushes_back_with_503() -> None:
    release = asyncio.Event()
    receiver = WebhookReceiver(TOKEN, ack_timeout=0, max_pending=1)

    @receiver.on("person_updated")
    async def slow(event: Event[Any]) -> None:
        await release.wait()

    assert await deliver(receiver) == 202
    assert await deliver(receiver) == 503
    release.set()
    await receiver.drain(1.0)
    release.clear()
    later = b'{"id": 43}'
    assert await deliver(receiver, body=later) == 202  # room again once the first run finished
    release.set()
    await receiver.close()


async def test_close_refuses_new_deliveries_and_cancels_what_outlives_grace() -> None:
    receiver = WebhookReceiver(TOKEN, ack_timeout=0)
    cancelled: list[bool] = []

    @receiver.on("person_updated")
    async def forever(event: Event[Any]) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    assert await deliver(receiver) == 202
    await receiver.close(grace=0)
    assert cancelled == [True]
    assert receiver.pending == 0
    assert await deliver(receiver) == 503


async def test_tokens_by_event_type_with_fallback() -> None:
    receiver = WebhookReceiver({"person_updated": "p-token", "*": "other-token"})
    assert await deliver(receiver, signature=signed(PERSON, "p-token")) == 204
    assert await deliver(receiver, signature=signed(PERSON, "other-token")) == 401
    task = b'{"id": 1}'
    assert (
        await deliver(
            receiver, body=task, event_type="task_created", signature=signed(task, "other-token")
        )
        == 204
    )


async def test_an_event_type_without_a_token_is_401() -> None:
    receiver = WebhookReceiver({"person_updated": "p-token"})
    body = b'{"id": 1}'
    assert (
        await deliver(
            receiver, body=body, event_type="task_created", signature=signed(body, "p-token")
        )
        == 401
    )


async def test_several_tokens_are_accepted_while_rotating() -> None:
    receiver = WebhookReceiver({"*": ["old-token", "new-token"]})
    assert await deliver(receiver, signature=signed(PERSON, "old-token")) == 204
    assert await deliver(receiver, signature=signed(PERSON, "new-token")) == 204
    assert await deliver(receiver, signature=signed(PERSON, "third-token")) == 401


async def test_a_callable_token_source_gets_the_event_type_and_path() -> None:
    asked: list[tuple[str, str]] = []

    async def lookup(event_type: str, path: str) -> str | None:
        asked.append((event_type, path))
        return {"/hooks/acme": "acme-token"}.get(path)

    receiver = WebhookReceiver(lookup)
    assert (
        await deliver(receiver, signature=signed(PERSON, "acme-token"), path="/hooks/acme") == 204
    )
    assert (
        await deliver(receiver, signature=signed(PERSON, "acme-token"), path="/hooks/evil") == 401
    )
    assert asked == [("person_updated", "/hooks/acme"), ("person_updated", "/hooks/evil")]

    sync_receiver = WebhookReceiver(lambda event_type, path: "sync-token")
    assert await deliver(sync_receiver, signature=signed(PERSON, "sync-token")) == 204


async def test_repr_and_messages_never_show_the_token() -> None:
    receiver = WebhookReceiver(TOKEN)
    receiver.on("person_updated")(Recorder())
    assert TOKEN not in repr(receiver)
    for sig in (None, "x", "0" * 40):
        outcome = await receiver.handle(PERSON, event_type="person_updated", signature=sig)
        assert TOKEN not in outcome.message


def test_construction_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="non-empty callback token"):
        WebhookReceiver("")
    with pytest.raises(ValueError, match="max_body_size"):
        WebhookReceiver(TOKEN, max_body_size=0)
    with pytest.raises(ValueError, match="at least one event type"):
        WebhookReceiver(TOKEN).on()
    with pytest.raises(TypeError, match="async callable"):
        WebhookReceiver(TOKEN).add_handler("person_updated", "not callable")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("read_timeout", math.nan),  # nan passed `<= 0` and made the deadline meaningless
        ("request_timeout", math.inf),
        ("ack_timeout", -1.0),
        ("ack_timeout", math.nan),
        ("max_body_size", math.nan),
        ("max_pending", 0),  # every delivery would be 503, silently, forever
        ("remember", -1),  # switched claims off as silently as 0 does
        ("remember", math.nan),
    ],
)
def test_construction_refuses_settings_that_never_or_always_answer(
    option: str, value: float
) -> None:
    with pytest.raises(ConfigurationError, match=option):
        WebhookReceiver(TOKEN, **{option: value})


async def test_typed_handlers_see_their_own_event_class() -> None:
    receiver = WebhookReceiver(TOKEN)
    subjects: list[str | None] = []

    @receiver.on("task_completed")
    async def on_task(event: TaskEvent) -> None:
        subjects.append(event.record.subject)

    body = b'{"id": 8, "subject": "Send the contract"}'
    assert await deliver(receiver, body=body, event_type="task_completed") == 204
    assert subjects == ["Send the contract"]


async def test_a_repeat_of_a_handled_delivery_does_not_run_the_handlers_again() -> None:
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    assert await deliver(receiver) == 204
    outcome = await receiver.handle(PERSON, event_type="person_updated", signature=signed(PERSON))
    assert (outcome.status, outcome.message) == (204, "already handled")
    assert len(rec.events) == 1
    # The same body under another event type is another delivery.
    assert await deliver(receiver, event_type="person_created") == 204
    assert len(rec.events) == 1  # no handler for person_created, but not treated as a repeat
    receiver.on("person_created")(rec)
    assert await deliver(receiver, event_type="person_created", body=PERSON + b" ") == 204
    assert len(rec.events) == 2


async def test_a_failed_delivery_is_not_remembered_so_salesloft_retries_run() -> None:
    receiver = WebhookReceiver(TOKEN)
    attempts: list[int] = []

    @receiver.on("person_updated")
    async def flaky(event: Event[Any]) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("first try fails")

    assert await deliver(receiver) == 500
    assert await deliver(receiver) == 204
    assert await deliver(receiver) == 204  # now remembered
    assert len(attempts) == 2


async def test_background_successes_are_remembered_when_they_finish() -> None:
    release = asyncio.Event()
    runs: list[int] = []
    receiver = WebhookReceiver(TOKEN, ack_timeout=0)

    @receiver.on("person_updated")
    async def slow(event: Event[Any]) -> None:
        runs.append(1)
        await release.wait()

    assert await deliver(receiver) == 202
    release.set()
    await receiver.drain(1.0)
    assert await deliver(receiver) == 204
    assert runs == [1]


async def test_remember_is_bounded_and_can_be_switched_off() -> None:
    receiver = WebhookReceiver(TOKEN, remember=2)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    bodies = [json.dumps({"id": i}).encode() for i in range(3)]
    for body in bodies:
        assert await deliver(receiver, body=body) == 204
    assert await deliver(receiver, body=bodies[0]) == 204  # forgotten: runs again
    assert len(rec.events) == 4

    off = WebhookReceiver(TOKEN, remember=0)
    rec2 = Recorder()
    off.on("person_updated")(rec2)
    assert await deliver(off) == 204
    assert await deliver(off) == 204
    assert len(rec2.events) == 2


async def test_a_replay_after_1030_other_deliveries_is_still_remembered() -> None:
    """The first receiver forgot all but the last 1,024 deliveries, so this replay ran again."""
    receiver = WebhookReceiver(TOKEN)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    assert await deliver(receiver) == 204
    for i in range(1030):
        assert await deliver(receiver, body=json.dumps({"id": 1000 + i}).encode()) == 204
    assert await deliver(receiver) == 204
    assert len(rec.events) == 1031


def test_remember_sizes_only_the_default_store() -> None:
    """It was once read on every delivery; now the store holds the bound, so passing both (or
    setting the attribute later) would be a setting nothing reads."""
    default = WebhookReceiver(TOKEN)
    assert isinstance(default.claims, MemoryClaimStore)
    assert default.claims.max_entries == 100_000
    sized = WebhookReceiver(TOKEN, remember=2)
    assert isinstance(sized.claims, MemoryClaimStore) and sized.claims.max_entries == 2
    assert WebhookReceiver(TOKEN, remember=0).claims is None
    with pytest.raises(ConfigurationError, match="remember= or claims=, not both"):
        WebhookReceiver(TOKEN, remember=2, claims=MemoryClaimStore(max_entries=5))
    assert not hasattr(sized, "remember")


def test_a_handler_for_an_undocumented_type_is_kept_but_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = WebhookReceiver(TOKEN)
    with caplog.at_level(logging.WARNING, logger="salesloft_async.webhooks"):
        receiver.on("person_update")(Recorder())  # typo of person_updated
        receiver.on("person_updated", "*")(Recorder())
    assert "undocumented event type 'person_update'" in caplog.text
    assert caplog.text.count("undocumented") == 1
    assert len(receiver.handlers_for("person_update")) == 2  # its own + "*"


class BrokenClaims:
    """A claim store whose backend is down."""

    async def claim(self, key: str) -> Any:
        raise ConnectionError("redis is down")

    async def finish(self, key: str) -> None:
        raise AssertionError("never reached")

    async def release(self, key: str) -> None:
        raise AssertionError("never reached")


async def test_a_repeat_while_the_first_still_runs_is_409_and_runs_nothing() -> None:
    gate = asyncio.Event()
    runs: list[int] = []
    receiver = WebhookReceiver(TOKEN, ack_timeout=0)

    @receiver.on("person_updated")
    async def slow(event: Event[Any]) -> None:
        runs.append(1)
        await gate.wait()

    assert await deliver(receiver) == 202
    assert await deliver(receiver) == 409  # retry later: the first may still fail
    gate.set()
    await receiver.drain(1.0)
    assert await deliver(receiver) == 204
    assert runs == [1]


async def test_a_background_failure_releases_its_claim() -> None:
    gate = asyncio.Event()
    runs: list[int] = []
    receiver = WebhookReceiver(TOKEN, ack_timeout=0, on_error=lambda e, exc: None)

    @receiver.on("person_updated")
    async def fails_late(event: Event[Any]) -> None:
        runs.append(1)
        await gate.wait()
        if len(runs) == 1:
            raise RuntimeError("late failure")

    assert await deliver(receiver) == 202
    gate.set()
    await receiver.drain(1.0)
    assert await deliver(receiver) == 204  # released, so it ran again
    assert runs == [1, 1]


async def test_a_claim_store_that_fails_is_503_and_runs_no_handler(
    caplog: pytest.LogCaptureFixture,
) -> None:
    receiver = WebhookReceiver(TOKEN, claims=BrokenClaims())
    rec = Recorder()
    receiver.on("person_updated")(rec)
    assert await deliver(receiver) == 503
    assert rec.events == []
    assert "claim store failed" in caplog.text


async def test_a_token_source_slower_than_the_deadline_is_503() -> None:
    async def slow_lookup(event_type: str, path: str) -> str:
        await asyncio.sleep(10)
        return TOKEN

    receiver = WebhookReceiver(slow_lookup, request_timeout=0.05)
    assert await deliver(receiver) == 503


async def test_a_token_source_that_fails_is_503_without_a_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A lookup backed by a database that is down: the delivery waits for Salesloft's retry, and
    the adapters are not left to log a traceback and answer 500."""

    async def broken_lookup(event_type: str, path: str) -> str:
        raise ConnectionError("postgres://app:hunter2@db/tokens is down")

    receiver = WebhookReceiver(broken_lookup)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    assert await deliver(receiver) == 503
    assert rec.events == []
    assert "token lookup for 'person_updated' failed: ConnectionError" in caplog.text
    assert "hunter2" not in caplog.text
    assert [r for r in caplog.records if r.exc_info] == []


async def test_a_claim_store_slower_than_the_deadline_is_503_and_runs_no_handler() -> None:
    class SlowClaims(BrokenClaims):
        async def claim(self, key: str) -> Any:
            await asyncio.Event().wait()  # never answers; the request deadline ends it

    receiver = WebhookReceiver(TOKEN, claims=SlowClaims(), request_timeout=0.05)
    rec = Recorder()
    receiver.on("person_updated")(rec)
    outcome = await receiver.handle(PERSON, event_type="person_updated", signature=signed(PERSON))
    assert (outcome.status, outcome.message) == (
        503,
        "cannot record this delivery right now; retry later",
    )
    assert rec.events == []


async def test_a_shared_token_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="salesloft_async.webhooks"):
        WebhookReceiver({"person_updated": "a", "person_deleted": "b"})
        assert "one token for several event types" not in caplog.text
        WebhookReceiver("shared")
        assert "one token for several event types" in caplog.text


@pytest.mark.parametrize(
    "event_type", ["x" * 8000, "Person_Updated", "person updated", "person_updated\n", "ü"]
)
async def test_a_header_that_is_no_event_type_name_is_400_and_claims_nothing(
    event_type: str,
) -> None:
    """With one shared token and a "*" handler, any header passes the signature check: an
    8 KB one would make each claim 8 KB, past the memory bound the claim store documents."""
    receiver = WebhookReceiver(TOKEN)
    seen = Recorder()
    receiver.on("*")(seen)
    assert await deliver(receiver, event_type=event_type) == 400
    assert seen.events == []
    assert isinstance(receiver.claims, MemoryClaimStore) and len(receiver.claims) == 0
    assert await deliver(receiver, event_type="person_updated") == 204  # a name still passes


LINKS = ["http://old-1.example/a", "http://old-2.example/b"]
SWAP = json.dumps({"user": {"id": 1}, "person": {"id": 7}, "links": LINKS}).encode()


async def swap(receiver: WebhookReceiver) -> Any:
    return await receiver.handle(SWAP, event_type="link_swap", signature=signed(SWAP))


async def test_link_swap_answers_the_handlers_map_and_is_never_claimed() -> None:
    receiver = WebhookReceiver(TOKEN, ack_timeout=0)  # link_swap waits whatever ack_timeout says
    asked: list[tuple[str, ...]] = []

    @receiver.on("link_swap")
    async def swap_links(event: LinkSwapEvent) -> dict[str, str]:
        asked.append(event.record.links)
        await asyncio.sleep(0.01)
        return {LINKS[0]: "https://new.example/1", "http://not-offered.example": "https://x"}

    first, second = await swap(receiver), await swap(receiver)
    assert (first.status, first.payload) == (200, {"links": {LINKS[0]: "https://new.example/1"}})
    assert second.payload == first.payload  # a repeat is answered again
    assert asked == [tuple(LINKS), tuple(LINKS)]


async def test_link_swap_without_a_handler_keeps_every_link() -> None:
    outcome = await swap(WebhookReceiver(TOKEN))
    assert (outcome.status, outcome.payload) == (200, {"links": {}})


async def test_link_swap_handler_failure_is_500_and_too_slow_is_503() -> None:
    failing = WebhookReceiver(TOKEN, on_error=lambda e, exc: None)

    @failing.on("link_swap")
    async def boom(event: LinkSwapEvent) -> dict[str, str]:
        raise RuntimeError("link service down")

    assert (await swap(failing)).status == 500

    slow = WebhookReceiver(TOKEN, request_timeout=0.05)

    @slow.on("link_swap")
    async def dawdle(event: LinkSwapEvent) -> dict[str, str]:
        await asyncio.sleep(10)
        return {}

    assert (await swap(slow)).status == 503
    await slow.drain(1.0)
    assert slow.pending == 0  # the late answer was cancelled, not left running
