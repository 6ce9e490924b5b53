"""verify_signature: every refusal, the constant-time path, and (hypothesis) any tampering."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from salesloft_async.errors import SalesloftError, WebhookSignatureError
from salesloft_async.webhooks import compute_signature, verify_signature

TOKEN = "tok_5e3cret-callback-token"
BODY = b'{"id":42,"first_name":"Ada"}'
GOOD = hmac.new(TOKEN.encode(), BODY, hashlib.sha1).hexdigest()


def test_compute_signature_is_hex_hmac_sha1_of_the_raw_body() -> None:
    assert compute_signature(BODY, TOKEN) == GOOD
    assert len(GOOD) == 40


def test_a_correct_signature_passes_in_either_hex_case() -> None:
    verify_signature(BODY, GOOD, TOKEN)
    verify_signature(BODY, GOOD.upper(), TOKEN)


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        (None, "missing"),
        ("", "empty"),
        ("   ", "empty"),
        ("z" * 40, "not hexadecimal"),
        (GOOD[:-1] + "g", "not hexadecimal"),
        (" " + GOOD[1:], "not hexadecimal"),
        (GOOD[:-2], "38 hex digits"),
        (GOOD + "00", "42 hex digits"),
        (hashlib.sha256(BODY).hexdigest(), "64 hex digits"),
        ("0" * 40, "does not match"),
        (hmac.new(b"other-token", BODY, hashlib.sha1).hexdigest(), "does not match"),
        (hashlib.sha1(BODY).hexdigest(), "does not match"),  # unkeyed hash
    ],
)
def test_each_bad_signature_is_refused_with_its_reason(signature: str | None, reason: str) -> None:
    with pytest.raises(WebhookSignatureError, match=reason) as info:
        verify_signature(BODY, signature, TOKEN)
    assert isinstance(info.value, SalesloftError)
    assert TOKEN not in str(info.value)
    assert GOOD not in str(info.value)


def test_a_body_signed_then_changed_is_refused() -> None:
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(BODY.replace(b"Ada", b"Eve"), GOOD, TOKEN)


def test_an_empty_token_refuses_instead_of_verifying_anything() -> None:
    forged = hmac.new(b"", BODY, hashlib.sha1).hexdigest()
    with pytest.raises(WebhookSignatureError, match="no callback token"):
        verify_signature(BODY, forged, "")


def test_comparison_goes_through_compare_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        seen.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify_signature(BODY, GOOD, TOKEN)
    assert seen == [(GOOD.encode(), GOOD.encode())]


bodies = st.binary(max_size=512)
tokens = st.text(min_size=1, max_size=64)


@given(body=bodies, token=tokens)
def test_property_the_true_signature_always_verifies(body: bytes, token: str) -> None:
    verify_signature(body, compute_signature(body, token), token)


@given(body=bodies, other=bodies, token=tokens)
def test_property_any_change_to_the_body_is_refused(body: bytes, other: bytes, token: str) -> None:
    assume(other != body)
    with pytest.raises(WebhookSignatureError):
        verify_signature(other, compute_signature(body, token), token)


@given(body=bodies, token=tokens, data=st.data())
def test_property_any_change_to_the_signature_is_refused(
    body: bytes, token: str, data: st.DataObject
) -> None:
    good = compute_signature(body, token)
    changed = data.draw(st.text(max_size=80))
    # Same hex value spelled in another case is not a change of the signature's bytes.
    assume(changed.lower() != good)
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, changed, token)


@given(body=bodies, token=tokens, pos=st.integers(0, 39), digit=st.sampled_from("0123456789abcdef"))
def test_property_any_single_digit_flip_is_refused(
    body: bytes, token: str, pos: int, digit: str
) -> None:
    good = compute_signature(body, token)
    assume(good[pos] != digit)
    flipped = good[:pos] + digit + good[pos + 1 :]
    with pytest.raises(WebhookSignatureError, match="does not match"):
        verify_signature(body, flipped, token)


@given(body=bodies, token=tokens, other=tokens)
def test_property_a_signature_under_another_token_is_refused(
    body: bytes, token: str, other: str
) -> None:
    # HMAC pads short keys with zero bytes, so "k" and "k\x00" are the same key by design.
    assume(other.rstrip("\x00") != token.rstrip("\x00"))
    with pytest.raises(WebhookSignatureError):
        verify_signature(body, compute_signature(body, other), token)
