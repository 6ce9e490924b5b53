"""Reading Salesloft's response headers, once for every layer that needs them.

The transport, the in-process budget and the Redis budget all read the same three facts from a
response: what the call cost, what is left of the window, and the server's clock.  Headers may
come as aiohttp's case-insensitive mapping or as a plain dict (tests, other transports), so the
lookup falls back to a case-insensitive scan.

``Retry-After`` is read here and nowhere else, because it is the one header a server can use to
stop every caller: the retry policy and both budgets take the number `parse_retry_after` gives and
apply their own caps to it.  A value no honest server sends (not finite, negative, a date a
year away, more than `MAX_RETRY_AFTER` seconds) is read as if the header were absent.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping

__all__ = [
    "COST",
    "MAX_INT_HEADER",
    "MAX_RETRY_AFTER",
    "REMAINING",
    "date_header",
    "header",
    "int_header",
    "parse_retry_after",
]

COST = "x-ratelimit-endpoint-cost"
REMAINING = "x-ratelimit-remaining-minute"

#: The largest count a header may carry: what a double (a Lua number in the Redis budget's
#: scripts, a float in the in-process one) holds exactly.  Salesloft's counts are in the hundreds.
MAX_INT_HEADER = 2**53 - 1

#: A ``Retry-After`` longer than a day is not advice but a fault (a proxy's misconfiguration, a
#: year-9999 date): it is ignored as if absent.  Shorter values are capped again by whoever waits.
MAX_RETRY_AFTER = 86_400.0


def header(headers: Mapping[str, str], name: str) -> str | None:
    """`name` (lower case) from `headers`, whatever the mapping's case handling."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header, or None when it is absent, not an integer, or beyond `MAX_INT_HEADER`
    either way (a count no server means, which as a float is infinite)."""
    raw = header(headers, name)
    if raw is None:
        return None
    try:
        value = int(raw.strip())
    except ValueError:
        return None
    return value if -MAX_INT_HEADER <= value <= MAX_INT_HEADER else None


def date_header(headers: Mapping[str, str]) -> float | None:
    """The server's clock from ``Date``, as epoch seconds, or None."""
    raw = header(headers, "date")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date), or None.

    None also for every value that cannot be honest: unparseable, negative, not finite (``inf``,
    ``nan``, ``1e400``) or more than `MAX_RETRY_AFTER` away.  A date in the past means "now" (0).
    """
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now_epoch
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = max(0.0, seconds)
    if not math.isfinite(seconds) or not 0.0 <= seconds <= MAX_RETRY_AFTER:
        return None
    return seconds
