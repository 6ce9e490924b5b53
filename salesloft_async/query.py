"""Query-string encoding the way Salesloft reads it.

Lists become ``name[]=a&name[]=b``, range dicts become ``name[gte]=...``, datetimes are
ISO-8601 with microseconds (the API compares at microsecond precision, so dropping them silently
shifts a cursor), booleans are ``true``/``false``, and None means "not given" and is dropped.
`url_for` builds the whole URL from them; the transport sends exactly that URL, so a test that
mocks HTTP (aioresponses) can register the URL a call will hit without guessing the encoding.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime
from typing import Any

from yarl import URL

from .errors import ConfigurationError

__all__ = ["DEFAULT_BASE_URL", "RANGE_KEYS", "encode_params", "encode_value", "url_for"]

DEFAULT_BASE_URL = "https://api.salesloft.com"
RANGE_KEYS = frozenset({"gt", "gte", "lt", "lte"})


def encode_value(name: str, value: Any) -> str:
    """One scalar as the API expects it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ConfigurationError(
                f"{name}: naive datetime {value.isoformat()}; pass a timezone-aware datetime"
                " (e.g. datetime.now(UTC)) so the filter means the instant you intend"
            )
        try:
            return value.astimezone(UTC).isoformat(timespec="microseconds")
        except OverflowError:  # year 1 east of UTC, year 9999 west of it
            raise ConfigurationError(
                f"{name}: {value.isoformat()} is outside the years 1-9999 once in UTC"
            ) from None
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return encode_value(name, value.value)
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigurationError(
        f"{name}: cannot send a {type(value).__name__} as a query value;"
        " use a string, number, bool, datetime, list or range dict"
    )


def encode_params(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    """Flatten keyword filters into ordered (name, value) pairs."""
    out: list[tuple[str, str]] = []
    for name, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, Mapping):
            for key, sub in value.items():
                if sub is None:
                    continue
                if key not in RANGE_KEYS:
                    raise ConfigurationError(
                        f"{name}: range keys are gt, gte, lt, lte; got {key!r}"
                    )
                out.append((f"{name}[{key}]", encode_value(name, sub)))
        elif isinstance(value, list | tuple | set | frozenset):
            items: Iterable[Any] = sorted(value) if isinstance(value, set | frozenset) else value
            out.extend((f"{name}[]", encode_value(name, v)) for v in items if v is not None)
        else:
            out.append((name, encode_value(name, value)))
    return out


def url_for(
    path: str, params: Mapping[str, Any] | None = None, *, base_url: str = DEFAULT_BASE_URL
) -> URL:
    """The URL a call to `path` with these filters is sent to, query encoded as above.

    ``url_for("/v2/people", {"ids": [1, 2]})`` is
    ``https://api.salesloft.com/v2/people?ids%5B%5D=1&ids%5B%5D=2``.  Pass the client's
    `base_url` when it is not Salesloft's.
    """
    return URL(base_url.rstrip("/") + path).extend_query(encode_params(params))
