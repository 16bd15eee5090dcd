"""The sandbox's SNS filter-policy matching, and what it reads of the template's wiring (no sockets)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from runbook.models.alert import Alert
from sandbox.filter_policy import (
    FilterPolicyError,
    UnsupportedFilterPolicyError,
    describe,
    keys_of,
    matches,
)
from sandbox.wiring import Schedule, read_wiring

ROOT = Path(__file__).resolve().parents[2]


def attrs(**values: str) -> dict[str, dict[str, str]]:
    """String attributes as the SNS envelope carries them."""
    return {name: {"Type": "String", "Value": value} for name, value in values.items()}


@pytest.fixture(scope="module")
def statuspage_policy() -> dict[str, Any]:
    """The filter policy template.yaml gives StatuspageUpdateFunction's AlertsTopic subscription."""
    wiring = read_wiring(ROOT / "template.yaml")
    (subscription,) = [s for s in wiring.subscriptions if s.function == "StatuspageUpdateFunction"]
    assert subscription.topic == "AlertsTopic"
    assert subscription.scope == "MessageAttributes"
    assert subscription.filter_policy is not None
    return subscription.filter_policy


# ---------------------------------------------------------------- the template's own policy
@pytest.mark.parametrize(
    ("attributes", "delivered"),
    [
        (attrs(sev="SEV1", status="firing", change="down"), True),
        (attrs(sev="SEV2", status="firing", change="escalated"), True),
        (attrs(sev="SEV3", status="firing", change="down"), False),  # a quota warning stays off the page
        (attrs(sev="SEV4", status="firing"), False),
        (attrs(sev="SEV3", status="resolved", change="up"), True),  # every resolve
        (attrs(sev="SEV3", status="firing", change="deescalated"), True),  # leaves the page
        (attrs(severity="critical"), False),  # none of the attributes it filters on
        ({}, False),
        (attrs(sev="sev1", status="firing"), False),  # exact, case-sensitive
    ],
)
def test_the_templates_statuspage_policy(
    statuspage_policy: dict[str, Any], attributes: dict[str, Any], delivered: bool
) -> None:
    assert matches(statuspage_policy, message_attributes=attributes) is delivered


@pytest.mark.parametrize(
    ("sev", "status", "change", "delivered"),
    [
        ("SEV1", "firing", "down", True),
        ("SEV3", "firing", "down", False),
        ("SEV3", "resolved", "up", True),
        ("SEV3", "firing", "deescalated", True),
        ("SEV3", "firing", None, False),
    ],
)
def test_what_the_alert_model_publishes_meets_the_templates_policy(
    statuspage_policy: dict[str, Any], sev: str, status: str, change: str | None, delivered: bool
) -> None:
    alert = Alert(
        key="health-probe/api",
        status=status,
        severity="critical",
        sev=sev,
        summary="api is DOWN",
        source="health-probe",
        check="api",
        component="api",
        observed_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
        details={"change": change} if change else {},
    )
    envelope_attributes = attrs(**alert.message_attributes())
    assert matches(statuspage_policy, message_attributes=envelope_attributes) is delivered


def test_the_template_wiring(statuspage_policy: dict[str, Any]) -> None:
    wiring = read_wiring(ROOT / "template.yaml")
    assert wiring.topics == ["AlertsTopic", "WatchdogTopic"]
    subscribed = {s.function: s.filter_policy for s in wiring.subscribers("AlertsTopic")}
    assert subscribed == {"PagerDutyEscalationFunction": None, "StatuspageUpdateFunction": statuspage_policy}
    assert wiring.subscribers("WatchdogTopic") == []  # the alarms' second path runs none of the functions
    every = {(s.function, s.name): s.every_ticks for s in wiring.schedules}
    assert every == {
        ("HealthProbeFunction", "Schedule"): 1,
        ("QuotaCheckFunction", "Schedule"): 5,  # rate(5 minutes), the parameter's default
        ("PagerDutyEscalationFunction", "AckSweep"): 1,
        ("StatuspageUpdateFunction", "Sync"): 1,
    }
    assert wiring.functions["StatuspageUpdateFunction"].reserved_concurrency == 1
    assert wiring.functions["QuotaCheckFunction"].max_retries == 1
    assert any("Heartbeat" in note for note in wiring.not_driven)


def test_schedules_fire_on_their_ticks() -> None:
    five = Schedule("F", "S", "rate(5 minutes)", 5)
    assert [t for t in range(1, 12) if five.fires_on(t)] == [1, 6, 11]
    cron = Schedule("F", "S", "cron(0 9 * * ? *)", None)
    assert [t for t in range(1, 5) if cron.fires_on(t)] == [1]


# ---------------------------------------------------------------- SNS's rules
def test_no_policy_delivers_everything() -> None:
    assert matches(None, message_attributes={})
    assert matches({}, message_attributes=attrs(sev="SEV4"))


def test_values_of_a_key_are_alternatives_and_keys_all_apply() -> None:
    policy = {"sev": ["SEV1", "SEV2"], "source": ["health-probe"]}
    assert matches(policy, message_attributes=attrs(sev="SEV2", source="health-probe"))
    assert not matches(policy, message_attributes=attrs(sev="SEV2", source="quota-check"))
    assert not matches(policy, message_attributes=attrs(sev="SEV2"))  # a missing attribute never matches


def test_or_combines_with_the_other_keys_by_and() -> None:
    policy = {"source": ["health-probe"], "$or": [{"sev": ["SEV1"]}, {"status": ["resolved"]}]}
    assert matches(policy, message_attributes=attrs(source="health-probe", sev="SEV1"))
    assert matches(policy, message_attributes=attrs(source="health-probe", sev="SEV3", status="resolved"))
    assert not matches(policy, message_attributes=attrs(source="quota-check", sev="SEV1"))
    assert not matches(policy, message_attributes=attrs(source="health-probe", sev="SEV3"))


def test_or_nests() -> None:
    policy = {"$or": [{"a": ["1"]}, {"$or": [{"b": ["2"]}, {"c": ["3"]}]}]}
    assert matches(policy, message_attributes=attrs(c="3"))
    assert not matches(policy, message_attributes=attrs(d="4"))


def test_numbers_match_number_attributes_only() -> None:
    number = {"count": {"Type": "Number", "Value": "5"}}
    text = attrs(count="5")
    assert matches({"count": [5]}, message_attributes=number)
    assert matches({"count": [5.0]}, message_attributes=number)
    assert not matches({"count": ["5"]}, message_attributes=number)
    assert not matches({"count": [5]}, message_attributes=text)


def test_a_string_array_matches_when_any_element_does() -> None:
    tags = {"tags": {"Type": "String.Array", "Value": json.dumps(["db", "prod"])}}
    assert matches({"tags": ["prod"]}, message_attributes=tags)
    assert not matches({"tags": ["staging"]}, message_attributes=tags)


def test_exists_and_prefix() -> None:
    assert matches({"change": [{"exists": True}]}, message_attributes=attrs(change="down"))
    assert not matches({"change": [{"exists": True}]}, message_attributes=attrs(sev="SEV1"))
    assert matches({"change": [{"exists": False}]}, message_attributes=attrs(sev="SEV1"))
    assert not matches({"change": [{"exists": False}]}, message_attributes=attrs(change="down"))
    assert matches({"check": [{"prefix": "api-"}]}, message_attributes=attrs(check="api-gateway-acme"))
    assert not matches({"check": [{"prefix": "api-"}]}, message_attributes=attrs(check="web-app"))
    assert not matches({"check": [{"prefix": "api-"}]}, message_attributes={})


def test_message_body_scope_follows_nested_keys() -> None:
    policy = {"status": ["firing"], "details": {"change": ["down", "escalated"]}}
    body = json.dumps({"status": "firing", "details": {"change": "down"}})
    assert matches(policy, message=body, scope="MessageBody")
    other = json.dumps({"status": "firing", "details": {"change": "up"}})
    assert not matches(policy, message=other, scope="MessageBody")
    assert not matches(policy, message=json.dumps({"status": "firing"}), scope="MessageBody")
    assert not matches(policy, message="plain text, not JSON", scope="MessageBody")


def test_operators_it_does_not_emulate_are_refused_rather_than_guessed() -> None:
    with pytest.raises(UnsupportedFilterPolicyError, match="anything-but"):
        matches({"sev": [{"anything-but": ["SEV4"]}]}, message_attributes=attrs(sev="SEV1"))
    # Even when another alternative already matched: the answer must not depend on the message.
    policy = {"$or": [{"sev": ["SEV1"]}, {"count": [{"numeric": [">", 5]}]}]}
    with pytest.raises(UnsupportedFilterPolicyError, match="numeric"):
        matches(policy, message_attributes=attrs(sev="SEV1"))


@pytest.mark.parametrize(
    "policy",
    [
        {"sev": "SEV1"},  # not a list
        {"sev": []},
        {"$or": [{"sev": ["SEV1"]}]},  # $or needs two alternatives
        {"sev": [{"prefix": "S", "exists": True}]},  # one operator per object
        {"sev": [["SEV1"]]},
        {"details": {"change": ["down"]}},  # nesting needs the MessageBody scope
    ],
)
def test_policies_sns_would_refuse(policy: dict[str, Any]) -> None:
    with pytest.raises(FilterPolicyError):
        matches(policy, message_attributes=attrs(sev="SEV1", details="x"))


def test_unknown_scope_is_refused() -> None:
    with pytest.raises(FilterPolicyError, match="FilterPolicyScope"):
        matches({"sev": ["SEV1"]}, message_attributes=attrs(sev="SEV1"), scope="Body")


def test_describe_and_keys(statuspage_policy: dict[str, Any]) -> None:
    assert describe(statuspage_policy) == (
        "(sev in [SEV1, SEV2] | status in [resolved] | change in [deescalated])"
    )
    assert describe(None) == "every message"
    assert keys_of(statuspage_policy) == {"sev", "status", "change"}


def test_the_alarms_second_path_is_shown_with_the_parameters_it_was_read_with() -> None:
    """The sandbox shows where the WatchdogTopic leads (it delivers nothing there) and that the alarms
    are not evaluated; the endpoint's value is not shown (the PagerDuty URL holds an integration key)."""
    url = "https://events.pagerduty.com/integration/0123abcd/enqueue"
    default = read_wiring(ROOT / "template.yaml")
    assert [(e.topic, e.protocol, e.created) for e in default.endpoints] == [
        ("WatchdogTopic", "https", False),
        ("WatchdogTopic", "email", False),
    ]
    assert all("not subscribed" in e.describe() for e in default.endpoints)
    alarms = default.alarms_line()
    assert alarms is not None
    assert "not evaluated" in alarms
    assert f"WatchdogTopic ({len(default.alarm_topics)})" in alarms
    wired = read_wiring(ROOT / "template.yaml", {"WatchdogPagerDutyUrl": url})
    (pagerduty,) = [e for e in wired.endpoints if e.created]
    assert pagerduty.endpoint_parameter == "WatchdogPagerDutyUrl"
    assert url not in pagerduty.describe()
