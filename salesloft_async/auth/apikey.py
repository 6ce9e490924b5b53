"""A personal API key: never expires, never refreshed."""

from __future__ import annotations

from ..errors import ConfigurationError


class ApiKey:
    """The simplest auth hook.  Its repr and str never show the key.

    :param key: the Salesloft API key (``ak_...``); surrounding whitespace is dropped.
    """

    __slots__ = ("_header",)

    def __init__(self, key: str):
        if not isinstance(key, str) or not key.strip():
            raise ConfigurationError("ApiKey needs a non-empty string (a Salesloft key starts ak_)")
        key = key.strip()
        if not key.isascii() or not key.isprintable() or any(c.isspace() for c in key):
            # CR/LF would split the header (aiohttp raises a bare ValueError), spaces garble it
            raise ConfigurationError(
                "the API key holds whitespace, control or non-ASCII characters: copy it again"
                " (a Salesloft key is one word starting ak_)"
            )
        self._header = f"Bearer {key}"

    async def authorization(self) -> str:
        return self._header

    async def on_unauthorized(self, used: str) -> bool:
        return False  # a key cannot be refreshed: surface the 401

    def __repr__(self) -> str:
        return "ApiKey(<redacted>)"

    __str__ = __repr__
