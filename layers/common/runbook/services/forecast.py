"""When an integration's API quota runs out at the current rate, from the samples kept of it.

Samples are oldest first; the last one is the current reading. Only the current quota window counts:
a new window starts at a sample

- whose usage dropped more than `RESET_DROP_POINTS` (5) percentage points below the previous one
  (the API reset the counter). Smaller dips are not a reset: a sliding-window API's usage falls a
  little as old calls leave the window, and that must not cut the series; or
- taken at or after the previous sample's `reset_at` (the window ended even if usage did not fall,
  e.g. nothing was used in the new one yet).

The rate is the least-squares slope of percent over time across that window, so one burst moves it
by its share of the window rather than deciding it alone (as a last-two-readings difference would).

Pure: no I/O.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from runbook.models.quota import QuotaSample
from runbook.text import human_duration

RESET_DROP_POINTS = 5.0
# Exhaustion further away than this is no exhaustion: it keeps a rate that is only float noise on a
# flat series (1e-15 %/h) from forecasting a date past the year 9999.
FORECAST_LIMIT = timedelta(days=3650)


@dataclass(frozen=True)
class Exhaustion:
    percent: float  # the latest reading
    rate_percent_per_hour: float
    exhausted_at: datetime | None  # None when usage is not rising (or would take over FORECAST_LIMIT)
    resets_at: datetime | None  # the latest reading's reset time, when the API reports one
    samples_used: int  # how many samples the current window holds


def is_reset(previous: QuotaSample, current: QuotaSample) -> bool:
    """Whether `current` is the first sample of a new quota window."""
    if current.percent < previous.percent - RESET_DROP_POINTS:
        return True
    return previous.reset_at is not None and current.at >= previous.reset_at


def current_window(samples: Sequence[QuotaSample]) -> Sequence[QuotaSample]:
    """The samples since the last reset (all of them when there was none)."""
    start = 0
    for index in range(1, len(samples)):
        if is_reset(samples[index - 1], samples[index]):
            start = index
    return samples[start:]


def forecast_exhaustion(samples: Sequence[QuotaSample], *, min_samples: int) -> Exhaustion | None:
    """The rate of use in the current window and when it reaches 100 % at that rate.

    None when the current window has fewer than `min_samples` samples or spans no time (so never
    from fewer than two). At or above 100 % the quota is exhausted already: `exhausted_at` is the
    latest reading's time, whatever the rate."""
    window = current_window(samples)
    if not window or len(window) < min_samples:
        return None
    first, last = window[0], window[-1]
    xs = [(sample.at - first.at).total_seconds() / 3600 for sample in window]
    ys = [sample.percent for sample in window]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if last.at <= first.at or spread <= 0:
        return None
    rate = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    exhausted_at: datetime | None = None
    if last.percent >= 100:
        exhausted_at = last.at
    elif rate > 0:
        hours_to_go = (100 - last.percent) / rate
        if hours_to_go < FORECAST_LIMIT / timedelta(hours=1):
            exhausted_at = last.at + timedelta(hours=hours_to_go)
    return Exhaustion(
        percent=last.percent,
        rate_percent_per_hour=rate,
        exhausted_at=exhausted_at,
        resets_at=last.reset_at,
        samples_used=len(window),
    )


def runs_out_before_reset(exhaustion: Exhaustion, now: datetime, horizon_s: float) -> bool:
    """Whether the quota is exhausted before it resets; when the reset time is unknown, whether it
    is exhausted within `horizon_s` seconds of `now`. False when usage is not rising."""
    if exhaustion.exhausted_at is None:
        return False
    if exhaustion.resets_at is not None:
        return exhaustion.exhausted_at < exhaustion.resets_at
    return exhaustion.exhausted_at <= now + timedelta(seconds=horizon_s)


def describe_exhaustion(exhaustion: Exhaustion, integration: str, now: datetime) -> str:
    """E.g. "at this rate the quota of stripe is exhausted in 40 min; it resets in 3 h"."""
    percent = f"{round(exhaustion.percent, 1):g} %"
    if exhaustion.percent >= 100:
        head = f"the quota of {integration} is exhausted ({percent} used)"
    elif exhaustion.exhausted_at is None:
        head = f"the quota of {integration} is at {percent} and not rising"
    elif exhaustion.exhausted_at <= now:
        head = f"at this rate the quota of {integration} is exhausted already"
    else:
        left = human_duration((exhaustion.exhausted_at - now).total_seconds())
        head = f"at this rate the quota of {integration} is exhausted in {left}"
    if exhaustion.resets_at is None:
        return f"{head}; its reset time is unknown"
    if exhaustion.resets_at <= now:
        return f"{head}; its reset is due now"
    return f"{head}; it resets in {human_duration((exhaustion.resets_at - now).total_seconds())}"
