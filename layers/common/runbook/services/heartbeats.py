"""Heartbeat reports from outside jobs (e.g. the web app's e2e + Lighthouse run in CI)."""

from datetime import datetime

from pydantic import BaseModel

from runbook.adapters.state_store import StateStore
from runbook.models.config import HeartbeatCheck, RunbookConfig
from runbook.models.events import MAX_HEARTBEAT_SUMMARY, HeartbeatReport


class HeartbeatOutcome(BaseModel):
    check: str
    accepted: bool
    reason: str


def record_heartbeat(
    report: HeartbeatReport, config: RunbookConfig, store: StateStore, received_at: datetime
) -> HeartbeatOutcome:
    check = config.check(report.check)
    if not isinstance(check, HeartbeatCheck):
        what = "no check" if check is None else f"a {check.kind} check, not a heartbeat check,"
        return HeartbeatOutcome(
            check=report.check, accepted=False, reason=f"there is {what} named {report.check!r}"
        )
    # A job's own clock may be wrong; never let it claim a report from the future.
    reported_at = min(report.reported_at or received_at, received_at)
    summary = report.summary[:MAX_HEARTBEAT_SUMMARY]
    if not store.save_heartbeat(check.name, report.status, reported_at, summary):
        return HeartbeatOutcome(check=check.name, accepted=False, reason="a newer report is already recorded")
    return HeartbeatOutcome(check=check.name, accepted=True, reason=f"{report.status} recorded")
