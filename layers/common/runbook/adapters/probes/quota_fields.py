"""A quota read from the configured fields of a JSON body ("quota.used", "limits[0].remaining").
Pure functions: the probe passes the parsed body and the time."""

import json
import re
from datetime import datetime
from typing import Any

from runbook.adapters.probes.rate_limits import SHOWN_VALUE_CHARS, parse_reset
from runbook.models.config import QuotaFields
from runbook.models.quota import QuotaFormatError, QuotaReading, quota_reading
from runbook.text import truncate

_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")  # a key, or a list index
_NUMBER_TEXT = re.compile(r"[+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")


def read_quota_fields(body: Any, fields: QuotaFields, now: datetime, source: str = "body") -> QuotaReading:
    """The quota at the configured paths of `body` (the parsed JSON; None when the answer was not JSON).

    Raises QuotaFormatError when a configured path is missing or not a number. Unlike a header's
    reset, a configured reset path that is missing or unreadable is an error too: the operator named
    it, so it is a mistake to report, not a vendor's format to tolerate. A JSON null reset means none."""
    if body is None:
        raise QuotaFormatError("the answer is not JSON")
    limit = _number(body, fields.limit) if fields.limit else fields.limit_value
    return quota_reading(
        source=source,
        used=_number(body, fields.used),
        limit=limit,
        remaining=_number(body, fields.remaining),
        percent=_number(body, fields.percent),
        reset_at=_reset(body, fields.reset, now),
    )


def _number(body: Any, path: str | None) -> float | None:
    """The number at `path`; numbers sent as strings ("42") count, booleans do not."""
    if path is None:
        return None
    value = _resolve(body, path)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value.strip()):
        return float(value)
    raise QuotaFormatError(f"`{path}` is {_shown(value)}, not a number")


def _reset(body: Any, path: str | None, now: datetime) -> datetime | None:
    if path is None:
        return None
    value = _resolve(body, path)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise QuotaFormatError(f"`{path}` is {_shown(value)}, not a reset time")
    try:
        return parse_reset(value, now)
    except QuotaFormatError as exc:
        raise QuotaFormatError(f"`{path}`: {exc}") from exc


def _resolve(body: Any, path: str) -> Any:
    """Follow dict keys and `[n]` list indexes; a step that is not there is the whole path missing."""
    value = body
    for key, index in _STEP.findall(path):
        if key and isinstance(value, dict) and key in value:
            value = value[key]
        elif index and isinstance(value, list) and int(index) < len(value):
            value = value[int(index)]
        else:
            raise QuotaFormatError(f"the body has no `{path}`")
    return value


def _shown(value: Any) -> str:
    """A value as the message shows it: strings quoted, JSON's null/true/false, cut short."""
    if isinstance(value, str):
        return repr(truncate(value, SHOWN_VALUE_CHARS))
    return truncate(json.dumps(value, default=str), SHOWN_VALUE_CHARS)
