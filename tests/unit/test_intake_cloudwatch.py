"""CloudWatch alarm state changes through SNS, EventBridge and the alarm's Lambda action, read as alerts."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runbook.adapters.intake import Delivery, read_event
from runbook.models.alert import Alert

SAMPLES = Path(__file__).resolve().parents[1] / "events" / "intake"
FIXTURES = Path(__file__).resolve().parents[1] / "vendor" / "fixtures"  # scripts/vendor-shared
KEY = "cloudwatch/123456789012/us-east-1/api-5xx-rate"
LOAD_BALANCER = "app/api-prod/50dc6c495c0c9188"


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def delivery(event: Any) -> Delivery:
    results = read_event(event)
    assert len(results) == 1
    assert isinstance(results[0], Delivery), results[0]
    return results[0]


def alert_of(event: Any) -> Alert:
    (alert,) = delivery(event).alerts
    return alert


def sns_message(event: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = json.loads(event["Records"][0]["Sns"]["Message"])
    return message


def with_sns_message(event: dict[str, Any], message: dict[str, Any]) -> dict[str, Any]:
    changed = copy.deepcopy(event)
    changed["Records"][0]["Sns"]["Message"] = json.dumps(message)
    return changed


def test_single_metric_fixture_via_sns():
    read = delivery(fixture("sns-cloudwatch-alarm-single-metric.json"))
    (alert,) = read.alerts
    assert (read.delivery_id, read.format) == ("95df01b4-ee98-5cb9-9903-4c221d41eb5e", "cloudwatch-sns")
    # The fixture's ARN has placeholders: the 12-digit AWSAccountId wins over "ACCOUNT_NUMBER".
    assert alert.key == "cloudwatch/123456789012/REGION/EXAMPLE"
    assert (alert.status, alert.severity, alert.sev, alert.source) == (
        "firing",
        "critical",
        "SEV2",
        "cloudwatch",
    )
    assert (alert.check, alert.component) == ("EXAMPLE", "TestInstance")
    assert alert.labels == {
        "namespace": "AWS/EC2",
        "metric": "NetworkOut",
        "region": "REGION",
        "account": "123456789012",
        "dimension.InstanceId": "TestInstance",
    }
    trigger = alert.details["trigger"]
    assert (trigger["threshold"], trigger["comparison"], trigger["period"]) == (
        0.0,
        "GreaterThanThreshold",
        60,
    )
    assert trigger["treat_missing_data"] == "missing"
    assert alert.observed_at == datetime(2015, 6, 3, 17, 43, 27, 123000, tzinfo=UTC)
    assert alert.summary.startswith("ALARM: EXAMPLE: Threshold Crossed: 1 out of the last 1 datapoints")
    assert alert.links == {}  # "REGION" is no region code: no console link to build


def test_metric_math_fixture_via_sns():
    alert = alert_of(fixture("sns-cloudwatch-alarm-multiple-metrics.json"))
    trigger = alert.details["trigger"]
    assert trigger["expression"] == "m1*1"
    assert [m["id"] for m in trigger["metrics"]] == ["e1", "m1"]
    assert trigger["metrics"][1]["dimensions"] == {"InstanceId": "TestInstance"}
    assert (alert.component, alert.labels["metric"], alert.labels["dimension.InstanceId"]) == (
        "TestInstance",
        "NetworkOut",
        "TestInstance",
    )


def test_lambda_action_fixture():
    read = delivery(fixture("cloudwatch-alarm-lambda-action.json"))
    (alert,) = read.alerts
    assert read.format == "cloudwatch-lambda-action"
    assert read.delivery_id.startswith("cloudwatch-alarm:")
    # Account and region from the alarm ARN (the alarm's identity), the name from alarmData.
    assert alert.key == "cloudwatch/912397435824/eu-west-1/Test alert"
    assert alert.component == "AWS/Lambda"  # no dimensions: the namespace
    assert alert.details["trigger"]["expression"] == "m1/m2"
    assert alert.details["trigger"]["threshold"] == 10.0  # from state.reasonData
    assert alert.details["previous_state"] == "OK"
    assert alert.links["source"] == (
        "https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/Test%20alert"
    )
    assert alert.observed_at == datetime(2024, 2, 17, 11, 53, 8, 431000, tzinfo=UTC)


def test_one_alarm_has_one_key_through_sns_eventbridge_and_the_alarm_action():
    paths = ["sns-cloudwatch-alarm.json", "eventbridge-alarm-state-change.json", "alarm-action-alarm.json"]
    alerts = [alert_of(sample(name)) for name in paths]
    assert {a.key for a in alerts} == {KEY}
    assert {(a.status, a.observed_at) for a in alerts} == {
        ("firing", datetime(2026, 11, 27, 11, 58, 41, 522000, tzinfo=UTC))
    }
    assert all(a.labels == alerts[0].labels for a in alerts)
    assert alerts[0].labels["dimension.LoadBalancer"] == LOAD_BALANCER
    assert {a.component for a in alerts} == {LOAD_BALANCER}
    assert {a.summary for a in alerts} == {alerts[0].summary}


@pytest.mark.parametrize(
    ("name", "status", "severity", "sev"),
    [
        ("sns-cloudwatch-alarm.json", "firing", "critical", "SEV2"),
        ("sns-cloudwatch-ok.json", "resolved", "critical", "SEV2"),
        ("sns-cloudwatch-insufficient-data.json", "firing", "info", "SEV4"),
        ("alarm-action-alarm.json", "firing", "critical", "SEV2"),
        ("alarm-action-ok.json", "resolved", "critical", "SEV2"),
    ],
)
def test_states_map_to_status_and_severity_under_one_key(name, status, severity, sev):
    alert = alert_of(sample(name))
    assert (alert.key, alert.status, alert.severity, alert.sev) == (KEY, status, severity, sev)
    assert alert.summary.startswith(f"{alert.details['state']}: api-5xx-rate: ")


def test_ok_ending_insufficient_data_resolves_at_info():
    event = sample("sns-cloudwatch-ok.json")
    message = sns_message(event) | {"OldStateValue": "INSUFFICIENT_DATA"}
    alert = alert_of(with_sns_message(event, message))
    assert (alert.status, alert.severity, alert.sev) == ("resolved", "info", "SEV4")


def test_eventbridge_details_come_from_reason_data():
    alert = alert_of(sample("eventbridge-alarm-state-change.json"))
    trigger = alert.details["trigger"]
    assert trigger["threshold"] == 25.0
    assert trigger["statistic"] == "Sum"
    assert trigger["recent_datapoints"] == [12.0, 48.0, 61.0]
    assert alert.details["alarm_arn"] == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:api-5xx-rate"
    assert alert.details["description"] == "API 5xx responses from the load balancer's targets"


def test_without_an_alarm_arn_the_payload_fields_make_the_key():
    event = sample("sns-cloudwatch-alarm.json")
    message = sns_message(event) | {"Region": "eu-west-1"}
    del message["AlarmArn"]
    assert alert_of(with_sns_message(event, message)).key == "cloudwatch/123456789012/eu-west-1/api-5xx-rate"


def test_a_long_alarm_name_keeps_a_stable_key_of_200_characters():
    event = sample("sns-cloudwatch-alarm.json")
    names = ["a" * 250, "a" * 249 + "b"]
    keys = []
    for name in names:
        message = sns_message(event) | {
            "AlarmName": name,
            "AlarmArn": f"arn:aws:cloudwatch:us-east-1:1:alarm:{name}",
        }
        keys.append(alert_of(with_sns_message(event, message)).key)
    assert all(len(key) == 200 and key.startswith("cloudwatch/123456789012/us-east-1/aaa") for key in keys)
    assert keys[0] != keys[1]
    assert keys[0] == alert_of(with_sns_message(event, sns_message(event) | {"AlarmName": names[0]})).key


@pytest.mark.parametrize(
    ("arn", "link"),
    [
        (
            "arn:aws:cloudwatch:us-east-1:123456789012:alarm:x",
            "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1"
            "#alarmsV2:alarm/api%205xx%2Frate%20%231",
        ),
        (
            "arn:aws-cn:cloudwatch:cn-north-1:123456789012:alarm:x",
            "https://cn-north-1.console.amazonaws.cn/cloudwatch/home?region=cn-north-1"
            "#alarmsV2:alarm/api%205xx%2Frate%20%231",
        ),
    ],
)
def test_console_link_quotes_the_alarm_name(arn, link):
    event = sample("sns-cloudwatch-alarm.json")
    message = sns_message(event) | {"AlarmName": "api 5xx/rate #1", "AlarmArn": arn}
    assert alert_of(with_sns_message(event, message)).links == {"source": link}


def test_summary_is_one_line_cut_to_1024():
    event = sample("alarm-action-alarm.json")
    event["alarmData"]["state"]["reason"] = "datapoints\nwere high " * 400
    alert = alert_of(event)
    assert len(alert.summary) == 1024
    assert alert.summary.endswith("…")
    assert "\n" not in alert.summary
    assert alert.summary.startswith("ALARM: api-5xx-rate: datapoints were high")


def test_composite_alarm_without_metrics():
    event = sample("eventbridge-alarm-state-change.json")
    event["detail"]["configuration"] = {"alarmRule": "ALARM(api-5xx-rate) OR ALARM(api-latency)"}
    alert = alert_of(event)
    assert alert.component == "api-5xx-rate"
    assert alert.labels == {"region": "us-east-1", "account": "123456789012"}
    assert alert.details["alarm_rule"] == "ALARM(api-5xx-rate) OR ALARM(api-latency)"


def test_delivery_ids_of_the_three_paths():
    assert delivery(sample("eventbridge-alarm-state-change.json")).delivery_id == (
        "f1e2d3c4-b5a6-9788-6950-4a3b2c1d0e9f"
    )
    assert delivery(sample("sns-cloudwatch-ok.json")).delivery_id == "b7d2e9a0-3c4f-5e61-8a72-1f9c0d4e6b33"
    firing = delivery(sample("alarm-action-alarm.json")).delivery_id
    assert firing == delivery(sample("alarm-action-alarm.json")).delivery_id  # a redelivery: the same id
    assert firing != delivery(sample("alarm-action-ok.json")).delivery_id


def test_an_eventbridge_event_published_to_sns():
    event = sample("sns-cloudwatch-alarm.json")
    changed = copy.deepcopy(event)
    changed["Records"][0]["Sns"]["Message"] = json.dumps(sample("eventbridge-alarm-state-change.json"))
    read = delivery(changed)
    assert (read.delivery_id, read.format) == (
        "6a1f4c2e-58a3-5b0e-9c41-0d3e8f1b7a21",
        "cloudwatch-eventbridge",
    )
    assert read.alerts[0].key == KEY
