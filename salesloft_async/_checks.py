"""Checks of numeric settings, shared by every constructor that takes seconds or bytes.

A plain ``value <= 0`` test lets ``nan`` through (every comparison with it is false), and ``nan``
or ``inf`` as a timeout or a size limit silently disables the bound it was meant to set.  One
place refuses both, with a `ConfigurationError` that names the setting.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ConfigurationError

__all__ = ["byte_count", "seconds"]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def seconds(name: str, value: Any, *, zero: bool = False) -> float:
    """`value` as a finite number of seconds, above 0 (or 0 and above with `zero`)."""
    if not _number(value) or not math.isfinite(value) or value < 0 or (value == 0 and not zero):
        least = "0 or more" if zero else "more than 0"
        raise ConfigurationError(f"{name} must be a finite number of seconds, {least}: {value!r}")
    return float(value)


def byte_count(name: str, value: Any) -> int:
    """`value` as a whole number of bytes, at least 1."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ConfigurationError(f"{name} must be a whole number of bytes, at least 1: {value!r}")
    return value
