"""Tags and saved list views."""

from __future__ import annotations

from ._generated import SavedListViewsBase, TagsBase

__all__ = ["SavedListViews", "Tags"]


class Tags(TagsBase):
    """The team's tags."""


class SavedListViews(SavedListViewsBase):
    """Saved list views (filters users saved in the web app)."""
