"""The one cattrs converter that turns API records into models and models back into JSON.

Structuring goes through the generated per-schema functions (`_generated.STRUCTURE`) rather than
cattrs' generic machinery: they are specialised straight-line code, which is what makes a page of
100 people decode in well under the time it takes to fetch.  Registering them on a cattrs
`Converter` keeps one entry point (`converter.structure(obj, Person)`, `list[Person]`, ...) and lets
users add hooks of their own.

Unstructuring (model -> JSON) keeps absent fields absent: a field that is None and was not in the
record the model came from is left out, so sending a decoded model back never clears a field the
server did not show.  Unknown fields (`extra`) are sent back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, TypeVar

import cattrs

from ..errors import ResponseDecodeError
from ._base import Model
from ._generated import STRUCTURE
from .refs import Ref

__all__ = ["converter", "structure", "structure_many", "unstructure"]

M = TypeVar("M", bound=Model)

converter = cattrs.Converter()


def _not_a_record(value: Any, cls: type[Model]) -> ResponseDecodeError:
    return ResponseDecodeError(
        f"expected a {cls.schema_name or cls.__name__} record (a JSON object),"
        f" got {type(value).__name__}",
        status=200,
        body_excerpt=repr(value),
    )


def _register() -> None:
    for cls, fn in STRUCTURE.items():

        def hook(value: Any, _t: Any, cls: type[Model] = cls, fn: Any = fn) -> Model:
            if value.__class__ is not dict:
                raise _not_a_record(value, cls)
            return fn(value)  # type: ignore[no-any-return]

        converter.register_structure_hook(cls, hook)
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Model), _unstructure_model
    )
    converter.register_unstructure_hook_func(
        lambda t: isinstance(t, type) and issubclass(t, Ref), lambda r: r.to_json()
    )
    converter.register_unstructure_hook(datetime, lambda d: d.isoformat(timespec="microseconds"))
    converter.register_unstructure_hook(date, lambda d: d.isoformat())


def _unstructure_model(model: Model) -> dict[str, Any]:
    out: dict[str, Any] = dict(model.extra)
    raw = model.raw
    for json_name, attr in model._json_to_attr.items():
        value = getattr(model, attr)
        if value is None and json_name not in raw:
            continue
        out[json_name] = converter.unstructure(value)
    return out


_register()


def structure(value: Any, cls: type[M]) -> M:
    """One record (the decoded JSON object) -> a model of `cls`."""
    if value.__class__ is not dict:
        raise _not_a_record(value, cls)
    return STRUCTURE[cls](value)  # type: ignore[return-value]


def structure_many(values: Iterable[Any], cls: type[M]) -> list[M]:
    """A page's `data` list -> models; the hot path of every list call."""
    fn = STRUCTURE[cls]
    out: list[M] = []
    append = out.append
    for v in values:
        if v.__class__ is not dict:
            raise _not_a_record(v, cls)
        append(fn(v))  # type: ignore[arg-type]
    return out


def unstructure(model: Model) -> dict[str, Any]:
    """A model -> the JSON object the API would send (absent fields stay absent)."""
    return _unstructure_model(model)
