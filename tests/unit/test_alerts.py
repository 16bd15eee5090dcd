import json
from datetime import UTC, datetime

from runbook.models.alert import Alert
from runbook.models.config import HttpCheck
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState
from runbook.services.alerts import check_alert

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CHECK = HttpCheck.model_validate(
    {
        "name": "api-gateway-acme",
        "kind": "http",
        "component": "api-gateway",
        "url": "https://acme.api.example.com/healthz",
        "sev": "SEV1",
        "labels": {"tenant": "acme"},
        "runbook_url": "https://runbooks.example.com/api",
    }
)
FAILED = CheckResult(
    check=CHECK.name,
    kind="http",
    ok=False,
    outcome=Outcome.HTTP_STATUS,
    reason="answered 503, expected 200",
    observed_at=NOW,
    latency_ms=12.5,
    details={"status_code": 503},
)


def test_firing_and_resolved_share_one_stable_key():
    firing = check_alert(CHECK, FAILED, "down", CheckState(check=CHECK.name, status="up"))
    back = FAILED.model_copy(update={"ok": True, "outcome": Outcome.OK, "reason": "answered 200"})
    resolved = check_alert(CHECK, back, "up", CheckState(check=CHECK.name, status="down", changed_at=NOW))
    assert firing.key == resolved.key == "health-probe/api-gateway-acme"
    assert (firing.status, resolved.status) == ("firing", "resolved")
    assert "down since 2026-11-27 12:00" in resolved.summary
    assert resolved.details["down_since"] == NOW.isoformat()


def test_alert_message_carries_the_v1_contract_fields():
    message = check_alert(CHECK, FAILED, "down", CheckState(check=CHECK.name)).to_message()
    for field in (
        "schema",
        "key",
        "status",
        "severity",
        "sev",
        "summary",
        "source",
        "check",
        "component",
        "observed_at",
        "details",
    ):
        assert field in message
    assert message["schema"] == "runbook.alert/v1"
    assert message["severity"] == "critical"
    assert message["sev"] == "SEV1"
    assert message["component"] == "api-gateway"
    assert message["details"]["evidence"] == {"status_code": 503}
    assert message["links"] == {"runbook": "https://runbooks.example.com/api"}
    assert message["labels"] == {"tenant": "acme"}
    assert Alert.model_validate(json.loads(json.dumps(message))) is not None


def test_message_attributes_are_strings_for_filter_policies():
    alert = check_alert(CHECK, FAILED, "down", CheckState(check=CHECK.name))
    assert alert.message_attributes() == {
        "schema": "runbook.alert/v1",
        "status": "firing",
        "severity": "critical",
        "sev": "SEV1",
        "source": "health-probe",
        "check": "api-gateway-acme",
        "component": "api-gateway",
        "change": "down",
    }


def test_summary_is_cut_to_its_limit():
    long = FAILED.model_copy(update={"reason": "x" * 5000})
    alert = check_alert(CHECK, long, "down", CheckState(check=CHECK.name))
    assert len(alert.summary) == 1024


def test_a_level_change_fires_again_under_the_same_key_with_the_new_severity():
    open_warning = CheckState(check=CHECK.name, status="down", level="warning", changed_at=NOW)
    escalated = check_alert(CHECK, FAILED, "escalated", open_warning, level="critical")
    first = check_alert(CHECK, FAILED, "down", CheckState(check=CHECK.name), level="warning")
    assert escalated.key == first.key
    assert (escalated.status, escalated.severity) == ("firing", "critical")
    assert escalated.details["change"] == "escalated"
    assert escalated.details["previous_severity"] == "warning"
    assert "escalated from warning" in escalated.summary


def test_a_resolve_carries_the_severity_of_the_alert_it_closes():
    open_warning = CheckState(check=CHECK.name, status="down", level="warning", changed_at=NOW)
    back = FAILED.model_copy(update={"ok": True, "outcome": Outcome.OK, "reason": "at 12 %"})
    resolved = check_alert(CHECK, back, "up", open_warning)
    assert (resolved.status, resolved.severity, resolved.sev) == ("resolved", "warning", "SEV3")


def test_lower_levels_of_a_graded_check_never_open_a_customer_facing_incident():
    # CHECK is SEV1 at its own severity (critical): a warning is SEV3, info SEV4, critical stays SEV1.
    sevs = {
        level: check_alert(CHECK, FAILED, "down", CheckState(check=CHECK.name), level=level).sev
        for level in ("info", "warning", "critical")
    }
    assert sevs == {"info": "SEV4", "warning": "SEV3", "critical": "SEV1"}
    quiet = CHECK.model_copy(update={"sev": "SEV4"})
    assert check_alert(quiet, FAILED, "down", CheckState(check=CHECK.name), level="warning").sev == "SEV4"


def test_a_level_change_is_a_message_attribute_so_a_sev_filter_can_see_an_alert_leave_its_range():
    open_critical = CheckState(check=CHECK.name, status="down", level="critical", changed_at=NOW)
    lower = check_alert(CHECK, FAILED, "deescalated", open_critical, level="warning")
    assert lower.message_attributes()["change"] == "deescalated"
    assert lower.message_attributes()["sev"] == "SEV3"
