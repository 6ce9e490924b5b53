"""`Token`: one OAuth grant's current access token, refresh token and absolute expiry.

Expiry is absolute (epoch seconds) so that a token read back from a store by another process, an
hour later, still knows when it dies.  The repr never shows either token.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import Any

import attrs
from authlib.oauth2.rfc6749 import OAuth2Token  # type: ignore[import-untyped]

from ..errors import ResponseDecodeError

__all__ = ["Token"]


@attrs.frozen(repr=False)
class Token:
    """One grant's tokens; usually built by `from_response`, by hand to adopt a stored grant.

    :param access_token: the bearer token sent with each request.
    :param refresh_token: the single-use token that buys the next one (None for client
        credentials).
    :param expires_at: epoch seconds at which the access token stops working; None when the
        server did not say.
    :param created_at: epoch seconds at which the server issued it (its `created_at`, else when
        it was received).
    :param scope: the scopes granted, space-separated, as the server sent them.
    :param token_type: the Authorization scheme (``"Bearer"``).
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: float | None = None
    created_at: float | None = None
    scope: str | None = None
    token_type: str = "Bearer"

    @classmethod
    def from_response(cls, data: Mapping[str, Any], *, received_at: float) -> Token:
        """Build from a token endpoint's JSON body.

        `created_at` (Salesloft sends it sometimes) wins over the receipt time, so that a slow
        response does not stretch the expiry past the server's own.
        """
        try:
            oauth = OAuth2Token.from_dict(dict(data))
            access = oauth["access_token"]
            if not _vschars(access):
                raise ValueError("access_token")
            created = float(oauth["created_at"]) if oauth.get("created_at") else received_at
            expires_in = oauth.get("expires_in")
            expires_at = created + float(expires_in) if expires_in is not None else None
            if not _seconds_or_none(created) or not _seconds_or_none(expires_at):
                # saved, an infinite time would be a token file no load accepts
                raise ValueError("created_at or expires_in")
            refresh = oauth.get("refresh_token")
            if refresh and not _vschars(refresh):
                raise ValueError("refresh_token")
            scope = oauth.get("scope")
            return cls(
                access_token=access,
                refresh_token=str(refresh) if refresh else None,
                expires_at=expires_at,
                created_at=created,
                scope=str(scope) if scope else None,
                token_type=str(oauth.get("token_type") or "Bearer"),
            )
        except (KeyError, TypeError, ValueError, OverflowError):
            keys = sorted(str(k) for k in data) if isinstance(data, Mapping) else []
            raise ResponseDecodeError(
                f"token endpoint answered without a usable token (fields: {keys})",
                status=200,
                body_excerpt="<redacted>",
            ) from None

    @property
    def authorization(self) -> str:
        """The Authorization header value."""
        kind = "Bearer" if self.token_type.lower() == "bearer" else self.token_type
        return f"{kind} {self.access_token}"

    @property
    def fingerprint(self) -> str:
        """A stable, non-reversible id of this grant state, used as the store's compare-and-set key.

        It hashes the refresh token (rotated on every refresh) or, for client credentials, the
        access token; both sides of a compare-and-set can log it without leaking anything.
        """
        secret = self.refresh_token or self.access_token
        # surrogatepass: a token built by hand may hold any str; hashing must not fail on it
        return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()[:32]

    def lifetime(self) -> float | None:
        if self.expires_at is None or self.created_at is None:
            return None
        return self.expires_at - self.created_at

    def is_fresh(self, now: float, leeway: float) -> bool:
        """Usable for at least `leeway` more seconds (capped at half its lifetime, so that a
        short-lived token is not considered stale the moment it arrives)."""
        if self.expires_at is None:
            return True
        life = self.lifetime()
        if life is not None and life > 0:
            leeway = min(leeway, life / 2)
        return now < self.expires_at - leeway

    def to_oauth2_token(self) -> OAuth2Token:
        """The same token as Authlib's dict, for code that already speaks Authlib."""
        return OAuth2Token(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Token:
        """A token saved by `to_dict`, checked field by field (a store is outside our control).

        ValueError names the first field that is missing or of the wrong type, never a value.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a JSON object was expected, not {type(data).__name__}")
        if "access_token" not in data:
            raise ValueError("access_token is missing")
        kept: dict[str, Any] = {}
        for name, (check, expected) in _STORED.items():
            if name not in data:
                continue
            value = data[name]
            if not check(value):
                raise ValueError(f"{name} must be {expected}, not {_kind(value)}")
            kept[name] = value
        return cls(**kept)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Token:
        """A token saved by `to_json`; ValueError saying what is wrong with anything else."""
        try:
            data = json.loads(text)
        except ValueError:  # also not UTF-8
            raise ValueError("not JSON") from None
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        return cls.from_dict(data)

    def __repr__(self) -> str:
        return (
            f"Token(access_token=<redacted>, refresh_token="
            f"{'<redacted>' if self.refresh_token else None}, expires_at={self.expires_at!r},"
            f" scope={self.scope!r}, fingerprint={self.fingerprint[:8]}...)"
        )

    __str__ = __repr__


def _text(value: object) -> bool:
    return isinstance(value, str) and value != ""


def _vschars(value: object) -> bool:
    """RFC 6749's token syntax (1*VSCHAR: printable ASCII).  Anything else could not be sent in
    an Authorization header, and an error about it would quote the token."""
    return isinstance(value, str) and value != "" and all(" " <= c <= "~" for c in value)


def _vschars_or_none(value: object) -> bool:
    return value is None or _vschars(value)


def _text_or_none(value: object) -> bool:
    return value is None or isinstance(value, str)


def _seconds_or_none(value: object) -> bool:
    """Epoch seconds: a finite JSON number (true/false are not numbers here).  An integer too
    large for a float (``1`` and 400 zeros) is no time either, not an `OverflowError`."""
    if value is None:
        return True
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


#: What each stored field may hold: a check, and how to say what it should be.
_STORED: dict[str, tuple[Any, str]] = {
    "access_token": (_vschars, "a non-empty string of printable ASCII"),
    "refresh_token": (_vschars_or_none, "a string of printable ASCII or null"),
    "expires_at": (_seconds_or_none, "epoch seconds (a number) or null"),
    "created_at": (_seconds_or_none, "epoch seconds (a number) or null"),
    "scope": (_text_or_none, "a string or null"),
    "token_type": (_text, 'a non-empty string such as "Bearer"'),
}


def _kind(value: object) -> str:
    """A value's JSON kind, for a message that must not show the value itself."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float) and not _seconds_or_none(value):
        return "a number that is not finite or too large"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string" if value else "an empty string"
    return "a list" if isinstance(value, list) else "an object"
