"""The HTTP condition on constructed observations: no sockets."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.models.config import HttpCheck
from runbook.models.observations import FailureKind, HttpObservation, ProbeFailure
from runbook.models.results import Outcome
from runbook.models.state import CheckState
from runbook.services.conditions.http import evaluate
from runbook.services.conditions.verdict import MAX_REASON_CHARS

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TARGET = "https://gw.example.com:443/healthz"
STATE = CheckState(check="gateway")


def make_check(**overrides: Any) -> HttpCheck:
    fields: dict[str, Any] = {"name": "gateway", "kind": "http", "url": "https://gw.example.com/healthz"}
    return HttpCheck.model_validate(fields | overrides)


def answered(**overrides: Any) -> HttpObservation:
    fields: dict[str, Any] = {
        "observed_at": NOW,
        "target": TARGET,
        "latency_s": 0.042,
        "status_code": 200,
        "body_text": '{"status":"ok"}',
        "body_json": {"status": "ok"},
        "body_is_json": True,
        "cert_not_after": NOW + timedelta(days=90),
    }
    return HttpObservation.model_validate(fields | overrides)


def failed(kind: FailureKind, message: str) -> HttpObservation:
    return HttpObservation(observed_at=NOW, target=TARGET, failure=ProbeFailure(kind=kind, message=message))


def test_runbook_gateway_expectations_pass_on_a_good_answer() -> None:
    check = make_check(expect={"status": [200], "json": {"status": "ok"}, "max_latency": "200ms"})

    result = evaluate(check, answered(), STATE)

    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.reason == f"{TARGET} answered HTTP 200 in 42 ms"
    assert result.latency_ms == 42.0
    assert result.observed_at == NOW
    assert (result.check, result.kind) == ("gateway", "http")
    assert result.details["status_code"] == 200
    assert result.details["cert_days_left"] == 90


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        (FailureKind.TIMEOUT, Outcome.TIMEOUT),
        (FailureKind.REFUSED, Outcome.CONNECTION_REFUSED),
        (FailureKind.CONNECTION, Outcome.CONNECTION_ERROR),
        (FailureKind.PROTOCOL, Outcome.CONNECTION_ERROR),
        (FailureKind.TLS, Outcome.TLS_ERROR),
        (FailureKind.OTHER, Outcome.PROBE_ERROR),
    ],
)
def test_a_probe_failure_decides_the_outcome_and_the_reason_quotes_it(
    kind: FailureKind, outcome: Outcome
) -> None:
    result = evaluate(make_check(), failed(kind, "something specific"), STATE)

    assert not result.ok
    assert result.outcome is outcome
    assert result.reason == f"{TARGET}: something specific"
    assert result.latency_ms is None
    assert result.details["failure"] == kind.value


def test_a_failure_wins_over_every_other_expectation() -> None:
    check = make_check(expect={"status": [204], "json": {"status": "ok"}, "max_latency": "1ms"})

    result = evaluate(
        check, failed(FailureKind.TLS, "TLS certificate rejected: certificate has expired"), STATE
    )

    assert result.outcome is Outcome.TLS_ERROR
    assert "certificate has expired" in result.reason


def test_a_status_outside_the_expected_ones_names_both() -> None:
    result = evaluate(make_check(), answered(status_code=500, body_json={"status": "error"}), STATE)

    assert result.outcome is Outcome.HTTP_STATUS
    assert result.reason == f"{TARGET} answered HTTP 500, expected 200"
    assert result.latency_ms == 42.0


def test_several_expected_statuses_are_listed() -> None:
    result = evaluate(make_check(expect={"status": [200, 204]}), answered(status_code=503), STATE)

    assert result.reason == f"{TARGET} answered HTTP 503, expected one of 200, 204"


def test_an_unfollowed_redirect_names_where_it_points() -> None:
    observation = answered(status_code=302, body_text="", body_json=None, body_is_json=False, location=LOGIN)

    result = evaluate(make_check(), observation, STATE)

    assert result.outcome is Outcome.HTTP_STATUS
    assert result.reason == f"{TARGET} answered HTTP 302 redirecting to {LOGIN}, expected 200"
    assert result.details["location"] == LOGIN


LOGIN = "https://sso.example.com:443/login"


def test_a_redirect_can_be_the_expected_answer() -> None:
    observation = answered(status_code=301, body_text="", body_json=None, body_is_json=False, location=LOGIN)

    assert evaluate(make_check(expect={"status": [301]}), observation, STATE).ok


def test_status_is_judged_before_the_body() -> None:
    check = make_check(expect={"json": {"status": "ok"}})

    result = evaluate(check, answered(status_code=500, body_json={"status": "error"}), STATE)

    assert result.outcome is Outcome.HTTP_STATUS


def test_a_wrong_json_value_names_the_field_and_both_values() -> None:
    check = make_check(expect={"json": {"status": "ok"}})

    result = evaluate(check, answered(body_json={"status": "degraded"}), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert result.reason == f'{TARGET} answered JSON field \'status\' = "degraded", expected "ok"'


def test_nested_objects_match_as_subsets() -> None:
    check = make_check(expect={"json": {"status": "ok", "checks": {"db": "up"}}})
    body = {"status": "ok", "version": "1.2.3", "checks": {"db": "up", "cache": "down"}}

    assert evaluate(check, answered(body_json=body), STATE).ok


def test_a_nested_mismatch_names_the_dotted_path() -> None:
    check = make_check(expect={"json": {"checks": {"db": "up"}}})

    result = evaluate(check, answered(body_json={"checks": {"db": "down"}}), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert '\'checks.db\' = "down", expected "up"' in result.reason


def test_a_missing_field_is_a_mismatch() -> None:
    check = make_check(expect={"json": {"checks": {"db": "up"}}})

    result = evaluate(check, answered(body_json={"checks": {}}), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert "without field 'checks.db'" in result.reason


@pytest.mark.parametrize(
    ("expected", "actual"),
    [
        ({"up": True}, {"up": 1}),
        ({"count": 1}, {"count": True}),
        ({"items": [1, 2]}, {"items": [1, 2, 3]}),
        ({"items": [{"a": 1}]}, {"items": [{"a": 1, "b": 2}]}),  # subsets apply to objects, not lists
        ({"checks": {"db": "up"}}, {"checks": "up"}),
    ],
)
def test_values_other_than_objects_must_be_equal_as_json(expected: Any, actual: Any) -> None:
    result = evaluate(make_check(expect={"json": expected}), answered(body_json=actual), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH


def test_equal_lists_and_numbers_match() -> None:
    check = make_check(expect={"json": {"items": [1, 2], "ratio": 0.5, "up": True}})

    assert evaluate(check, answered(body_json={"items": [1, 2], "ratio": 0.5, "up": True}), STATE).ok


def test_a_body_that_is_not_json_is_a_mismatch_when_fields_are_expected() -> None:
    check = make_check(expect={"json": {"status": "ok"}})
    observation = answered(body_text="<html>Service Unavailable</html>", body_json=None, body_is_json=False)

    result = evaluate(check, observation, STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert result.reason == f'{TARGET} answered a body that is not JSON: "<html>Service Unavailable</html>"'


def test_a_json_array_is_not_an_object_with_fields() -> None:
    check = make_check(expect={"json": {"status": "ok"}})

    result = evaluate(check, answered(body_json=["ok"]), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert "expected an object" in result.reason


def test_a_truncated_body_cannot_satisfy_json_fields() -> None:
    check = make_check(expect={"json": {"status": "ok"}})
    observation = answered(body_text="{" * 100, body_json=None, body_is_json=False, body_truncated=True)

    result = evaluate(check, observation, STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert "too large" in result.reason


def test_long_values_are_cut_in_the_reason() -> None:
    check = make_check(expect={"json": {"status": "ok"}})

    result = evaluate(check, answered(body_json={"status": "x" * 5000}), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert "x" * 99 not in result.reason
    assert "…" in result.reason
    assert len(result.reason) < len(TARGET) + 200


def test_the_reason_is_bounded_even_for_long_failure_messages() -> None:
    result = evaluate(make_check(), failed(FailureKind.CONNECTION, "boom " * 500), STATE)

    assert len(result.reason) == MAX_REASON_CHARS


def test_body_contains_passes_and_fails() -> None:
    check = make_check(expect={"body_contains": '"status":"ok"'})

    assert evaluate(check, answered(), STATE).ok
    result = evaluate(check, answered(body_text='{"status":"down"}'), STATE)
    assert result.outcome is Outcome.BODY_MISMATCH
    assert "without" in result.reason
    assert '\\"status\\":\\"ok\\"' in result.reason


def test_a_missing_text_in_a_truncated_body_says_how_much_was_read() -> None:
    check = make_check(expect={"body_contains": "ready"})
    observation = answered(body_text="x" * 2048, body_json=None, body_is_json=False, body_truncated=True)

    result = evaluate(check, observation, STATE)

    assert result.outcome is Outcome.BODY_MISMATCH
    assert "first 2048 characters" in result.reason


def test_the_body_is_judged_before_latency() -> None:
    check = make_check(expect={"json": {"status": "ok"}, "max_latency": "200ms"})

    result = evaluate(check, answered(latency_s=0.9, body_json={"status": "down"}), STATE)

    assert result.outcome is Outcome.BODY_MISMATCH


def test_a_slow_answer_names_its_latency_and_the_limit() -> None:
    check = make_check(expect={"max_latency": "200ms"})

    result = evaluate(check, answered(latency_s=0.312), STATE)

    assert result.outcome is Outcome.TOO_SLOW
    assert result.reason == f"{TARGET} answered in 312 ms, limit 200 ms"
    assert result.latency_ms == 312.0
    assert result.details["max_latency_ms"] == 200


def test_an_answer_at_the_limit_is_not_too_slow() -> None:
    check = make_check(expect={"max_latency": "200ms"})

    assert evaluate(check, answered(latency_s=0.2), STATE).ok


def test_latency_is_judged_before_the_certificate() -> None:
    check = make_check(expect={"max_latency": "200ms"})

    result = evaluate(check, answered(latency_s=0.5, cert_not_after=NOW + timedelta(days=1)), STATE)

    assert result.outcome is Outcome.TOO_SLOW


def test_a_certificate_expiring_soon_names_the_days_left() -> None:
    observation = answered(cert_not_after=NOW + timedelta(days=5, hours=3))

    result = evaluate(make_check(tls={"min_days_to_expiry": 14}), observation, STATE)

    assert result.outcome is Outcome.TLS_EXPIRING
    assert "expires in 5 days" in result.reason
    assert "2026-12-02" in result.reason
    assert "limit 14 days" in result.reason
    assert result.details["cert_days_left"] == 5


def test_a_certificate_expiring_within_hours_says_so() -> None:
    observation = answered(cert_not_after=NOW + timedelta(hours=3))

    result = evaluate(make_check(), observation, STATE)

    assert result.outcome is Outcome.TLS_EXPIRING
    assert "less than a day" in result.reason


def test_a_certificate_beyond_the_limit_is_fine() -> None:
    observation = answered(cert_not_after=NOW + timedelta(days=15))

    assert evaluate(make_check(tls={"min_days_to_expiry": 14}), observation, STATE).ok


def test_zero_days_disables_the_expiry_check() -> None:
    observation = answered(cert_not_after=NOW + timedelta(days=1))

    result = evaluate(make_check(tls={"min_days_to_expiry": 0}), observation, STATE)

    assert result.ok
    assert result.details["cert_days_left"] == 1


def test_plain_http_has_no_certificate_to_judge() -> None:
    check = make_check(url="http://gw.example.com/healthz", tls={"min_days_to_expiry": 3650})

    result = evaluate(check, answered(cert_not_after=None), STATE)

    assert result.ok
    assert "cert_days_left" not in result.details
