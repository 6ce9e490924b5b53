"""Email templates, team templates, and their attachments."""

from __future__ import annotations

from ._generated import (
    EmailMissingTagsBase,
    EmailTemplateAttachmentsBase,
    EmailTemplatesBase,
    TeamTemplateAttachmentsBase,
    TeamTemplatesBase,
)

__all__ = [
    "EmailMissingTags",
    "EmailTemplateAttachments",
    "EmailTemplates",
    "TeamTemplateAttachments",
    "TeamTemplates",
]


class EmailTemplates(EmailTemplatesBase):
    """Email templates."""


class EmailTemplateAttachments(EmailTemplateAttachmentsBase):
    """Attachments of email templates."""


class TeamTemplates(TeamTemplatesBase):
    """Team templates."""


class TeamTemplateAttachments(TeamTemplateAttachmentsBase):
    """Attachments of team templates."""


class EmailMissingTags(EmailMissingTagsBase):
    """Check an email for dynamic tags that would be left empty for a person."""
