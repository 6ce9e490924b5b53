"""Webhook subscriptions: one event type per subscription."""

from __future__ import annotations

from ._generated import WebhookSubscriptionsBase

__all__ = ["WebhookSubscriptions"]


class WebhookSubscriptions(WebhookSubscriptionsBase):
    """Webhook subscriptions (`callback_url`, `callback_token`, `event_type`)."""
