"""Conversations (recorded calls and meetings), their media, and their transcriptions."""

from __future__ import annotations

from ._generated import ConversationsBase, TranscriptionsBase

__all__ = ["Conversations", "Transcriptions"]


class Conversations(ConversationsBase):
    """Recorded conversations, keyed by UUID; `get_extensive()` adds attendees, key moments
    and the AI summary, `get_recording()` a signed URL to the media."""


class Transcriptions(TranscriptionsBase):
    """Transcriptions of conversations, keyed by UUID; `list_sentences(id)` pages the text,
    `get_artifact(id)` gives a signed URL to the whole transcript."""
