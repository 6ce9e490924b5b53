"""The framework-neutral heart of a webhook endpoint: verify, parse, dispatch, decide the status.

The aiohttp and ASGI adapters only read the body (bounded) and the two headers, then call
`WebhookReceiver.handle`; everything that decides what a delivery is worth lives here, so both
adapters answer alike and the rules are tested once.

Which token verifies a delivery: the one of the subscription for its event type (the
``x-salesloft-event`` header), because Salesloft has one subscription per event type and nothing
else in a delivery names it.  `tokens` is one string (every subscription shares it, as `subscribe`
does by default), a mapping from event type to token (``"*"`` as a fallback), or a callable
``(event_type, path) -> token | None`` (sync or async) for apps that tell tenants apart by the URL
path they subscribed with.  A value may also be a sequence of tokens, any of which verifies (useful
while rotating).

Status codes, and why:

* 413 body over `max_body_size`; 401 missing/bad signature or no token for the event type (no
  handler runs); 400 a signed body that is not JSON or not the record its type promises, or no
  ``x-salesloft-event`` header; 503 while closing or when `max_pending` handler runs are already
  in flight (Salesloft will retry later).
* 204 handled (or no handler registered for the type: nothing to do, so no reason to make
  Salesloft retry).
* 202 accepted: the handlers were still running after `ack_timeout` seconds and go on as tracked
  background tasks; a later failure is reported to `on_error`, and cannot cause a redelivery.
* 500 a handler raised within `ack_timeout`: Salesloft retries the delivery (3 more times, 15 s
  apart), so a transient failure heals itself.  Every handler of the type runs again on a retry, so
  handlers must be idempotent (they must be anyway: deliveries can repeat).

``ack_timeout=None`` always awaits the handlers (their failure always means 500: simplest, but a
slow handler delays the answer); ``ack_timeout=0`` never waits (always 202 or 204: fastest, failures
only reach `on_error`).

Replays: Salesloft sends no timestamp or delivery id, so a captured delivery replayed byte for byte
verifies.  A changed body never does; and the receiver remembers the last `remember` deliveries
whose handlers all succeeded (by event type and body digest) and answers a repeat of one of them
204 without running the handlers again.  Salesloft itself only repeats a delivery that failed, and
those are not remembered, so its retries always run.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ..errors import ConfigurationError, WebhookSignatureError
from .events import EVENT_TYPES, Event, WebhookPayloadError, parse_event
from .signature import verify_signature

__all__ = [
    "EVENT_HEADER",
    "Handler",
    "Outcome",
    "TokenSource",
    "WebhookReceiver",
]

#: The header that names the event type of a delivery.
EVENT_HEADER = "x-salesloft-event"

log = logging.getLogger("salesloft_async.webhooks")

#: ``async def handler(event)``; annotate `event` with its type's class (`PersonEvent`, ...).
Handler = Callable[[Any], Awaitable[Any]]
H = TypeVar("H", bound=Handler)
Tokens = str | Sequence[str]
TokenLookup = Callable[[str, str], "Tokens | Awaitable[Tokens | None] | None"]
TokenSource = str | Mapping[str, Tokens] | TokenLookup
ErrorCallback = Callable[[Event[Any], BaseException], Any]

DEFAULT_MAX_BODY = 1024 * 1024


@attrs.frozen
class Outcome:
    """What to answer: a status, a short plain-text reason (never a secret), the parsed event."""

    status: int
    message: str = ""
    event: Event[Any] | None = attrs.field(default=None, repr=False)


class WebhookReceiver:
    """Registered handlers plus the rules that turn one delivery into a status code.

    Handlers are ``async def handler(event)`` registered with `on` for one or more event types
    (``"*"`` for every type).  They run in registration order; one raising does not stop the others.
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        max_body_size: int = DEFAULT_MAX_BODY,
        ack_timeout: float | None = 2.0,
        max_pending: int = 1000,
        remember: int = 1024,
        on_error: ErrorCallback | None = None,
    ):
        if isinstance(tokens, str) and not tokens:
            raise ConfigurationError("WebhookReceiver needs a non-empty callback token")
        if max_body_size <= 0:
            raise ConfigurationError("max_body_size must be positive")
        self._tokens = tokens
        self.max_body_size = max_body_size
        self.ack_timeout = ack_timeout
        self.max_pending = max_pending
        self._on_error = on_error
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks: set[asyncio.Task[list[BaseException]]] = set()
        self._closed = False
        self.remember = remember
        self._handled: OrderedDict[tuple[str, bytes], None] = OrderedDict()

    def __repr__(self) -> str:
        types = ", ".join(sorted(self._handlers)) or "none"
        return f"WebhookReceiver(handlers for: {types}; tokens=<redacted>)"

    # -- registration -------------------------------------------------------------------------

    def on(self, *event_types: str) -> Callable[[H], H]:
        """Decorator: ``@receiver.on("person_created", "person_updated")``."""
        if not event_types:
            raise ConfigurationError('on() needs at least one event type (or "*")')

        def register(handler: H) -> H:
            for event_type in event_types:
                self.add_handler(event_type, handler)
            return handler

        return register

    def add_handler(self, event_type: str, handler: Handler) -> None:
        if not callable(handler):
            raise TypeError("a webhook handler must be an async callable taking the event")
        if event_type != "*" and event_type not in EVENT_TYPES:
            # Still registered (Salesloft adds types), but a typo would otherwise never fire.
            log.warning("webhook handler registered for undocumented event type %r", event_type)
        self._handlers.setdefault(event_type, []).append(handler)

    def handlers_for(self, event_type: str) -> list[Handler]:
        return [*self._handlers.get(event_type, ()), *self._handlers.get("*", ())]

    # -- lifecycle ----------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Handler runs still in flight."""
        return len(self._tasks)

    async def drain(self, grace: float | None = None) -> bool:
        """Wait (at most `grace` seconds) for in-flight handler runs; True when none is left."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace)
        return not self._tasks

    async def close(self, grace: float | None = 10.0) -> None:
        """Refuse new deliveries (503); let handlers finish, cancel what outlives `grace`."""
        self._closed = True
        if not await self.drain(grace):
            left = set(self._tasks)
            for task in left:
                task.cancel()
            await asyncio.gather(*left, return_exceptions=True)

    # -- one delivery -------------------------------------------------------------------------

    async def handle(
        self,
        body: bytes,
        *,
        event_type: str | None,
        signature: str | None,
        path: str = "",
    ) -> Outcome:
        """Decide one delivery: `body` is the raw request body, the rest come from its headers."""
        if self._closed:
            return Outcome(503, "receiver is shutting down")
        if len(body) > self.max_body_size:
            return Outcome(413, f"body is over {self.max_body_size} bytes")
        if signature is None or not signature.strip():
            log.warning("webhook refused: unsigned delivery (event type %r)", event_type)
            return Outcome(401, "webhook signature header is missing")
        if not event_type:
            return Outcome(400, f"{EVENT_HEADER} header is missing")
        tokens = await self._tokens_for(event_type, path)
        if not tokens:
            log.warning("webhook refused: no callback token for event type %r", event_type)
            return Outcome(401, "no subscription token for this event type")
        try:
            _verify_any(body, signature, tokens)
        except WebhookSignatureError as exc:
            log.warning("webhook refused for event type %r: %s", event_type, exc)
            return Outcome(401, str(exc))
        key = (event_type, hashlib.sha256(body).digest())
        if key in self._handled:
            return Outcome(204, "already handled")
        try:
            event = parse_event(event_type, body)
        except WebhookPayloadError as exc:
            log.warning("webhook refused for event type %r: %s", event_type, exc)
            return Outcome(400, str(exc))
        handlers = self.handlers_for(event_type)
        if not handlers:
            return Outcome(204, "no handler for this event type", event)
        if len(self._tasks) >= self.max_pending:
            return Outcome(503, "too many webhook handlers in flight; retry later", event)
        return await self._dispatch(event, handlers, key)

    async def _tokens_for(self, event_type: str, path: str) -> list[str]:
        source = self._tokens
        found: Tokens | None
        if isinstance(source, str):
            found = source
        elif isinstance(source, Mapping):
            found = source.get(event_type, source.get("*"))
        else:
            result = source(event_type, path)
            found = await result if inspect.isawaitable(result) else result
        if found is None:
            return []
        if isinstance(found, str):
            return [found] if found else []
        return [t for t in found if t]

    def _remember(self, key: tuple[str, bytes]) -> None:
        if self.remember <= 0:
            return
        self._handled[key] = None
        self._handled.move_to_end(key)
        while len(self._handled) > self.remember:
            self._handled.popitem(last=False)

    async def _dispatch(
        self, event: Event[Any], handlers: list[Handler], key: tuple[str, bytes]
    ) -> Outcome:
        task = asyncio.create_task(_run_all(event, handlers), name=f"webhook:{event.event_type}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        # asyncio.wait never cancels `task`, so a client that hangs up does not abort the handlers.
        done, _ = await asyncio.wait({task}, timeout=self.ack_timeout)
        if task not in done:
            task.add_done_callback(lambda t: self._report_late(event, t, key))
            return Outcome(202, "accepted; handlers are still running", event)
        if task.cancelled():
            return Outcome(503, "handlers were cancelled; retry later", event)
        errors = task.result()
        if errors:
            for exc in errors:
                self._report(event, exc)
            return Outcome(500, "a webhook handler failed; retry later", event)
        self._remember(key)
        return Outcome(204, "", event)

    def _report_late(
        self, event: Event[Any], task: asyncio.Task[list[BaseException]], key: tuple[str, bytes]
    ) -> None:
        if task.cancelled():
            self._report(event, asyncio.CancelledError())
            return
        errors = task.result()
        for exc in errors:
            self._report(event, exc)
        if not errors:
            self._remember(key)

    def _report(self, event: Event[Any], exc: BaseException) -> None:
        if self._on_error is None:
            log.error(
                "webhook handler failed for %s (record id %s)",
                event.event_type,
                event.record_id,
                exc_info=exc,
            )
            return
        try:
            result = self._on_error(event, exc)
            if inspect.isawaitable(result):
                # Tracked like a handler run, so close() waits for it too.
                task = asyncio.ensure_future(_await_callback(result, event.event_type))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        except Exception:
            log.exception("webhook on_error callback failed for %s", event.event_type)


async def _await_callback(result: Awaitable[Any], event_type: str) -> list[BaseException]:
    try:
        await result
    except Exception:
        log.exception("webhook on_error callback failed for %s", event_type)
    return []


async def _run_all(event: Event[Any], handlers: list[Handler]) -> list[BaseException]:
    errors: list[BaseException] = []
    for handler in handlers:
        try:
            await handler(event)
        except Exception as exc:
            errors.append(exc)
    return errors


def _verify_any(body: bytes, signature: str, tokens: list[str]) -> None:
    """Accept when any token verifies; otherwise re-raise the last token's refusal."""
    last: WebhookSignatureError | None = None
    for token in tokens:
        try:
            verify_signature(body, signature, token)
            return
        except WebhookSignatureError as exc:
            last = exc
    assert last is not None
    raise last
