"""Durations as people write them in YAML ("200ms", "5s", "15m", "2h") or as plain seconds."""

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, WithJsonSchema

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$")
DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$"


def parse_duration(value: Any) -> Any:
    """Turn "200ms" / "5s" / 1.5 into seconds; leave anything else for pydantic to reject."""
    if isinstance(value, bool):
        raise ValueError('expected a duration like "200ms", "5s" or "15m"')
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _PATTERN.match(value)
        if not match:
            raise ValueError(f'expected a duration like "200ms", "5s" or "15m", got {value!r}')
        return float(match.group(1)) * _UNITS[match.group(2)]
    raise ValueError(f'expected a duration like "200ms", "5s" or "15m", got {type(value).__name__}')


Seconds = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(gt=0),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": DURATION_PATTERN},
                {"type": "number", "exclusiveMinimum": 0},
            ],
            "description": 'A duration: "200ms", "5s", "15m", "2h", "1d", or a number of seconds.',
        }
    ),
]
