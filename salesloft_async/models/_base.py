"""The base every generated model shares: the raw record, unknown fields, and absent vs null.

Salesloft adds fields to records in place, so a model must never drop what it does not know:
`raw` is the decoded JSON object exactly as received and `extra` is the part of it no schema names.
A field that was absent from the record reads as None just like a null one; `is_set()` tells the
two apart, which is what an update that must not clear a field needs.
"""

from __future__ import annotations

from typing import Any, ClassVar

import attrs

__all__ = ["Model"]


@attrs.define(slots=True, kw_only=True)
class Model:
    #: the record as received (after JSON decoding), including fields no schema names
    raw: dict[str, Any] = attrs.field(factory=dict, repr=False, eq=False)

    #: JSON name -> attribute name of every field the schema declares (generated)
    _json_to_attr: ClassVar[dict[str, str]] = {}
    #: the schema's name in the definition (generated)
    schema_name: ClassVar[str] = ""

    @property
    def extra(self) -> dict[str, Any]:
        """Fields of the record that the schema does not declare (the API grew them)."""
        known = self._json_to_attr
        return {k: v for k, v in self.raw.items() if k not in known}

    def is_set(self, name: str) -> bool:
        """True if the record carried `name` (JSON or attribute name), even as null."""
        if name in self.raw:
            return True
        for json_name, attr in self._json_to_attr.items():
            if attr == name:
                return json_name in self.raw
        return False

    @property
    def fields_set(self) -> frozenset[str]:
        """Attribute names of the declared fields that the record carried."""
        known = self._json_to_attr
        return frozenset(known[k] for k in self.raw if k in known)
