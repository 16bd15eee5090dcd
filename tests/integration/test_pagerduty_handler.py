"""PagerDutyEscalationFunction's handler in-process: moto for AWS, the PagerDuty stand-in for PagerDuty,
the sample events of events/pagerduty_escalation/. What it returns, sends, keeps and counts."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.roots import pagerduty as pagerduty_root
from runbook.services.paging import PagingFailedError
from standins.lambda_runtime import FakeLambdaContext, load_event
from standins.pagerduty_standin import PagerDutyStandin
from tests.integration.test_health_probe_handler import emf, stdout_records
from tests.support.alarms import assert_alarm_watches_what_was_emitted
from tests.support.run_doubles import T0, Clock

ROUTING_KEY = "R0UT1NGKEY0000000000000000000042"


@pytest.fixture
def handler(aws, pagerduty: PagerDutyStandin, pagerduty_function):
    aws.ssm.put_parameter(Name="/runbook/pagerduty/platform", Value=ROUTING_KEY, Type="SecureString")
    aws.ssm.put_parameter(Name="/runbook/pagerduty/rest", Value=pagerduty.token, Type="SecureString")
    return pagerduty_function(
        "pagerduty:\n"
        "  services:\n"
        "    platform: {routing_key: {ssm: /runbook/pagerduty/platform}, service_id: PSVC001}\n"
        "  default_service: platform\n"
        "  ack: {api_token: {ssm: /runbook/pagerduty/rest}, from_email: bot@example.com}\n"
    )


@pytest.mark.parametrize(
    ("event", "dedup_prefix"),
    [
        ("sns-runbook-alert.json", "runbook/health-probe/"),
        ("sns-cloudwatch-alarm.json", "runbook/cloudwatch/"),
        ("sns-alertmanager.json", "runbook/alertmanager/"),
        ("eventbridge-alarm-state-change.json", "runbook/cloudwatch/"),
    ],
)
def test_each_sample_alert_pages_through_the_events_api(handler, pagerduty, capfd, event, dedup_prefix):
    summary = handler(load_event(f"pagerduty_escalation/{event}"), FakeLambdaContext())
    assert summary["rejected"] == 0
    triggers = [e for e in pagerduty.events if e["event_action"] == "trigger"]
    assert triggers
    assert all(e["dedup_key"].startswith(dedup_prefix) for e in triggers)
    assert all(e["routing_key"] == ROUTING_KEY for e in triggers)
    records = stdout_records(capfd)
    assert [r for r in records if r.get("message") == "alert routed"]
    assert emf(records, "AlertsPaged")
    assert ROUTING_KEY not in json.dumps(records)


def test_the_schedule_runs_the_ack_sweep(handler, pagerduty, capfd):
    late = pagerduty.add_incident(created_at=datetime.now(UTC) - timedelta(minutes=7))
    summary = handler(load_event("pagerduty_escalation/schedule.json"), FakeLambdaContext())
    assert summary["escalated"] == [late.id]
    records = stdout_records(capfd)
    assert emf(records, "IncidentsEscalated")
    assert emf(records, "AckSweepRun")
    assert pagerduty.token not in json.dumps(records)


def test_an_unreadable_message_is_kept_logged_and_counted_without_failing(
    handler, pagerduty, aws, dlq, capfd
):
    event = load_event("pagerduty_escalation/sns-runbook-alert.json")
    event["Records"][0]["Sns"]["Message"] = '{"hello": "world"}'
    summary = handler(event, FakeLambdaContext())
    assert summary["rejected"] == 1
    assert pagerduty.events == []
    records = stdout_records(capfd)
    assert [r for r in records if r.get("message") == "alert message rejected"]
    assert emf(records, "AlertsRejected")
    kept = aws.sqs.receive_message(QueueUrl=dlq)["Messages"]
    assert [m["Body"] for m in kept] == ['{"hello": "world"}']


def test_a_page_pagerduty_does_not_take_is_counted_where_the_page_failures_alarm_looks(
    handler, pagerduty, capfd
):
    """PagerDuty answers 503 to every attempt: the invocation fails (Lambda retries it) and the failure is
    counted in the metric the template's PageFailuresAlarm watches: namespace, name and dimensions."""
    pagerduty.fail_next("/v2/enqueue", 503, times=100)
    with pytest.raises(PagingFailedError):
        handler(load_event("pagerduty_escalation/sns-runbook-alert.json"), FakeLambdaContext())
    assert pagerduty.events == []
    records = stdout_records(capfd)
    assert emf(records, "PageFailures")
    assert_alarm_watches_what_was_emitted("PageFailuresAlarm", records)
    assert ROUTING_KEY not in json.dumps(records)


@pytest.fixture
def handler_without_pagerduty(pagerduty_function):
    """The function as the template deploys it, with a config that has no `pagerduty:` section."""
    return pagerduty_function("checks:\n  - {name: web-app-synthetic, kind: heartbeat, max_age: 30m}\n")


def test_without_a_pagerduty_section_alerts_and_the_sweep_do_nothing_and_succeed(
    handler_without_pagerduty, pagerduty, aws, dlq, capfd
):
    """Not a failure every minute into the dead-letter queue: one log line per cold start says why."""
    unreadable = load_event("pagerduty_escalation/sns-runbook-alert.json")
    unreadable["Records"][0]["Sns"]["Message"] = '{"hello": "world"}'
    events = [
        load_event("pagerduty_escalation/sns-runbook-alert.json"),
        load_event("pagerduty_escalation/schedule.json"),
        load_event("pagerduty_escalation/sns-cloudwatch-alarm.json"),
        unreadable,
    ]
    summaries = [handler_without_pagerduty(event, FakeLambdaContext()) for event in events]
    assert all("`pagerduty:` section" in summary["idle"] for summary in summaries)
    assert pagerduty.events == []
    assert pagerduty.requests == []
    assert aws.sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []
    records = stdout_records(capfd)
    [said] = [r for r in records if r.get("message") == "nothing to do"]
    assert "no `pagerduty:` section" in said["reason"]
    assert said["level"] == "WARNING"
    assert not [r for r in records if r.get("level") == "ERROR"]
    assert len(emf(records, "IdleInvocations")) == len(events)


@pytest.fixture
def clock(pagerduty: PagerDutyStandin, monkeypatch) -> Clock:
    """One clock for the function (its `now`) and for PagerDuty (assignments, log, its own rules)."""
    clock = Clock(T0)
    pagerduty.now = clock
    monkeypatch.setattr(pagerduty_root, "utc_now", clock)
    return clock


def sweep_at(handler, clock: Clock, after: timedelta) -> dict[str, Any]:
    clock.now = T0 + after
    summary: dict[str, Any] = handler(load_event("pagerduty_escalation/schedule.json"), FakeLambdaContext())
    return summary


def bot_escalations(pagerduty: PagerDutyStandin) -> list[tuple[str, int]]:
    return [(e.incident_id, e.level) for e in pagerduty.escalations if e.from_email == "bot@example.com"]


def test_a_level_a_person_set_waits_its_whole_deadline(handler, pagerduty, clock):
    incident = pagerduty.add_incident(created_at=T0)
    clock.now = T0 + timedelta(minutes=3, seconds=48)
    pagerduty.person_updates_incident(incident.id, {"escalation_level": 2}, from_email="alice@example.com")

    for after in (timedelta(minutes=3, seconds=50), timedelta(minutes=5, seconds=10)):
        assert sweep_at(handler, clock, after)["escalated"] == []
    assert sweep_at(handler, clock, timedelta(minutes=8, seconds=47))["escalated"] == []
    assert bot_escalations(pagerduty) == []

    summary = sweep_at(handler, clock, timedelta(minutes=8, seconds=49))  # 5 min after the person
    assert summary["escalated"] == [incident.id]
    assert bot_escalations(pagerduty) == [(incident.id, 3)]
    [note] = pagerduty.notes
    assert "Not acknowledged within 5 min: 5 min at level 2." in note.content
    assert "Escalated by runbook-automation to level 3" in note.content


def test_a_level_pagerdutys_own_rule_set_waits_its_whole_deadline(handler, pagerduty, clock):
    pagerduty.add_policy(delays=[2, 30, 30, 30])  # PagerDuty itself escalates level 1 after 2 minutes
    incident = pagerduty.add_incident(created_at=T0)

    assert sweep_at(handler, clock, timedelta(minutes=5, seconds=10))["escalated"] == []
    assert incident.escalation_level == 2  # PagerDuty's timeout, at T0+2m
    assert sweep_at(handler, clock, timedelta(minutes=6, seconds=59))["escalated"] == []

    assert sweep_at(handler, clock, timedelta(minutes=7, seconds=1))["escalated"] == [incident.id]
    assert bot_escalations(pagerduty) == [(incident.id, 3)]
    [note] = pagerduty.notes
    assert "5 min at level 2." in note.content
