"""PagerDutyEscalationFunction's handler under the faults of the real world: PagerDuty's rate limit (about
120 events per routing key over a rolling minute, every action counted: the stand-in enforces it), Lambda
retrying a failed invocation, SNS message ids reused by another message, bodies SQS refuses (moto is
made to refuse them as SQS does: tests/support/aws.py), and the Powertools log keys."""

import base64
import json
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from standins.lambda_runtime import FakeLambdaContext, load_event, reset_cold_start
from tests.integration.test_health_probe_handler import emf, stdout_records

ROUTING_KEY = "R0UT1NGKEY0000000000000000000077"
PAGERDUTY_LIMIT = 120  # events per routing key per rolling minute (tests/vendor/specs/README.md)
STORM_START = datetime(2026, 11, 27, 12, 0, 35, tzinfo=UTC)  # 25 s before a minute boundary


@pytest.fixture
def paging_extra() -> str:
    """More of the `pagerduty:` section, for a test to set (parametrize)."""
    return ""


@pytest.fixture
def handler(aws, pagerduty_function, paging_extra):
    aws.ssm.put_parameter(Name="/runbook/pagerduty/platform", Value=ROUTING_KEY, Type="SecureString")
    return pagerduty_function(
        "pagerduty:\n"
        "  services:\n"
        "    platform: {routing_key: {ssm: /runbook/pagerduty/platform}}\n"
        "  default_service: platform\n"
        "  ack: {enabled: false}\n" + paging_extra
    )


def sns_event(*messages: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"MessageId": message_id or str(uuid.uuid4()), "Message": message},
            }
            for message in messages
        ]
    }


def runbook_alert(check: str, status: str = "firing", at: datetime | None = None) -> str:
    return json.dumps(
        {
            "schema": "runbook.alert/v1",
            "key": f"health-probe/{check}",
            "status": status,
            "severity": "critical",
            "sev": "SEV2",
            "summary": f"{check} is {'DOWN' if status == 'firing' else 'UP again'}",
            "source": "health-probe",
            "check": check,
            "component": check,
            "observed_at": (at or datetime.now(UTC)).isoformat(),
            "details": {},
        }
    )


# --- PagerDuty's rate limit ---------------------------------------------------------------------


def test_a_storm_stays_under_pagerdutys_rolling_minute_and_every_page_resolves(handler, pagerduty):
    """260 checks fail 0.25 s apart across a minute boundary (a shared dependency went down), each alert
    its own SNS delivery, then recover in the same order. With the default budget (100), PagerDuty never
    sees more than its 120 events in any 60 s, never answers 429, and every page is resolved."""
    pagerduty.events_rate_limit = PAGERDUTY_LIMIT
    checks = [f"check-{n:03d}" for n in range(260)]
    with time_machine.travel(STORM_START, tick=False) as clock:
        for check in checks:
            handler(sns_event(runbook_alert(check)), FakeLambdaContext())
            clock.shift(0.25)
        clock.shift(30)
        for check in checks:
            handler(sns_event(runbook_alert(check, "resolved")), FakeLambdaContext())
            clock.shift(0.25)

    assert pagerduty.throttled == 0
    assert pagerduty.most_events_in_a_minute(ROUTING_KEY) <= PAGERDUTY_LIMIT
    triggers = [e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"]
    assert "runbook/storm/platform" in triggers  # the rest were folded into one storm alert
    assert len(triggers) < len(checks)
    assert pagerduty.open_alerts == {}  # each page, the storm alert too, resolved


@pytest.mark.parametrize("paging_extra", ["  triggers_per_minute: 2\n"])
def test_a_retried_invocation_does_not_spend_the_budget_again(handler, pagerduty):
    """PagerDuty fails the first page (5xx on every attempt): the invocation fails and Lambda retries it
    (twice, as for asynchronous invocations). The retry that gets through is still the same event: a
    second alert still fits the budget of two and pages on its own."""
    pagerduty.fail_next("/v2/enqueue", 503, times=8)  # two invocations of four attempts each
    first = sns_event(runbook_alert("db-primary"))
    with time_machine.travel(STORM_START, tick=False) as clock:
        for _ in range(2):
            with pytest.raises(Exception, match="not sent"):
                handler(first, FakeLambdaContext())
            clock.shift(1)
        handler(first, FakeLambdaContext())
        handler(sns_event(runbook_alert("api-gateway")), FakeLambdaContext())

    triggers = [e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"]
    assert triggers == ["runbook/health-probe/db-primary", "runbook/health-probe/api-gateway"]


# --- idempotency --------------------------------------------------------------------------------


def test_a_message_that_reuses_another_ones_id_is_still_paged_and_logged(handler, pagerduty, capfd):
    """An OK that arrives with its ALARM's SNS message id is not answered with the ALARM's result."""
    alarm = load_event("pagerduty_escalation/sns-cloudwatch-alarm.json")
    message_id = alarm["Records"][0]["Sns"]["MessageId"]
    ok = json.loads(alarm["Records"][0]["Sns"]["Message"])
    ok |= {"NewStateValue": "OK", "OldStateValue": "ALARM", "StateChangeTime": "2026-11-27T12:09:00.000+0000"}
    handler(alarm, FakeLambdaContext())
    handler(alarm, FakeLambdaContext())  # a true redelivery: nothing more
    handler(sns_event(json.dumps(ok), message_id=message_id), FakeLambdaContext())

    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "resolve"]
    assert pagerduty.open_alerts == {}
    reused = [r for r in stdout_records(capfd) if r.get("message", "").startswith("delivery id reused")]
    assert [r["delivery_id"] for r in reused] == [message_id]


# --- the dead-letter path -----------------------------------------------------------------------

REFUSED_BY_SQS = {
    "nul": "Alarm text\x00with a NUL",
    "control": "bell \x07 and escape \x1b[31m",
    "lone surrogate": "half a pair: \ud83d",
}


def test_bodies_sqs_refuses_are_kept_as_base64_and_the_batch_goes_on(handler, pagerduty, aws, dlq, capfd):
    event = sns_event(runbook_alert("before"), *REFUSED_BY_SQS.values(), runbook_alert("after"))
    summary = handler(event, FakeLambdaContext())

    assert summary["rejected"] == 3
    triggered = [e["dedup_key"] for e in pagerduty.events if e["event_action"] == "trigger"]
    assert triggered == ["runbook/health-probe/before", "runbook/health-probe/after"]
    kept = aws.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, MessageAttributeNames=["All"])
    bodies = []
    for message in kept["Messages"]:
        attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
        assert attributes["encoding"] == "base64"
        assert "base64" in attributes["note"]
        bodies.append(base64.b64decode(message["Body"]).decode("utf-8", errors="surrogatepass"))
    assert sorted(bodies) == sorted(REFUSED_BY_SQS.values())
    assert len(emf(stdout_records(capfd), "AlertsRejected")) >= 1


def test_a_readable_body_is_kept_as_it_was(handler, aws, dlq):
    handler(sns_event("plain text that is no alert: ünïcödé ✓"), FakeLambdaContext())
    [message] = aws.sqs.receive_message(QueueUrl=dlq, MessageAttributeNames=["All"])["Messages"]
    assert message["Body"] == "plain text that is no alert: ünïcödé ✓"
    assert message["MessageAttributes"]["encoding"]["StringValue"] == "text"


def test_a_dead_letter_queue_that_fails_does_not_stop_the_batch(handler, pagerduty, monkeypatch, capfd):
    """The queue is gone: every record is still processed, then the invocation fails so that Lambda
    retries it and, in the end, keeps the event itself. Nothing is paged twice on the retry."""
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", "https://sqs.eu-west-1.amazonaws.com/123456789012/gone")
    reset_cold_start()  # the next invocation is a cold start that reads it
    event = sns_event("not an alert", runbook_alert("after"))
    with pytest.raises(Exception, match="could not be kept on the dead-letter queue"):
        handler(event, FakeLambdaContext())
    with pytest.raises(Exception, match="could not be kept on the dead-letter queue"):
        handler(event, FakeLambdaContext())  # Lambda's retry
    assert [e["dedup_key"] for e in pagerduty.events] == ["runbook/health-probe/after"]
    lines = [
        r for r in stdout_records(capfd) if r.get("message") == "message not kept on the dead-letter queue"
    ]
    assert lines
    assert "not an alert" not in json.dumps(lines)


# --- logs ---------------------------------------------------------------------------------------


def test_the_routed_line_keeps_powertools_service_key(handler, capfd):
    handler(sns_event(runbook_alert("api-gateway")), FakeLambdaContext())
    [routed] = [r for r in stdout_records(capfd) if r.get("message") == "alert routed"]
    assert routed["service"] == "runbook-automation"  # POWERTOOLS_SERVICE_NAME, as every line has it
    assert routed["pagerduty_service"] == "platform"
    assert routed["outcome"] == "triggered"
