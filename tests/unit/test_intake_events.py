"""read_event: SNS records, the project's own alerts, safe reasons for rejects, bounds, never an exception."""

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runbook.adapters.intake import MAX_RECORDS, Delivery, Rejected, cloudwatch, read_event
from runbook.models.alert import Alert

SAMPLES = Path(__file__).resolve().parents[1] / "events" / "intake"
SECRET = "hunter2-do-not-log"  # in every malformed sample record


def sample(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


def records(name: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = sample(name)["Records"]
    return found


def rejected(result: Delivery | Rejected) -> Rejected:
    assert isinstance(result, Rejected), result
    return result


def test_runbook_alert_keeps_its_fields():
    event = sample("sns-runbook-alert.json")
    (read,) = read_event(event)
    assert isinstance(read, Delivery)
    assert (read.delivery_id, read.format) == ("2a9d7c3e-1f5b-5d84-b027-3e6a8f0c1d88", "runbook.alert/v1")
    (alert,) = read.alerts
    published = json.loads(event["Records"][0]["Sns"]["Message"])
    assert alert.to_message() == published | {"observed_at": "2026-11-27T12:00:00Z"}
    assert (alert.key, alert.source, alert.sev) == ("health-probe/api-gateway-acme", "health-probe", "SEV1")


def test_runbook_alert_time_without_offset_is_utc():
    event = sample("sns-runbook-alert.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"]) | {"observed_at": "2026-11-27T12:00:00"}
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    (read,) = read_event(event)
    assert isinstance(read, Delivery)
    assert read.alerts[0].observed_at == datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("index", "reason"),
    [
        (0, "Records[0]: Sns.Message is neither JSON (runbook.alert/v1, CloudWatch alarm, Alertmanager"),
        (1, "Records[1]: Sns.Message is JSON of unknown shape: tried runbook.alert/v1 (no schema)"),
        (2, "Records[2]: runbook.alert/v1: failed validation: status (literal_error), observed_at (missing)"),
        (3, "Records[3]: alertmanager-sns-json: an Alertmanager message with no alerts"),
        (4, "Records[4]: Sns.Message is a JSON array, expected an object"),
        (5, "Records[5]: cloudwatch-sns: NewStateValue is not one of ALARM, OK, INSUFFICIENT_DATA"),
        (6, "Records[6]: Sns.Message is neither JSON"),
        (7, "Records[7]: SNS record without Sns.Message"),
    ],
)
def test_malformed_records_are_rejected_with_a_reason_and_their_body(index, reason):
    event = sample("sns-malformed-records.json")
    results = read_event(event)
    assert len(results) == len(event["Records"])
    result = rejected(results[index])
    sns = event["Records"][index]["Sns"]
    assert result.reason.startswith(reason)
    assert result.delivery_id == sns["MessageId"]
    assert result.body == sns.get("Message")
    assert SECRET not in result.reason
    assert len(result.reason) <= 300


def test_one_bad_record_among_good_ones():
    good_alarm = records("sns-cloudwatch-alarm.json")[0]
    good_alert = records("sns-runbook-alert.json")[0]
    bad = records("sns-malformed-records.json")[1]
    results = read_event({"Records": [good_alarm, bad, good_alert]})
    assert [type(r) for r in results] == [Delivery, Rejected, Delivery]
    assert [r.delivery_id for r in results] == [
        good_alarm["Sns"]["MessageId"],
        bad["Sns"]["MessageId"],
        good_alert["Sns"]["MessageId"],
    ]


def test_at_most_1000_records_per_event():
    record = records("sns-runbook-alert.json")[0]
    many = []
    for n in range(MAX_RECORDS + 2):
        item = copy.deepcopy(record)
        item["Sns"]["MessageId"] = f"message-{n}"
        many.append(item)
    results = read_event({"Records": many})
    assert len(results) == MAX_RECORDS + 2
    assert all(isinstance(r, Delivery) for r in results[:MAX_RECORDS])
    for n, result in enumerate(results[MAX_RECORDS:], start=MAX_RECORDS):
        rest = rejected(result)
        assert rest.reason == f"Records[{n}]: beyond the limit of 1000 records per event, not read"
        assert (rest.delivery_id, rest.body) == (f"message-{n}", record["Sns"]["Message"])


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        (None, "the event is a JSON null, expected an object"),
        ([{"Records": []}], "the event is a JSON array, expected an object"),
        ("{}", "the event is a JSON string, expected an object"),
        ({"Records": {}}, "Records is a JSON object, expected an array"),
        ({"Records": []}, "Records is empty: an SNS event with no record"),
        ({"Records": [None]}, "Records[0] is a JSON null, expected an SNS record"),
        (
            {"Records": [{"eventSource": "aws:sqs", "body": SECRET}]},
            "Records[0] has no Sns object: not an SNS record (EventSource aws:sqs)",
        ),
        ({"Records": [{"Sns": {"Message": "{}"}}]}, "Records[0]: Sns.Message is JSON of unknown shape"),
        ({"Records": [{"Sns": {"Message": "[" * 100_000}}]}, "Records[0]: Sns.Message is neither JSON"),
        ({"token": SECRET}, "an event of unknown shape: tried SNS (no Records), EventBridge"),
        (
            {"detail-type": "CloudWatch Alarm Configuration Change", "detail": {}},
            "an event of unknown shape: tried SNS (no Records), EventBridge CloudWatch Alarm State Change "
            "(detail-type is another: CloudWatch Alarm Configuration Change)",
        ),
        ({"detail-type": "CloudWatch Alarm State Change"}, "cloudwatch-eventbridge: detail is a JSON null"),
        ({"alarmData": [SECRET]}, "cloudwatch-lambda-action: alarmData is a JSON array, expected an object"),
        ({"alerts": SECRET}, "alertmanager-webhook: alerts is a JSON string, expected an array"),
        ({"alerts": []}, "alertmanager-webhook: an Alertmanager message with no alerts"),
    ],
)
def test_unreadable_events_are_rejected_never_raised(event, reason):
    results = read_event(event)
    assert len(results) == 1
    result = rejected(results[0])
    assert result.reason.startswith(reason)
    assert SECRET not in result.reason
    assert len(result.reason) <= 300


def test_a_runbook_alert_of_another_schema_version():
    event = sample("sns-runbook-alert.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"]) | {"schema": "runbook.alert/v2"}
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    (result,) = read_event(event)
    assert rejected(result).reason == (
        "Records[0]: runbook.alert/v1: schema is another: only this version is supported"
    )


def test_validation_reasons_name_fields_only_and_stay_short():
    event = sample("sns-runbook-alert.json")
    published = json.loads(event["Records"][0]["Sns"]["Message"])

    def reason_for(message: dict[str, Any]) -> str:
        event["Records"][0]["Sns"]["Message"] = json.dumps(message)
        (result,) = read_event(event)
        return rejected(result).reason

    reason = reason_for(published | {"labels": {SECRET: 1}, "links": {"runbook": [SECRET]}})
    assert reason == (
        "Records[0]: runbook.alert/v1: failed validation: labels.… (string_type), links.… (string_type)"
    )
    everything_wrong = {field: [SECRET] * 3 for field in Alert.model_fields} | {"schema": "runbook.alert/v1"}
    reason = reason_for(everything_wrong)
    assert reason.startswith("Records[0]: runbook.alert/v1: failed validation: key (string_type), status")
    assert len(reason) == 300
    assert SECRET not in reason


def test_alertmanager_text_needs_the_sns_timestamp():
    event = sample("sns-alertmanager-text-firing.json")
    del event["Records"][0]["Sns"]["Timestamp"]
    (result,) = read_event(event)
    assert rejected(result).reason == (
        "Records[0]: alertmanager-sns-text: no ISO 8601 Sns.Timestamp to date the alerts"
    )


def test_an_unexpected_error_rejects_only_its_record(monkeypatch):
    def broken(change: cloudwatch.AlarmChange) -> Alert:
        raise RuntimeError(SECRET)

    monkeypatch.setattr(cloudwatch, "to_alert", broken)
    results = read_event(
        {"Records": records("sns-cloudwatch-alarm.json") + records("sns-runbook-alert.json")}
    )
    assert [type(r) for r in results] == [Rejected, Delivery]
    assert rejected(results[0]).reason == "unexpected RuntimeError while reading"


def test_a_record_without_message_id_gets_a_stable_one():
    record = records("sns-runbook-alert.json")[0]
    del record["Sns"]["MessageId"]
    first, second = read_event({"Records": [record, copy.deepcopy(record)]})
    assert isinstance(first, Delivery)
    assert first.delivery_id.startswith("sns-sha256:")
    assert first.delivery_id == second.delivery_id
