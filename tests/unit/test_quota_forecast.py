import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from runbook.models.quota import QuotaSample
from runbook.services.forecast import (
    Exhaustion,
    describe_exhaustion,
    forecast_exhaustion,
    runs_out_before_reset,
)
from runbook.text import human_duration

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def series(
    percents: Sequence[float], *, every_min: float = 5, start_min: float = 0, reset_at: datetime | None = None
) -> list[QuotaSample]:
    """One sample every `every_min` minutes from T0 + `start_min`, oldest first."""
    return [
        QuotaSample(at=at(start_min + i * every_min), percent=p, reset_at=reset_at)
        for i, p in enumerate(percents)
    ]


def steady(reset_at: datetime | None = None) -> list[QuotaSample]:
    """20 % to 44 % in an hour: 2 points per 5 minutes = 24 %/h; 56 points to go = 140 min."""
    return series([20 + 2 * i for i in range(13)], reset_at=reset_at)


STEADY_EXHAUSTED_AT = at(60 + 140)


def naive_exhausted_at(samples: Sequence[QuotaSample]) -> datetime | None:
    """The forecast a last-two-readings rate would make."""
    previous, last = samples[-2], samples[-1]
    rate = (last.percent - previous.percent) / ((last.at - previous.at).total_seconds() / 3600)
    return last.at + timedelta(hours=(100 - last.percent) / rate) if rate > 0 else None


def close(a: datetime | None, b: datetime) -> bool:
    return a is not None and abs((a - b).total_seconds()) < 1


# --- steady growth ------------------------------------------------------------------------------------


def test_steady_growth_forecasts_the_arithmetic():
    exhaustion = forecast_exhaustion(steady(), min_samples=3)
    assert exhaustion is not None
    assert exhaustion.percent == 44
    assert exhaustion.rate_percent_per_hour == pytest.approx(24)
    assert close(exhaustion.exhausted_at, STEADY_EXHAUSTED_AT)
    assert exhaustion.samples_used == 13
    assert exhaustion.resets_at is None


def test_uneven_sampling_still_uses_time_not_sample_count():
    # 10 % per hour, sampled at 0, 5, 30, 60 min.
    samples = [QuotaSample(at=at(m), percent=10 + m / 6) for m in (0, 5, 30, 60)]
    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.rate_percent_per_hour == pytest.approx(10)
    assert close(exhaustion.exhausted_at, at(60 + 80 * 60 / 10))


# --- bursts -------------------------------------------------------------------------------------------


def test_a_burst_at_the_end_does_not_forecast_exhaustion_before_the_reset():
    # 6 %/h for an hour (30 -> 35.5), then one batch job takes 9.5 points in 5 minutes.
    resets_at = at(60 + 180)
    samples = series([30 + 0.5 * i for i in range(12)] + [45], reset_at=resets_at)
    naive = naive_exhausted_at(samples)
    assert naive is not None
    assert naive < resets_at  # 114 %/h: out in 29 min, a false alarm

    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert 6 < exhaustion.rate_percent_per_hour < 12
    assert exhaustion.exhausted_at is not None
    assert exhaustion.exhausted_at > resets_at
    assert not runs_out_before_reset(exhaustion, now=at(60), horizon_s=3600)


def test_a_quiet_last_interval_does_not_hide_steady_growth():
    # 24 %/h for 55 minutes, then 5 minutes with no calls at all.
    resets_at = at(60 + 180)
    samples = series([20 + 2 * i for i in range(12)] + [42], reset_at=resets_at)
    assert naive_exhausted_at(samples) is None  # rate 0: "not rising"

    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.rate_percent_per_hour > 20
    assert runs_out_before_reset(exhaustion, now=at(60), horizon_s=3600)


# --- resets -------------------------------------------------------------------------------------------


def test_a_drop_starts_a_new_window():
    # Up to 90 %, reset to 2 %, then 24 %/h: only the last four samples count.
    samples = series([50, 60, 70, 80, 90, 2, 4, 6, 8])
    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.samples_used == 4
    assert exhaustion.rate_percent_per_hour == pytest.approx(24)
    assert close(exhaustion.exhausted_at, at(40 + 92 / 24 * 60))


def test_passing_reset_at_starts_a_new_window_even_without_a_clear_drop():
    # The old window reset at 20 min; usage only dipped 13 -> 10 (within the dip tolerance).
    old = series([10, 11, 12, 13], reset_at=at(20))
    new = series([10, 12, 14, 16], start_min=20, reset_at=at(80))
    exhaustion = forecast_exhaustion(old + new, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.samples_used == 4
    assert exhaustion.rate_percent_per_hour == pytest.approx(24)
    assert exhaustion.resets_at == at(80)

    # Without reset times the same readings are one window.
    blind = [QuotaSample(at=s.at, percent=s.percent) for s in old + new]
    exhaustion = forecast_exhaustion(blind, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.samples_used == 8


def test_a_sample_after_reset_at_starts_a_new_window_even_when_usage_rose():
    # A sample exactly at the previous reset time belongs to the new window.
    samples = [*series([10, 11, 12], reset_at=at(15)), *series([20, 22], start_min=15, reset_at=at(75))]
    exhaustion = forecast_exhaustion(samples, min_samples=2)
    assert exhaustion is not None
    assert exhaustion.samples_used == 2
    assert exhaustion.rate_percent_per_hour == pytest.approx(24)


def test_too_few_samples_since_the_reset():
    samples = series([50, 60, 70, 80, 90, 2, 4])
    assert forecast_exhaustion(samples, min_samples=3) is None
    assert forecast_exhaustion(samples, min_samples=2) is not None


def test_small_sliding_window_dips_are_not_resets():
    samples = series([50, 52, 49, 53, 51, 55, 54, 58])
    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert exhaustion.samples_used == 8
    assert exhaustion.rate_percent_per_hour > 0


@pytest.mark.parametrize(("drop", "is_reset"), [(3, False), (5, False), (5.5, True), (40, True)])
def test_the_reset_tolerance_is_five_points(drop: float, is_reset: bool):
    samples = series([60, 62, 64, 64 - drop, 66 - drop])
    exhaustion = forecast_exhaustion(samples, min_samples=2)
    assert exhaustion is not None
    assert exhaustion.samples_used == (2 if is_reset else 5)


# --- not rising, too little data ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "percents",
    [
        pytest.param([42.0] * 12, id="flat"),
        pytest.param([33.333] * 12, id="flat-non-round"),
        pytest.param([60, 59, 58, 57, 56, 55], id="falling"),
        pytest.param([10 + i * 1e-10 for i in range(12)], id="rising-by-float-noise"),
    ],
)
def test_flat_or_falling_usage_is_never_exhausted(percents: list[float]):
    exhaustion = forecast_exhaustion(series(percents, reset_at=at(500)), min_samples=3)
    assert exhaustion is not None
    assert exhaustion.exhausted_at is None
    assert not runs_out_before_reset(exhaustion, now=at(60), horizon_s=10**9)


def test_falling_usage_has_a_negative_rate():
    exhaustion = forecast_exhaustion(series([60, 59, 58, 57]), min_samples=3)
    assert exhaustion is not None
    assert exhaustion.rate_percent_per_hour == pytest.approx(-12)


@pytest.mark.parametrize(
    ("samples", "min_samples"),
    [
        pytest.param([], 1, id="none"),
        pytest.param(series([50]), 1, id="one"),
        pytest.param(series([50, 60]), 3, id="fewer-than-min"),
        pytest.param(series([50, 60, 70], every_min=0), 1, id="spans-no-time"),
    ],
)
def test_too_little_data_gives_no_forecast(samples: list[QuotaSample], min_samples: int):
    assert forecast_exhaustion(samples, min_samples=min_samples) is None


# --- already exhausted ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "percents",
    [
        pytest.param([90, 95, 100], id="at-100"),
        pytest.param([100, 103, 103], id="over-100-flat"),
        pytest.param([110, 107, 104], id="over-100-falling"),
    ],
)
def test_at_or_over_100_percent_is_exhausted_now(percents: list[float]):
    exhaustion = forecast_exhaustion(series(percents, reset_at=at(60)), min_samples=3)
    assert exhaustion is not None
    assert exhaustion.exhausted_at == at(10)
    assert runs_out_before_reset(exhaustion, now=at(10), horizon_s=0)


# --- before the reset, within the horizon --------------------------------------------------------------


@pytest.mark.parametrize(
    ("resets_at", "expected"),
    [
        pytest.param(STEADY_EXHAUSTED_AT - timedelta(minutes=20), False, id="resets-first"),
        pytest.param(STEADY_EXHAUSTED_AT + timedelta(minutes=40), True, id="runs-out-first"),
    ],
)
def test_runs_out_before_a_known_reset(resets_at: datetime, expected: bool):
    exhaustion = forecast_exhaustion(steady(reset_at=resets_at), min_samples=3)
    assert exhaustion is not None
    # The horizon only matters when the reset time is unknown.
    for horizon_s in (0, 10**9):
        assert runs_out_before_reset(exhaustion, now=at(60), horizon_s=horizon_s) is expected


@pytest.mark.parametrize(
    ("horizon", "expected"),
    [
        pytest.param(timedelta(hours=2), False, id="beyond-horizon"),
        pytest.param(timedelta(minutes=140), True, id="at-horizon"),
        pytest.param(timedelta(hours=3), True, id="within-horizon"),
    ],
)
def test_unknown_reset_uses_the_horizon(horizon: timedelta, expected: bool):
    exhaustion = forecast_exhaustion(steady(), min_samples=3)
    assert exhaustion is not None
    assert exhaustion.exhausted_at is not None
    # Exhausted 140 minutes after the latest reading (within float rounding of the slope).
    now = exhaustion.exhausted_at - timedelta(minutes=140)
    assert runs_out_before_reset(exhaustion, now=now, horizon_s=horizon.total_seconds()) is expected


# --- texts --------------------------------------------------------------------------------------------


def test_describe_a_forecast_end_to_end():
    # 60 %/h at 60 %: 40 points to go = 40 min; the window resets 3 h from now.
    samples = series([10 + 5 * i for i in range(11)], reset_at=at(50 + 180))
    exhaustion = forecast_exhaustion(samples, min_samples=3)
    assert exhaustion is not None
    assert describe_exhaustion(exhaustion, "stripe", now=at(50)) == (
        "at this rate the quota of stripe is exhausted in 40 min; it resets in 3 h"
    )


def exhaustion_of(
    percent: float, exhausted_at: datetime | None, resets_at: datetime | None, rate: float = 10
) -> Exhaustion:
    return Exhaustion(
        percent=percent,
        rate_percent_per_hour=rate,
        exhausted_at=exhausted_at,
        resets_at=resets_at,
        samples_used=12,
    )


@pytest.mark.parametrize(
    ("exhaustion", "text"),
    [
        pytest.param(
            exhaustion_of(80, at(80), None),
            "at this rate the quota of stripe is exhausted in 1 h 20 min; its reset time is unknown",
            id="reset-unknown",
        ),
        pytest.param(
            exhaustion_of(42.04, None, at(180), rate=0),
            "the quota of stripe is at 42 % and not rising; it resets in 3 h",
            id="not-rising",
        ),
        pytest.param(
            exhaustion_of(103.27, at(-5), at(2 * 24 * 60 + 4 * 60)),
            "the quota of stripe is exhausted (103.3 % used); it resets in 2 d 4 h",
            id="over-100",
        ),
        pytest.param(
            exhaustion_of(99, at(-1), at(45)),
            "at this rate the quota of stripe is exhausted already; it resets in 45 min",
            id="forecast-already-past",
        ),
        pytest.param(
            exhaustion_of(90, at(30), at(-2)),
            "at this rate the quota of stripe is exhausted in 30 min; its reset is due now",
            id="reset-overdue",
        ),
    ],
)
def test_describe_exhaustion(exhaustion: Exhaustion, text: str):
    assert describe_exhaustion(exhaustion, "stripe", now=T0) == text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "0 s"),
        (0, "0 s"),
        (math.nan, "0 s"),
        (0.4, "0 s"),
        (45, "45 s"),
        (59.4, "59 s"),
        (59.6, "1 min"),
        (89, "1 min"),
        (2400, "40 min"),
        (3599, "1 h"),
        (3600, "1 h"),
        (4800, "1 h 20 min"),
        (10790, "3 h"),
        (10800, "3 h"),
        (86399, "1 d"),
        (2 * 86400 + 4 * 3600, "2 d 4 h"),
        (2 * 86400 + 4 * 3600 + 1700, "2 d 4 h"),
        (3 * 86400, "3 d"),
        (math.inf, "forever"),
    ],
)
def test_human_duration(seconds: float, text: str):
    assert human_duration(seconds) == text
