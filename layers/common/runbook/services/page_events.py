"""The Events API v2 messages for an alert: what on-call reads in PagerDuty. Pure."""

from typing import Any, Literal

from runbook.models.alert import Alert
from runbook.models.pagerduty import PagerDutyEvent, pagerduty_event_from
from runbook.services.routing import PageDecision

CLIENT = "runbook-automation"


def pagerduty_event(
    alert: Alert,
    decision: PageDecision,
    routing_key: str,
    action: Literal["trigger", "resolve"],
    dedup: str | None = None,
) -> PagerDutyEvent:
    """`dedup`: the PagerDuty alert to act on, when it is not the decision's (a storm alert)."""
    return pagerduty_event_from(
        routing_key=routing_key,
        event_action=action,
        dedup_key=dedup or decision.dedup_key,
        summary=_summary(alert, decision),
        source=alert.component or alert.source,
        severity=decision.pd_severity or "info",
        timestamp=alert.observed_at,
        component=alert.component,
        group=decision.group or alert.source,
        class_=alert.check,
        custom_details=_evidence(alert, decision),
        links=[{"href": url, "text": name} for name, url in alert.links.items()],
        client=CLIENT,
    )


def storm_event(alert: Alert, decision: PageDecision, storm_key: str, routing_key: str) -> PagerDutyEvent:
    summary = (
        f"Alert storm on {decision.service}: more than the trigger budget per minute; "
        f"further alerts are folded into this one (first: {alert.summary})"
    )
    return pagerduty_event_from(
        routing_key=routing_key,
        event_action="trigger",
        dedup_key=storm_key,
        summary=summary,
        source=CLIENT,
        severity=decision.pd_severity or "critical",  # as loud as the alert that opened it
        timestamp=alert.observed_at,
        component=decision.service,
        group="storm",
        class_="alert-storm",
        custom_details={"first_alert": _evidence(alert, decision)},
        links=[],
        client=CLIENT,
    )


def _summary(alert: Alert, decision: PageDecision) -> str:
    prefix = f"[{decision.sev}] " if not alert.summary.startswith("[") else ""
    group = f"[{decision.group}] " if decision.group else ""
    return f"{prefix}{group}{alert.summary}"


def _evidence(alert: Alert, decision: PageDecision) -> dict[str, Any]:
    details = alert.details
    return {
        "check": alert.check,
        "component": alert.component,
        "source": alert.source,
        "severity": alert.severity,
        "sev": decision.sev,
        # Early, so that cutting an oversized event keeps it: the change or maintenance window it is in.
        **({"windows": list(decision.windows)} if decision.windows else {}),
        "reason": details.get("reason"),
        "outcome": details.get("outcome"),
        "latency_ms": details.get("latency_ms"),
        "runbook": alert.links.get("runbook"),
        "dashboard": alert.links.get("dashboard"),
        "alert_key": alert.key,
        "group": decision.group,
        "observed_at": alert.observed_at.isoformat(),
        "labels": alert.labels,
        "details": details,
    }
