"""The Statuspage sync below the handler: Statuspage's stand-in (requests checked against its spec, its
rate limit enforced), a Slack receiver, the state table in moto, a clock the test moves. One component
down and back, two in one outage, flapping, a person's edits, redelivery and reordering, 420/429, the
incident-room reminder; an incident a person took over, followed until they close it on the page."""

import json
import uuid
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.dead_letters import DeadLetters
from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.slack import SlackWebhook
from runbook.adapters.status_state import StatusState
from runbook.adapters.statuspage import StatuspageApi
from runbook.config_file import parse_config
from runbook.services.status_sync import StatusDependencies, handle_status_event
from standins.slack_receiver import SlackReceiver
from standins.statuspage_standin import StatuspageStandin
from tests.support.run_doubles import T0, Clock

FAST = RetryPolicy(base_s=0.01, cap_s=0.05, max_hint_s=2.0)
PACE_S = 0.05  # the stand-in's limiter is set to the same interval: fast tests, pacing still enforced


class Recorder:
    def __init__(self) -> None:
        self.writes: list[tuple[str, str | None]] = []
        self.notices: list[str] = []

    def page_written(self, kind: str, incident_id: str, status: str | None) -> None:
        self.writes.append((kind, status))

    def notice(self, text: str) -> None:
        self.notices.append(text)

    def rejected(self, reason: str, kept: bool) -> None:
        raise AssertionError(reason)


@pytest.fixture
def deps(aws, statuspage: StatuspageStandin, slack: SlackReceiver):
    clock = Clock()
    statuspage.now = clock  # the page's timestamps (components, incident updates) on the test's clock
    statuspage.min_interval_s = PACE_S
    statuspage.add_component("cmp-api", "API")
    statuspage.add_component("cmp-db", "Database")
    for name, value in {
        "/runbook/statuspage": statuspage.api_key,
        "/runbook/slack/ops": slack.url("ops-alerts"),
        "/runbook/slack/room": slack.url("incident-room"),
    }.items():
        aws.ssm.put_parameter(Name=name, Value=value, Type="SecureString")
    config = parse_config(
        f"""
statuspage:
  page_id: {statuspage.page_id}
  api_key: {{ssm: /runbook/statuspage}}
  components:
    - {{id: cmp-api, name: API, match: {{check: [api-*]}}}}
    - {{id: cmp-db, name: Database, match: {{check: [postgres-*]}}}}
  quiet_period: 15m
  slack:
    ops_alerts: {{ssm: /runbook/slack/ops}}
    incident_room: {{ssm: /runbook/slack/room}}
    update_every: 15m
"""
    )
    api = StatuspageApi(
        httpx.Client(timeout=5.0),
        statuspage.base_url,
        statuspage.page_id,
        statuspage.api_key,
        FAST,
        min_interval_s=PACE_S,
    )
    return StatusDependencies(
        config=config,
        state=StatusState(aws.dynamodb, aws.table_name),
        page=lambda: api,
        chat=SlackWebhook(httpx.Client(timeout=5.0), FAST),
        secrets=SecretResolver(
            SSMProvider(boto3_client=aws.ssm), SecretsProvider(boto3_client=aws.secretsmanager)
        ),
        dead_letters=DeadLetters(aws.sqs, aws.sqs.create_queue(QueueName="dlq")["QueueUrl"]),
        reporter=Recorder(),
        now=clock,
    )


def alert(
    check: str, status: str = "firing", minute: float = 0, sev: str = "SEV2", **details: Any
) -> dict[str, Any]:
    return {
        "schema": "runbook.alert/v1",
        "key": f"health-probe/{check}",
        "status": status,
        "severity": "critical",
        "sev": sev,
        "summary": f"{check} is {'DOWN' if status == 'firing' else 'UP again'}",
        "source": "health-probe",
        "check": check,
        "component": check,
        "observed_at": (T0 + timedelta(minutes=minute)).isoformat(),
        "details": details,
    }


def at(deps: StatusDependencies, minute: float) -> None:
    deps.now.now = T0 + timedelta(minutes=minute)  # type: ignore[attr-defined]


def deliver(deps: StatusDependencies, message: dict[str, Any], minute: float, message_id: str | None = None):
    at(deps, minute)
    event = {
        "Records": [
            {
                "EventSource": "aws:sns",
                "Sns": {"MessageId": message_id or str(uuid.uuid4()), "Message": json.dumps(message)},
            }
        ]
    }
    return handle_status_event(event, deps, budget_s=20.0)


def tick(deps: StatusDependencies, minute: float):
    at(deps, minute)
    event = {"source": "aws.events", "detail-type": "Scheduled Event", "time": deps.now().isoformat()}
    return handle_status_event(event, deps, budget_s=20.0)


def only_incident(statuspage: StatuspageStandin) -> Any:
    [incident] = statuspage.incidents.values()
    return incident


def test_one_component_down_and_back(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    assert (incident.status, statuspage.components["cmp-api"].status) == ("investigating", "partial_outage")
    assert incident.name == "API: partial outage"
    assert any("Status page incident opened" in m["text"] for m in slack.messages("ops-alerts"))

    deliver(deps, alert("api-gateway-acme", "resolved", 3), 3)
    assert (incident.status, statuspage.components["cmp-api"].status) == ("monitoring", "operational")
    tick(deps, 17)  # 14 minutes of quiet: still monitoring
    assert incident.status == "monitoring"
    tick(deps, 18)
    assert incident.status == "resolved"
    assert any("Resolved on the status page" in m["text"] for m in slack.messages("ops-alerts"))
    assert statuspage.rate_limited == 0  # paced under the limit throughout


def test_two_components_in_one_outage_share_one_incident(deps, statuspage):
    deliver(deps, alert("api-gateway-acme"), 0)
    deliver(deps, alert("postgres-primary", sev="SEV1"), 1)
    incident = only_incident(statuspage)
    assert statuspage.components["cmp-api"].status == "partial_outage"
    assert statuspage.components["cmp-db"].status == "major_outage"
    assert incident.impact == "critical"
    deliver(deps, alert("postgres-primary", "resolved", 2, sev="SEV1"), 2)
    assert statuspage.components["cmp-db"].status == "operational"
    assert incident.status == "investigating"  # the API is still down


def test_flapping_keeps_one_incident_and_goes_back_to_investigating(deps, statuspage):
    for n in range(3):
        deliver(deps, alert("api-gateway-acme", minute=2 * n), 2 * n)
        deliver(deps, alert("api-gateway-acme", "resolved", 2 * n + 1), 2 * n + 1)
    deliver(deps, alert("api-gateway-acme", minute=7), 7)
    incident = only_incident(statuspage)
    assert incident.status == "investigating"
    assert statuspage.components["cmp-api"].status == "partial_outage"


def test_a_latency_only_failure_shows_degraded_performance(deps, statuspage):
    deliver(deps, alert("api-gateway-acme", outcome="too_slow"), 0)
    assert statuspage.components["cmp-api"].status == "degraded_performance"
    assert only_incident(statuspage).impact == "minor"


def test_lower_sevs_never_reach_the_page(deps, statuspage):
    deliver(deps, alert("api-gateway-acme", sev="SEV3"), 0)
    assert statuspage.incidents == {}


def test_a_person_editing_the_incident_is_left_alone_and_told_in_slack(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    statuspage.person_edits_incident(incident.id, status="identified", body="We found the cause.")
    deliver(deps, alert("postgres-primary", minute=2), 2)
    assert incident.status == "identified"
    assert statuspage.components["cmp-db"].status == "operational"  # not added to the person's incident
    assert any("changed by hand" in m["text"] for m in slack.messages("ops-alerts"))
    writes_before = len(deps.reporter.writes)
    deliver(deps, alert("api-gateway-acme", "resolved", 4), 4)
    deliver(deps, alert("postgres-primary", "resolved", 4), 4)
    assert len(deps.reporter.writes) == writes_before
    assert incident.status == "identified"


def test_a_component_a_person_changed_is_not_overwritten(deps, statuspage):
    deliver(deps, alert("api-gateway-acme"), 0)
    statuspage.person_edits_component("cmp-api", "major_outage")
    deliver(deps, alert("api-gateway-acme", "resolved", 2), 2)
    assert statuspage.components["cmp-api"].status == "major_outage"
    assert only_incident(statuspage).status == "monitoring"


def test_redelivered_and_reordered_messages_converge(deps, statuspage):
    firing = alert("api-gateway-acme", minute=0)
    deliver(deps, firing, 0, message_id="m-1")
    deliver(deps, firing, 0, message_id="m-1")  # redelivered
    deliver(deps, alert("api-gateway-acme", "resolved", 5), 5)
    deliver(deps, alert("api-gateway-acme", minute=1), 6)  # an older firing, delivered late
    assert len(statuspage.incidents) == 1
    assert only_incident(statuspage).status == "monitoring"
    assert statuspage.components["cmp-api"].status == "operational"


@pytest.mark.parametrize("status", [420, 429])
def test_rate_limit_answers_are_retried(deps, statuspage, status):
    statuspage.fail_next(statuspage.page_path + "/incidents", status, times=1, headers={"Retry-After": "0"})
    deliver(deps, alert("api-gateway-acme"), 0)
    assert only_incident(statuspage).status == "investigating"


def test_the_incident_room_is_reminded_once_per_interval_with_the_timeline(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    tick(deps, 10)
    assert slack.messages("incident-room") == []
    tick(deps, 16)
    [reminder] = slack.messages("incident-room")
    assert "no update on 'API: partial outage' for 16 min" in reminder["text"]
    assert "12:00 alert: api-gateway-acme is DOWN" in reminder["text"]
    assert "Statuspage incident opened" in reminder["text"]
    assert "status page (investigating): We are investigating" in reminder["text"]
    tick(deps, 17)
    assert len(slack.messages("incident-room")) == 1
    tick(deps, 31)
    assert len(slack.messages("incident-room")) == 2


def test_an_update_posted_by_a_person_restarts_the_reminder_interval(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    at(deps, 10)
    statuspage.person_edits_incident(only_incident(statuspage).id, body="Engineers are on it.")
    tick(deps, 16)
    assert slack.messages("incident-room") == []
    tick(deps, 25.5)
    assert [m["text"].split(" (")[0] for m in slack.messages("incident-room")] == [
        "Reminder: no update on 'API: partial outage' for 16 min"
    ]
    assert "status page (investigating): Engineers are on it." in slack.messages("incident-room")[0]["text"]


def test_an_incident_a_person_took_over_still_gets_reminders(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    at(deps, 1)
    statuspage.person_edits_incident(incident.id, status="identified", body="Cause found.")
    tick(deps, 2)  # the sync sees the person's change: hands off the page
    tick(deps, 17)
    assert len(slack.messages("incident-room")) == 1
    assert incident.status == "identified"


def reminder_minutes(deps: StatusDependencies, slack: SlackReceiver, minutes: range) -> list[int]:
    """Tick every minute of `minutes`; the minutes at which #incident-room got a reminder."""
    reminded = []
    for minute in minutes:
        before = len(slack.messages("incident-room"))
        tick(deps, minute)
        if len(slack.messages("incident-room")) > before:
            reminded.append(minute)
    return reminded


def test_a_persons_incident_is_reminded_after_its_alerts_resolve_until_they_resolve_it(
    deps, statuspage, slack
):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    at(deps, 1)
    statuspage.person_edits_incident(incident.id, status="identified", body="Cause found.")
    tick(deps, 2)  # the sync sees the person's change: the incident is theirs
    deliver(deps, alert("api-gateway-acme", "resolved", 3), 3)  # its alerts resolve; still open on the page
    assert incident.status == "identified"

    assert reminder_minutes(deps, slack, range(4, 50)) == [16, 31, 46]  # every 15 min after their update
    at(deps, 50)
    statuspage.person_edits_incident(incident.id, status="resolved", body="Fixed.")
    assert reminder_minutes(deps, slack, range(51, 52)) == []  # read once more: resolved, so it ends
    assert any("resolved by hand: reminders stop" in m["text"] for m in slack.messages("ops-alerts"))
    reads = len(statuspage.received(statuspage.page_path))
    assert reminder_minutes(deps, slack, range(52, 90)) == []
    assert len(statuspage.received(statuspage.page_path)) == reads  # and no longer read


def test_a_new_failure_while_a_persons_incident_is_open_is_told_and_opens_no_second_incident(
    deps, statuspage, slack
):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    at(deps, 1)
    statuspage.person_edits_incident(incident.id, status="identified", body="Cause found.")
    tick(deps, 2)
    deliver(deps, alert("api-gateway-acme", "resolved", 3), 3)

    deliver(deps, alert("api-gateway-acme", minute=5), 5)  # the same component fails again
    assert list(statuspage.incidents) == [incident.id]
    [told] = slack.messages("incident-room")
    assert "New failure while 'API: partial outage' is handled by hand" in told["text"]
    assert "api-gateway-acme is DOWN (SEV2; API)" in told["text"]
    tick(deps, 6)
    deliver(deps, alert("api-gateway-acme", minute=5), 7)  # redelivered: not news again
    assert len(slack.messages("incident-room")) == 1
    assert list(statuspage.incidents) == [incident.id]
    assert incident.status == "identified"

    at(deps, 10)
    statuspage.person_edits_incident(incident.id, status="resolved", body="Fixed.")
    tick(deps, 11)  # still firing, but the person closed it: nothing opens for it
    assert list(statuspage.incidents) == [incident.id]
    deliver(deps, alert("postgres-primary", minute=12), 12)  # a later failure: back to normal
    assert len(statuspage.incidents) == 2
    newer = next(i for i in statuspage.incidents.values() if i.id != incident.id)
    assert newer.status == "investigating"
    assert statuspage.components["cmp-db"].status == "partial_outage"


def test_an_incident_deleted_by_hand_is_no_longer_read_or_reminded(deps, statuspage, slack):
    deliver(deps, alert("api-gateway-acme"), 0)
    incident = only_incident(statuspage)
    statuspage.person_deletes_incident(incident.id)
    tick(deps, 2)
    assert any("was deleted on the page" in m["text"] for m in slack.messages("ops-alerts"))
    reads_before = len(statuspage.received(statuspage.page_path))
    assert reminder_minutes(deps, slack, range(3, 40)) == []
    assert len(statuspage.received(statuspage.page_path)) == reads_before
    assert statuspage.incidents == {}  # not recreated while its failure lasts
