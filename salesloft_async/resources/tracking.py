"""Live website tracking."""

from __future__ import annotations

from ._generated import LiveWebsiteTrackingParametersBase

__all__ = ["LiveWebsiteTrackingParameters"]


class LiveWebsiteTrackingParameters(LiveWebsiteTrackingParametersBase):
    """Create tracking parameters for a person's website visits."""
