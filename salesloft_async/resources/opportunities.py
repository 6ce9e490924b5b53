"""Opportunities (deals synced from the CRM), their people, and the team's stages."""

from __future__ import annotations

from ._generated import OpportunitiesBase, OpportunityPeopleBase, OpportunityStagesBase

__all__ = ["Opportunities", "OpportunityPeople", "OpportunityStages"]


class Opportunities(OpportunitiesBase):
    """Opportunities synced from the CRM; `amount` and `probability` are strings, as sent."""


class OpportunityPeople(OpportunityPeopleBase):
    """Which people take part in which opportunity."""


class OpportunityStages(OpportunityStagesBase):
    """The team's opportunity stages, in their `order`."""
