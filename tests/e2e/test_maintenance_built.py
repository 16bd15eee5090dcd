"""Maintenance and change windows through the built PagerDutyEscalationFunction (`sam build`, run by
runbook-local as Lambda would), against the moto server and PagerDuty's stand-in. Each invocation runs
on a wall clock of its own (libfaketime): a Wednesday of the runbook's calendar, in the past of any
test clock, so that nothing depends on today's date."""

import glob
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from standins.pagerduty_standin import PagerDutyStandin
from tests.e2e.conftest import ROOT, LocalAws
from tests.e2e.test_built_artifact import pagerduty_env, run_event

pytestmark = pytest.mark.e2e

WEDNESDAY = datetime(2025, 12, 3, tzinfo=UTC)
MUTING = """\
version: 1
pagerduty:
  services:
    platform: {routing_key: {secret: runbook/pagerduty, key: platform_routing_key}}
  default_service: platform
  maintenance:
    - name: db maintenance
      match: {check: postgres-*}
      weekly: {day: wednesday, start: "16:00", duration: 1h}
  ack: {enabled: false}
"""


def on_wednesday_at(hh_mm: str) -> dict[str, str]:
    """The function's wall clock: Wednesday 2025-12-03 at `hh_mm` UTC, ticking from there."""
    libraries = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))
    if not libraries:
        pytest.skip("the function's clock is set with libfaketime: apt-get install faketime")
    return {"LD_PRELOAD": libraries[0], "FAKETIME": f"@{WEDNESDAY:%Y-%m-%d} {hh_mm}:00"}


def sns_event(tmp_path: Path, check: str, hh_mm: str) -> Path:
    alert = {
        "schema": "runbook.alert/v1",
        "key": f"health-probe/{check}",
        "status": "firing",
        "severity": "critical",
        "sev": "SEV1",
        "summary": f"{check} is DOWN",
        "source": "health-probe",
        "check": check,
        "component": check,
        "observed_at": f"{WEDNESDAY:%Y-%m-%d}T{hh_mm}:00Z",
    }
    event = json.loads((ROOT / "events/pagerduty_escalation/sns-runbook-alert.json").read_text())
    event["Records"][0]["Sns"]["MessageId"] = str(uuid.uuid4())
    event["Records"][0]["Sns"]["Message"] = json.dumps(alert)
    path = tmp_path / "pagerduty_escalation" / f"sns-{check}-{hh_mm.replace(':', '')}.json"
    path.parent.mkdir(exist_ok=True)  # the directory names the function (events/<function dir>/)
    path.write_text(json.dumps(event))
    return path


def invoke_at(
    hh_mm: str, event: Path, built: Path, aws: LocalAws, closed_url: str, env: dict[str, str]
) -> dict[str, Any]:
    result = run_event(built, event, aws, closed_url, {**env, **on_wednesday_at(hh_mm)})
    payload = result.raise_for_error()
    assert isinstance(payload, dict), payload
    return payload


def test_the_shipped_change_window_pages_and_says_so(
    built_template: Path, local_aws: LocalAws, closed_url: str, pagerduty: PagerDutyStandin, tmp_path: Path
) -> None:
    env = pagerduty_env(local_aws, pagerduty)  # and the config the ConfigLayer ships
    event = sns_event(tmp_path, "api-gateway-eu", "16:30")
    invoke_at("16:30", event, built_template, local_aws, closed_url, env)
    [trigger] = pagerduty.events
    assert (trigger["event_action"], trigger["dedup_key"]) == (
        "trigger",
        "runbook/health-probe/api-gateway-eu",
    )
    [note] = trigger["payload"]["custom_details"]["windows"]
    assert note == "during change window 'wednesday change window' (2025-12-03 16:00 to 17:00 UTC)"


def test_a_muting_window_pages_what_still_fires_once_when_it_ends(
    built_template: Path, local_aws: LocalAws, closed_url: str, pagerduty: PagerDutyStandin, tmp_path: Path
) -> None:
    config = tmp_path / "runbook.yaml"
    config.write_text(MUTING)
    env = {**pagerduty_env(local_aws, pagerduty), "RUNBOOK_CONFIG": str(config)}
    schedule = ROOT / "events/pagerduty_escalation/schedule.json"
    held = invoke_at(
        "16:10", sns_event(tmp_path, "postgres-primary", "16:10"), built_template, local_aws, closed_url, env
    )
    assert held["outcomes"] == {"held": 1}
    invoke_at("16:30", schedule, built_template, local_aws, closed_url, env)
    assert pagerduty.received("/v2/enqueue") == []

    released = invoke_at("17:01", schedule, built_template, local_aws, closed_url, env)
    [trigger] = pagerduty.events
    assert (trigger["event_action"], trigger["dedup_key"]) == (
        "trigger",
        "runbook/health-probe/postgres-primary",
    )
    assert "held in maintenance window 'db maintenance'" in trigger["payload"]["custom_details"]["windows"][0]
    assert released["release"]["released"] == 1

    invoke_at("17:02", schedule, built_template, local_aws, closed_url, env)
    assert len(pagerduty.events) == 1
