"""What every source shares: its settings base (strict, durations) and the registry by kind.

A source is one place cacwatch watches (today the CAC website). Each kind is one class
deriving from ``Source`` with a ``kind`` name and a ``settings_model``; defining the class
registers it, so the configuration (``sources.<kind>``) and the poll pipeline find it by name.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict

__all__ = ["Duration", "SourceSettings", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """``"1h"``, ``"0.5s"``, ``"250ms"`` or a number of seconds → seconds."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as '1h', '30s' or '250ms'")
    if isinstance(value, (int, float)):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration such as '1h', '30s' or '250ms'")
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]


class SourceSettings(BaseModel):
    """Settings of one source (``sources.<kind>``): unknown keys are errors, values frozen."""

    model_config: ClassVar[ConfigDict] = ConfigDict(extra="forbid", frozen=True)
