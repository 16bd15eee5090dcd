"""AlertsTopic against SNS (moto): messages and filterable attributes as subscribers receive them."""

from datetime import UTC, datetime

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.models.alert import Alert

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def alert(i: int, status: str = "firing") -> Alert:
    return Alert(
        key=f"health-probe/c{i}",
        status=status,
        severity="critical",
        sev="SEV1",
        summary=f"c{i} is DOWN",
        source="health-probe",
        check=f"c{i}",
        component="api",
        observed_at=NOW,
    )


def test_publishes_every_alert_with_attributes_in_batches(aws):
    alerts = [alert(i) for i in range(23)]
    assert AlertsTopic(aws.sns, aws.topic_arn).publish(alerts) == []
    received = aws.published()
    assert sorted(a.key for a, _ in received) == sorted(a.key for a in alerts)
    _, attributes = received[0]
    assert attributes["schema"] == "runbook.alert/v1"
    assert attributes["sev"] == "SEV1"
    assert attributes["status"] == "firing"


def test_a_topic_that_does_not_exist_returns_every_alert_as_failed(aws):
    missing = aws.topic_arn + "-gone"
    failed = AlertsTopic(aws.sns, missing).publish([alert(1), alert(2, "resolved")])
    assert [a.key for a, _ in failed] == ["health-probe/c1", "health-probe/c2"]
    assert all("NotFound" in reason for _, reason in failed)
