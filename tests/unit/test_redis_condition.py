"""The Redis condition on constructed observations (no sockets)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from runbook.models.config import RedisCheck
from runbook.models.observations import FailureKind, ProbeFailure, RedisObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.redis import evaluate
from runbook.services.conditions.verdict import MAX_REASON_CHARS

AT = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
WHERE = "Redis at cache:6379"


def make_check(**overrides: Any) -> RedisCheck:
    fields: dict[str, Any] = {"kind": "redis", "name": "cache", "host": "cache"}
    fields.update(overrides)
    return RedisCheck.model_validate(fields)


def make_observation(**overrides: Any) -> RedisObservation:
    fields: dict[str, Any] = {"observed_at": AT, "latency_s": 0.0021, "target": "redis://cache:6379/0"}
    fields.update(overrides)
    return RedisObservation(**fields)


def failed(kind: FailureKind, message: str) -> RedisObservation:
    return make_observation(failure=ProbeFailure(kind=kind, message=message))


def judge(observation: RedisObservation, check: RedisCheck | None = None) -> CheckResult:
    check = check or make_check()
    return evaluate(check, observation, CheckState(check=check.name))


def test_pong() -> None:
    result = judge(make_observation(reply="PONG"))
    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.reason == f"{WHERE} answered PING with PONG"
    assert result.check == "cache"
    assert result.kind == "redis"
    assert result.observed_at == AT
    assert result.latency_ms == 2.1
    assert result.details == {"target": "redis://cache:6379/0", "reply": "PONG"}


@pytest.mark.parametrize("reply", ["pong", "OK", "", "PONG "])
def test_anything_but_pong_is_an_unexpected_reply(reply: str) -> None:
    result = judge(make_observation(reply=reply))
    assert not result.ok
    assert result.outcome is Outcome.UNEXPECTED_REPLY
    assert result.reason == f"{WHERE} answered PING with {reply!r} instead of PONG"
    assert result.details["reply"] == reply


@pytest.mark.parametrize(
    ("kind", "message", "outcome", "reason"),
    [
        (
            FailureKind.REFUSED,
            "Error 111 connecting to cache:6379. Connection refused.",
            Outcome.CONNECTION_REFUSED,
            f"{WHERE} refused the connection: Error 111 connecting to cache:6379. Connection refused.",
        ),
        (
            FailureKind.TIMEOUT,
            "no answer within 5s",
            Outcome.TIMEOUT,
            f"{WHERE} timed out: no answer within 5s",
        ),
        (
            FailureKind.AUTH,
            "invalid username-password pair or user is disabled.",
            Outcome.AUTH_FAILED,
            f"{WHERE} rejected the probe's credentials: invalid username-password pair or user is disabled.",
        ),
        (
            FailureKind.LOADING,
            "Redis is loading the dataset in memory",
            Outcome.LOADING,
            f"{WHERE} is loading its dataset and not serving commands yet: "
            "Redis is loading the dataset in memory",
        ),
        (
            FailureKind.TLS,
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
            Outcome.TLS_ERROR,
            f"{WHERE} could not be reached over TLS: "
            "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed",
        ),
        (
            FailureKind.PROTOCOL,
            "Protocol Error: b'HTTP/1.1 400 Bad Request'",
            Outcome.UNEXPECTED_REPLY,
            f"{WHERE} did not answer PING with PONG: Protocol Error: b'HTTP/1.1 400 Bad Request'",
        ),
        (
            FailureKind.CONNECTION,
            "Connection closed by server.",
            Outcome.CONNECTION_ERROR,
            f"{WHERE} could not be reached: Connection closed by server.",
        ),
    ],
)
def test_failures(kind: FailureKind, message: str, outcome: Outcome, reason: str) -> None:
    result = judge(failed(kind, message))
    assert not result.ok
    assert result.outcome is outcome
    assert result.reason == reason
    assert result.details["failure"] == kind.value
    assert result.details["message"] == message
    assert "reply" not in result.details


@pytest.mark.parametrize("kind", list(FailureKind))
def test_every_failure_kind_is_a_failed_result_with_a_reason(kind: FailureKind) -> None:
    result = judge(failed(kind, "something went wrong"))
    assert not result.ok
    assert result.outcome not in (Outcome.OK, Outcome.SKIPPED)
    assert result.reason.startswith(WHERE)
    assert result.reason.endswith(": something went wrong")


def test_a_failure_wins_over_a_reply() -> None:
    result = judge(
        make_observation(reply="PONG", failure=ProbeFailure(kind=FailureKind.TIMEOUT, message="late"))
    )
    assert result.outcome is Outcome.TIMEOUT


def test_neither_reply_nor_failure_is_a_probe_error() -> None:
    result = judge(make_observation())
    assert result.outcome is Outcome.PROBE_ERROR
    assert not result.ok


def test_the_reason_names_the_checked_port() -> None:
    result = judge(make_observation(reply="PONG"), make_check(port=6380))
    assert result.reason.startswith("Redis at cache:6380 ")


def test_long_replies_are_truncated_in_the_reason() -> None:
    result = judge(make_observation(reply="x" * 1000))
    assert len(result.reason) == MAX_REASON_CHARS
    assert result.reason.endswith("…")
