"""StatuspageUpdateFunction's handler in-process: moto, Statuspage's stand-in, the Slack receiver and
the sample events of events/statuspage_update/. What it returns, writes, posts and counts."""

import json
import sys
import uuid
from datetime import timedelta
from typing import Any

import pytest

from runbook.observability import logger
from runbook.roots import statuspage as statuspage_root
from standins.lambda_runtime import FakeLambdaContext, load_event, load_handler_module, reset_cold_start
from standins.slack_receiver import SlackReceiver
from standins.statuspage_standin import StatuspageStandin
from tests.integration.test_health_probe_handler import emf, stdout_records
from tests.support.run_doubles import T0, Clock


@pytest.fixture
def handler(aws, statuspage: StatuspageStandin, slack: SlackReceiver, tmp_path, monkeypatch):
    statuspage.add_component("cmp-api", "API")
    secret = {
        "api_key": statuspage.api_key,
        "ops_alerts": slack.url("ops-alerts"),
        "incident_room": slack.url("incident-room"),
    }
    aws.secretsmanager.create_secret(Name="runbook/statuspage", SecretString=json.dumps(secret))
    config = tmp_path / "runbook.yaml"
    config.write_text(
        "statuspage:\n"
        f"  page_id: {statuspage.page_id}\n"
        "  api_key: {secret: runbook/statuspage, key: api_key}\n"
        "  components: [{id: cmp-api, name: API, match: {check: [api-gateway-*]}}]\n"
        "  slack:\n"
        "    ops_alerts: {secret: runbook/statuspage, key: ops_alerts}\n"
        "    incident_room: {secret: runbook/statuspage, key: incident_room}\n"
    )
    for name, value in {
        "RUNBOOK_CONFIG": str(config),
        "STATE_TABLE_NAME": aws.table_name,
        "ALERTS_TOPIC_ARN": aws.topic_arn,
        "DEAD_LETTER_QUEUE_URL": aws.sqs.create_queue(QueueName="dlq")["QueueUrl"],
        "STATUSPAGE_API_URL": statuspage.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    reset_cold_start()
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)
    yield load_handler_module("statuspage_update").lambda_handler
    reset_cold_start()


def test_a_sev1_alert_opens_the_incident_and_tells_ops_alerts(handler, statuspage, slack, capfd):
    summary = handler(load_event("statuspage_update/sns-runbook-alert.json"), FakeLambdaContext())
    assert (summary["wrote"], summary["open_alerts"]) == ("create", 1)
    [incident] = statuspage.incidents.values()
    assert (incident.status, statuspage.components["cmp-api"].status) == ("investigating", "major_outage")
    assert incident.metadata == {"runbook_automation": {"owned": "true"}}
    assert [m["text"].split(":")[0] for m in slack.messages("ops-alerts")] == ["Status page incident opened"]
    records = stdout_records(capfd)
    assert emf(records, "StatuspageWrites")
    dumped = json.dumps(records)
    assert statuspage.api_key not in dumped
    assert slack.url("ops-alerts") not in dumped


def test_the_schedule_syncs_without_writing_when_nothing_is_open(handler, statuspage, capfd):
    summary = handler(load_event("statuspage_update/schedule.json"), FakeLambdaContext())
    assert (summary["wrote"], summary["open_alerts"], summary["reminded"]) == (None, 0, False)
    assert statuspage.incidents == {}
    assert emf(stdout_records(capfd), "StatusSyncRun")


@pytest.fixture
def handler_without_statuspage(aws, statuspage: StatuspageStandin, tmp_path, monkeypatch):
    """The function as the template deploys it, with a config that has no `statuspage:` section."""
    config = tmp_path / "runbook.yaml"
    config.write_text("checks:\n  - {name: web-app-synthetic, kind: heartbeat, max_age: 30m}\n")
    dlq = aws.sqs.create_queue(QueueName="dlq")["QueueUrl"]
    for name, value in {
        "RUNBOOK_CONFIG": str(config),
        "STATE_TABLE_NAME": aws.table_name,
        "ALERTS_TOPIC_ARN": aws.topic_arn,
        "DEAD_LETTER_QUEUE_URL": dlq,
        "STATUSPAGE_API_URL": statuspage.base_url,
    }.items():
        monkeypatch.setenv(name, value)
    reset_cold_start()
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)
    yield load_handler_module("statuspage_update").lambda_handler, dlq
    reset_cold_start()


def test_without_a_statuspage_section_alerts_and_the_schedule_do_nothing_and_succeed(
    handler_without_statuspage, statuspage, aws, capfd
):
    handler, dlq = handler_without_statuspage
    events = [
        load_event("statuspage_update/sns-runbook-alert.json"),
        load_event("statuspage_update/schedule.json"),
        load_event("statuspage_update/schedule.json"),
    ]
    summaries = [handler(event, FakeLambdaContext()) for event in events]
    assert all("`statuspage:` section" in summary["idle"] for summary in summaries)
    assert statuspage.incidents == {}
    assert statuspage.received("/") == []
    assert aws.sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []
    records = stdout_records(capfd)
    [said] = [r for r in records if r.get("message") == "nothing to do"]
    assert "no `statuspage:` section" in said["reason"]
    assert not [r for r in records if r.get("level") == "ERROR"]
    assert len(emf(records, "IdleInvocations")) == len(events)


def sns_alert(status: str, minute: int) -> dict[str, Any]:
    """The sample alert of events/statuspage_update/, firing or resolved at T0 + `minute`."""
    event = load_event("statuspage_update/sns-runbook-alert.json")
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    message |= {"status": status, "observed_at": (T0 + timedelta(minutes=minute)).isoformat()}
    event["Records"][0]["Sns"] |= {"Message": json.dumps(message), "MessageId": str(uuid.uuid4())}
    return event


def test_a_new_failure_during_a_persons_incident_is_told_in_the_room_not_opened_again(
    handler, statuspage, slack, monkeypatch
):
    clock = Clock(T0)
    statuspage.now = clock
    monkeypatch.setattr(statuspage_root, "utc_now", clock)

    def invoke(event: dict[str, Any], minute: int) -> dict[str, Any]:
        clock.now = T0 + timedelta(minutes=minute)
        summary: dict[str, Any] = handler(event, FakeLambdaContext())
        return summary

    invoke(sns_alert("firing", 0), 0)
    [incident] = statuspage.incidents.values()
    clock.now = T0 + timedelta(minutes=1)
    statuspage.person_edits_incident(incident.id, status="identified", body="We found the cause.")
    invoke(load_event("statuspage_update/schedule.json"), 2)  # the person's incident now
    invoke(sns_alert("resolved", 3), 3)
    summary = invoke(sns_alert("firing", 5), 5)  # the API fails again while it is open

    assert list(statuspage.incidents) == [incident.id]
    [told] = slack.messages("incident-room")
    assert "api-gateway-acme is DOWN: answered 503, expected 200 (SEV1; API)" in told["text"]
    assert (summary["wrote"], summary["told_room"]) == (None, 1)
