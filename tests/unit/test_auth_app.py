"""OAuthApp: authorization URL with state + S256 PKCE, callback parsing, state checks, redaction."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from salesloft_async.auth import OAuthApp, OAuthError, StateMismatchError
from salesloft_async.errors import ConfigurationError

SECRET = "client-SECRET-abcdef"


def app(**kw: object) -> OAuthApp:
    return OAuthApp.for_sandbox(
        "http://127.0.0.1:9", "cid", SECRET, "http://127.0.0.1:8765/callback", **kw
    )


def test_authorization_url_carries_state_and_s256_challenge() -> None:
    req = app(scopes=["read", "write"]).authorization_url()
    q = {k: v[0] for k, v in parse_qs(urlsplit(req.url).query).items()}
    assert urlsplit(req.url).path == "/oauth/authorize"
    assert q["response_type"] == "code"
    assert q["client_id"] == "cid"
    assert q["redirect_uri"] == "http://127.0.0.1:8765/callback"
    assert q["state"] == req.state
    assert q["scope"] == "read write"
    assert q["code_challenge_method"] == "S256"
    assert q["code_challenge"] == create_s256_code_challenge(req.code_verifier)
    assert 43 <= len(req.code_verifier) <= 128
    assert "client_secret" not in q and SECRET not in req.url


def test_each_authorization_gets_new_state_and_verifier() -> None:
    a, b = app().authorization_url(), app().authorization_url()
    assert a.state != b.state and a.code_verifier != b.code_verifier


def test_authorization_request_repr_hides_verifier() -> None:
    req = app().authorization_url()
    assert req.code_verifier not in repr(req) and req.state not in repr(req)


async def test_state_mismatch_is_rejected_before_sending() -> None:
    # the token URL points at a closed port: reaching it would raise a connection error instead
    with pytest.raises(StateMismatchError, match="start the authorization again"):
        await app().exchange_code("code", state="evil", expected_state="good", code_verifier="v")
    with pytest.raises(StateMismatchError):
        await app().exchange_code("code", state=None, expected_state="good", code_verifier="v")


def test_parse_callback_from_url_query_or_mapping() -> None:
    cb = OAuthApp.parse_callback("http://127.0.0.1:8765/callback?code=abc&state=xyz")
    assert (cb.code, cb.state) == ("abc", "xyz")
    assert OAuthApp.parse_callback("code=abc&state=s").state == "s"
    assert OAuthApp.parse_callback({"code": "c"}).code == "c"
    assert "abc" not in repr(cb)


def test_parse_callback_surfaces_a_denial() -> None:
    with pytest.raises(OAuthError) as info:
        OAuthApp.parse_callback("error=access_denied&error_description=user+said+no")
    assert info.value.error == "access_denied"
    with pytest.raises(OAuthError):
        OAuthApp.parse_callback("state=only")


def test_repr_hides_the_client_secret() -> None:
    a = app()
    assert SECRET not in repr(a) and SECRET not in str(a)


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        OAuthApp("cid", "", "http://127.0.0.1/cb")
    with pytest.raises(ConfigurationError):
        OAuthApp("cid", SECRET, client_auth="private_key_jwt")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):  # a secret must not travel over plain HTTP
        OAuthApp("cid", SECRET, token_url="http://accounts.example.com/oauth/token")
