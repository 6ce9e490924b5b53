"""Salesloft webhooks: subscribe, verify signatures, and receive typed events.

```python
from salesloft_async.webhooks import WebhookReceiver, subscribe, webhook_app

subs = await subscribe(sl, "https://example.com/hooks/", ["person_updated", "task_completed"])
receiver = WebhookReceiver(subs[0].callback_token)   # subscribe shares one token per URL

@receiver.on("person_updated")
async def changed(event: PersonEvent) -> None: ...

app.add_subapp("/hooks/", webhook_app(receiver))     # or asgi_app(receiver) for ASGI frameworks
```
"""

from ..errors import WebhookSignatureError
from .aiohttp_app import webhook_app, webhook_handler
from .asgi import asgi_app
from .events import (
    ACTIONS,
    EVENT_TYPES,
    AccountEvent,
    BulkJobEvent,
    CadenceEvent,
    CadenceMembershipEvent,
    CallDataRecordEvent,
    CallEvent,
    EmailEvent,
    Event,
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
from .subscriptions import generate_token, list_subscriptions, subscribe, unsubscribe

__all__ = [
    "ACTIONS",
    "EVENT_HEADER",
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "AccountEvent",
    "BulkJobEvent",
    "CadenceEvent",
    "CadenceMembershipEvent",
    "CallDataRecordEvent",
    "CallEvent",
    "EmailEvent",
    "Event",
    "MeetingEvent",
    "NoteEvent",
    "Outcome",
    "PersonEvent",
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
    "event_class_for",
    "generate_token",
    "list_subscriptions",
    "parse_event",
    "split_event_type",
    "subscribe",
    "unsubscribe",
    "verify_signature",
    "webhook_app",
    "webhook_handler",
]
