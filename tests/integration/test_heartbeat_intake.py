"""Heartbeat reports from outside jobs reach the state table through HealthProbeFunction's service."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.adapters.state_store import StateStore
from runbook.config_file import parse_config
from runbook.models.events import HeartbeatReport, RejectedEventError, parse_probe_trigger
from runbook.services.heartbeats import record_heartbeat

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONFIG = parse_config(
    """
checks:
  - {name: web-app-synthetic, kind: heartbeat, max_age: 30m}
  - {name: api, kind: http, url: "https://api.example.com/healthz"}
"""
)


def heartbeat_event(detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "Heartbeat",
        "source": "runbook.heartbeat",
        "account": "123456789012",
        "time": NOW.isoformat(),
        "region": "eu-west-1",
        "resources": [],
        "detail": detail,
    }


@pytest.fixture
def store(aws):
    return StateStore(aws.dynamodb, aws.table_name)


def test_a_pass_is_recorded(store):
    trigger = parse_probe_trigger(
        heartbeat_event({"check": "web-app-synthetic", "status": "pass", "summary": "ok"})
    )
    outcome = record_heartbeat(trigger.detail, CONFIG, store, received_at=trigger.time)  # type: ignore[union-attr]
    assert outcome.accepted
    record = store.load_heartbeats(["web-app-synthetic"])["web-app-synthetic"]
    assert (record.status, record.last_pass_at, record.summary) == ("pass", NOW, "ok")


@pytest.mark.parametrize(
    ("check", "reason"),
    [("nope", "there is no check named 'nope'"), ("api", "a http check, not a heartbeat check")],
)
def test_reports_for_unknown_or_non_heartbeat_checks_are_rejected(store, check, reason):
    outcome = record_heartbeat(HeartbeatReport(check=check, status="pass"), CONFIG, store, NOW)
    assert not outcome.accepted
    assert reason in outcome.reason
    assert store.load_heartbeats([check]) == {}


def test_a_report_dated_in_the_future_is_recorded_at_arrival(store):
    report = HeartbeatReport(check="web-app-synthetic", status="pass", reported_at=NOW + timedelta(days=1))
    record_heartbeat(report, CONFIG, store, received_at=NOW)
    assert store.load_heartbeats(["web-app-synthetic"])["web-app-synthetic"].reported_at == NOW


def test_a_long_summary_is_cut(store):
    record_heartbeat(
        HeartbeatReport(check="web-app-synthetic", status="fail", summary="x" * 1500), CONFIG, store, NOW
    )
    assert len(store.load_heartbeats(["web-app-synthetic"])["web-app-synthetic"].summary) == 500


def test_events_of_other_shapes_are_rejected_with_what_was_expected():
    with pytest.raises(
        RejectedEventError, match=r"expected an EventBridge Scheduled Event or a runbook\.heartbeat"
    ):
        parse_probe_trigger({"Records": [{"EventSource": "aws:sns"}]})
    with pytest.raises(RejectedEventError, match="status"):
        parse_probe_trigger(heartbeat_event({"check": "web-app-synthetic", "status": "green"}))
