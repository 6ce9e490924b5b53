"""Webhook signatures: hex HMAC-SHA1 of the raw request body, keyed by the subscription's token.

Salesloft signs the exact bytes it sends, so verification must run on the raw body before any JSON
decoding (re-serialising would change the bytes).  Receivers that skip the check, hash the wrong
thing or compare with ``==`` (which leaks, through timing, how many leading characters matched) are
common; `verify_signature` does it the one right way and says why a delivery was refused without
ever echoing the token.
"""

from __future__ import annotations

import hashlib
import hmac

from ..errors import WebhookSignatureError

__all__ = ["SIGNATURE_HEADER", "compute_signature", "verify_signature"]

#: The header that carries the signature (HTTP header names are case-insensitive).
SIGNATURE_HEADER = "x-salesloft-signature"

_HEX_LEN = hashlib.sha1().digest_size * 2  # 40
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


def compute_signature(body: bytes, callback_token: str) -> str:
    """The lowercase hex signature Salesloft sends for `body` (used by the sandbox and by tests)."""
    return hmac.new(callback_token.encode("utf-8"), body, hashlib.sha1).hexdigest()


def verify_signature(body: bytes, signature: str | None, callback_token: str) -> None:
    """Return quietly when `signature` signs `body`; raise `WebhookSignatureError` if not.

    The shape checks (present, hex, 40 digits) only look at the untrusted input, so failing them
    early reveals nothing about the expected value; the final comparison is constant-time.  Hex
    case is not significant (it spells the same bytes); anything else that differs is refused.
    """
    if not callback_token:
        # A blank key would make every attacker able to sign: refuse rather than "verify".
        raise WebhookSignatureError("no callback token is configured for this subscription")
    if signature is None:
        raise WebhookSignatureError("webhook signature header is missing")
    candidate = signature
    if not candidate.strip():
        raise WebhookSignatureError("webhook signature is empty")
    if not all(ch in _HEX_DIGITS for ch in candidate):
        raise WebhookSignatureError("webhook signature is not hexadecimal")
    if len(candidate) != _HEX_LEN:
        raise WebhookSignatureError(
            f"webhook signature has {len(candidate)} hex digits; an HMAC-SHA1 has {_HEX_LEN}"
        )
    expected = compute_signature(body, callback_token)
    if not hmac.compare_digest(expected.encode("ascii"), candidate.lower().encode("ascii")):
        raise WebhookSignatureError("webhook signature does not match the body")
