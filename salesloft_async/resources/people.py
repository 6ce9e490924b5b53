"""People: the records everything else hangs off."""

from __future__ import annotations

from ._generated import PeopleBase

__all__ = ["People"]


class People(PeopleBase):
    """People (`/v2/people`).

    `upsert()` (`/v2/person_upserts`) answers `Upserted(record, created, upsert_type)`, so a
    sync can count what it created without a second request.
    """
