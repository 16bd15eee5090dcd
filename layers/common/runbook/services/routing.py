"""Decides what an alert does in PagerDuty: which service, how loud, whether it pages at all (urgency,
maintenance windows), and which PagerDuty alert it belongs to (its own, or its group's). Pure."""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from runbook.models.alert import Alert
from runbook.models.levels import Sev
from runbook.models.pagerduty import fit_dedup_key
from runbook.models.paging import (
    DEFAULT_URGENCY,
    URGENCY_SEVERITY,
    PagerDutyConfig,
    PagerDutySeverity,
    Route,
)

DEDUP_PREFIX = "runbook/"

Action = Literal["trigger", "resolve", "hold"]


@dataclass(frozen=True)
class PageDecision:
    action: Action  # hold: a firing alert that does not page (urgency none, maintenance); logged and counted
    service: str
    dedup_key: str
    member: str  # the alert's own key: a group's PagerDuty alert stays open while any member fires
    sev: Sev
    pd_severity: PagerDutySeverity | None
    group: str | None = None
    reason: str = ""


def decide(alert: Alert, config: PagerDutyConfig, now: datetime) -> PageDecision:
    route = next((r for r in config.routes if r.match.matches(alert)), Route())
    group = next((g for g in config.groups if g.match.matches(alert)), None)
    urgency = route.urgency or DEFAULT_URGENCY[alert.severity]
    decision = PageDecision(
        action="resolve" if alert.status == "resolved" else "trigger",
        service=route.service or config.default_service,
        dedup_key=dedup_key(f"group/{group.name}" if group else alert.key),
        member=alert.key,
        sev=route.sev or alert.sev,
        pd_severity=route.severity or URGENCY_SEVERITY[urgency],
        group=group.name if group else None,
    )
    if decision.action == "resolve":
        return decision  # resolves are always sent, inside a maintenance window too
    if decision.pd_severity is None:
        return _hold(decision, f"urgency none for a {alert.severity} alert: it does not page")
    window = next((w for w in config.maintenance if w.match.matches(alert) and w.covers(now)), None)
    if window is not None:
        return _hold(decision, f"inside maintenance window {window.name!r}")
    return decision


def dedup_key(key: str) -> str:
    """Deterministic: the same problem always maps to the same PagerDuty alert, so a resolve reaches
    what its trigger opened. Keys longer than PagerDuty's limit keep their start and a hash."""
    return fit_dedup_key(DEDUP_PREFIX + key)


def _hold(decision: PageDecision, reason: str) -> PageDecision:
    return PageDecision(**{**decision.__dict__, "action": "hold", "reason": reason})
