"""Routing decisions (pure): service, SEV, urgency, groups, maintenance windows, dedup keys; and the
config errors of the `pagerduty:` section."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.config_file import ConfigError, parse_config
from runbook.models.alert import Alert
from runbook.models.paging import PagerDutyConfig
from runbook.services.routing import decide, dedup_key

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # a Friday
MONDAY = "weekly: {day: monday, start: '01:00', duration: 1h}"
CONFIG = """
pagerduty:
  services:
    platform: {routing_key: {ssm: /runbook/pd/platform}}
    data: {routing_key: {ssm: /runbook/pd/data}}
  default_service: platform
  routes:
    - match: {check: [postgres-*, redis-*]}
      service: data
    - match: {source: cloudwatch, dimensions: {DBInstanceIdentifier: "prod-*"}}
      service: data
      sev: SEV1
    - match: {source: quota-check, severity: [warning]}
      urgency: none
    - match: {labels: {team: web}}
      severity: error
  groups:
    - name: gateway-acme
      match: {labels: {gateway: acme}}
  maintenance:
    - name: night window
      match: {source: health-probe}
      weekly: {day: wednesday, start: "23:30", duration: 1h}
    - name: db migration
      match: {check: postgres-*}
      start: 2026-12-01T22:00:00Z
      end: 2026-12-02T02:00:00Z
  ack: {enabled: false}
"""


def pagerduty(text: str = CONFIG) -> PagerDutyConfig:
    config = parse_config(text).pagerduty
    assert config is not None
    return config


def alert(**fields: Any) -> Alert:
    base: dict[str, Any] = {
        "key": f"{fields.get('source', 'health-probe')}/{fields.get('check', 'api')}",
        "status": "firing",
        "severity": "critical",
        "sev": "SEV2",
        "summary": "api is DOWN",
        "source": "health-probe",
        "check": "api",
        "component": "api",
        "observed_at": NOW,
    }
    return Alert.model_validate(base | fields)


@pytest.mark.parametrize(
    ("fields", "service", "sev", "pd_severity"),
    [
        ({}, "platform", "SEV2", "critical"),
        ({"check": "postgres-primary"}, "data", "SEV2", "critical"),
        (
            {"source": "cloudwatch", "labels": {"dimension.DBInstanceIdentifier": "prod-orders"}},
            "data",
            "SEV1",
            "critical",
        ),
        (
            {"source": "cloudwatch", "labels": {"dimension.DBInstanceIdentifier": "staging-1"}},
            "platform",
            "SEV2",
            "critical",
        ),
        ({"severity": "warning", "sev": "SEV3"}, "platform", "SEV3", "warning"),
        ({"labels": {"team": "web"}}, "platform", "SEV2", "error"),
    ],
)
def test_first_matching_route_decides_service_sev_and_severity(fields, service, sev, pd_severity):
    decision = decide(alert(**fields), pagerduty(), NOW)
    assert (decision.action, decision.service, decision.sev, decision.pd_severity) == (
        "trigger",
        service,
        sev,
        pd_severity,
    )


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"severity": "info", "sev": "SEV4"}, "urgency none for a info alert"),
        ({"source": "quota-check", "severity": "warning"}, "urgency none for a warning alert"),
    ],
)
def test_info_and_urgency_none_hold_the_page(fields, reason):
    decision = decide(alert(**fields), pagerduty(), NOW)
    assert decision.action == "hold"
    assert reason in decision.reason


@pytest.mark.parametrize(
    ("when", "fields", "held"),
    [
        (datetime(2026, 12, 2, 23, 45, tzinfo=UTC), {}, True),  # Wednesday 23:45, inside
        (datetime(2026, 12, 3, 0, 15, tzinfo=UTC), {}, True),  # past midnight, still inside
        (datetime(2026, 12, 3, 0, 31, tzinfo=UTC), {}, False),  # over
        (datetime(2026, 12, 2, 23, 29, tzinfo=UTC), {}, False),  # not yet
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), {"check": "postgres-primary"}, True),  # one-off, matching
        (datetime(2026, 12, 1, 23, 0, tzinfo=UTC), {}, False),  # one-off, another check
    ],
)
def test_maintenance_windows_hold_firing_alerts(when, fields, held):
    decision = decide(alert(**fields), pagerduty(), when)
    assert (decision.action == "hold") is held
    if held:
        assert "maintenance window" in decision.reason


def test_a_muting_window_says_which_window_holds_the_alert_until_when():
    decision = decide(alert(), pagerduty(), datetime(2026, 12, 2, 23, 45, tzinfo=UTC))
    assert (decision.held_by, decision.held_until) == (
        "night window",
        datetime(2026, 12, 3, 0, 30, tzinfo=UTC),
    )
    assert "until 2026-12-03 00:30 UTC" in decision.reason


def test_an_annotating_window_pages_and_says_so():
    text = CONFIG.replace(
        "  maintenance:\n",
        "  maintenance:\n"
        "    - {name: deploys, mode: annotate, weekly: {day: friday, start: '11:30', duration: 1h}}\n",
    )
    decision = decide(alert(), pagerduty(text), NOW)
    assert decision.action == "trigger"
    assert decision.windows == ("during change window 'deploys' (2026-11-27 11:30 to 12:30 UTC)",)
    assert decide(alert(), pagerduty(), NOW).windows == ()  # no window covers Friday noon


@pytest.mark.parametrize(
    ("match", "everything"),
    [
        ("{check: '*'}", True),
        ("{check: ['*', api]}", True),
        ("{severity: [info, warning, critical]}", True),
        ("{check: 'api-*'}", False),
        ("{labels: {team: '*'}}", False),  # needs the label
        ("{sev: [SEV1]}", False),
    ],
)
def test_a_muting_window_that_lets_every_alert_through_is_warned_about(match, everything):
    text = CONFIG.replace(
        "  maintenance:\n",
        f"  maintenance:\n    - {{name: wide, match: {match}, {MONDAY}}}\n",
    )
    warnings = pagerduty(text).warnings()
    assert bool(warnings) is everything
    if everything:
        [(where, message)] = warnings
        assert where == ("pagerduty", "maintenance", 0)
        assert "'wide'" in message


def test_resolves_are_sent_inside_a_window_and_for_info_alerts():
    wednesday = datetime(2026, 12, 2, 23, 45, tzinfo=UTC)
    for fields in ({}, {"severity": "info", "sev": "SEV4"}):
        assert decide(alert(status="resolved", **fields), pagerduty(), wednesday).action == "resolve"


def test_group_members_share_one_dedup_key_and_keep_their_own_member_key():
    one = decide(alert(check="api", labels={"gateway": "acme"}), pagerduty(), NOW)
    two = decide(alert(check="auth", key="health-probe/auth", labels={"gateway": "acme"}), pagerduty(), NOW)
    assert one.dedup_key == two.dedup_key == "runbook/group/gateway-acme"
    assert (one.member, two.member) == ("health-probe/api", "health-probe/auth")


def test_dedup_keys_are_deterministic_and_fit_pagerduty():
    assert dedup_key("health-probe/api") == dedup_key("health-probe/api") == "runbook/health-probe/api"
    long_a, long_b = "x" * 300 + "a", "x" * 300 + "b"
    assert len(dedup_key(long_a)) <= 255
    assert dedup_key(long_a) != dedup_key(long_b)


@pytest.mark.parametrize(
    ("section", "problem"),
    [
        (
            "  services: {p: {routing_key: {ssm: /k}}}\n  default_service: q\n  ack: {enabled: false}\n",
            "unknown PagerDuty service(s) ['q']",
        ),
        (
            "  services: {p: {routing_key: {ssm: /k}, service_id: P1}}\n  default_service: p\n",
            "the ack-deadline sweep needs ack.api_token and ack.from_email",
        ),
        (
            "  services: {p: {routing_key: {ssm: /k}}}\n  default_service: p\n  ack: {enabled: false}\n"
            "  maintenance: [{name: x, start: '2026-12-01T22:00:00', end: '2026-12-02T02:00:00Z'}]\n",
            "with a time zone",
        ),
        (
            "  services: {p: {routing_key: {ssm: /k}}}\n  default_service: p\n  ack: {enabled: false}\n"
            f"  maintenance: [{{name: x, {MONDAY}}}]\n",
            "has no `match`",
        ),
        (
            "  services: {p: {routing_key: {ssm: /k}}}\n  default_service: p\n  ack: {enabled: false}\n"
            f"  maintenance: [{{name: x, match: {{}}, mode: mute, {MONDAY}}}]\n",
            "has no `match`",
        ),
        (
            "  services: {p: {routing_key: 'plain-text-key'}}\n"
            "  default_service: p\n  ack: {enabled: false}\n",
            "expected a secret reference",
        ),
    ],
)
def test_config_mistakes_are_named(section, problem):
    with pytest.raises(ConfigError) as caught:
        parse_config("pagerduty:\n" + section)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_per_sev_ack_deadlines():
    config = pagerduty(
        CONFIG.replace("ack: {enabled: false}", "ack: {enabled: false, deadlines: {SEV3: 30m}}")
    )
    assert (
        config.ack.deadline_for("SEV3"),
        config.ack.deadline_for("SEV1"),
        config.ack.deadline_for(None),
    ) == (
        1800.0,
        300.0,
        300.0,
    )
    assert timedelta(seconds=config.ack.deadline) == timedelta(minutes=5)
