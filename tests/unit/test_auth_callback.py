"""The OAuth redirect may carry `context` and `scope`; the parsed callback keeps them."""

from __future__ import annotations

from salesloft_async.auth import OAuthApp


def test_parse_callback_keeps_context_and_scope() -> None:
    cb = OAuthApp.parse_callback(
        "https://app.example/cb?code=abc&state=s1&context=%2Fapp%2Fsettings&scope=read+write"
    )
    assert (cb.code, cb.state) == ("abc", "s1")
    assert cb.context == "/app/settings"
    assert cb.scope == "read write"
    assert "abc" not in repr(cb) and "s1" not in repr(cb)


def test_parse_callback_without_them_leaves_none() -> None:
    cb = OAuthApp.parse_callback({"code": "c", "state": "s"})
    assert cb.context is None and cb.scope is None
