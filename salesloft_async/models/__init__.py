"""Typed records of the Salesloft v2 API: one attrs class per schema of the definition.

The classes are generated (`python tools/generate.py`) into `_generated.py`; references live in
`refs.py`; `converter.py` holds the one cattrs converter that decodes records into them.
"""

from ._base import Model
from ._generated import *  # noqa: F403
from ._generated import MODELS, STRUCTURE
from ._generated import __all__ as _generated_all
from .converter import converter, structure, structure_many, unstructure
from .refs import *  # noqa: F403
from .refs import __all__ as _refs_all

__all__ = [
    "MODELS",
    "STRUCTURE",
    "Model",
    "converter",
    "structure",
    "structure_many",
    "unstructure",
    *_generated_all,
    *_refs_all,
]
