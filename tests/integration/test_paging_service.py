"""Alert intake and paging below the handler: SNS events as SNS delivers them (one message per
invocation), the state table and idempotency records in moto, PagerDuty's local stand-in checking every
request against its OpenAPI spec. One page per problem, resolves that reach what their trigger opened,
redelivery, reordering, groups, maintenance, storms, failures."""

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.dead_letters import DeadLetters
from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.pagerduty import PagerDutyEvents
from runbook.adapters.paging_state import PagingState
from runbook.adapters.parameters import SecretResolver
from runbook.config_file import parse_config
from runbook.models.alert import Alert
from runbook.services.paging import PagingDependencies, PagingFailedError, handle_alert_event
from standins.pagerduty_standin import PagerDutyStandin
from tests.support.run_doubles import T0, Clock

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"
WEDNESDAY_1630 = datetime(2026, 12, 2, 16, 30, tzinfo=T0.tzinfo)  # inside the weekly change window

CONFIG = """
pagerduty:
  services:
    platform: {routing_key: {ssm: /runbook/pagerduty/platform}}
  default_service: platform
  triggers_per_minute: 20
  groups:
    - name: gateway-acme
      match: {labels: {gateway: acme}}
  maintenance:
    - name: wednesday maintenance
      match: {check: [db, cache]}
      weekly: {day: wednesday, start: "16:00", duration: 1h}
  ack: {enabled: false}
"""


class Recorder:
    def __init__(self) -> None:
        self.outcomes: list[tuple[str, str]] = []
        self.rejections: list[tuple[str, bool]] = []
        self.failures: list[tuple[str, str]] = []

    def outcome(self, alert: Alert, decision: Any, outcome: str) -> None:
        self.outcomes.append((alert.key, outcome))

    def rejected(self, reason: str, kept: bool) -> None:
        self.rejections.append((reason, kept))

    def failed(self, alert: Alert, decision: Any, error: Exception) -> None:
        self.failures.append((alert.key, f"{type(error).__name__}: {error}"))

    def released(self, alert: Alert, decision: Any, window: str, outcome: str) -> None:
        self.outcomes.append((alert.key, f"released: {outcome}"))

    def problem(self, message: str, **fields: Any) -> None:
        self.failures.append(("", message))


@pytest.fixture
def deps(aws, pagerduty: PagerDutyStandin):
    aws.ssm.put_parameter(Name="/runbook/pagerduty/platform", Value=ROUTING_KEY, Type="SecureString")
    dlq = aws.sqs.create_queue(QueueName="runbook-dlq")["QueueUrl"]
    built = PagingDependencies(
        config=parse_config(CONFIG),
        state=PagingState(aws.dynamodb, aws.table_name),
        events=PagerDutyEvents(
            httpx.Client(timeout=5.0),
            pagerduty.events_url,
            RetryPolicy(base_s=0.01, cap_s=0.05, max_hint_s=2.0),
        ),
        secrets=SecretResolver(
            SSMProvider(boto3_client=aws.ssm), SecretsProvider(boto3_client=aws.secretsmanager)
        ),
        dead_letters=DeadLetters(aws.sqs, dlq),
        reporter=Recorder(),
        now=Clock(),
    )
    built.dlq_url = dlq  # type: ignore[attr-defined]
    return built


def alert(key: str, status: str = "firing", minute: int = 0, **fields: Any) -> dict[str, Any]:
    check = key.rpartition("/")[2]
    return {
        "schema": "runbook.alert/v1",
        "key": key,
        "status": status,
        "severity": fields.pop("severity", "critical"),
        "sev": fields.pop("sev", "SEV2"),
        "summary": f"{check} is {'DOWN' if status == 'firing' else 'UP again'}",
        "source": "health-probe",
        "check": check,
        "component": check,
        "observed_at": (T0 + timedelta(minutes=minute)).isoformat(),
        "details": {"reason": "answered 503", "latency_ms": 12.5},
        **fields,
    }


def sns(message: dict[str, Any] | str, message_id: str | None = None) -> dict[str, Any]:
    body = message if isinstance(message, str) else json.dumps(message)
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": "arn:aws:sns:eu-west-1:123456789012:runbook-alerts",
                    "Message": body,
                    "Timestamp": T0.isoformat(),
                },
            }
        ]
    }


def deliver(deps: PagingDependencies, message: dict[str, Any] | str, message_id: str | None = None):
    return handle_alert_event(sns(message, message_id), deps, budget_s=20.0)


def actions(pagerduty: PagerDutyStandin) -> list[tuple[str, str]]:
    return [(e["event_action"], e["dedup_key"]) for e in pagerduty.events]


def test_a_firing_alert_triggers_and_its_resolve_reaches_the_same_pagerduty_alert(deps, pagerduty):
    deliver(deps, alert("health-probe/api"))
    deliver(deps, alert("health-probe/api", "resolved", minute=3))
    assert actions(pagerduty) == [
        ("trigger", "runbook/health-probe/api"),
        ("resolve", "runbook/health-probe/api"),
    ]
    trigger = pagerduty.events[0]
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "critical"  # critical pages with high urgency
    assert trigger["payload"]["custom_details"]["reason"] == "answered 503"
    assert trigger["payload"]["custom_details"]["latency_ms"] == 12.5
    assert pagerduty.open_alerts == {}


def test_a_redelivered_message_never_pages_twice(deps, pagerduty):
    message = alert("health-probe/api")
    deliver(deps, message, message_id="m-1")
    deliver(deps, message, message_id="m-1")  # SNS delivers at least once
    assert actions(pagerduty) == [("trigger", "runbook/health-probe/api")]


def test_a_firing_delivered_after_its_resolve_does_not_reopen_the_page(deps, pagerduty):
    deliver(deps, alert("health-probe/api", minute=0))
    deliver(deps, alert("health-probe/api", "resolved", minute=5))
    deliver(deps, alert("health-probe/api", minute=1), message_id="late-firing")  # reordered
    assert actions(pagerduty) == [
        ("trigger", "runbook/health-probe/api"),
        ("resolve", "runbook/health-probe/api"),
    ]
    assert ("health-probe/api", "stale") in deps.reporter.outcomes


def test_warning_pages_low_urgency_and_info_never_pages(deps, pagerduty):
    deliver(deps, alert("quota-check/maps", severity="warning", sev="SEV3"))
    deliver(deps, alert("quota-check/crm", severity="info", sev="SEV4"))
    deliver(deps, alert("quota-check/crm", "resolved", minute=2, severity="info", sev="SEV4"))
    assert [(e["dedup_key"], e["payload"]["severity"]) for e in pagerduty.events] == [
        ("runbook/quota-check/maps", "warning")
    ]
    assert ("quota-check/crm", "held") in deps.reporter.outcomes
    assert ("quota-check/crm", "nothing_open") in deps.reporter.outcomes


def test_checks_behind_one_gateway_page_once_and_resolve_with_the_last(deps, pagerduty):
    names = ["api-acme", "auth-acme", "search-acme"]
    for name in names:
        deliver(deps, alert(f"health-probe/{name}", labels={"gateway": "acme"}))
    for n, name in enumerate(names, start=1):
        deliver(deps, alert(f"health-probe/{name}", "resolved", minute=n, labels={"gateway": "acme"}))
    assert actions(pagerduty) == [
        ("trigger", "runbook/group/gateway-acme"),
        ("resolve", "runbook/group/gateway-acme"),
    ]
    assert [o for _, o in deps.reporter.outcomes] == [
        "triggered",
        "joined",
        "joined",
        "kept_open",
        "kept_open",
        "resolved",
    ]


def test_inside_a_maintenance_window_firing_does_not_page_but_resolves_are_sent(deps, pagerduty):
    deliver(deps, alert("health-probe/db", observed_at=(WEDNESDAY_1630 - timedelta(hours=1)).isoformat()))
    deps.now.now = WEDNESDAY_1630
    deliver(deps, alert("health-probe/cache", observed_at=WEDNESDAY_1630.isoformat()))
    deliver(deps, alert("health-probe/db", "resolved", observed_at=WEDNESDAY_1630.isoformat()))
    assert actions(pagerduty) == [
        ("trigger", "runbook/health-probe/db"),
        ("resolve", "runbook/health-probe/db"),
    ]
    assert ("health-probe/cache", "held") in deps.reporter.outcomes


def test_429_is_retried_honouring_retry_after(deps, pagerduty):
    pagerduty.fail_next("/v2/enqueue", 429, times=2, headers={"Retry-After": "0"})
    deliver(deps, alert("health-probe/api"))
    assert actions(pagerduty) == [("trigger", "runbook/health-probe/api")]
    assert len(pagerduty.received("/v2/enqueue")) == 3


def test_when_pagerduty_keeps_failing_the_invocation_fails_and_nothing_pretends_to_be_open(deps, pagerduty):
    pagerduty.fail_next("/v2/enqueue", 503, times=4)  # every attempt of the first invocation
    with pytest.raises(PagingFailedError):
        deliver(deps, alert("health-probe/api"), message_id="m-1")
    assert pagerduty.events == []
    [(key, error)] = deps.reporter.failures
    assert key == "health-probe/api"
    assert ROUTING_KEY not in error
    # Lambda retries the same message: it is processed again (the failed attempt left no record) and pages.
    deliver(deps, alert("health-probe/api"), message_id="m-1")
    assert actions(pagerduty) == [("trigger", "runbook/health-probe/api")]


def test_a_400_is_not_retried_and_fails_the_delivery(deps, pagerduty):
    pagerduty.fail_next(
        "/v2/enqueue", 400, body={"status": "invalid event", "message": "Event object is invalid"}
    )
    with pytest.raises(PagingFailedError):
        deliver(deps, alert("health-probe/api"))
    assert len(pagerduty.received("/v2/enqueue")) == 1
    assert "Event object is invalid" in deps.reporter.failures[0][1]


def test_an_unreadable_message_is_kept_on_the_dead_letter_queue_and_the_batch_goes_on(deps, pagerduty, aws):
    summary = deliver(deps, "this is not an alert")
    assert summary.rejected == 1
    [(reason, kept)] = deps.reporter.rejections
    assert kept
    messages = aws.sqs.receive_message(
        QueueUrl=deps.dlq_url, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert [m["Body"] for m in messages] == ["this is not an alert"]
    assert messages[0]["MessageAttributes"]["reason"]["StringValue"] == reason
    assert pagerduty.events == []


def test_a_storm_stays_under_the_budget_and_every_page_is_resolved(deps, pagerduty):
    """1,000 alerts at once (a shared dependency down), each its own SNS delivery; budget 20 a minute."""
    keys = [f"health-probe/check-{n:04d}" for n in range(1000)]
    for key in keys:
        deliver(deps, alert(key))
    triggers = [e for e in pagerduty.events if e["event_action"] == "trigger"]
    assert len(triggers) == 21  # the budget, plus the one storm alert standing for the other 980
    assert triggers[-1]["dedup_key"] == "runbook/storm/platform"
    outcomes = [o for _, o in deps.reporter.outcomes]
    assert outcomes.count("folded") == 979

    for key in keys:
        deliver(deps, alert(key, "resolved", minute=10))
    resolves = [e["dedup_key"] for e in pagerduty.events if e["event_action"] == "resolve"]
    assert len(resolves) == 21  # each page resolved exactly once, the storm alert with its last member
    assert resolves[-1] == "runbook/storm/platform"
    assert pagerduty.open_alerts == {}
