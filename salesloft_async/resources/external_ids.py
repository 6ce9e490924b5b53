"""External ids: which external system's ids map onto which Salesloft records."""

from __future__ import annotations

from ._generated import ExternalConfigurationsBase, ExternalMappingsBase

__all__ = ["ExternalConfigurations", "ExternalMappings"]


class ExternalConfigurations(ExternalConfigurationsBase):
    """Which external systems may map ids onto which Salesloft object types."""


class ExternalMappings(ExternalMappingsBase):
    """External ids mapped onto Salesloft records."""
