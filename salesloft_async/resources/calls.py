"""Call records and the vocabularies calls are tagged with."""

from __future__ import annotations

from ._generated import (
    CallDataRecordsBase,
    CallDispositionsBase,
    CallSentimentsBase,
    ConversationsCallsBase,
)

__all__ = ["CallDataRecords", "CallDispositions", "CallSentiments", "ConversationsCalls"]


class CallDataRecords(CallDataRecordsBase):
    """Raw telephony records of calls (dialer side)."""


class CallDispositions(CallDispositionsBase):
    """The team's call dispositions (outcomes)."""


class CallSentiments(CallSentimentsBase):
    """The team's call sentiments."""


class ConversationsCalls(ConversationsCallsBase):
    """Send a recorded call to Conversations for transcription."""
