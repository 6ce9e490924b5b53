"""The one place webhooks touch the model layer: turn a record dict into the project's model."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ..models import Model, structure

M = TypeVar("M", bound=Model)


def decode_record(cls: type[M], raw: Mapping[str, Any]) -> M:
    """Decode `raw` into `cls` with the project's converter (unknown fields are kept in `.raw`)."""
    return structure(raw if raw.__class__ is dict else dict(raw), cls)
