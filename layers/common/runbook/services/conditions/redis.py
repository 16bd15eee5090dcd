"""Judges one Redis observation (runbook: PING is answered with PONG).

Pure: no I/O and no redis-py, so every verdict is tested on constructed observations.
"""

from typing import Any

from runbook.models.config import RedisCheck
from runbook.models.observations import FailureKind, RedisObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.verdict import FAILURE_OUTCOMES, check_result, phrased_failure

EXPECTED_REPLY = "PONG"

# The failures this condition names, with their plain meaning; any other kind is a CONNECTION_ERROR.
_REDIS_FAILURES = (
    FailureKind.TIMEOUT,
    FailureKind.REFUSED,
    FailureKind.AUTH,
    FailureKind.LOADING,
    FailureKind.TLS,
    FailureKind.PROTOCOL,
)
_FAILURE_OUTCOMES = {kind: FAILURE_OUTCOMES[kind] for kind in _REDIS_FAILURES}
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
    details: dict[str, Any] = {"target": observation.target}
    if observation.reply is not None:
        details["reply"] = observation.reply
    outcome, reason = _judge(check, observation, details)
    return check_result(check, observation, outcome, reason, details)


def _judge(check: RedisCheck, obs: RedisObservation, details: dict[str, Any]) -> tuple[Outcome, str]:
    where = f"Redis at {check.host}:{check.port}"
    if obs.failure is not None:
        return phrased_failure(where, obs.failure, _FAILURE_OUTCOMES, _PHRASES, details)
    if obs.reply is None:
        return Outcome.PROBE_ERROR, f"{where}: the probe reported neither a reply nor a failure"
    if obs.reply != EXPECTED_REPLY:
        return Outcome.UNEXPECTED_REPLY, f"{where} answered PING with {obs.reply!r} instead of PONG"
    return Outcome.OK, f"{where} answered PING with PONG"
