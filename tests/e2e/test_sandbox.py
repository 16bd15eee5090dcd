"""`make run`'s default scenario (runbook-sandbox) end to end: the built functions, driven by schedule
ticks and the AlertsTopic fan-out, against moto and the PagerDuty, Statuspage and Slack stand-ins.
Assertions are on the timeline the run prints (its entries' data), as a person reads it."""

import json
from pathlib import Path
from typing import Any

import pytest

from localrun.cfn_yaml import load_template
from runbook.services.routing import dedup_key
from sandbox.runner import SandboxOptions, SandboxRun, run_sandbox
from sandbox.scenario import DEFAULT_TICK_SECONDS, start_scenario, write_config
from sandbox.timeline import Entry
from tests.e2e.conftest import ROOT
from tests.support.clock_shift import child_env

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

OUTAGE_KEY = "health-probe/payments-api"
QUOTA_KEY = "quota-check/maps"
FAILING_COMPONENT = "Payments API"


@pytest.fixture(scope="module")
def sandbox_run(built_template: Path, tmp_path_factory: pytest.TempPathFactory) -> SandboxRun:
    work_dir = tmp_path_factory.mktemp("sandbox")
    scenario = start_scenario(DEFAULT_TICK_SECONDS)
    try:
        options = SandboxOptions(
            template=built_template,
            config_path=write_config(scenario, work_dir),
            secrets=dict(scenario.secrets),
            ticks=scenario.ticks,
            tick_seconds=DEFAULT_TICK_SECONDS,
            work_dir=work_dir,
            scenario=scenario,
            function_env=child_env(),
        )
        run = run_sandbox(options)
    finally:
        scenario.close()
    return run


def entries(run: SandboxRun, kind: str, **data: Any) -> list[Entry]:
    return [e for e in run.timeline.of(kind) if all(e.data.get(k) == v for k, v in data.items())]


def test_the_run_ends_clean(sandbox_run: SandboxRun) -> None:
    failed = [e.text for e in sandbox_run.timeline.of("invoke") if "error" in e.data]
    assert failed == []
    assert sandbox_run.failed_invocations == 0
    assert sandbox_run.violations == 0
    assert sandbox_run.timeline.of("violation") == []
    assert sandbox_run.ok
    assert sandbox_run.timeline.entries[-1].kind == "summary"
    for entry in sandbox_run.timeline.entries:  # --json prints these
        assert json.loads(entry.json())["kind"] == entry.kind


def test_one_page_per_outage_then_its_resolve(sandbox_run: SandboxRun) -> None:
    dedup = dedup_key(OUTAGE_KEY)
    events = entries(sandbox_run, "pagerduty", dedup_key=dedup)
    actions = [e.data["action"] for e in events if e.data["action"] in ("trigger", "resolve")]
    assert actions == ["trigger", "resolve"]
    (trigger,) = [e for e in events if e.data["action"] == "trigger"]
    assert trigger.data["event"]["payload"]["severity"] == "critical"  # high urgency
    (opened,) = [e for e in events if e.data["action"] == "incident"]
    assert opened.data["urgency"] == "high"
    (resolved,) = [e for e in events if e.data["action"] == "incident-resolved"]
    # The trigger and the resolve come from the probe's DOWN and UP, through the topic.
    published = [
        e.data["alert"]
        for e in sandbox_run.timeline.of("publish")
        if e.data["alert"].get("key") == OUTAGE_KEY
    ]
    assert [(a["status"], a["details"]["change"]) for a in published] == [
        ("firing", "down"),
        ("resolved", "up"),
    ]
    # Nobody acknowledged within the 20 s deadline: the sweep escalated before the resolve.
    escalations = [
        e
        for e in sandbox_run.timeline.of("pagerduty")
        if e.data.get("action") == "escalate" and e.data["incident"] == opened.data["incident"]
    ]
    assert escalations, "the ack-deadline sweep never escalated the page"
    assert escalations[0].data["level"] == 2
    assert escalations[0].t <= resolved.t


def test_the_status_page_shows_the_outage_and_the_recovery(sandbox_run: SandboxRun) -> None:
    updates = [e for e in sandbox_run.timeline.of("statuspage") if "incident" in e.data]
    assert updates, "no Statuspage incident"
    assert len({e.data["incident"] for e in updates}) == 1
    opened = updates[0]
    assert opened.data["status"] == "investigating"
    assert {(c["name"], c["new_status"]) for c in opened.data["components"]} == {
        (FAILING_COMPONENT, "major_outage")  # SEV1: the config's status for it
    }
    back = [
        e
        for e in updates
        if any(
            c["name"] == FAILING_COMPONENT and c["new_status"] == "operational" for c in e.data["components"]
        )
    ]
    assert back, "the component never went back to operational"
    assert back[0].data["status"] in ("monitoring", "resolved")
    assert updates[-1].data["status"] in ("monitoring", "resolved")
    final = "\n".join(sandbox_run.final_state)
    assert f"{FAILING_COMPONENT} operational" in final


def test_ops_alerts_is_told(sandbox_run: SandboxRun) -> None:
    told = [e.data["message"] for e in entries(sandbox_run, "slack", channel="ops-alerts")]
    assert any("Status page incident opened" in text and FAILING_COMPONENT in text for text in told), told


def test_the_quota_warning_pages_at_low_urgency_and_stays_off_the_status_page(
    sandbox_run: SandboxRun,
) -> None:
    dedup = dedup_key(QUOTA_KEY)
    (trigger,) = entries(sandbox_run, "pagerduty", dedup_key=dedup, action="trigger")
    assert trigger.data["event"]["payload"]["severity"] == "warning"  # the config's route: urgency low
    (opened,) = entries(sandbox_run, "pagerduty", dedup_key=dedup, action="incident")
    assert opened.data["urgency"] == "low"
    (published,) = [e for e in sandbox_run.timeline.of("publish") if e.data["alert"].get("key") == QUOTA_KEY]
    assert published.data["attributes"]["sev"] == "SEV3"
    routed = {
        e.kind: e.who
        for e in sandbox_run.timeline.entries
        if e.kind in ("deliver", "filtered") and e.data.get("key") == QUOTA_KEY
    }
    assert routed == {"deliver": "PagerDutyEscalationFunction", "filtered": "StatuspageUpdateFunction"}
    # It did not escalate either: SEV3's deadline is 30 minutes.
    escalated = {
        e.data["incident"] for e in sandbox_run.timeline.of("pagerduty") if e.data.get("action") == "escalate"
    }
    assert opened.data["incident"] not in escalated


def test_the_quota_check_ran_on_its_schedule_and_every_tick_probed(sandbox_run: SandboxRun) -> None:
    invoked = sandbox_run.timeline.of("invoke")
    ticks = sandbox_run.timeline.tick - 1
    probes = [e.tick for e in invoked if e.who == "HealthProbeFunction"]
    quota = [e.tick for e in invoked if e.who == "QuotaCheckFunction"]
    assert probes == list(range(1, ticks + 1))
    assert quota == [t for t in range(1, ticks + 1) if (t - 1) % 5 == 0]


def test_the_setup_shows_where_the_alarms_second_path_leads(sandbox_run: SandboxRun) -> None:
    """No function reads the WatchdogTopic and the sandbox evaluates no alarm: it says so, and that with
    the template's defaults the second path is not subscribed to anything."""
    setup = {(e.who, e.text) for e in sandbox_run.timeline.of("setup")}
    assert (
        "subscription",
        "WatchdogTopic -> https (WatchdogPagerDutyUrl): not subscribed with these parameters",
    ) in setup
    assert (
        "subscription",
        "WatchdogTopic -> email (WatchdogEmail): not subscribed with these parameters",
    ) in setup
    assert not [
        text
        for who, text in setup
        if who == "subscription" and text.startswith("WatchdogTopic -> ") and "Function" in text
    ]
    resources = load_template(ROOT / "template.yaml")["Resources"]
    count = sum(r["Type"] == "AWS::CloudWatch::Alarm" for r in resources.values())
    (alarms,) = [text for who, text in setup if "CloudWatch alarms are not evaluated" in text]
    assert alarms.startswith(f"{count} CloudWatch alarms")
    assert f"AlertsTopic ({count}), WatchdogTopic ({count})" in alarms  # every alarm notifies both
