"""Judges one PostgreSQL observation (runbook: `pg_isready` says "accepting connections").

Pure: no I/O and no psycopg, so every verdict is tested on constructed observations. The outcomes are
pg_isready's vocabulary (accepting / rejecting / no response) plus what it cannot tell: bad credentials,
a failing check query, TLS trouble.
"""

from typing import Any

from runbook.models.config import PostgresCheck
from runbook.models.observations import FailureKind, PostgresObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.verdict import check_result, phrased_failure

_FAILURE_OUTCOMES = {
    FailureKind.TIMEOUT: Outcome.TIMEOUT,
    FailureKind.REFUSED: Outcome.NO_RESPONSE,
    FailureKind.CONNECTION: Outcome.NO_RESPONSE,  # unreachable, unknown host, closed before answering
    FailureKind.REJECTING: Outcome.REJECTING,
    FailureKind.AUTH: Outcome.BAD_CREDENTIALS,
    FailureKind.QUERY: Outcome.QUERY_FAILED,
    FailureKind.TLS: Outcome.TLS_ERROR,
}
# How each outcome reads after "PostgreSQL at host:port"; the probe's message follows.
_PHRASES = {
    Outcome.TIMEOUT: "timed out",
    Outcome.NO_RESPONSE: "is not responding",
    Outcome.REJECTING: "is not accepting connections",
    Outcome.BAD_CREDENTIALS: "rejected the probe's credentials",
    Outcome.QUERY_FAILED: "accepts connections but the check query failed",
    Outcome.TLS_ERROR: "could not be reached over TLS",
    Outcome.CONNECTION_ERROR: "answered but the probe could not start a session",
}


def evaluate(check: PostgresCheck, observation: PostgresObservation, state: CheckState) -> CheckResult:
    """`state` is unused: this verdict depends on this observation alone (streaks are judged elsewhere)."""
    details: dict[str, Any] = {"target": observation.target, "server_state": observation.server_state}
    if observation.server_version is not None:
        details["server_version"] = observation.server_version
    if check.query is not None:
        details["query_ran"] = observation.query_ran
    outcome, reason = _judge(check, observation, details)
    return check_result(check, observation, outcome, reason, details)


def _judge(check: PostgresCheck, obs: PostgresObservation, details: dict[str, Any]) -> tuple[Outcome, str]:
    where = f"PostgreSQL at {check.host}:{check.port}"
    if obs.failure is not None:
        # Any other kind means the server answered something the probe could not use (3D000, ...).
        return phrased_failure(where, obs.failure, _FAILURE_OUTCOMES, _PHRASES, details)
    if obs.server_state != "accepting":
        return Outcome.PROBE_ERROR, f"{where}: the probe reported {obs.server_state!r} without saying why"
    if check.query is not None and not obs.query_ran:
        return Outcome.PROBE_ERROR, f"{where}: the probe reported neither the query's result nor a failure"
    version = f" (PostgreSQL {obs.server_version})" if obs.server_version else ""
    ran = "; the check query ran" if check.query is not None else ""
    return Outcome.OK, f"{where} is accepting connections{version}{ran}"
