"""Builds the runbook.alert/v1 message for a check that changed state. Pure."""

from datetime import datetime

from runbook.models.alert import Alert
from runbook.models.config import CheckBase
from runbook.models.results import CheckResult
from runbook.models.state import CheckState
from runbook.services.transitions import Change
from runbook.text import truncate

HEALTH_PROBE_SOURCE = "health-probe"
MAX_SUMMARY = 1024


def alert_key(source: str, check_name: str) -> str:
    """The same problem always has the same key: firing and resolved of one check share it."""
    return f"{source}/{check_name}"


def check_alert(
    check: CheckBase,
    result: CheckResult,
    change: Change,
    previous: CheckState,
    source: str = HEALTH_PROBE_SOURCE,
) -> Alert:
    if change == "down":
        status, summary = "firing", f"{check.name} is DOWN: {result.reason}"
    else:
        status = "resolved"
        summary = f"{check.name} is UP again{_since(previous.changed_at)}: {result.reason}"
    links = {
        name: str(url)
        for name, url in (("runbook", check.runbook_url), ("dashboard", check.dashboard_url))
        if url is not None
    }
    return Alert(
        key=alert_key(source, check.name),
        status=status,
        severity=check.severity,
        sev=check.sev,
        summary=truncate(summary, MAX_SUMMARY),
        source=source,
        check=check.name,
        component=check.component_name,
        observed_at=result.observed_at,
        details={
            "kind": result.kind,
            "outcome": result.outcome.value,
            "reason": result.reason,
            "latency_ms": result.latency_ms,
            "failure_threshold": check.failure_threshold,
            "success_threshold": check.success_threshold,
            "down_since": previous.changed_at.isoformat() if change == "up" and previous.changed_at else None,
            "evidence": result.details,
        },
        labels=dict(check.labels),
        links=links,
    )


def _since(when: datetime | None) -> str:
    return f" (down since {when:%Y-%m-%d %H:%M} UTC)" if when else ""
