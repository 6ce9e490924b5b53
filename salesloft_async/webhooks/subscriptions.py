"""Subscribe a callback URL to event types, all or nothing, and safely re-runnable.

Salesloft has one subscription per event type, so "send me person and task events" is several
POSTs; a failure halfway would leave some types subscribed and others not.  `subscribe` therefore
rolls back what it created when any create fails, and it lists what exists first, so running it at
every deploy converges instead of piling up duplicates (each duplicate would double every delivery).

Each (callback URL, event type) gets a token of its own by default.  Salesloft signs only the body,
not the ``x-salesloft-event`` header, so a token shared by two types lets anyone who captured one
delivery re-send it as the other and pass the signature check; with one token per type the
receiver verifies with the token of the type a delivery claims, and a re-labelled body fails.

A subscription is reused when it has the same callback URL and event type and a token of its own
(or, when the caller gives one `callback_token`, that token).  A subscription whose token is shared
with another event type of the URL (what earlier versions made) is replaced by one with a fresh
token: the new one is created first, the old one deleted after every create succeeded (a failure
there leaves both, and re-running finishes the job).  Passing `callback_token` shares that one
token across every type asked for: use it only for a receiver that must accept one token (it
accepts a genuine delivery re-labelled with another of those types).  Should a listing not show
tokens, reuse cannot report one: pass your own `callback_token` to always know it.

Plain `client.request` calls are used (not `sl.webhook_subscriptions`), so that both list shapes
(the definition's bare array and the usual ``{"data": [...]}``) are understood and any object with
a `request` method (a client, a transport, a test double) works.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ..errors import ConfigurationError, NotFoundError, ResponseDecodeError
from ..models import Subscription
from ._records import decode_record

__all__ = [
    "SUBSCRIPTIONS_PATH",
    "generate_token",
    "list_subscriptions",
    "subscribe",
    "tokens_by_event_type",
    "unsubscribe",
]

SUBSCRIPTIONS_PATH = "/v2/webhook_subscriptions"

log = logging.getLogger("salesloft_async.webhooks")


class _Response(Protocol):
    @property
    def data(self) -> Any: ...


class Requester(Protocol):
    """What these functions need of a client: `SalesloftClient` (or its transport) fits."""

    async def request(
        self, method: str, path: str, *, params: dict[str, Any] | None = ..., json: Any = ...
    ) -> Any: ...


def generate_token() -> str:
    """A callback token with 256 bits from the OS's CSPRNG, safe in a URL or a header."""
    return secrets.token_urlsafe(32)


async def list_subscriptions(
    client: Requester, *, callback_url: str | None = None
) -> list[Subscription]:
    """Every webhook subscription of the token's user (optionally only those for one URL)."""
    rows = await _list_raw(client)
    if callback_url is not None:
        rows = [r for r in rows if r.get("callback_url") == callback_url]
    return [_decode(r) for r in rows]


async def subscribe(
    client: Requester,
    callback_url: str,
    event_types: str | Iterable[str],
    callback_token: str | None = None,
) -> list[Subscription]:
    """Make sure `callback_url` is subscribed to each of `event_types`; return the subscriptions.

    The result has one subscription per requested type, in the order given, each carrying its own
    ``callback_token`` (`tokens_by_event_type` turns the result into what `WebhookReceiver`
    takes).  `callback_token` instead shares one token across all the types (see the module's
    note on what that risks).  On any failure to create, the ones this call created are deleted
    again and the error is raised.
    """
    types = _event_types(event_types)
    if not isinstance(callback_url, str) or not callback_url.strip():
        raise ConfigurationError("subscribe needs the callback URL Salesloft should POST to")
    if callback_token is not None and not callback_token:
        raise ConfigurationError("callback_token must not be empty (pass None to generate one)")

    existing = [r for r in await _list_raw(client) if r.get("callback_url") == callback_url]
    before_ids = {r.get("id") for r in existing}
    shared = _shared_tokens(existing)

    result: dict[str, dict[str, Any]] = {}
    replaced: list[dict[str, Any]] = []
    tokens: dict[str, str] = {}
    for event_type in types:
        same_type = [r for r in existing if r.get("event_type") == event_type]
        if callback_token is None:
            same_type_usable = [r for r in same_type if r.get("callback_token") not in shared]
        else:
            same_type_usable = [r for r in same_type if r.get("callback_token") == callback_token]
        match = _usable(same_type_usable)
        if match is not None:
            result[event_type] = match
        else:
            tokens[event_type] = callback_token or generate_token()
            replaced.extend(same_type)

    created: list[dict[str, Any]] = []
    try:
        for event_type, row in list(result.items()):
            if row.get("enabled") is False:
                result[event_type] = await _enable(client, row)
        for event_type, token in tokens.items():
            response = await client.request(
                "POST",
                SUBSCRIPTIONS_PATH,
                json={
                    "callback_url": callback_url,
                    "callback_token": token,
                    "event_type": event_type,
                },
            )
            row = _record(response.data)
            created.append(row)
            row.setdefault("callback_token", token)
            result[event_type] = row
    except BaseException:
        await _rollback(client, created, callback_url, tokens, before_ids)
        raise

    for old in replaced:
        await _delete(client, old.get("id"))
    return [_decode(result[t]) for t in types]


def tokens_by_event_type(subscriptions: Iterable[Any]) -> dict[str, str]:
    """``{event_type: callback_token}`` of `subscribe`'s result: the `tokens` of a receiver."""
    out: dict[str, str] = {}
    for sub in subscriptions:
        event_type, token = _field(sub, "event_type"), _field(sub, "callback_token")
        if isinstance(event_type, str) and isinstance(token, str) and token:
            out[event_type] = token
    return out


async def unsubscribe(
    client: Requester,
    subscriptions: Iterable[Any] = (),
    *,
    callback_url: str | None = None,
    event_types: str | Iterable[str] | None = None,
) -> list[int]:
    """Delete subscriptions; return the ids asked to be deleted (already gone counts as done).

    Give the subscriptions (or their ids) that `subscribe` returned, or a `callback_url` (optionally
    narrowed to `event_types`) to delete whatever points there.
    """
    ids: list[int] = []
    for sub in subscriptions:
        sid = sub if isinstance(sub, int) else _field(sub, "id")
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise ConfigurationError(f"cannot tell the subscription id of {type(sub).__name__}")
        ids.append(sid)
    if callback_url is not None:
        wanted = None if event_types is None else set(_event_types(event_types))
        for row in await _list_raw(client):
            if row.get("callback_url") != callback_url:
                continue
            if wanted is not None and row.get("event_type") not in wanted:
                continue
            if isinstance(row.get("id"), int):
                ids.append(row["id"])
    elif event_types is not None:
        raise ConfigurationError("event_types narrows callback_url; give callback_url too")
    unique = list(dict.fromkeys(ids))
    for sid in unique:
        await _delete(client, sid)
    return unique


# -- helpers ----------------------------------------------------------------------------------


def _event_types(event_types: str | Iterable[str]) -> list[str]:
    # A bare string is one type: iterating it would subscribe to "p", "e", "r", ...
    items = [event_types] if isinstance(event_types, str) else list(event_types)
    if not items or not all(isinstance(t, str) and t for t in items):
        raise ConfigurationError("give at least one event type, e.g. ['person_updated']")
    return list(dict.fromkeys(items))


def _shared_tokens(rows: list[dict[str, Any]]) -> set[str]:
    """Tokens the URL's subscriptions use for more than one event type."""
    types: dict[str, set[Any]] = {}
    for row in rows:
        token = row.get("callback_token")
        if isinstance(token, str) and token:
            types.setdefault(token, set()).add(row.get("event_type"))
    return {token for token, kinds in types.items() if len(kinds) > 1}


def _usable(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    # Prefer an enabled one: a disabled twin would need a PUT to be useful.
    for row in rows:
        if row.get("enabled") is not False:
            return row
    return rows[0] if rows else None


async def _enable(client: Requester, row: dict[str, Any]) -> dict[str, Any]:
    response = await client.request(
        "PUT", f"{SUBSCRIPTIONS_PATH}/{row['id']}", json={"enabled": True}
    )
    updated = _record(response.data)
    updated.setdefault("callback_token", row.get("callback_token"))
    return updated


async def _rollback(
    client: Requester,
    created: list[dict[str, Any]],
    callback_url: str,
    tokens: dict[str, str],
    before_ids: set[Any],
) -> None:
    """Delete what this call created, including a create whose answer was lost on the way back."""
    ids = [r.get("id") for r in created]
    try:
        for row in await _list_raw(client):
            if (
                row.get("id") not in before_ids
                and row.get("callback_url") == callback_url
                and row.get("event_type") in tokens
                and row.get("callback_token") == tokens[row["event_type"]]
            ):
                ids.append(row.get("id"))
    except Exception as exc:  # the original error matters more; delete what we know of
        log.warning("webhook subscribe rollback could not list subscriptions: %s", exc)
    for sid in dict.fromkeys(ids):
        try:
            await _delete(client, sid)
        except Exception as exc:
            log.warning("webhook subscribe rollback could not delete subscription %s: %s", sid, exc)


async def _delete(client: Requester, sid: Any) -> None:
    if not isinstance(sid, int) or isinstance(sid, bool):
        return
    with contextlib.suppress(NotFoundError):  # already gone: that is what we wanted
        await client.request("DELETE", f"{SUBSCRIPTIONS_PATH}/{sid}")


async def _list_raw(client: Requester) -> list[dict[str, Any]]:
    response = await client.request("GET", SUBSCRIPTIONS_PATH)
    data = response.data
    # The definition documents a bare array; the rest of the API wraps lists in {"data": [...]}.
    if isinstance(data, Mapping):
        data = data.get("data")
    if not isinstance(data, list):
        raise ResponseDecodeError(
            "webhook subscription list is not a list",
            status=getattr(response, "status", 0),
            body_excerpt=repr(type(data)),
            method="GET",
            path=SUBSCRIPTIONS_PATH,
        )
    return [dict(r) for r in data if isinstance(r, Mapping)]


def _record(data: Any) -> dict[str, Any]:
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if not isinstance(data, Mapping):
        raise ResponseDecodeError(
            "webhook subscription answer is not an object",
            status=0,
            body_excerpt=repr(type(data)),
            path=SUBSCRIPTIONS_PATH,
        )
    return dict(data)


def _field(obj: Any, name: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _decode(row: dict[str, Any]) -> Subscription:
    return decode_record(Subscription, row)
