"""Decides what an alert does in PagerDuty: which service, how loud, whether it pages now (urgency none
never does; a muting maintenance window holds it until it ends), what the page says about the windows
it fired in, and which PagerDuty alert it belongs to (its own, or its group's). Pure."""

from dataclasses import dataclass, replace
from datetime import UTC, datetime
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
    # Set when a muting window holds the alert: which, and when that window's occurrence ends.
    held_by: str | None = None
    held_until: datetime | None = None
    # Said in the page's details: the annotating (change) windows it fired in, or the window it was held in.
    windows: tuple[str, ...] = ()


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
    notes: list[str] = []
    for window in config.maintenance:
        occurrence = window.occurrence(now) if window.matches(alert) else None
        if occurrence is None:
            continue
        opens, ends = (moment.astimezone(UTC) for moment in occurrence)
        if window.mode == "mute":
            reason = f"inside maintenance window {window.name!r} until {ends:%Y-%m-%d %H:%M} UTC"
            return replace(_hold(decision, reason), held_by=window.name, held_until=ends)
        notes.append(f"during change window {window.name!r} ({_span(opens, ends)})")
    return replace(decision, windows=tuple(notes))


def released(decision: PageDecision, window: str, held_until: datetime) -> PageDecision:
    """The decision for a held alert that pages now: it says where it was held."""
    note = (
        f"held in maintenance window {window!r} until {held_until:%Y-%m-%d %H:%M} UTC; "
        "still firing when it ended"
    )
    return replace(decision, windows=(note, *decision.windows))


def _span(opens: datetime, ends: datetime) -> str:
    until = f"{ends:%H:%M}" if opens.date() == ends.date() else f"{ends:%Y-%m-%d %H:%M}"
    return f"{opens:%Y-%m-%d %H:%M} to {until} UTC"


def dedup_key(key: str) -> str:
    """Deterministic: the same problem always maps to the same PagerDuty alert, so a resolve reaches
    what its trigger opened. Keys longer than PagerDuty's limit keep their start and a hash."""
    return fit_dedup_key(DEDUP_PREFIX + key)


def _hold(decision: PageDecision, reason: str) -> PageDecision:
    return replace(decision, action="hold", reason=reason)
