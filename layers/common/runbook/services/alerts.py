"""Builds the runbook.alert/v1 message for a check that changed state. Pure."""

from datetime import datetime

from runbook.models.alert import Alert, AlertStatus
from runbook.models.config import CheckBase
from runbook.models.levels import SEVERITY_RANK, Sev, Severity
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
    level: Severity | None = None,
) -> Alert:
    """`level`: the severity the check moved to (default: its own); a resolve keeps the open alert's."""
    severity = (previous.level or check.severity) if change == "up" else (level or check.severity)
    status: AlertStatus = "resolved" if change == "up" else "firing"
    summary = _summary(check, change, severity, result.reason, previous)
    links = {
        name: str(url)
        for name, url in (("runbook", check.runbook_url), ("dashboard", check.dashboard_url))
        if url is not None
    }
    return Alert(
        key=alert_key(source, check.name),
        status=status,
        severity=severity,
        sev=sev_for(severity, check),
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
            **_phases(result),
            "failure_threshold": check.failure_threshold,
            "success_threshold": check.success_threshold,
            "change": change,
            "previous_severity": previous.level if change in ("escalated", "deescalated") else None,
            "down_since": previous.changed_at.isoformat() if change == "up" and previous.changed_at else None,
            "evidence": result.details,
        },
        labels=dict(check.labels),
        links=links,
    )


def _phases(result: CheckResult) -> dict[str, object]:
    """HTTP: where the latency went, so that on-call sees whether DNS, TLS or the server was slow."""
    if result.phases is None:
        return {}
    return {"phases_ms": result.phases.timed_ms(), "connection_reused": result.phases.reused}


def sev_for(severity: Severity, check: CheckBase) -> Sev:
    """The check's SEV is for its own severity; a lower level of a graded check (an integration's quota at
    warning) is a lower incident, so that it never opens a customer-facing SEV1/SEV2 incident."""
    if SEVERITY_RANK[severity] >= SEVERITY_RANK[check.severity]:
        return check.sev
    floor: Sev = "SEV3" if severity == "warning" else "SEV4"
    return max(check.sev, floor)  # "SEV3" > "SEV2": the lower of the two incidents


def _summary(check: CheckBase, change: Change, severity: Severity, reason: str, previous: CheckState) -> str:
    name = check.name
    if change == "down":
        # A lower level of a graded check (a quota warning) is not an outage: say what it is.
        state = "DOWN" if SEVERITY_RANK[severity] >= SEVERITY_RANK[check.severity] else severity.upper()
        return f"{name} is {state}: {reason}"
    if change == "up":
        return f"{name} is UP again{_since(previous.changed_at)}: {reason}"
    return f"{name} {change} from {previous.level}: {reason}"


def _since(when: datetime | None) -> str:
    return f" (down since {when:%Y-%m-%d %H:%M} UTC)" if when else ""


def retired_alert(last: Alert, now: datetime) -> Alert:
    """The resolve of a check removed from the config (or disabled) while its alert was firing."""
    summary = f"{last.check} was removed from the config while DOWN: resolved so that nothing stays open"
    return last.model_copy(
        update={
            "status": "resolved",
            "summary": summary,
            "observed_at": now,
            "details": {**last.details, "change": "retired"},
        }
    )
