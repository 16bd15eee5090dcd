"""What every condition shares: how a verdict becomes a CheckResult, and the plain meaning of each
probe failure. Pure, like the conditions."""

from typing import Any

from runbook.models.config import AnyCheck
from runbook.models.observations import (
    FailureKind,
    HttpObservation,
    HttpPhases,
    IntegrationObservation,
    Observation,
    ProbeFailure,
)
from runbook.models.results import CheckResult, Outcome
from runbook.text import truncate

MAX_REASON_CHARS = 300

# What each failure means where a check has no word of its own for it (postgres and http do).
FAILURE_OUTCOMES = {
    FailureKind.TIMEOUT: Outcome.TIMEOUT,
    FailureKind.REFUSED: Outcome.CONNECTION_REFUSED,
    FailureKind.CONNECTION: Outcome.CONNECTION_ERROR,
    FailureKind.TLS: Outcome.TLS_ERROR,
    FailureKind.PROTOCOL: Outcome.UNEXPECTED_REPLY,
    FailureKind.AUTH: Outcome.AUTH_FAILED,
    FailureKind.LOADING: Outcome.LOADING,
    FailureKind.REJECTING: Outcome.REJECTING,
    FailureKind.QUERY: Outcome.QUERY_FAILED,
    FailureKind.OTHER: Outcome.PROBE_ERROR,
}


def latency_ms(observation: Observation) -> float | None:
    latency = observation.latency_s
    return None if latency is None else round(latency * 1000, 1)


def check_result(
    check: AnyCheck,
    observation: Observation,
    outcome: Outcome,
    reason: str,
    details: dict[str, Any],
    *,
    reason_limit: int | None = MAX_REASON_CHARS,
) -> CheckResult:
    """The result of judging `observation`: ok when the outcome is OK; `reason_limit=None` keeps the
    reason whole."""
    return CheckResult(
        check=check.name,
        kind=check.kind,
        ok=outcome is Outcome.OK,
        outcome=outcome,
        reason=reason if reason_limit is None else truncate(reason, reason_limit),
        observed_at=observation.observed_at,
        latency_ms=latency_ms(observation),
        phases=http_phases(observation),
        details=details,
    )


def http_phases(observation: Observation) -> HttpPhases | None:
    if isinstance(observation, HttpObservation | IntegrationObservation):
        return observation.phases
    return None


def phrased_failure(
    where: str,
    failure: ProbeFailure,
    outcomes: dict[FailureKind, Outcome],
    phrases: dict[Outcome, str],
    details: dict[str, Any],
) -> tuple[Outcome, str]:
    """(outcome, reason) for a failed probe, the reason read as `where`, the outcome's phrase and the
    probe's message. A kind missing from `outcomes` is a CONNECTION_ERROR: the server answered something
    the probe could not use."""
    details["failure"] = failure.kind.value
    details["message"] = failure.message
    outcome = outcomes.get(failure.kind, Outcome.CONNECTION_ERROR)
    return outcome, f"{where} {phrases[outcome]}: {failure.message}"
