"""The mirror's use of `salesloft_async.webhooks`: subscribe, receive, write, unsubscribe.

Only the webhooks package's public API is used (`subscribe`, `tokens_by_event_type`,
`unsubscribe`, `WebhookReceiver`, `webhook_app`), so signature checks, de-duplication and deadlines
are the receiver's.  `subscribe` gives each event type a token of its own, and the receiver's token
map is `tokens_by_event_type` of the subscriptions, so a ``person_updated`` body re-labelled
``person_deleted`` fails the signature check instead of deleting a row.

Repeats are claimed in the receiver's default `MemoryClaimStore`, not a shared one: a mirror is one
process, and its write rule already makes a repeat harmless (the same version is the same upsert;
an older one loses), so the claim only spares the database a write.  A claim store shared across
processes would add a Redis round trip to every delivery and protect nothing.  Deadlines are the
receiver's defaults: the body within `read_timeout` (5 s), the answer within `request_timeout`
(10 s); `ack_timeout=None` waits for the write until then, so a failed write answers 500 and
Salesloft delivers again, and a write still running at the deadline is answered 202 and finishes.

Every delivery is written by the store's rule: a ``*_deleted`` body marks the row deleted at the
body's `updated_at`; any other is a new version.  A write that fails (the database) answers 500, so
Salesloft delivers again; a delivery repeated is the same upsert again.  A body without an integer
`id` or an ISO `updated_at` is logged and acknowledged: delivering it again would not help.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ..errors import ResponseDecodeError
from ..webhooks import (
    EVENT_TYPES,
    Event,
    MemoryClaimStore,
    WebhookReceiver,
    split_event_type,
    subscribe,
    tokens_by_event_type,
    unsubscribe,
    webhook_app,
)

if TYPE_CHECKING:
    from ..models import Subscription
    from .follower import Mirror

__all__ = ["KINDS", "MirrorWebhooks", "serve"]

log = logging.getLogger("salesloft_async.mirror")

#: client resource name -> the record kind its event types start with
KINDS = {
    "people": "person",
    "accounts": "account",
    "cadences": "cadence",
    "cadence_memberships": "cadence_membership",
    "calls": "call",
    "call_data_records": "call_data_record",
    "emails": "email",
    "meetings": "meeting",
    "notes": "note",
    "steps": "step",
    "successes": "success",
    "tasks": "task",
    "users": "user",
}


def event_types(resource: str) -> list[str]:
    """The documented event types that carry records of `resource`."""
    kind = KINDS.get(resource)
    return [t for t in EVENT_TYPES if kind is not None and split_event_type(t)[0] == kind]


class MirrorWebhooks:
    """Subscriptions for a mirror's resources and the receiver that writes their deliveries."""

    def __init__(self, mirror: Mirror, url: str) -> None:
        self.mirror = mirror
        self.url = url
        self.tokens: dict[str, str] = {}
        self.resource_of = {t: r for r in mirror.resources for t in event_types(r)}
        # filled by `subscribe`; the receiver reads the same mapping
        self.receiver = WebhookReceiver(self.tokens, ack_timeout=None, claims=MemoryClaimStore())
        self.receiver.add_handler("*", self._deliver)
        self.subscriptions: list[Subscription] = []

    def deletes_announced(self) -> set[str]:
        """Resources with a subscribed ``*_deleted`` event type."""
        return {
            self.resource_of[s.event_type]
            for s in self.subscriptions
            if isinstance(s.event_type, str) and split_event_type(s.event_type)[1] == "deleted"
        }

    def covered(self) -> set[str]:
        """Resources with any subscribed event type: webhooks bring their changes."""
        return {self.resource_of[s.event_type] for s in self.subscriptions if s.event_type}

    async def subscribe(self) -> None:
        if not self.resource_of:
            log.warning("no webhook event types for %s: polling only", self.mirror.resources)
            return
        self.subscriptions = await subscribe(self.mirror.client, self.url, list(self.resource_of))
        self.tokens.update(tokens_by_event_type(self.subscriptions))

    async def unsubscribe(self) -> None:
        if self.subscriptions:
            await unsubscribe(self.mirror.client, self.subscriptions)
            self.subscriptions = []

    def app(self) -> web.Application:
        return webhook_app(self.receiver)

    async def _deliver(self, event: Event[Any]) -> None:
        resource = self.resource_of.get(event.event_type)
        if resource is None or not isinstance(event.raw, dict):
            return
        deleted = split_event_type(event.event_type)[1] == "deleted"
        try:
            await self.mirror.apply(resource, [event.raw], deleted=deleted)
        except ResponseDecodeError as exc:
            # no integer id or no updated_at: a redelivery would be the same; polls and sweeps
            # still bring the record's state
            log.warning("%s delivery not mirrored: %s", event.event_type, exc)


async def serve(app: web.Application, host: str, port: int) -> tuple[web.AppRunner, int]:
    """Serve `app` on HOST:PORT (0: a free port); returns the runner (clean it up) and the port."""
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    server = site._server
    sockets = getattr(server, "sockets", None) or ()
    bound = sockets[0].getsockname()[1] if sockets else port
    return runner, int(bound)
