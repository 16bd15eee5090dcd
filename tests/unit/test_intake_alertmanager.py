"""Alertmanager groups (webhook v4, SNS toJson, SNS default text) read as one alert per alert."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runbook.adapters.intake import Delivery, Rejected, read_event
from runbook.adapters.intake.alertmanager import fingerprint
from runbook.models.alert import Alert

SAMPLES = Path(__file__).resolve().parents[1] / "events" / "intake"
GROUP_KEY = '{}/{}:{alertname="HighLatency", service="api"}'


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def delivery(event: Any) -> Delivery:
    results = read_event(event)
    assert len(results) == 1
    assert isinstance(results[0], Delivery), results[0]
    return results[0]


def alerts_of(event: Any) -> list[Alert]:
    return delivery(event).alerts


def webhook_alert(**changes: Any) -> dict[str, Any]:
    alert: dict[str, Any] = copy.deepcopy(sample("alertmanager-webhook.json")["alerts"][0])
    alert.update(changes)
    return alert


def webhook(*alerts: object) -> dict[str, Any]:
    event: dict[str, Any] = sample("alertmanager-webhook.json")
    event["alerts"] = list(alerts)
    return event


def text_event(message: str) -> dict[str, Any]:
    event: dict[str, Any] = sample("sns-alertmanager-text-firing.json")
    event["Records"][0]["Sns"]["Message"] = message
    return event


@pytest.mark.parametrize(
    ("labels", "expected"),
    [  # prometheus/common model/signature_test.go
        ({}, 14695981039346656037),
        ({"name": "garland, briggs", "fear": "love is not enough"}, 5799056148416392346),
        ({"first-label": "first-label-value"}, 5146282821936882169),
        (
            {
                "first-label": "first-label-value",
                "second-label": "second-label-value",
                "third-label": "third-label-value",
            },
            13843036195897128121,
        ),
    ],
)
def test_fingerprint_is_alertmanagers(labels, expected):
    assert fingerprint(labels) == f"{expected:016x}"


def test_webhook_group_of_three_alerts():
    event = sample("alertmanager-webhook.json")
    read = delivery(event)
    assert read.format == "alertmanager-webhook"
    assert read.delivery_id.startswith(GROUP_KEY + "#")
    assert [a.status for a in read.alerts] == ["firing", "firing", "resolved"]
    assert [a.key for a in read.alerts] == [f"alertmanager/{a['fingerprint']}" for a in event["alerts"]]
    assert [a.observed_at for a in read.alerts] == [
        datetime(2026, 11, 27, 11, 52, 30, 123000, tzinfo=UTC),  # startsAt
        datetime(2026, 11, 27, 11, 53, 0, 123000, tzinfo=UTC),
        datetime(2026, 11, 27, 11, 57, 0, 456000, tzinfo=UTC),  # endsAt of the resolved one
    ]
    first = read.alerts[0]
    assert (first.source, first.check, first.component, first.severity, first.sev) == (
        "alertmanager",
        "HighLatency",
        "api",
        "critical",
        "SEV2",
    )
    assert first.labels == event["alerts"][0]["labels"]
    assert first.summary == "HighLatency on api (critical): p99 latency above 500 ms"
    assert read.alerts[2].summary == "RESOLVED: HighLatency on api (critical): p99 latency above 500 ms"
    assert first.links == {
        "runbook": "https://runbooks.example.com/api/high-latency",
        "dashboard": "https://grafana.example.com/d/api-latency/api-latency",
        "source": event["alerts"][0]["generatorURL"],
    }
    assert first.details["reason"] == "p99 latency is 730 ms on 10.0.1.12:8080 (threshold 500 ms)"
    assert (first.details["receiver"], first.details["group_key"]) == ("runbook-sns", GROUP_KEY)
    assert "ends_at" not in first.details  # Go's zero time is no end


def test_one_group_has_the_same_keys_in_every_shape():
    webhook_keys = [a.key for a in alerts_of(sample("alertmanager-webhook.json"))]
    read = delivery(sample("sns-alertmanager-json.json"))
    assert (read.format, read.delivery_id) == (
        "alertmanager-sns-json",
        "0f6b5a1c-9e2d-5b7a-8c3e-4d1f2a6b9c55",
    )
    assert [a.key for a in read.alerts] == webhook_keys
    firing = delivery(sample("sns-alertmanager-text-firing.json"))
    resolved = alerts_of(sample("sns-alertmanager-text-resolved.json"))
    assert firing.format == "alertmanager-sns-text"
    assert [a.key for a in firing.alerts] == [a.key for a in resolved] == webhook_keys[:2]
    assert [a.status for a in firing.alerts + resolved] == ["firing", "firing", "resolved", "resolved"]


def test_default_text_template_is_read_back():
    event = sample("sns-alertmanager-text-firing.json")
    from_text = alerts_of(event)
    from_json = alerts_of(sample("alertmanager-webhook.json"))[:2]
    for text_alert, json_alert in zip(from_text, from_json, strict=True):
        assert text_alert.labels == json_alert.labels
        assert text_alert.details["annotations"] == json_alert.details["annotations"]
        assert text_alert.links == json_alert.links
        assert text_alert.summary == json_alert.summary
    # No times in the text: the SNS Timestamp dates the alerts.
    assert {a.observed_at for a in from_text} == {datetime(2026, 11, 27, 11, 53, 31, 877000, tzinfo=UTC)}
    assert from_text[0].details["subject"] == "[FIRING:2] HighLatency api (critical)"


def test_text_keeps_a_multi_line_annotation():
    message = (
        "\n\nAlerts Firing:\nLabels:\n - alertname = DiskFull\n - instance = db-1\nAnnotations:\n"
        " - description = disk is 97% full\n   on /var/lib/postgresql\n - summary = disk almost full\n"
        "Source: http://prometheus:9090/graph\n\n\n"
    )
    (alert,) = alerts_of(text_event(message))
    assert alert.details["annotations"] == {
        "description": "disk is 97% full\n   on /var/lib/postgresql",
        "summary": "disk almost full",
    }
    assert (alert.component, alert.severity, alert.key) == (
        "db-1",
        "warning",
        f"alertmanager/{fingerprint({'alertname': 'DiskFull', 'instance': 'db-1'})}",
    )


@pytest.mark.parametrize(
    ("label", "severity", "sev"),
    [
        ("critical", "critical", "SEV2"),
        ("page", "critical", "SEV2"),
        ("ERROR", "critical", "SEV2"),
        (" high ", "critical", "SEV2"),
        ("warning", "warning", "SEV3"),
        ("warn", "warning", "SEV3"),
        ("medium", "warning", "SEV3"),
        ("info", "info", "SEV4"),
        ("low", "info", "SEV4"),
        ("none", "info", "SEV4"),
        ("informational", "info", "SEV4"),
        ("whatever", "warning", "SEV3"),
        (None, "warning", "SEV3"),
    ],
)
def test_severity_label(label, severity, sev):
    labels = {"alertname": "HighLatency", "service": "api"} | ({"severity": label} if label else {})
    (alert,) = alerts_of(webhook(webhook_alert(labels=labels)))
    assert (alert.severity, alert.sev) == (severity, sev)


@pytest.mark.parametrize(
    ("labels", "component"),
    [
        ({"service": "api", "job": "api-job", "instance": "10.0.0.1:80"}, "api"),
        ({"job": "api-job", "instance": "10.0.0.1:80"}, "api-job"),
        ({"instance": "10.0.0.1:80"}, "10.0.0.1:80"),
        ({}, "HighLatency"),
    ],
)
def test_component_is_service_job_or_instance(labels, component):
    (alert,) = alerts_of(webhook(webhook_alert(labels={"alertname": "HighLatency"} | labels)))
    assert alert.component == component


def test_summary_cut_to_1024_and_one_line():
    alert = webhook_alert(annotations={"summary": "slow\nrequests " * 300})
    (read,) = alerts_of(webhook(alert))
    assert len(read.summary) == 1024
    assert read.summary.startswith("HighLatency on api (critical): slow requests slow")
    assert "\n" not in read.summary


def test_without_fingerprint_the_key_is_computed_from_the_labels():
    given = webhook_alert()
    computed = webhook_alert()
    del computed["fingerprint"]
    assert alerts_of(webhook(given))[0].key == alerts_of(webhook(computed))[0].key


def test_only_http_links():
    alert = webhook_alert(
        annotations={"runbook_url": "javascript:alert(1)", "grafana": "https://grafana.example.com/d/x"},
        generatorURL="",
    )
    (read,) = alerts_of(webhook(alert))
    assert read.links == {"dashboard": "https://grafana.example.com/d/x"}


@pytest.mark.parametrize(
    ("changes", "observed"),
    [
        ({"status": "resolved", "endsAt": "0001-01-01T00:00:00Z"}, "startsAt"),  # resolved without an end
        ({"status": "resolved", "endsAt": "2026-11-27T13:00:00+01:00"}, "2026-11-27T12:00:00+00:00"),
        ({"startsAt": "2026-11-27T12:00:00.123456789Z"}, "2026-11-27T12:00:00.123456+00:00"),
    ],
)
def test_observed_at(changes, observed):
    alert = webhook_alert(**changes)
    (read,) = alerts_of(webhook(alert))
    expected = alert["startsAt"] if observed == "startsAt" else observed
    assert read.observed_at == datetime.fromisoformat(expected)
    assert read.observed_at.tzinfo == UTC


def test_sns_json_without_times_is_dated_by_the_sns_timestamp():
    event = sample("sns-alertmanager-json.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    for alert in message["alerts"]:
        del alert["startsAt"], alert["endsAt"], alert["fingerprint"]
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    alerts = alerts_of(event)
    assert {a.observed_at for a in alerts} == {datetime(2026, 11, 27, 11, 58, 45, 201000, tzinfo=UTC)}


def test_unreadable_alerts_are_rejected_and_the_rest_delivered():
    bad_labels = webhook_alert(labels={})
    no_time = webhook_alert(startsAt=None)
    bad_status = webhook_alert(status="pending")
    results = read_event(webhook(webhook_alert(), bad_labels, "secret-text", no_time, bad_status))
    assert [type(r) for r in results] == [Delivery, Rejected]
    good, rejected = results
    assert isinstance(good, Delivery)
    assert isinstance(rejected, Rejected)
    assert len(good.alerts) == 1
    assert rejected.delivery_id == good.delivery_id
    assert rejected.body is None  # not from SNS
    assert rejected.reason.startswith(
        "4 of 5 Alertmanager alerts unreadable: alerts[1]: labels missing or empty"
    )
    for part in ("alerts[2]: a JSON string", "alerts[3]: no startsAt", "alerts[4]: status is neither"):
        assert part in rejected.reason
    assert "secret-text" not in rejected.reason


def test_at_most_1000_alerts_per_group():
    alerts = [webhook_alert(labels={"alertname": "A", "n": str(n)}, fingerprint=None) for n in range(1001)]
    results = read_event(webhook(*alerts))
    assert [type(r) for r in results] == [Delivery, Rejected]
    read, rest = results
    assert isinstance(read, Delivery)
    assert isinstance(rest, Rejected)
    assert len(read.alerts) == 1000
    assert len({a.key for a in read.alerts}) == 1000
    assert rest.reason == "1 Alertmanager alerts beyond the limit of 1000 per group, not read"


def test_webhook_delivery_id_follows_the_alerts_state():
    event = sample("alertmanager-webhook.json")
    same = delivery(sample("alertmanager-webhook.json")).delivery_id
    assert delivery(event).delivery_id == same
    event["alerts"][0]["status"] = "resolved"
    assert delivery(event).delivery_id != same
    event["groupKey"] = "{}:" + "x" * 300
    long_key = delivery(event).delivery_id
    assert long_key.startswith("alertmanager-group:")
    assert len(long_key) < 80
