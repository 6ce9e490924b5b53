"""Emails sent through an external email client: the queue and its MIME payloads."""

from __future__ import annotations

from ._generated import ExternalEmailsBase, MimeEmailPayloadsBase, PendingEmailsBase

__all__ = ["ExternalEmails", "MimeEmailPayloads", "PendingEmails"]


class ExternalEmails(ExternalEmailsBase):
    """Log an email sent outside Salesloft."""


class PendingEmails(PendingEmailsBase):
    """Emails waiting for an external email client to send them."""


class MimeEmailPayloads(MimeEmailPayloadsBase):
    """The MIME content of an email, for an external client to send."""
