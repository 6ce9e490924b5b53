"""Salesloft webhooks: subscribe, verify signatures, and receive typed events.

```python
from salesloft_async.webhooks import WebhookReceiver, subscribe, tokens_by_event_type, webhook_app

subs = await subscribe(sl, "https://example.com/hooks/", ["person_updated", "task_completed"])
receiver = WebhookReceiver(tokens_by_event_type(subs))   # one token per event type

@receiver.on("person_updated")
async def changed(event: PersonEvent) -> None: ...

app.add_subapp("/hooks/", webhook_app(receiver))     # or asgi_app(receiver) for ASGI frameworks
```
"""

from ..errors import WebhookSignatureError
from .aiohttp_app import webhook_app, webhook_handler
from .asgi import asgi_app
from .claims import ClaimState, ClaimStore, MemoryClaimStore, RedisClaimStore, delivery_key
from .events import (
    ACTIONS,
    EVENT_TYPES,
    LINK_SWAP,
    AccountEvent,
    BulkJobEvent,
    CadenceEvent,
    CadenceMembershipEvent,
    CallDataRecordEvent,
    CallEvent,
    EmailEvent,
    Event,
    LinkSwap,
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
from .receiver import EVENT_HEADER, Outcome, WebhookReceiver
from .signature import SIGNATURE_HEADER, compute_signature, verify_signature
from .subscriptions import (
    generate_token,
    list_subscriptions,
    subscribe,
    tokens_by_event_type,
    unsubscribe,
)

__all__ = [
    "ACTIONS",
    "EVENT_HEADER",
    "EVENT_TYPES",
    "LINK_SWAP",
    "SIGNATURE_HEADER",
    "AccountEvent",
    "BulkJobEvent",
    "CadenceEvent",
    "CadenceMembershipEvent",
    "CallDataRecordEvent",
    "CallEvent",
    "ClaimState",
    "ClaimStore",
    "EmailEvent",
    "Event",
    "LinkSwap",
    "LinkSwapEvent",
    "MeetingEvent",
    "MemoryClaimStore",
    "NoteEvent",
    "Outcome",
    "PersonEvent",
    "RedisClaimStore",
    "StepEvent",
    "SuccessEvent",
    "TaskEvent",
    "UnknownEvent",
    "UserEvent",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WebhookSignatureError",
    "asgi_app",
    "compute_signature",
    "delivery_key",
    "event_class_for",
    "generate_token",
    "list_subscriptions",
    "parse_event",
    "split_event_type",
    "subscribe",
    "tokens_by_event_type",
    "unsubscribe",
    "verify_signature",
    "webhook_app",
    "webhook_handler",
]
