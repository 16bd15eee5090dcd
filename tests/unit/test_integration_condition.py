"""The integration condition on constructed observations: no sockets. Each outcome with its level,
the exhaustion forecast from the state's quota samples, and what a run adds to that series."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.models.config import IntegrationCheck
from runbook.models.levels import Severity
from runbook.models.observations import FailureKind, IntegrationObservation, ProbeFailure
from runbook.models.quota import QuotaReading, QuotaSample, quota_reading
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.integration import evaluate, quota_sample

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TARGET = "https://api.stripe.example:443/v1/status"
IN_1_H = NOW + timedelta(hours=1)
IN_4_H = NOW + timedelta(hours=4)
FORECAST_WORDS = "at this rate the quota of stripe is exhausted in"


def make_check(**overrides: Any) -> IntegrationCheck:
    fields: dict[str, Any] = {"name": "stripe", "status_url": "https://api.stripe.example/v1/status"}
    return IntegrationCheck.model_validate(fields | overrides)


def reading(
    used: float, limit: float = 1000, reset_at: datetime | None = IN_1_H, **extra: Any
) -> QuotaReading:
    return quota_reading(source="X-RateLimit-* headers", used=used, limit=limit, reset_at=reset_at, **extra)


def answered(
    quota: QuotaReading | None = None, status: int = 200, **overrides: Any
) -> IntegrationObservation:
    fields: dict[str, Any] = {
        "observed_at": NOW,
        "latency_s": 0.12,
        "target": TARGET,
        "status_code": status,
        "quota": quota,
    }
    return IntegrationObservation.model_validate(fields | overrides)


def failed(kind: FailureKind, message: str) -> IntegrationObservation:
    return IntegrationObservation(
        observed_at=NOW, target=TARGET, failure=ProbeFailure(kind=kind, message=message)
    )


def judge(
    observation: IntegrationObservation, samples: list[QuotaSample] | None = None, **check: Any
) -> CheckResult:
    return evaluate(make_check(**check), observation, CheckState(check="stripe", quota_samples=samples or []))


def assert_verdict(result: CheckResult, outcome: Outcome, severity: Severity | None, *words: str) -> None:
    assert (result.outcome, result.severity) == (outcome, severity), result.reason
    assert result.ok is (outcome is Outcome.OK)
    for word in words:
        assert word in result.reason


# --- outcomes and their levels -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "check", "outcome", "severity", "reason"),
    [
        pytest.param(
            answered(reading(500)),
            {},
            Outcome.OK,
            None,
            "the quota of stripe is at 50.0 %: 500 of 1000 used; it resets in 1 h",
            id="ok",
        ),
        pytest.param(
            answered(reading(799.9)),
            {},
            Outcome.OK,
            None,
            "799.9 of 1000 used; it resets in 1 h",
            id="just-below-warning",
        ),
        pytest.param(
            answered(reading(800)),
            {},
            Outcome.QUOTA_WARNING,
            "warning",
            "the quota of stripe is at 80.0 %: 800 of 1000 used (warning at 80 %); it resets in 1 h",
            id="warning",
        ),
        pytest.param(
            answered(reading(950)),
            {},
            Outcome.QUOTA_CRITICAL,
            None,
            "the quota of stripe is at 95.0 %: 950 of 1000 used (critical at 95 %); it resets in 1 h",
            id="critical",
        ),
        pytest.param(
            answered(reading(1000)),
            {},
            Outcome.QUOTA_EXHAUSTED,
            None,
            "the quota of stripe is at 100.0 %: 1000 of 1000 used: exhausted; it resets in 1 h",
            id="exhausted",
        ),
        pytest.param(
            answered(reading(1200, reset_at=None)),
            {},
            Outcome.QUOTA_EXHAUSTED,
            None,
            "the quota of stripe is at 120.0 %: 1200 of 1000 used: exhausted",
            id="overdrawn",
        ),
        pytest.param(
            # A rounded percentage next to an exact count: nothing left is exhausted, whatever the percent.
            answered(quota_reading(source="body", percent=99.5, remaining=0)),
            {},
            Outcome.QUOTA_EXHAUSTED,
            None,
            "the quota of stripe is at 99.5 %: exhausted",
            id="remaining-0",
        ),
        pytest.param(
            answered(reading(600, name="tokens")),
            {"warning_percent": 50, "critical_percent": 70},
            Outcome.QUOTA_WARNING,
            "warning",
            "the quota of stripe is at 60.0 % (tokens): 600 of 1000 used (warning at 50 %)",
            id="own-warning-percent",
        ),
        pytest.param(
            answered(reading(700)),
            {"warning_percent": 50, "critical_percent": 70},
            Outcome.QUOTA_CRITICAL,
            None,
            "at 70.0 %: 700 of 1000 used (critical at 70 %)",
            id="own-critical-percent",
        ),
        pytest.param(
            answered(status=429, retry_after_s=300),
            {},
            Outcome.QUOTA_EXHAUSTED,
            None,
            f"the quota of stripe is exhausted: {TARGET} answered HTTP 429 Too Many Requests; "
            "retry after 5 min",
            id="429-retry-after",
        ),
        pytest.param(
            answered(reading(1000, reset_at=NOW + timedelta(minutes=20)), status=429),
            {},
            Outcome.QUOTA_EXHAUSTED,
            None,
            f"{TARGET} answered HTTP 429 Too Many Requests; it resets in 20 min",
            id="429-reset-from-headers",
        ),
        pytest.param(
            answered(status=429),
            {"quota": None},
            Outcome.QUOTA_EXHAUSTED,
            None,
            f"the quota of stripe is exhausted: {TARGET} answered HTTP 429 Too Many Requests",
            id="429-no-quota-configured",
        ),
        pytest.param(
            answered(status=401),
            {},
            Outcome.AUTH_FAILED,
            None,
            f"{TARGET} answered HTTP 401: the credential was rejected (see `auth`)",
            id="401",
        ),
        pytest.param(
            answered(status=403),
            {"severity": "warning"},
            Outcome.AUTH_FAILED,
            None,
            f"{TARGET} answered HTTP 403: the credential was rejected",
            id="403",
        ),
        pytest.param(
            answered(reading(10), status=503),
            {},
            Outcome.HTTP_STATUS,
            None,
            f"{TARGET} answered HTTP 503, expected 2xx",
            id="503-with-a-quota",
        ),
        pytest.param(
            answered(status=301), {}, Outcome.HTTP_STATUS, None, "answered HTTP 301, expected 2xx", id="301"
        ),
        pytest.param(
            answered(status=204),
            {"quota": None},
            Outcome.OK,
            None,
            f"{TARGET} answered HTTP 204",
            id="no-quota-configured",
        ),
        pytest.param(
            answered(quota_problem=f"{TARGET} answered without rate-limit headers"),
            {},
            Outcome.QUOTA_UNKNOWN,
            "info",
            f"the quota of stripe is unknown: {TARGET} answered without rate-limit headers",
            id="unknown-info",
        ),
        pytest.param(
            answered(quota_problem="usage endpoint https://api.stripe.example:443/usage answered HTTP 500"),
            {"quota_unknown": "warning", "severity": "critical"},
            Outcome.QUOTA_UNKNOWN,
            "warning",
            "the quota of stripe is unknown: usage endpoint https://api.stripe.example:443/usage "
            "answered HTTP 500",
            id="unknown-warning",
        ),
        pytest.param(
            answered(),
            {},
            Outcome.QUOTA_UNKNOWN,
            "info",
            "the quota of stripe is unknown: no quota information",
            id="unknown-without-a-problem",
        ),
    ],
)
def test_outcomes_and_their_levels(
    observation: IntegrationObservation,
    check: dict[str, Any],
    outcome: Outcome,
    severity: Severity | None,
    reason: str,
) -> None:
    result = judge(observation, **check)

    assert_verdict(result, outcome, severity, reason)
    assert (result.check, result.kind, result.observed_at) == ("stripe", "integration", NOW)
    assert result.details["target"] == TARGET


@pytest.mark.parametrize(
    ("kind", "outcome", "phrase"),
    [
        (FailureKind.TIMEOUT, Outcome.TIMEOUT, "timed out"),
        (FailureKind.REFUSED, Outcome.CONNECTION_REFUSED, "refused the connection"),
        (FailureKind.CONNECTION, Outcome.CONNECTION_ERROR, "is unreachable"),
        (FailureKind.TLS, Outcome.TLS_ERROR, "failed TLS"),
        (FailureKind.PROTOCOL, Outcome.UNEXPECTED_REPLY, "answered something that is not HTTP"),
        (FailureKind.OTHER, Outcome.PROBE_ERROR, "could not be probed"),
    ],
)
def test_a_failed_status_request(kind: FailureKind, outcome: Outcome, phrase: str) -> None:
    result = judge(failed(kind, "the probe's own words"))

    assert_verdict(result, outcome, None)
    assert result.reason == f"{TARGET} {phrase}: the probe's own words"
    assert (result.details["failure"], result.details["message"]) == (kind.value, "the probe's own words")
    assert "status_code" not in result.details


def test_an_ignored_unknown_quota_is_ok_but_still_says_so() -> None:
    result = judge(
        answered(quota_problem=f"{TARGET} answered without rate-limit headers"), quota_unknown="ignore"
    )

    assert (result.outcome, result.ok, result.severity) == (Outcome.QUOTA_UNKNOWN, True, None)
    assert result.reason == f"the quota of stripe is unknown: {TARGET} answered without rate-limit headers"


def test_the_details_carry_the_reading() -> None:
    result = judge(answered(reading(250, name="requests")))

    assert result.details == {
        "target": TARGET,
        "status_code": 200,
        "quota": {
            "percent": 25.0,
            "used": 250.0,
            "limit": 1000.0,
            "remaining": 750.0,
            "reset_at": "2026-11-27T13:00:00Z",
            "name": "requests",
            "source": "X-RateLimit-* headers",
        },
    }
    assert result.latency_ms == 120.0


# --- capped levels -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "own", "outcome", "severity"),
    [
        (answered(reading(850)), "critical", Outcome.QUOTA_WARNING, "warning"),
        (answered(reading(850)), "warning", Outcome.QUOTA_WARNING, "warning"),
        (answered(reading(850)), "info", Outcome.QUOTA_WARNING, "info"),
        (answered(reading(970)), "info", Outcome.QUOTA_CRITICAL, None),  # None: the check's own, info
        (answered(quota_problem="no headers"), "info", Outcome.QUOTA_UNKNOWN, "info"),
    ],
)
def test_a_quota_level_is_never_louder_than_the_check(
    observation: IntegrationObservation, own: Severity, outcome: Outcome, severity: Severity | None
) -> None:
    result = judge(observation, severity=own, quota_unknown="warning")

    assert_verdict(result, outcome, severity, "the quota of stripe is")


def test_a_forecast_is_capped_too() -> None:
    result = judge(answered(reading(440, reset_at=IN_4_H)), rising(20, reset_at=IN_4_H), severity="info")

    assert_verdict(result, Outcome.QUOTA_FORECAST, "info", FORECAST_WORDS)


# --- the exhaustion forecast -------------------------------------------------------------------------------


def rising(start: float, *, reset_at: datetime | None, count: int = 12) -> list[QuotaSample]:
    """The state's samples: one every 5 minutes for the hour before NOW, 2 points more each (24 %/h);
    the current reading (NOW) is the next step: start + 2 * count."""
    return [
        QuotaSample(at=NOW - timedelta(minutes=5 * (count - i)), percent=start + 2 * i, reset_at=reset_at)
        for i in range(count)
    ]


def test_steady_use_that_runs_out_before_the_reset_is_a_forecast_warning() -> None:
    # 44 % now, rising 24 %/h: 56 points to go take 2 h 20 min; the window resets only in 4 h.
    result = judge(answered(reading(440, reset_at=IN_4_H)), rising(20, reset_at=IN_4_H))

    assert_verdict(result, Outcome.QUOTA_FORECAST, "warning")
    assert result.reason == f"{FORECAST_WORDS} 2 h 20 min; it resets in 4 h"
    assert result.details["forecast"] == {
        "rate_percent_per_hour": 24.0,
        "exhausted_at": (NOW + timedelta(hours=2, minutes=20)).isoformat(),
        "samples": 13,
    }


def test_steady_use_that_resets_first_is_ok() -> None:
    result = judge(answered(reading(440, reset_at=IN_1_H)), rising(20, reset_at=IN_1_H))

    assert_verdict(result, Outcome.OK, None)
    assert result.reason == "the quota of stripe is at 44.0 %: 440 of 1000 used; it resets in 1 h"
    assert result.details["forecast"]["samples"] == 13  # evidence, even when it does not speak


@pytest.mark.parametrize(
    ("samples", "check"),
    [
        pytest.param(rising(20, reset_at=IN_4_H), {"forecast": {"enabled": False}}, id="disabled"),
        pytest.param(
            rising(20, reset_at=IN_4_H, count=2)[-1:],
            {"forecast": {"min_samples": 3}},
            id="too-few-samples",
        ),
        pytest.param(
            [
                QuotaSample(at=NOW - timedelta(minutes=5 * (12 - i)), percent=44, reset_at=IN_4_H)
                for i in range(12)
            ],
            {},
            id="flat",
        ),
    ],
)
def test_no_forecast_warning(samples: list[QuotaSample], check: dict[str, Any]) -> None:
    result = judge(answered(reading(440, reset_at=IN_4_H)), samples, **check)

    assert_verdict(
        result, Outcome.OK, None, "the quota of stripe is at 44.0 %: 440 of 1000 used; it resets in 4 h"
    )
    assert FORECAST_WORDS not in result.reason


def test_the_samples_of_an_earlier_window_do_not_count() -> None:
    # The same steady series, but its window ended 3 minutes ago: the reading now starts a new one.
    earlier = rising(20, reset_at=NOW - timedelta(minutes=3))

    result = judge(answered(reading(440, reset_at=IN_4_H)), earlier)

    assert_verdict(result, Outcome.OK, None, "the quota of stripe is at 44.0 %")
    assert "forecast" not in result.details


@pytest.mark.parametrize(
    ("horizon", "outcome", "severity"),
    [("1h", Outcome.OK, None), ("3h", Outcome.QUOTA_FORECAST, "warning")],
)
def test_without_a_reset_time_the_horizon_decides(
    horizon: str, outcome: Outcome, severity: Severity | None
) -> None:
    # Exhausted in 2 h 20 min; nothing says when the window resets.
    result = judge(
        answered(reading(440, reset_at=None)), rising(20, reset_at=None), forecast={"horizon": horizon}
    )

    assert_verdict(result, outcome, severity)
    if outcome is Outcome.QUOTA_FORECAST:
        assert result.reason == f"{FORECAST_WORDS} 2 h 20 min; its reset time is unknown"


def test_above_warning_with_early_exhaustion_the_warning_says_when() -> None:
    # 84 % now, rising 24 %/h: exhausted in 40 min, over three hours before the reset.
    result = judge(answered(reading(840, reset_at=IN_4_H)), rising(60, reset_at=IN_4_H))

    assert_verdict(result, Outcome.QUOTA_WARNING, "warning")
    assert result.reason == (
        "the quota of stripe is at 84.0 %: 840 of 1000 used (warning at 80 %); "
        f"{FORECAST_WORDS} 40 min; it resets in 4 h"  # the reset once: the forecast's sentence has it
    )
    assert result.details["forecast"]["exhausted_at"] == (NOW + timedelta(minutes=40)).isoformat()


def test_above_warning_without_early_exhaustion_the_warning_has_no_forecast() -> None:
    # Exhausted in 40 min at this rate, but the window resets in 30.
    in_30_min = NOW + timedelta(minutes=30)
    result = judge(answered(reading(840, reset_at=in_30_min)), rising(60, reset_at=in_30_min))

    assert_verdict(result, Outcome.QUOTA_WARNING, "warning")
    assert result.reason == (
        "the quota of stripe is at 84.0 %: 840 of 1000 used (warning at 80 %); it resets in 30 min"
    )


# --- what a run adds to the series -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("observation", "sample"),
    [
        pytest.param(
            answered(reading(420)),
            QuotaSample(at=NOW, percent=42.0, reset_at=IN_1_H),
            id="reading",
        ),
        pytest.param(
            answered(reading(420, reset_at=None)),
            QuotaSample(at=NOW, percent=42.0),
            id="reading-without-reset",
        ),
        pytest.param(
            answered(status=429, retry_after_s=120),
            QuotaSample(at=NOW, percent=100.0, reset_at=NOW + timedelta(seconds=120)),
            id="429-retry-after",
        ),
        pytest.param(answered(status=429), QuotaSample(at=NOW, percent=100.0), id="429-nothing-else"),
        pytest.param(
            # The headers of a 429 may show a limit other than the one that ran out: the 429 is 100 %.
            answered(reading(970, reset_at=IN_4_H), status=429),
            QuotaSample(at=NOW, percent=100.0, reset_at=IN_4_H),
            id="429-with-headers",
        ),
        pytest.param(
            # Headers without a reset time: the Retry-After tells when the quota is back.
            answered(reading(970, reset_at=None), status=429, retry_after_s=60),
            QuotaSample(at=NOW, percent=100.0, reset_at=NOW + timedelta(seconds=60)),
            id="429-headers-without-reset",
        ),
        pytest.param(answered(quota_problem="no headers"), None, id="unknown"),
        pytest.param(failed(FailureKind.TIMEOUT, "no complete answer within 5 s"), None, id="failed"),
    ],
)
def test_quota_sample(observation: IntegrationObservation, sample: QuotaSample | None) -> None:
    assert quota_sample(observation) == sample
