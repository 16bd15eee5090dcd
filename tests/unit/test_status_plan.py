"""The Statuspage sync's decisions, pure: what the page should show from the open alerts, and the one
write that moves it there; never over a person's change."""

from datetime import UTC, datetime, timedelta

from runbook.config_file import parse_config
from runbook.models.status_config import StatuspageConfig
from runbook.models.status_state import OpenAlert, OwnedIncident
from runbook.services.status_plan import Desired, Observed, desired_state, plan

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
CONFIG = """
statuspage:
  page_id: page1
  api_key: {ssm: /runbook/statuspage}
  components:
    - {id: cmp-api, name: API, match: {check: [api-gateway-*]}}
    - {id: cmp-db, name: Database, match: {check: [postgres-*]}}
  quiet_period: 15m
"""


def config() -> StatuspageConfig:
    parsed = parse_config(CONFIG).statuspage
    assert parsed is not None
    return parsed


def open_alert(check: str, sev: str = "SEV2", degraded: bool = False) -> OpenAlert:
    return OpenAlert(
        key=f"health-probe/{check}",
        source="health-probe",
        check=check,
        component=check,
        severity="critical",
        sev=sev,
        summary=f"{check} is DOWN",
        observed_at=NOW,
        degraded=degraded,
    )


def owned(**fields: object) -> OwnedIncident:
    base = {
        "incident_id": "inc1",
        "name": "API: partial outage",
        "status": "investigating",
        "impact": "major",
        "components": {"cmp-api": "partial_outage"},
        "opened_at": NOW - timedelta(minutes=10),
        "version": 3,
    }
    return OwnedIncident.model_validate(base | fields)


def observed_as(record: OwnedIncident, **changes: object) -> Observed:
    base = {"status": record.status, "impact": record.impact, "components": dict(record.components)}
    return Observed(**(base | changes))  # type: ignore[arg-type]


def test_desired_state_takes_the_worst_per_component_and_ignores_lower_sevs():
    alerts = [
        open_alert("api-gateway-acme", "SEV2"),
        open_alert("api-gateway-globex", "SEV1"),
        open_alert("postgres-primary", degraded=True),
        open_alert("api-gateway-initech", "SEV3"),
    ]
    desired = desired_state(alerts, config())
    assert desired.components == {"cmp-api": "major_outage", "cmp-db": "degraded_performance"}
    assert desired.impact == "critical"
    assert desired_state([], config()) == Desired({}, "none")


def test_one_component_down_opens_one_incident_investigating():
    result = plan(desired_state([open_alert("api-gateway-acme")], config()), None, None, NOW, config())
    assert result.write is not None
    assert (result.write.kind, result.write.status, result.write.impact) == (
        "create",
        "investigating",
        "major",
    )
    assert result.write.components == {"cmp-api": "partial_outage"}
    assert result.write.name == "API: partial outage"
    assert "API" in (result.write.body or "")


def test_a_second_component_in_the_same_outage_joins_the_open_incident():
    record = owned()
    alerts = [open_alert("api-gateway-acme"), open_alert("postgres-primary", "SEV1")]
    result = plan(desired_state(alerts, config()), record, observed_as(record), NOW, config())
    assert result.write is not None
    assert result.write.kind == "update"
    assert result.write.components == {"cmp-db": "major_outage"}  # only what changes
    assert result.write.impact == "critical"
    assert result.record is not None
    assert result.record.components == {"cmp-api": "partial_outage", "cmp-db": "major_outage"}


def test_all_resolved_goes_to_monitoring_then_resolves_after_the_quiet_period():
    record = owned()
    first = plan(desired_state([], config()), record, observed_as(record), NOW, config())
    assert first.write is not None
    assert (first.write.status, first.write.components) == ("monitoring", {"cmp-api": "operational"})
    assert first.record is not None
    monitoring = first.record
    early = plan(
        Desired({}, "none"), monitoring, observed_as(monitoring), NOW + timedelta(minutes=14), config()
    )
    assert early.write is None
    assert not early.clear
    late = plan(
        Desired({}, "none"), monitoring, observed_as(monitoring), NOW + timedelta(minutes=15), config()
    )
    assert late.write is not None
    assert late.write.status == "resolved"
    assert late.clear
    assert any("Resolved on the status page" in n for n in late.notices)


def test_a_new_failure_during_monitoring_goes_back_to_investigating():
    monitoring = owned(status="monitoring", components={"cmp-api": "operational"}, monitoring_since=NOW)
    desired = desired_state([open_alert("api-gateway-acme")], config())
    result = plan(desired, monitoring, observed_as(monitoring), NOW + timedelta(minutes=3), config())
    assert result.write is not None
    assert (result.write.status, result.write.components) == ("investigating", {"cmp-api": "partial_outage"})
    assert result.record is not None
    assert result.record.monitoring_since is None


def test_flapping_between_syncs_writes_nothing_when_nothing_changed():
    record = owned()
    desired = desired_state([open_alert("api-gateway-acme")], config())
    assert plan(desired, record, observed_as(record), NOW, config()).write is None


def test_an_incident_a_person_changed_is_left_alone_and_said_so_once():
    record = owned()
    desired = desired_state([open_alert("api-gateway-acme")], config())
    result = plan(desired, record, observed_as(record, status="identified"), NOW, config())
    assert result.write is None
    assert result.record is not None
    assert result.record.hands_off
    assert any("changed by hand" in n for n in result.notices)
    later = plan(desired, result.record, observed_as(record, status="identified"), NOW, config())
    assert (later.write, later.notices) == (None, ())
    over = plan(Desired({}, "none"), result.record, observed_as(record, status="identified"), NOW, config())
    assert not over.clear  # its alerts resolved, but it is still open on the page: still followed
    assert over.write is None
    assert over.record is not None
    assert over.record.people_alerts == []
    closed = plan(Desired({}, "none"), over.record, observed_as(record, status="resolved"), NOW, config())
    assert closed.clear  # resolved by the person: now it is over, without touching the page
    assert closed.write is None
    assert any("resolved by hand: reminders stop" in n for n in closed.notices)


def taken_over(*checks: str, **fields: object) -> OwnedIncident:
    keys = [f"health-probe/{check}" for check in checks]
    return owned(status="identified", hands_off=True, people_alerts=keys, **fields)


def test_a_new_failure_while_a_person_has_the_incident_is_told_in_the_room_once_and_opens_nothing():
    record = taken_over("api-gateway-acme")
    alerts = [open_alert("api-gateway-acme"), open_alert("api-gateway-globex", "SEV1")]
    result = plan(desired_state(alerts, config()), record, observed_as(record), NOW, config())
    assert (result.write, result.clear, result.notices) == (None, False, ())
    [message] = result.room
    assert "New failure while 'API: partial outage' is handled by hand" in message
    assert "- api-gateway-globex is DOWN (SEV1; API)" in message
    assert "api-gateway-acme" not in message  # the person's already
    assert result.record is not None
    assert result.record.people_alerts == ["health-probe/api-gateway-acme", "health-probe/api-gateway-globex"]
    again = plan(desired_state(alerts, config()), result.record, observed_as(record), NOW, config())
    assert (again.write, again.room, again.record) == (None, (), None)


def test_a_failure_that_resolved_and_fires_again_is_news_again():
    record = taken_over("api-gateway-acme")
    resolved = plan(Desired({}, "none"), record, observed_as(record), NOW, config())
    assert resolved.record is not None
    assert resolved.record.people_alerts == []
    assert resolved.room == ()
    desired = desired_state([open_alert("api-gateway-acme")], config())
    fired = plan(desired, resolved.record, observed_as(record), NOW, config())
    assert fired.write is None
    assert len(fired.room) == 1


def test_once_the_person_closed_it_its_alerts_open_nothing_and_a_later_failure_opens_a_new_incident():
    record = taken_over("api-gateway-acme")
    still = desired_state([open_alert("api-gateway-acme")], config())
    closed = plan(still, record, observed_as(record, status="resolved"), NOW, config())
    assert (closed.write, closed.clear) == (None, False)
    assert closed.record is not None
    assert closed.record.page_closed
    quiet = plan(still, closed.record, None, NOW, config())  # no longer read: observed is None
    assert (quiet.write, quiet.clear, quiet.notices) == (None, False, ())
    later = desired_state([open_alert("api-gateway-acme"), open_alert("postgres-primary")], config())
    reopened = plan(later, closed.record, None, NOW, config())
    assert reopened.write is not None
    assert reopened.write.kind == "create"
    assert reopened.write.components == {"cmp-api": "partial_outage", "cmp-db": "partial_outage"}
    over = plan(Desired({}, "none"), closed.record, None, NOW, config())
    assert over.clear


def test_a_persons_incident_deleted_on_the_page_is_no_longer_followed():
    record = taken_over()
    result = plan(Desired({}, "none"), record, None, NOW, config())
    assert result.clear
    assert any("deleted by hand" in n for n in result.notices)


def test_a_component_a_person_changed_is_not_overwritten():
    record = owned(components={"cmp-api": "partial_outage", "cmp-db": "partial_outage"})
    seen = observed_as(record, components={"cmp-api": "partial_outage", "cmp-db": "operational"})
    result = plan(desired_state([], config()), record, seen, NOW, config())
    assert result.write is not None
    assert result.write.components == {"cmp-api": "operational"}  # cmp-db is the person's now
    assert any("Database" in n and "by hand" in n for n in result.notices)


def test_an_incident_deleted_on_the_page_is_not_recreated_during_the_same_outage():
    record = owned()
    desired = desired_state([open_alert("api-gateway-acme")], config())
    result = plan(desired, record, None, NOW, config())
    assert result.write is None
    assert result.record is not None
    assert result.record.hands_off
    assert result.record.page_closed  # nothing left to read or remind about
    assert plan(desired, result.record, None, NOW, config()).write is None
