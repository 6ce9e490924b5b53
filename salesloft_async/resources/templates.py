"""Email templates, team templates, and their attachments."""

from __future__ import annotations

from ._generated import (
    EmailTemplateAttachmentsBase,
    EmailTemplatesBase,
    TeamTemplateAttachmentsBase,
    TeamTemplatesBase,
)

__all__ = ["EmailTemplateAttachments", "EmailTemplates", "TeamTemplateAttachments", "TeamTemplates"]


class EmailTemplates(EmailTemplatesBase):
    """Email templates."""


class EmailTemplateAttachments(EmailTemplateAttachmentsBase):
    """Attachments of email templates."""


class TeamTemplates(TeamTemplatesBase):
    """Team templates."""


class TeamTemplateAttachments(TeamTemplateAttachmentsBase):
    """Attachments of team templates."""
