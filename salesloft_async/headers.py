"""Reading Salesloft's response headers, once for every layer that needs them.

The transport, the in-process budget and the Redis budget all read the same three facts from a
response: what the call cost, what is left of the window, and the server's clock.  Headers may
come as aiohttp's case-insensitive mapping or as a plain dict (tests, other transports), so the
lookup falls back to a case-insensitive scan.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping

__all__ = ["COST", "REMAINING", "date_header", "header", "int_header"]

COST = "x-ratelimit-endpoint-cost"
REMAINING = "x-ratelimit-remaining-minute"


def header(headers: Mapping[str, str], name: str) -> str | None:
    """`name` (lower case) from `headers`, whatever the mapping's case handling."""
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate
    return value


def int_header(headers: Mapping[str, str], name: str) -> int | None:
    """An integer header, or None when it is absent or not an integer."""
    raw = header(headers, name)
    if raw is None:
        return None
    try:
        return int(raw.strip())
    except ValueError:
        return None


def date_header(headers: Mapping[str, str]) -> float | None:
    """The server's clock from ``Date``, as epoch seconds, or None."""
    raw = header(headers, "date")
    if not raw:
        return None
    try:
        return email.utils.parsedate_to_datetime(raw).timestamp()
    except (TypeError, ValueError, IndexError):
        return None
