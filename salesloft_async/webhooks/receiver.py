"""The framework-neutral heart of a webhook endpoint: verify, parse, claim, dispatch, answer.

The aiohttp and ASGI adapters only read the body (bounded in size and time) and the two headers,
then call `WebhookReceiver.handle`; everything that decides what a delivery is worth lives here, so
both adapters answer alike and the rules are tested once.

What is signed and what is not.  Salesloft signs the body alone (hex HMAC-SHA1 keyed with the
subscription's ``callback_token``); the ``x-salesloft-event`` header is not signed.  Were one token
shared by several event types, a captured ``person_updated`` delivery could be re-sent as
``person_deleted`` and would verify.  So each (callback URL, event type) subscription gets a token
of its own (`subscribe` does that by default) and a delivery is verified only with the token of the
event type it claims: a body re-labelled with another type fails the check (401, no handler runs).
`tokens` is a mapping from event type to token (what `tokens_by_event_type` makes of `subscribe`'s
result), or a callable ``(event_type, path) -> token | None`` (sync or async) for apps that tell
tenants apart by the URL path.  One string, or a ``"*"`` entry, is a token shared by every type
(for subscriptions made elsewhere with one token): it still refuses forgeries and changed bodies,
but not a genuine body re-labelled with another event type of the same URL, and the receiver logs
a warning saying so.  A value may also be a sequence of tokens, any of which verifies (rotation).

Repeats.  Salesloft sends no timestamp or delivery id, so a delivery is named by its event type and
body digest and *claimed* in a `ClaimStore` before any handler runs (see `claims`): the first claim
runs the handlers, a repeat of a finished one is answered 204 ("already handled"), a repeat of one
still running 409 (so that a worker that died mid-run does not swallow Salesloft's retries), and a
run that failed releases its claim so that Salesloft's retry runs it again.

Time.  Every request is answered within `request_timeout` seconds of its start, and what the
answer says depends on whose side was slow.  The sender's: a body that has not arrived within
`read_timeout` (or by the request deadline, if that comes first) is 408 and the connection is
closed.  Ours: a token source or claim store that has not answered by the deadline is 503, as is
one that failed (408 would blame the sender, whose request was complete; both make Salesloft
retry).  Handlers still running when the wait ends go on in the background (202); a ``link_swap``
whose handlers have not answered by then is 503 (its answer cannot come later).  The clock starts
when the web server hands over the request, its headers complete: bounding how long headers may
trickle in is the server's or a proxy's job (neither aiohttp nor uvicorn has a setting for it).

Status codes, and why:

* 413 body over `max_body_size`; 408 body too slow; 401 missing/bad signature or no token for the
  event type (no handler runs); 400 a signed body that is not JSON or not the record its type
  promises, or no ``x-salesloft-event`` header or one that is no event type name (lower-case
  letters, digits and ``_``, at most 64); 503 while closing, when `max_pending` handler runs
  are already in flight, or when the token source or claim store failed or was too slow (Salesloft
  will retry later); 409 the same delivery is being handled right now.
* 204 handled, already handled, or no handler registered for the type (nothing to do, so no reason
  to make Salesloft retry).
* 202 accepted: the handlers were still running after `ack_timeout` seconds and go on as tracked
  background tasks; a later failure is reported to `on_error` (and releases the claim), and cannot
  cause a redelivery.
* 500 a handler raised within `ack_timeout`: Salesloft retries the delivery (3 more times, 15 s
  apart), so a transient failure heals itself.  Every handler of the type runs again on a retry, so
  handlers must be idempotent (a claim store that forgot, or a worker that died mid-run, repeats).
* 200 ``{"links": {old: new}}`` answers a ``link_swap`` (see `LinkSwapEvent`): its handlers are
  awaited until the request deadline, whatever `ack_timeout` says, because Salesloft waits for the
  answer; it is a question, not a change, so it is never claimed and a repeat is answered again.

``ack_timeout=None`` waits for the handlers until the request deadline; ``ack_timeout=0`` never
waits (always 202 or 204: fastest, failures only reach `on_error`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import math
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import attrs

from ..errors import ConfigurationError, WebhookSignatureError
from .claims import DEFAULT_MAX_ENTRIES, ClaimStore, MemoryClaimStore, delivery_key
from .events import EVENT_TYPES, LINK_SWAP, Event, LinkSwapEvent, WebhookPayloadError, parse_event
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

#: What an event type looks like (``person_updated``): the header is not signed, so anything else
#: is refused before it can name a claim or reach a log line.
_EVENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,63}")


@attrs.frozen
class Outcome:
    """What to answer: a status, a short plain-text reason (never a secret), the parsed event.

    `payload`, when set, is sent as the JSON body instead of the reason (a ``link_swap`` answer).
    """

    status: int
    message: str = ""
    event: Event[Any] | None = attrs.field(default=None, repr=False)
    payload: Any = attrs.field(default=None, repr=False)


class WebhookReceiver:
    """Registered handlers plus the rules that turn one delivery into a status code.

    Handlers are ``async def handler(event)`` registered with `on` for one or more event types
    (``"*"`` for every type).  They run in registration order; one raising does not stop the others.

    :param tokens: the callback token per event type (a mapping, ``"*"`` a fallback), a callable
        ``(event_type, path) -> token(s) | None`` (may be async), or one string shared by every
        type (refuses forgeries but not a genuine body re-labelled with another event type).
    :param max_body_size: bytes; a bigger body is refused 413 before it is read to the end.
    :param ack_timeout: seconds to wait for the handlers before answering 202 and letting them
        finish in the background; None waits until the request deadline.
    :param max_pending: handler runs in flight at most; past it deliveries get 503.
    :param remember: deliveries the default in-memory claim store remembers (each for 24 h;
        100,000 when not given); 0 keeps no claims at all (every repeat runs again).  Not with
        `claims` (that store has its own bound).
    :param claims: where deliveries are claimed before dispatch; pass a `RedisClaimStore` when the
        receiver runs in several processes or on several hosts.
    :param read_timeout: seconds for the whole body to arrive (else 408); None waits forever.
    :param request_timeout: seconds from the start of a request to its answer; None: no deadline.
    :param on_error: ``(event, exc)`` (sync or async) called for each handler failure, instead of
        an ERROR log line.
    """

    def __init__(
        self,
        tokens: TokenSource,
        *,
        max_body_size: int = DEFAULT_MAX_BODY,
        ack_timeout: float | None = 2.0,
        max_pending: int = 1000,
        remember: int | None = None,
        claims: ClaimStore | None = None,
        read_timeout: float | None = 5.0,
        request_timeout: float | None = 10.0,
        on_error: ErrorCallback | None = None,
    ):
        if isinstance(tokens, str) and not tokens:
            raise ConfigurationError("WebhookReceiver needs a non-empty callback token")
        if not max_body_size > 0:  # `not >` refuses nan as well
            raise ConfigurationError("max_body_size must be positive")
        if not max_pending >= 1:
            raise ConfigurationError("max_pending must be at least 1, or every delivery gets 503")
        for name, value in (("read_timeout", read_timeout), ("request_timeout", request_timeout)):
            if value is not None and not 0 < value < math.inf:
                raise ConfigurationError(f"{name} must be a positive number of seconds or None")
        if ack_timeout is not None and not 0 <= ack_timeout < math.inf:
            raise ConfigurationError("ack_timeout must be a number of seconds (0 or more) or None")
        if remember is not None and claims is not None:
            raise ConfigurationError(
                "pass remember= or claims=, not both: remember= sizes the default in-memory store;"
                " give MemoryClaimStore(max_entries=...) its bound instead"
            )
        if remember is not None and not 0 <= remember < math.inf:
            raise ConfigurationError("remember must be 0 (no claims) or a positive count")
        if isinstance(tokens, str) or (isinstance(tokens, Mapping) and "*" in tokens):
            log.warning(
                "webhook receiver accepts one token for several event types: a genuine delivery"
                " re-sent under another x-salesloft-event header will verify; give each event"
                " type its own token (subscribe() does) to close that gap"
            )
        self._tokens = tokens
        self.max_body_size = max_body_size
        self.ack_timeout = ack_timeout
        self.max_pending = max_pending
        self.read_timeout = read_timeout
        self.request_timeout = request_timeout
        self._on_error = on_error
        self._handlers: dict[str, list[Handler]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.claims: ClaimStore | None = claims
        if claims is None and remember != 0:
            self.claims = MemoryClaimStore(max_entries=remember or DEFAULT_MAX_ENTRIES)

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

    def deadlines(self) -> tuple[float | None, float | None]:
        """(body read deadline, answer deadline) in loop time for a request starting now."""
        now = asyncio.get_running_loop().time()
        answer = None if self.request_timeout is None else now + self.request_timeout
        read = None if self.read_timeout is None else now + self.read_timeout
        if read is None or (answer is not None and answer < read):
            read = answer
        return read, answer

    # -- one delivery -------------------------------------------------------------------------

    async def handle(
        self,
        body: bytes,
        *,
        event_type: str | None,
        signature: str | None,
        path: str = "",
        deadline: float | None = None,
    ) -> Outcome:
        """Decide one delivery: `body` is the raw request body, the rest come from its headers.

        `deadline` (loop time) is when the answer is due; by default `request_timeout` from now.
        """
        if deadline is None:
            deadline = self.deadlines()[1]
        if self._closed:
            return Outcome(503, "receiver is shutting down")
        if len(body) > self.max_body_size:
            return Outcome(413, f"body is over {self.max_body_size} bytes")
        if signature is None or not signature.strip():
            log.warning("webhook refused: unsigned delivery (event type %r)", event_type)
            return Outcome(401, "webhook signature header is missing")
        if not event_type:
            return Outcome(400, f"{EVENT_HEADER} header is missing")
        if not _EVENT_TYPE.fullmatch(event_type):
            # unsigned, and part of a claim's key: a long one would make each claim that long
            log.warning("webhook refused: %s is not an event type name", EVENT_HEADER)
            return Outcome(400, f"{EVENT_HEADER} is not an event type name")
        try:
            async with asyncio.timeout_at(deadline):
                tokens = await self._tokens_for(event_type, path)
        except TimeoutError:
            log.warning("webhook token lookup for %r did not answer in time", event_type)
            return Outcome(503, "the callback token lookup did not answer in time")
        except Exception as exc:  # a database-backed lookup that is down: Salesloft retries
            log.warning("webhook token lookup for %r failed: %s", event_type, type(exc).__name__)
            return Outcome(503, "the callback token lookup failed; retry later")
        if not tokens:
            log.warning("webhook refused: no callback token for event type %r", event_type)
            return Outcome(401, "no subscription token for this event type")
        try:
            _verify_any(body, signature, tokens)
        except WebhookSignatureError as exc:
            log.warning("webhook refused for event type %r: %s", event_type, exc)
            return Outcome(401, str(exc))
        try:
            event = parse_event(event_type, body)
        except WebhookPayloadError as exc:
            log.warning("webhook refused for event type %r: %s", event_type, exc)
            return Outcome(400, str(exc))
        if isinstance(event, LinkSwapEvent):
            return await self._swap_links(event, deadline)
        handlers = self.handlers_for(event_type)
        if not handlers:
            return Outcome(204, "no handler for this event type", event)
        if len(self._tasks) >= self.max_pending:
            return Outcome(503, "too many webhook handlers in flight; retry later", event)
        key = delivery_key(event_type, body)
        if self.claims is not None:
            refused = await self._claim(key, deadline, event)
            if refused is not None:
                return refused
        return await self._dispatch(event, handlers, key, deadline)

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

    async def _claim(self, key: str, deadline: float | None, event: Event[Any]) -> Outcome | None:
        """None when this request now owns the delivery; else the answer for a repeat."""
        assert self.claims is not None
        try:
            async with asyncio.timeout_at(deadline):
                state = await self.claims.claim(key)
        except Exception as exc:  # Redis down or slow: do not run unclaimed, let Salesloft retry
            log.warning("webhook claim store failed for %s: %r", event.event_type, exc)
            return Outcome(503, "cannot record this delivery right now; retry later", event)
        if state == "done":
            return Outcome(204, "already handled", event)
        if state == "running":
            return Outcome(409, "this delivery is being handled; retry later", event)
        return None

    async def _dispatch(
        self, event: Event[Any], handlers: list[Handler], key: str, deadline: float | None
    ) -> Outcome:
        run = self._track(self._run(event, handlers, key), f"webhook:{event.event_type}")
        # asyncio.wait never cancels `run`, so a client that hangs up does not abort the handlers.
        done, _ = await asyncio.wait({run}, timeout=_wait(self.ack_timeout, deadline))
        if run not in done:
            run.add_done_callback(lambda t: self._report_late(event, t))
            return Outcome(202, "accepted; handlers are still running", event)
        if run.cancelled():
            return Outcome(503, "handlers were cancelled; retry later", event)
        errors: list[BaseException] = run.result()
        if errors:
            for exc in errors:
                self._report(event, exc)
            return Outcome(500, "a webhook handler failed; retry later", event)
        return Outcome(204, "", event)

    async def _run(
        self, event: Event[Any], handlers: list[Handler], key: str
    ) -> list[BaseException]:
        """Run the handlers, then settle the claim (done, or released so a retry can run)."""
        ok = False
        try:
            errors = await _run_all(event, handlers)
            ok = not errors
            return errors
        finally:
            if self.claims is not None:
                try:
                    await (self.claims.finish(key) if ok else self.claims.release(key))
                except Exception as exc:  # the run's result stands; the claim will expire
                    log.warning("webhook claim store failed to settle %s: %r", key, exc)

    async def _swap_links(self, event: LinkSwapEvent, deadline: float | None) -> Outcome:
        handlers = self.handlers_for(LINK_SWAP)
        if not handlers:
            return Outcome(200, "", event, {"links": {}})
        if len(self._tasks) >= self.max_pending:
            return Outcome(503, "too many webhook handlers in flight; retry later", event)
        answer = self._track(_answer_links(event, handlers), "webhook:link_swap")
        done, _ = await asyncio.wait({answer}, timeout=_wait(None, deadline))
        if answer not in done:
            answer.cancel()  # nobody will read a late answer
            return Outcome(503, "link_swap handlers did not answer in time", event)
        if answer.cancelled():
            return Outcome(503, "link_swap handlers were cancelled", event)
        links, errors = answer.result()
        if errors:
            for exc in errors:
                self._report(event, exc)
            return Outcome(500, "a link_swap handler failed", event)
        return Outcome(200, "", event, {"links": links})

    def _track(self, coro: Awaitable[Any], name: str) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        task.set_name(name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _report_late(self, event: Event[Any], task: asyncio.Task[list[BaseException]]) -> None:
        if task.cancelled():
            self._report(event, asyncio.CancelledError())
            return
        for exc in task.result():
            self._report(event, exc)

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
                self._track(_await_callback(result, event.event_type), "webhook:on_error")
        except Exception:
            log.exception("webhook on_error callback failed for %s", event.event_type)


def _wait(ack_timeout: float | None, deadline: float | None) -> float | None:
    """Seconds to wait for handlers: `ack_timeout`, cut short by the request deadline."""
    if deadline is None:
        return ack_timeout
    left = max(0.0, deadline - asyncio.get_running_loop().time())
    return left if ack_timeout is None else min(ack_timeout, left)


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


async def _answer_links(
    event: LinkSwapEvent, handlers: list[Handler]
) -> tuple[dict[str, str], list[BaseException]]:
    """Merge the handlers' ``{old: new}`` maps, keeping only links the delivery asked about."""
    offered = set(event.record.links)
    links: dict[str, str] = {}
    errors: list[BaseException] = []
    for handler in handlers:
        try:
            result = await handler(event)
        except Exception as exc:
            errors.append(exc)
            continue
        if result is None:
            continue
        if not isinstance(result, Mapping):
            errors.append(TypeError(f"a link_swap handler returned {type(result).__name__}"))
            continue
        for old, new in result.items():
            if old in offered and isinstance(new, str):
                links[old] = new
            else:
                log.warning("link_swap answer dropped an entry for a link not offered or not text")
    return links, errors


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
