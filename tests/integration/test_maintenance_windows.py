"""Maintenance windows through PagerDutyEscalationFunction's handler, as Lambda runs it: alerts on SNS,
the minute schedule, the state table in moto, PagerDuty's stand-in checking every event against its
spec, the wall clock moved by the test (time-machine) to a Wednesday of the runbook's calendar.

A muting window is Alertmanager's silence: it mutes pages, not state. A firing alert inside it is
remembered; the first minute sweep after the window pages it once, if it still fires; one resolved
inside never reaches PagerDuty. The shipped change window annotates: alerts page as usual and say so.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import time_machine

from standins.lambda_runtime import (
    ROOT,
    FakeLambdaContext,
    load_event,
)
from standins.pagerduty_standin import PagerDutyStandin
from tests.integration.test_health_probe_handler import emf, stdout_records

ROUTING_KEY = "R0UT1NGKEY0000000000000000000077"
WEDNESDAY = datetime(2026, 12, 2, tzinfo=UTC)  # 2026-12-02 is a Wednesday


def at(hh_mm: str, day: datetime = WEDNESDAY) -> datetime:
    hours, minutes = hh_mm.split(":")
    return day.replace(hour=int(hours), minute=int(minutes))


MUTING = """
pagerduty:
  services:
    platform: {routing_key: {ssm: /runbook/pagerduty/platform}}
  default_service: platform
  maintenance:
    - name: db maintenance
      match: {check: postgres-*}
      weekly: {day: wednesday, start: "16:00", duration: 1h}
  ack: {enabled: false}
"""
WITHOUT_WINDOW = MUTING[: MUTING.index("  maintenance:")] + "  ack: {enabled: false}\n"

Handler = Callable[[dict[str, Any]], dict[str, Any]]


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """The wall clock of the test, the handler and the stand-ins: Wednesday 15:00 UTC, ticking."""
    with time_machine.travel(at("15:00"), tick=True) as traveller:
        yield traveller


@pytest.fixture
def function(aws, pagerduty_function, clock) -> Callable[..., Handler]:
    """`function(config_text)`: PagerDutyEscalationFunction's handler on a cold start with that config
    (called again: a deploy of another config)."""
    aws.ssm.put_parameter(Name="/runbook/pagerduty/platform", Value=ROUTING_KEY, Type="SecureString")

    def cold_start(config_text: str, path: Path | None = None) -> Handler:
        handler = pagerduty_function(path or config_text)
        return lambda event: handler(event, FakeLambdaContext("PagerDutyEscalationFunction"))

    return cold_start


def alert(check: str, status: str = "firing", when: datetime | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "schema": "runbook.alert/v1",
        "key": f"health-probe/{check}",
        "status": status,
        "severity": fields.pop("severity", "critical"),
        "sev": fields.pop("sev", "SEV2"),
        "summary": f"{check} is {'DOWN' if status == 'firing' else 'UP again'}",
        "source": "health-probe",
        "check": check,
        "component": check,
        "observed_at": (when or datetime.now(UTC)).isoformat(),
        "details": {"reason": "connection refused"},
        **fields,
    }


def sns(message: dict[str, Any]) -> dict[str, Any]:
    """One SNS delivery, as SNS invokes the function (a message id of its own)."""
    event = load_event("pagerduty_escalation/sns-runbook-alert.json")
    record = event["Records"][0]["Sns"]
    record["MessageId"] = str(uuid.uuid4())
    record["Message"] = json.dumps(message)
    return event


def minute() -> dict[str, Any]:
    """The minute schedule's event, as EventBridge sends it now."""
    event = load_event("pagerduty_escalation/schedule.json")
    event["time"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return event


def triggers(pagerduty: PagerDutyStandin) -> list[dict[str, Any]]:
    return [e for e in pagerduty.events if e["event_action"] == "trigger"]


def test_an_outage_that_begins_inside_a_muting_window_pages_once_when_it_ends(
    function, pagerduty, clock, capfd
):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    summary = handler(sns(alert("postgres-primary")))
    assert summary["outcomes"] == {"held": 1}
    sweeps = []
    for sweep_at in ("16:11", "16:40", "16:59"):
        clock.move_to(at(sweep_at))
        sweeps.append(handler(minute()))
    assert pagerduty.received("/v2/enqueue") == []  # nothing reached PagerDuty while the window is open
    records = stdout_records(capfd)
    assert emf(records, "AlertsHeld")

    clock.move_to(at("17:00") + timedelta(seconds=20))  # the first sweep after the window
    summary = handler(minute())
    [trigger] = triggers(pagerduty)
    assert [s["release"]["still_held"] for s in sweeps] == [1, 1, 1]
    assert summary["release"]["released"] == 1
    assert trigger["dedup_key"] == "runbook/health-probe/postgres-primary"
    assert trigger["routing_key"] == ROUTING_KEY
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["timestamp"].startswith("2026-12-02T16:10")  # when it began
    [note] = trigger["payload"]["custom_details"]["windows"]
    assert "held in maintenance window 'db maintenance'" in note
    records = stdout_records(capfd)
    assert [
        r for r in records if r.get("message") == "held alert released" and r["window"] == "db maintenance"
    ]
    assert emf(records, "AlertsReleased")
    assert emf(records, "AlertsPaged")

    for sweep_at in ("17:01", "17:02"):
        clock.move_to(at(sweep_at))
        handler(minute())
    assert len(pagerduty.events) == 1  # paged once, never again


def test_an_alert_resolved_inside_the_window_never_reaches_pagerduty(function, pagerduty, clock):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    handler(sns(alert("postgres-primary")))
    clock.move_to(at("16:25"))
    summary = handler(sns(alert("postgres-primary", "resolved")))
    for sweep_at in ("16:30", "17:01", "17:02"):
        clock.move_to(at(sweep_at))
        handler(minute())
    assert pagerduty.received("/v2/enqueue") == []  # no trigger, and no resolve for what never opened
    assert summary["outcomes"] == {"cleared": 1}


def test_a_late_sweep_pages_the_newest_news_and_ignores_reordered_older_news(function, pagerduty, clock):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    handler(sns(alert("postgres-primary", severity="warning", sev="SEV3")))
    clock.move_to(at("16:20"))
    handler(sns(alert("postgres-primary", severity="critical", sev="SEV1")))  # it got worse
    clock.move_to(at("16:21"))
    stale = handler(sns(alert("postgres-primary", when=at("16:05"), severity="warning", sev="SEV3")))
    assert stale["outcomes"] == {"stale": 1}  # delivered late: older than what is held
    clock.move_to(at("18:30"))  # the sweeps at 17:00-18:29 did not run
    handler(minute())
    [trigger] = triggers(pagerduty)
    assert trigger["payload"]["severity"] == "critical"  # high urgency, as the newest news says
    assert trigger["payload"]["summary"].startswith("[SEV1]")
    assert trigger["payload"]["timestamp"].startswith("2026-12-02T16:20")


def test_two_overlapping_sweeps_page_once(function, pagerduty, clock):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    handler(sns(alert("postgres-primary")))
    clock.move_to(at("17:01"))
    pagerduty.delay("/v2/enqueue", 2.0)  # the first sweep is still sending when the next one starts
    first = threading.Thread(target=handler, args=(minute(),))
    first.start()
    waited = time.monotonic()
    while not pagerduty.received("/v2/enqueue") and time.monotonic() - waited < 30:
        time.sleep(0.02)
    second = handler(minute())
    first.join(timeout=30)
    assert len(triggers(pagerduty)) == 1
    assert (second["release"]["released"], second["release"]["in_flight"]) == (0, 1)


def test_removing_the_window_from_the_config_pages_what_it_held_on_the_next_sweep(function, pagerduty, clock):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    handler(sns(alert("postgres-primary")))
    clock.move_to(at("16:15"))
    handler = function(WITHOUT_WINDOW)  # deployed: the maintenance was called off
    clock.move_to(at("16:16"))
    handler(minute())
    assert [t["dedup_key"] for t in triggers(pagerduty)] == ["runbook/health-probe/postgres-primary"]


def test_a_sweep_releases_a_bounded_number_and_the_next_one_the_rest(
    function, pagerduty, clock, monkeypatch, capfd
):
    monkeypatch.setattr("runbook.services.maintenance.MAX_RELEASED", 3)
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    for n in range(5):
        handler(sns(alert(f"postgres-{n}")))
    clock.move_to(at("17:01"))
    first = handler(minute())
    assert len(triggers(pagerduty)) == 3
    assert (first["release"]["released"], first["release"]["left"]) == (3, 2)
    records = stdout_records(capfd)
    assert [
        r for r in records if r.get("message") == "held alerts left for the next sweep" and r["left"] == 2
    ]
    clock.move_to(at("17:02"))
    second = handler(minute())["release"]
    assert (second["released"], second["left"]) == (2, 0)
    assert sorted(t["dedup_key"] for t in triggers(pagerduty)) == [
        f"runbook/health-probe/postgres-{n}" for n in range(5)
    ]


def test_the_shipped_change_window_pages_as_usual_and_says_so(function, pagerduty, aws, clock):
    secret = {"platform_routing_key": ROUTING_KEY, "data_routing_key": "R0UT1NGKEYDATA000000000000000002"}
    aws.secretsmanager.create_secret(Name="runbook/pagerduty", SecretString=json.dumps(secret))
    handler = function("", ROOT / "config" / "runbook.yaml")  # the config the ConfigLayer ships
    clock.move_to(at("16:30"))  # Wednesday 16:30 UTC: the runbook's CAB change window
    handler(sns(alert("api-gateway-eu", sev="SEV1")))
    [trigger] = triggers(pagerduty)
    assert trigger["dedup_key"] == "runbook/health-probe/api-gateway-eu"
    [note] = trigger["payload"]["custom_details"]["windows"]
    assert note.startswith("during change window 'wednesday change window'")
    assert "16:00 to 17:00 UTC" in note
    clock.move_to(at("17:30"))  # after the window: nothing to say
    handler(sns(alert("web-app-eu", sev="SEV2")))
    assert "windows" not in triggers(pagerduty)[1]["payload"]["custom_details"]


def test_a_release_pagerduty_refuses_is_tried_again_by_the_next_sweep(function, pagerduty, clock, capfd):
    handler = function(MUTING)
    clock.move_to(at("16:10"))
    handler(sns(alert("postgres-primary")))
    clock.move_to(at("17:01"))
    pagerduty.fail_next(
        "/v2/enqueue", 400, body={"status": "invalid event", "message": "Event object is invalid"}
    )
    assert handler(minute())["release"]["failed"] == 1
    assert triggers(pagerduty) == []
    assert emf(stdout_records(capfd), "PageFailures")
    clock.move_to(at("17:02"))
    assert handler(minute())["release"]["released"] == 1
    assert [t["dedup_key"] for t in triggers(pagerduty)] == ["runbook/health-probe/postgres-primary"]
