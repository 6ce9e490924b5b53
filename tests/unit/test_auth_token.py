"""Token: absolute expiry, freshness with leeway, redaction, JSON round trip."""

from __future__ import annotations

import json

import pytest

from salesloft_async.auth import Token
from salesloft_async.errors import ResponseDecodeError

ACCESS = "acc-SECRET-1234567890"
REFRESH = "ref-SECRET-0987654321"


def test_expiry_from_created_at_when_sent() -> None:
    tok = Token.from_response(
        {"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 7200, "created_at": 1000},
        received_at=1500.0,
    )
    assert tok.expires_at == 8200.0
    assert tok.created_at == 1000.0


def test_expiry_from_receipt_time_otherwise() -> None:
    tok = Token.from_response(
        {"access_token": ACCESS, "expires_in": 60, "scope": "read"}, received_at=1500.0
    )
    assert tok.expires_at == 1560.0
    assert tok.refresh_token is None
    assert tok.scope == "read"


def test_no_expires_in_means_no_expiry() -> None:
    tok = Token.from_response({"access_token": ACCESS}, received_at=5.0)
    assert tok.expires_at is None
    assert tok.is_fresh(10**12, leeway=60)


def test_leeway_is_capped_at_half_the_lifetime() -> None:
    tok = Token(ACCESS, REFRESH, expires_at=100.0, created_at=0.0)
    assert tok.is_fresh(39.9, leeway=60)  # capped leeway 50 -> stale from 50
    assert tok.is_fresh(49.9, leeway=60)
    assert not tok.is_fresh(50.0, leeway=60)
    long = Token(ACCESS, REFRESH, expires_at=7200.0, created_at=0.0)
    assert long.is_fresh(7139.0, leeway=60)
    assert not long.is_fresh(7140.0, leeway=60)


def test_malformed_response_raises_without_echoing_the_body() -> None:
    with pytest.raises(ResponseDecodeError) as info:
        Token.from_response({"refresh_token": REFRESH, "expires_in": 1}, received_at=0)
    assert REFRESH not in str(info.value)
    assert REFRESH not in repr(info.value)


def test_repr_and_str_are_redacted() -> None:
    tok = Token(ACCESS, REFRESH, expires_at=1.0, created_at=0.0, scope="read")
    for text in (repr(tok), str(tok), f"{tok}", repr([tok])):
        assert ACCESS not in text and REFRESH not in text
        assert "<redacted>" in text


def test_json_round_trip() -> None:
    tok = Token(ACCESS, REFRESH, expires_at=12.5, created_at=2.5, scope="a b", token_type="Bearer")
    assert Token.from_json(tok.to_json()) == tok
    assert Token.from_dict(tok.to_dict()) == tok


def test_from_json_rejects_non_tokens() -> None:
    with pytest.raises(ValueError):
        Token.from_json('{"foo": 1}')
    with pytest.raises(ValueError):
        Token.from_json("[1]")


def test_fingerprint_follows_the_refresh_token() -> None:
    a = Token("a1", "r1")
    assert a.fingerprint == Token("a2", "r1").fingerprint
    assert a.fingerprint != Token("a1", "r2").fingerprint
    assert Token("c1").fingerprint != Token("c2").fingerprint  # client credentials: by access
    assert REFRESH not in Token(ACCESS, REFRESH).fingerprint


def test_authorization_header_and_authlib_interop() -> None:
    tok = Token(ACCESS, REFRESH, expires_at=99.0, created_at=1.0, token_type="bearer")
    assert tok.authorization == f"Bearer {ACCESS}"
    assert tok.to_oauth2_token()["refresh_token"] == REFRESH


@pytest.mark.parametrize(
    ("stored", "field"),
    [
        ({"access_token": ACCESS, "expires_at": "soon"}, "expires_at"),
        ({"access_token": ACCESS, "token_type": None}, "token_type"),
        ({"access_token": ACCESS, "created_at": True}, "created_at"),
        ({"access_token": ACCESS, "expires_at": float("inf")}, "expires_at"),
        ({"access_token": ACCESS, "refresh_token": 12345}, "refresh_token"),
        ({"access_token": ACCESS, "scope": ["read"]}, "scope"),
        ({"access_token": ""}, "access_token"),
        ({"access_token": {"nested": ACCESS}}, "access_token"),
        ({"refresh_token": REFRESH}, "access_token"),
    ],
)
def test_a_stored_token_of_the_wrong_shape_names_the_field(
    stored: dict[str, object], field: str
) -> None:
    with pytest.raises(ValueError, match=field) as caught:
        Token.from_dict(stored)
    assert ACCESS not in str(caught.value) and REFRESH not in str(caught.value)
    with pytest.raises(ValueError, match=field):  # the same through JSON
        Token.from_json(json.dumps(stored))


def test_fields_with_defaults_may_be_missing() -> None:
    tok = Token.from_json(json.dumps({"access_token": ACCESS, "expires_at": 5}))
    assert tok.token_type == "Bearer" and tok.expires_at == 5 and tok.is_fresh(0.0, 1.0)


def test_from_json_refuses_what_is_not_json_without_python_errors() -> None:
    for text in ("[" * 100_000, b"\xff\xfe", "Infinity", "null", '"a string"'):
        with pytest.raises(ValueError):
            Token.from_json(text)


@pytest.mark.parametrize(
    "extra",
    [
        {"expires_in": 10**400},  # once: OverflowError
        {"expires_in": "1e400"},  # once: an expiry at infinity, saved as a file no load accepts
        {"expires_in": "nan"},
        {"created_at": "inf", "expires_in": 7200},
    ],
    ids=["huge-int", "inf", "nan", "created-inf"],
)
def test_a_token_answer_with_an_endless_time_is_a_decode_error(extra: dict[str, object]) -> None:
    data = {"access_token": "at-SECRET", "token_type": "bearer", **extra}
    with pytest.raises(ResponseDecodeError, match="without a usable token") as caught:
        Token.from_response(data, received_at=1_000.0)
    assert "SECRET" not in str(caught.value)


@pytest.mark.parametrize("field", ["access_token", "refresh_token"], ids=["access", "refresh"])
@pytest.mark.parametrize("odd", ["\ud800", "\n", "\x00", "é"], ids=["surrogate", "lf", "nul", "e"])
def test_a_token_outside_rfc_6749s_characters_is_refused_unseen(field: str, odd: str) -> None:
    """RFC 6749 tokens are printable ASCII.  Anything else could not go in a header, and the
    errors Python raises about it (UnicodeEncodeError's repr) quote the whole token."""
    data = {"access_token": ACCESS, "refresh_token": REFRESH, "token_type": "bearer"}
    data[field] = f"{data[field]}{odd}"
    with pytest.raises(ResponseDecodeError, match="without a usable token") as answered:
        Token.from_response(data, received_at=1_000.0)
    with pytest.raises(ValueError, match=field) as stored:
        Token.from_dict(data)
    for caught in (answered, stored):
        assert "SECRET" not in str(caught.value) and "SECRET" not in repr(caught.value)


def test_a_hand_made_token_of_any_string_still_has_a_fingerprint() -> None:
    odd = Token("at", refresh_token="rt-\ud800")
    assert (
        len(odd.fingerprint) == 32
        and odd.fingerprint != Token("at", refresh_token="rt-").fingerprint
    )
