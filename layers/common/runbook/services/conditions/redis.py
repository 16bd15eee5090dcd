"""Judges one Redis observation (runbook: PING is answered with PONG).

Pure: no I/O and no redis-py, so every verdict is tested on constructed observations.
"""

from typing import Any

from runbook.models.config import RedisCheck
from runbook.models.observations import FailureKind, RedisObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState

EXPECTED_REPLY = "PONG"
MAX_REASON_CHARS = 300

_FAILURE_OUTCOMES = {
    FailureKind.TIMEOUT: Outcome.TIMEOUT,
    FailureKind.REFUSED: Outcome.CONNECTION_REFUSED,
    FailureKind.AUTH: Outcome.AUTH_FAILED,
    FailureKind.LOADING: Outcome.LOADING,
    FailureKind.TLS: Outcome.TLS_ERROR,
    FailureKind.PROTOCOL: Outcome.UNEXPECTED_REPLY,
}
# How each outcome reads after "Redis at host:port"; the probe's message follows.
_PHRASES = {
    Outcome.TIMEOUT: "timed out",
    Outcome.CONNECTION_REFUSED: "refused the connection",
    Outcome.AUTH_FAILED: "rejected the probe's credentials",
    Outcome.LOADING: "is loading its dataset and not serving commands yet",
    Outcome.TLS_ERROR: "could not be reached over TLS",
    Outcome.UNEXPECTED_REPLY: "did not answer PING with PONG",
    Outcome.CONNECTION_ERROR: "could not be reached",
}


def evaluate(check: RedisCheck, observation: RedisObservation, state: CheckState) -> CheckResult:
    """`state` is unused: this verdict depends on this observation alone (streaks are judged elsewhere)."""
    latency_ms = round(observation.latency_s * 1000, 1) if observation.latency_s is not None else None
    details: dict[str, Any] = {"target": observation.target}
    if observation.reply is not None:
        details["reply"] = observation.reply
    outcome, reason = _judge(check, observation, details)
    return CheckResult(
        check=check.name,
        kind=check.kind,
        ok=outcome is Outcome.OK,
        outcome=outcome,
        reason=_truncate(reason, MAX_REASON_CHARS),
        observed_at=observation.observed_at,
        latency_ms=latency_ms,
        details=details,
    )


def _judge(check: RedisCheck, obs: RedisObservation, details: dict[str, Any]) -> tuple[Outcome, str]:
    where = f"Redis at {check.host}:{check.port}"
    if obs.failure is not None:
        details["failure"] = obs.failure.kind.value
        details["message"] = obs.failure.message
        outcome = _FAILURE_OUTCOMES.get(obs.failure.kind, Outcome.CONNECTION_ERROR)
        return outcome, f"{where} {_PHRASES[outcome]}: {obs.failure.message}"
    if obs.reply is None:
        return Outcome.PROBE_ERROR, f"{where}: the probe reported neither a reply nor a failure"
    if obs.reply != EXPECTED_REPLY:
        return Outcome.UNEXPECTED_REPLY, f"{where} answered PING with {obs.reply!r} instead of PONG"
    return Outcome.OK, f"{where} answered PING with PONG"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
