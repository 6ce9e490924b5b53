"""The sandbox posts webhooks only on this machine unless told otherwise, and says so."""

from __future__ import annotations

from typing import Any

import pytest

from salesloft_async.errors import ValidationError


@pytest.mark.parametrize(
    "url", ["https://hooks.example.com/sl", "http://10.0.0.7/hook", "http://127.0.0.1.nip.io/x"]
)
async def test_a_remote_callback_is_refused_with_a_clear_422(
    url: str, salesloft_client: Any
) -> None:
    subs = salesloft_client.webhook_subscriptions
    with pytest.raises(ValidationError) as refused:
        await subs.create(callback_url=url, callback_token="t", event_type="person_updated")
    local = await subs.create(
        callback_url="http://127.0.0.1:9/hook", callback_token="t", event_type="person_updated"
    )
    assert local.callback_url == "http://127.0.0.1:9/hook"
    assert refused.value.status == 422
    [message] = refused.value.errors["callback_url"]
    assert "must be a loopback URL" in message and "--allow-remote-webhooks" in message


@pytest.mark.salesloft_sandbox(allow_remote_webhooks=True)
async def test_the_explicit_flag_allows_remote_callbacks(salesloft_client: Any) -> None:
    # `.invalid` never resolves (RFC 2606): even a delivery attempt could not leave the machine
    url = "https://hooks.example.invalid/sl"
    subs = salesloft_client.webhook_subscriptions
    sub = await subs.create(callback_url=url, callback_token="t", event_type="person_updated")
    await subs.delete(sub.id)
    assert sub.callback_url == url
