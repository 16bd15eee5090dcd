"""An integration's API quota as its API reported it, and the samples kept to forecast its use."""

import math
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

MAX_QUOTA_SAMPLES = 48  # 4 h at the default 5-minute schedule


class QuotaFormatError(ValueError):
    """The API said something about its quota that cannot be read (e.g. `X-RateLimit-Remaining: abc`).

    The message names the header or body path and the value, cut short; never a secret (rate-limit
    headers and quota fields carry counts, not credentials)."""


class QuotaReading(BaseModel):
    """One limit of an integration: the most used one when the API reports several."""

    model_config = ConfigDict(frozen=True)

    percent: float = Field(description="Share of the quota used, 0-100 (above 100 when overdrawn).")
    used: float | None = None
    limit: float | None = None
    remaining: float | None = None
    reset_at: datetime | None = Field(default=None, description="When the quota window starts again.")
    name: str | None = Field(default=None, description='Which limit, when there are several ("tokens").')
    source: str = Field(description='Where it was read: "X-RateLimit-* headers", "body", ...')


def quota_reading(
    *,
    source: str,
    used: float | None = None,
    limit: float | None = None,
    remaining: float | None = None,
    percent: float | None = None,
    reset_at: datetime | None = None,
    name: str | None = None,
) -> QuotaReading:
    """A reading from whatever the API gave: a percentage, or two of used / limit / remaining.

    Raises QuotaFormatError when the values cannot make a percentage (no limit, a negative count, a
    zero limit with nothing to say)."""
    for label, value in (("used", used), ("limit", limit), ("remaining", remaining), ("percent", percent)):
        if value is not None and (not math.isfinite(value) or value < 0):
            raise QuotaFormatError(f"{source}: {label} is {value:g}; a quota count cannot be negative")
    if used is None and limit is not None and remaining is not None:
        used = max(limit - remaining, 0.0)
    if limit is None and used is not None and remaining is not None:
        limit = used + remaining
    if percent is None:
        if used is None or limit is None:
            raise QuotaFormatError(f"{source}: needs the limit and either used or remaining")
        if limit == 0:
            raise QuotaFormatError(f"{source}: the limit is 0, so no share of it can be used")
        percent = used / limit * 100
    if remaining is None and used is not None and limit is not None:
        remaining = max(limit - used, 0.0)
    return QuotaReading(
        percent=round(percent, 3),
        used=used,
        limit=limit,
        remaining=remaining,
        reset_at=reset_at,
        name=name,
        source=source,
    )


class QuotaSample(BaseModel):
    """One reading kept in the state table: the series the exhaustion forecast is made from."""

    model_config = ConfigDict(frozen=True)

    at: datetime
    percent: float
    reset_at: datetime | None = None
