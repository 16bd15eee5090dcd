"""The heartbeat probe (memory only) and condition: never reported, stale, reported failure, fresh pass."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.heartbeat import HeartbeatProbe
from runbook.models.config import HeartbeatCheck, ProbeSettings
from runbook.models.observations import HeartbeatObservation
from runbook.models.results import Outcome
from runbook.models.state import CheckState, HeartbeatRecord
from runbook.services.conditions.heartbeat import MAX_SUMMARY_CHARS, duration_text, evaluate
from tests.support.secrets import StaticSecrets

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
STATE = CheckState(check="web-synthetics")


def check(**overrides: Any) -> HeartbeatCheck:
    fields = {"name": "web-synthetics", "kind": "heartbeat", "max_age": "30m"}
    return HeartbeatCheck.model_validate({**fields, **overrides})


def record(status: str, ago: timedelta, last_pass_ago: timedelta | None = None, summary: str = ""):
    return HeartbeatRecord(
        check="web-synthetics",
        status=status,
        reported_at=NOW - ago,
        summary=summary,
        last_pass_at=None if last_pass_ago is None else NOW - last_pass_ago,
    )


def judge(latest: HeartbeatRecord | None, **overrides: Any):
    return evaluate(check(**overrides), HeartbeatObservation(observed_at=NOW, latest=latest), STATE)


def test_never_reported():
    result = judge(None)
    assert not result.ok
    assert result.outcome is Outcome.NEVER_REPORTED
    assert result.reason == "web-synthetics: no report has arrived yet, window 30 min"


def test_a_fresh_pass_is_ok():
    result = judge(record("pass", timedelta(minutes=5), timedelta(minutes=5), "12 scenarios, Lighthouse 94"))
    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.reason == "web-synthetics: passed 5 min ago, window 30 min"
    assert result.details["summary"] == "12 scenarios, Lighthouse 94"


def test_a_pass_older_than_the_window_is_stale():
    result = judge(record("pass", timedelta(minutes=47)))
    assert result.outcome is Outcome.STALE
    assert result.reason == "web-synthetics: no passing report for 47 min, window 30 min"
    assert result.details["pass_age_s"] == 47 * 60


@pytest.mark.parametrize(("age", "outcome"), [(30 * 60, Outcome.OK), (30 * 60 + 1, Outcome.STALE)])
def test_the_window_boundary(age, outcome):
    assert judge(record("pass", timedelta(seconds=age))).outcome is outcome


def test_a_failure_after_a_fresh_pass_is_a_reported_failure_with_its_summary():
    latest = record("fail", timedelta(minutes=2), timedelta(minutes=12), "checkout scenario: timeout")
    result = judge(latest)
    assert result.outcome is Outcome.REPORTED_FAILURE
    assert result.reason == "web-synthetics: latest report (2 min ago) failed: checkout scenario: timeout"


def test_a_failure_does_not_fail_the_check_without_require_pass():
    latest = record("fail", timedelta(minutes=2), timedelta(minutes=12), "Lighthouse 88 < 90")
    result = judge(latest, require_pass=False)
    assert result.ok
    assert result.outcome is Outcome.OK
    assert "failed: Lighthouse 88 < 90" in result.reason


def test_failures_only_and_no_pass_ever_is_stale_and_says_what_failed():
    result = judge(record("fail", timedelta(minutes=2), None, "login broken"))
    assert result.outcome is Outcome.STALE
    assert result.reason == (
        "web-synthetics: no passing report yet, window 30 min; latest report (2 min ago) failed: login broken"
    )


def test_failing_for_longer_than_the_window_is_stale_even_without_require_pass():
    latest = record("fail", timedelta(minutes=1), timedelta(hours=3), "still broken")
    for require_pass in (True, False):
        result = judge(latest, require_pass=require_pass)
        assert result.outcome is Outcome.STALE
        assert result.reason.startswith("web-synthetics: no passing report for 3 h, window 30 min; latest")


def test_a_long_summary_is_truncated():
    summary = "scenario failed:\n" + "x" * 1000
    result = judge(record("fail", timedelta(minutes=1), timedelta(minutes=5), summary))
    failure_text = result.reason.split("failed: ", 1)[1]
    assert len(failure_text) == MAX_SUMMARY_CHARS
    assert failure_text.endswith("…")
    assert "\n" not in result.reason


@pytest.mark.parametrize(
    ("seconds", "text"), [(45, "45 s"), (119, "119 s"), (1800, "30 min"), (2820, "47 min"), (3 * 3600, "3 h")]
)
def test_duration_text(seconds, text):
    assert duration_text(seconds) == text


async def test_the_probe_hands_over_the_preloaded_record_or_none():
    latest = record("pass", timedelta(minutes=1))
    env = ProbeEnvironment(
        settings=ProbeSettings(),
        secrets=StaticSecrets(),
        heartbeats={"web-synthetics": latest},
        now=lambda: NOW,
    )
    observation = await HeartbeatProbe().observe(check(), env)
    assert observation.latest == latest
    assert observation.observed_at == NOW
    assert (await HeartbeatProbe().observe(check(name="other"), env)).latest is None
