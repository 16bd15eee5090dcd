"""The PostgreSQL condition on constructed observations (no sockets)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from runbook.models.config import PostgresCheck
from runbook.models.observations import FailureKind, PostgresObservation, ProbeFailure
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.postgres import evaluate
from runbook.services.conditions.verdict import MAX_REASON_CHARS

AT = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
WHERE = "PostgreSQL at db:5432"


def make_check(**overrides: Any) -> PostgresCheck:
    fields: dict[str, Any] = {"kind": "postgres", "name": "main-db", "host": "db", "user": "probe"}
    fields.update(overrides)
    return PostgresCheck.model_validate(fields)


def make_observation(**overrides: Any) -> PostgresObservation:
    fields: dict[str, Any] = {
        "observed_at": AT,
        "latency_s": 0.01234,
        "target": "db:5432/postgres",
        "server_state": "accepting",
        "server_version": "16.4",
    }
    fields.update(overrides)
    return PostgresObservation(**fields)


def failed(kind: FailureKind, message: str, state: str = "no_response") -> PostgresObservation:
    return make_observation(
        server_state=state, server_version=None, failure=ProbeFailure(kind=kind, message=message)
    )


def judge(observation: PostgresObservation, check: PostgresCheck | None = None) -> CheckResult:
    check = check or make_check()
    return evaluate(check, observation, CheckState(check=check.name))


def test_accepting() -> None:
    result = judge(make_observation())
    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.reason == f"{WHERE} is accepting connections (PostgreSQL 16.4)"
    assert result.check == "main-db"
    assert result.kind == "postgres"
    assert result.observed_at == AT
    assert result.latency_ms == 12.3
    assert result.details == {
        "target": "db:5432/postgres",
        "server_state": "accepting",
        "server_version": "16.4",
    }


def test_accepting_and_query_ran() -> None:
    result = judge(make_observation(query_ran=True), make_check(query="select 1"))
    assert result.outcome is Outcome.OK
    assert result.reason == f"{WHERE} is accepting connections (PostgreSQL 16.4); the check query ran"
    assert result.details["query_ran"] is True


def test_the_reason_names_the_checked_port() -> None:
    result = judge(make_observation(target="db:6432/postgres"), make_check(port=6432))
    assert result.reason.startswith("PostgreSQL at db:6432 ")


@pytest.mark.parametrize(
    ("kind", "message", "state", "outcome", "reason"),
    [
        (
            FailureKind.REJECTING,
            "the database system is starting up (57P03)",
            "rejecting",
            Outcome.REJECTING,
            f"{WHERE} is not accepting connections: the database system is starting up (57P03)",
        ),
        (
            FailureKind.REJECTING,
            "sorry, too many clients already (53300)",
            "rejecting",
            Outcome.REJECTING,
            f"{WHERE} is not accepting connections: sorry, too many clients already (53300)",
        ),
        (
            FailureKind.REFUSED,
            "connection refused",
            "no_response",
            Outcome.NO_RESPONSE,
            f"{WHERE} is not responding: connection refused",
        ),
        (
            FailureKind.CONNECTION,
            "cannot resolve 'db': Name or service not known",
            "no_response",
            Outcome.NO_RESPONSE,
            f"{WHERE} is not responding: cannot resolve 'db': Name or service not known",
        ),
        (
            FailureKind.TIMEOUT,
            "no answer within 5s while starting the session",
            "no_response",
            Outcome.TIMEOUT,
            f"{WHERE} timed out: no answer within 5s while starting the session",
        ),
        (
            FailureKind.AUTH,
            'password authentication failed for user "probe" (28P01)',
            "accepting",
            Outcome.BAD_CREDENTIALS,
            f"{WHERE} rejected the probe's credentials: "
            'password authentication failed for user "probe" (28P01)',
        ),
        (
            FailureKind.QUERY,
            'relation "jobs" does not exist (42P01)',
            "accepting",
            Outcome.QUERY_FAILED,
            f'{WHERE} accepts connections but the check query failed: relation "jobs" does not exist (42P01)',
        ),
        (
            FailureKind.TLS,
            "the server does not offer TLS, but sslmode is require",
            "no_response",
            Outcome.TLS_ERROR,
            f"{WHERE} could not be reached over TLS: the server does not offer TLS, but sslmode is require",
        ),
        (
            FailureKind.OTHER,
            'database "nope" does not exist (3D000)',
            "accepting",
            Outcome.CONNECTION_ERROR,
            f"{WHERE} answered but the probe could not start a session: "
            'database "nope" does not exist (3D000)',
        ),
    ],
)
def test_failures(kind: FailureKind, message: str, state: str, outcome: Outcome, reason: str) -> None:
    result = judge(failed(kind, message, state))
    assert not result.ok
    assert result.outcome is outcome
    assert result.reason == reason
    assert result.details["failure"] == kind.value
    assert result.details["message"] == message
    assert result.details["server_state"] == state


@pytest.mark.parametrize("kind", list(FailureKind))
def test_every_failure_kind_is_a_failed_result_with_a_reason(kind: FailureKind) -> None:
    result = judge(failed(kind, "something went wrong"))
    assert not result.ok
    assert result.outcome not in (Outcome.OK, Outcome.SKIPPED)
    assert result.reason.startswith(WHERE)
    assert result.reason.endswith(": something went wrong")


def test_a_query_that_did_not_run_without_a_failure_is_a_probe_error() -> None:
    result = judge(make_observation(query_ran=False), make_check(query="select 1"))
    assert result.outcome is Outcome.PROBE_ERROR
    assert not result.ok


def test_not_accepting_without_a_failure_is_a_probe_error() -> None:
    result = judge(make_observation(server_state="no_response"))
    assert result.outcome is Outcome.PROBE_ERROR


def test_long_messages_are_truncated() -> None:
    result = judge(failed(FailureKind.QUERY, "x" * 1000, "accepting"))
    assert len(result.reason) == MAX_REASON_CHARS
    assert result.reason.endswith("…")


def test_no_latency_when_the_probe_measured_none() -> None:
    result = judge(make_observation(latency_s=None))
    assert result.latency_ms is None
