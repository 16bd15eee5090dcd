"""Judges an integration (runbook: /status answers 2xx; quota usage < 80 %).

Levels: critical when the status endpoint fails, the quota is used up (a 429 included) or above
critical_percent; warning above warning_percent or when the quota runs out before it resets at the
recent rate; `quota_unknown` (info by default) when the answer says nothing readable about the
quota. Never a silent 0 %. Pure: no I/O.
"""

import math
from datetime import timedelta
from typing import Any

from runbook.models.config import IntegrationCheck
from runbook.models.levels import SEVERITY_RANK, Severity
from runbook.models.observations import FailureKind, IntegrationObservation
from runbook.models.quota import QuotaReading, QuotaSample
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.verdict import FAILURE_OUTCOMES, check_result, phrased_failure
from runbook.services.forecast import (
    Exhaustion,
    describe_exhaustion,
    forecast_exhaustion,
    runs_out_before_reset,
)
from runbook.text import human_duration

_PHRASES = {
    Outcome.TIMEOUT: "timed out",
    Outcome.CONNECTION_REFUSED: "refused the connection",
    Outcome.CONNECTION_ERROR: "is unreachable",
    Outcome.TLS_ERROR: "failed TLS",
    Outcome.UNEXPECTED_REPLY: "answered something that is not HTTP",
    Outcome.PROBE_ERROR: "could not be probed",
}
_UNAUTHORIZED = (401, 403)


def evaluate(check: IntegrationCheck, obs: IntegrationObservation, state: CheckState) -> CheckResult:
    details: dict[str, Any] = {"target": obs.target}
    if obs.status_code is not None:
        details["status_code"] = obs.status_code
    if obs.quota is not None:
        details["quota"] = _quota_details(obs.quota)
    outcome, reason, severity = _judge(check, obs, state, details)
    result = check_result(check, obs, outcome, reason, details)
    if outcome is Outcome.QUOTA_UNKNOWN and check.quota_unknown == "ignore":
        return result.model_copy(update={"ok": True})  # still says so, but moves no streak towards an alert
    return result.model_copy(update={"severity": _capped(severity, check.severity)})


def quota_sample(obs: IntegrationObservation) -> QuotaSample | None:
    """What this run adds to the forecast's series: the reading, or a full quota on a 429."""
    retry_at = None
    if obs.retry_after_s is not None:
        retry_at = obs.observed_at + timedelta(seconds=obs.retry_after_s)
    if obs.quota is not None:
        percent = 100.0 if obs.status_code == 429 else obs.quota.percent
        return QuotaSample(at=obs.observed_at, percent=percent, reset_at=obs.quota.reset_at or retry_at)
    if obs.status_code == 429:  # no readable headers: a 429 still means nothing is left
        return QuotaSample(at=obs.observed_at, percent=100.0, reset_at=retry_at)
    return None


def _judge(
    check: IntegrationCheck, obs: IntegrationObservation, state: CheckState, details: dict[str, Any]
) -> tuple[Outcome, str, Severity | None]:
    """(outcome, reason, level); level None: the check's own severity."""
    name = check.name
    if obs.failure is not None:
        outcomes = FAILURE_OUTCOMES | {FailureKind.PROTOCOL: Outcome.UNEXPECTED_REPLY}
        outcome, reason = phrased_failure(obs.target, obs.failure, outcomes, _PHRASES, details)
        return outcome, reason, None
    code = obs.status_code
    if code == 429 or (code in _UNAUTHORIZED and _nothing_left(obs.quota)):
        return Outcome.QUOTA_EXHAUSTED, _exhausted_by_refusal(name, obs, details), None
    if code in _UNAUTHORIZED:
        reason = f"{obs.target} answered HTTP {code}: the credential was rejected (see `auth`)"
        return Outcome.AUTH_FAILED, reason, None
    if code is None or not 200 <= code < 300:
        return Outcome.HTTP_STATUS, f"{obs.target} answered HTTP {code}, expected 2xx", None
    if check.quota is None:
        return Outcome.OK, f"{obs.target} answered HTTP {code}", None
    reading = obs.quota
    if reading is None:
        problem = obs.quota_problem or "no quota information"
        level: Severity | None = None if check.quota_unknown == "ignore" else check.quota_unknown
        return Outcome.QUOTA_UNKNOWN, f"the quota of {name} is unknown: {problem}", level
    return _judge_quota(check, obs, reading, state, details)


def _judge_quota(
    check: IntegrationCheck,
    obs: IntegrationObservation,
    reading: QuotaReading,
    state: CheckState,
    details: dict[str, Any],
) -> tuple[Outcome, str, Severity | None]:
    usage = f"the quota of {check.name} is {_usage(reading)}"
    if reading.percent >= 100 or reading.remaining == 0:
        return Outcome.QUOTA_EXHAUSTED, f"{usage}: exhausted{_resets(reading, obs)}", None
    if reading.percent >= check.critical_percent:
        return (
            Outcome.QUOTA_CRITICAL,
            f"{usage} (critical at {check.critical_percent:g} %){_resets(reading, obs)}",
            None,
        )
    early = _early_exhaustion(check, obs, state, details)
    if reading.percent >= check.warning_percent:
        reason = f"{usage} (warning at {check.warning_percent:g} %)"
        if early is None:
            return Outcome.QUOTA_WARNING, reason + _resets(reading, obs), "warning"
        # The forecast's sentence already ends with when the quota resets.
        return (
            Outcome.QUOTA_WARNING,
            f"{reason}; {describe_exhaustion(early, check.name, obs.observed_at)}",
            "warning",
        )
    if early is not None:
        return Outcome.QUOTA_FORECAST, describe_exhaustion(early, check.name, obs.observed_at), "warning"
    return Outcome.OK, f"{usage}{_resets(reading, obs)}", None


def _early_exhaustion(
    check: IntegrationCheck, obs: IntegrationObservation, state: CheckState, details: dict[str, Any]
) -> Exhaustion | None:
    """The forecast when it says the quota runs out before it resets; it goes into the details either way."""
    sample = quota_sample(obs)
    if not check.forecast.enabled or sample is None:
        return None
    exhaustion = forecast_exhaustion([*state.quota_samples, sample], min_samples=check.forecast.min_samples)
    if exhaustion is None:
        return None
    details["forecast"] = {
        "rate_percent_per_hour": round(exhaustion.rate_percent_per_hour, 2),
        "exhausted_at": exhaustion.exhausted_at.isoformat() if exhaustion.exhausted_at else None,
        "samples": exhaustion.samples_used,
    }
    if runs_out_before_reset(exhaustion, obs.observed_at, check.forecast.horizon):
        return exhaustion
    return None


def _nothing_left(reading: QuotaReading | None) -> bool:
    return reading is not None and (reading.remaining == 0 or reading.percent >= 100)


def _exhausted_by_refusal(name: str, obs: IntegrationObservation, details: dict[str, Any]) -> str:
    """429, or a 403 whose rate-limit headers say nothing is left (GitHub's primary rate limit)."""
    answer = "429 Too Many Requests" if obs.status_code == 429 else f"{obs.status_code} with no quota left"
    reason = f"the quota of {name} is exhausted: {obs.target} answered HTTP {answer}"
    if obs.retry_after_s is not None:
        details["retry_after_s"] = obs.retry_after_s
        return f"{reason}; retry after {human_duration(obs.retry_after_s)}"
    if obs.quota is not None:
        return reason + _resets(obs.quota, obs)
    return reason


def _usage(reading: QuotaReading) -> str:
    which = f" ({reading.name})" if reading.name else ""
    # Rounded down: 79.99 % is not shown as the 80.0 % it has not reached.
    percent = f"{math.floor(reading.percent * 10) / 10:.1f} %"
    if reading.used is not None and reading.limit is not None:
        return f"at {percent}{which}: {reading.used:g} of {reading.limit:g} used"
    return f"at {percent}{which}"


def _resets(reading: QuotaReading, obs: IntegrationObservation) -> str:
    if reading.reset_at is None:
        return ""
    return f"; it resets in {human_duration((reading.reset_at - obs.observed_at).total_seconds())}"


def _quota_details(reading: QuotaReading) -> dict[str, Any]:
    return reading.model_dump(mode="json", exclude_none=True)


def _capped(level: Severity | None, ceiling: Severity) -> Severity | None:
    """A quota warning is never louder than the integration's own severity."""
    if level is None or SEVERITY_RANK[level] <= SEVERITY_RANK[ceiling]:
        return level
    return ceiling
