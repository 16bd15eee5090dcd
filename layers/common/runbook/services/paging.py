"""PagerDutyEscalationFunction's alert intake: every supported message becomes runbook alerts, each is
routed (services/routing.py) and sent to PagerDuty's Events API v2 as a trigger or a resolve.

- Nothing is lost: a delivery that cannot be sent fails the invocation (Lambda retries, then the
  dead-letter queue keeps it); a message that cannot be read is kept on the dead-letter queue at once
  (retrying would not help) and counted.
- Nobody is paged twice: each delivery is processed once (idempotency keyed by its message id), and a
  PagerDuty alert stays open while any of its member alerts fires (a group resolves with its last one).
- Storms stay under PagerDuty's rate (about 120 events per routing key over a rolling minute): every
  event is counted per routing key over a sliding 60 s shared by all invocations; a trigger beyond
  `triggers_per_minute` there is folded into one storm alert for that service; resolves are counted
  and never held back; a retried invocation does not count its events twice.
- Muting maintenance windows mute pages, not state (Alertmanager's silences): a held alert is
  remembered, and services/maintenance.py pages those still firing once their window is over (every
  minute), through `page`, the path of any trigger; a resolve inside the window forgets it.
"""

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook.adapters.intake import Delivery, Rejected, read_event
from runbook.adapters.paging_state import PagingState
from runbook.adapters.parameters import SecretResolver
from runbook.models.alert import Alert
from runbook.models.config import RunbookConfig
from runbook.models.paging import PagerDutyConfig
from runbook.services.page_events import pagerduty_event, storm_event
from runbook.services.rejections import DeadLetterKeeper, keep_rejected, raise_if_lost
from runbook.services.routing import PageDecision, decide, dedup_key


class EventsSender(Protocol):
    def send(self, event: Any, deadline: float) -> Any: ...


class PagingReporter(Protocol):
    def outcome(self, alert: Alert, decision: PageDecision, outcome: str) -> None: ...

    def rejected(self, reason: str, kept: bool) -> None: ...

    def failed(self, alert: Alert, decision: PageDecision, error: Exception) -> None: ...

    def released(self, alert: Alert, decision: PageDecision, window: str, outcome: str) -> None: ...

    def problem(self, message: str, **fields: Any) -> None: ...


class PagingFailedError(RuntimeError):
    """At least one page could not be delivered: the invocation fails so that Lambda retries it."""


@dataclass
class PagingDependencies:
    config: RunbookConfig
    state: PagingState
    events: EventsSender
    secrets: SecretResolver
    dead_letters: DeadLetterKeeper
    reporter: PagingReporter
    now: Callable[[], datetime]
    # Wraps the processing of one delivery so that a redelivered message does nothing (Powertools
    # Idempotency in Lambda); the default runs it as is.
    once: Callable[[Callable[[Delivery], dict[str, Any]]], Callable[[Delivery], dict[str, Any]]] = field(
        default=lambda fn: fn
    )

    @property
    def pagerduty(self) -> PagerDutyConfig:
        if self.config.pagerduty is None:
            raise ValueError("the runbook config has no `pagerduty:` section: nothing can be paged")
        return self.config.pagerduty


class PagingSummary(BaseModel):
    deliveries: int = 0
    alerts: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    rejected: int = 0


def handle_alert_event(event: Any, deps: PagingDependencies, budget_s: float) -> PagingSummary:
    """`budget_s`: the time this invocation may spend; retries of PagerDuty calls stop within it."""
    deadline = time.monotonic() + budget_s
    summary = PagingSummary()
    failures: list[str] = []
    process = deps.once(lambda delivery: _page_delivery(delivery, deps, deadline))
    lost = 0
    for item in read_event(event):
        if isinstance(item, Rejected):
            lost += not keep_rejected(item, deps.dead_letters, deps.reporter)
            summary.rejected += 1
            continue
        summary.deliveries += 1
        summary.alerts += len(item.alerts)
        try:
            result = process(item)
        except PagingFailedError as error:
            failures.append(str(error))
            continue
        for outcome, count in result.get("outcomes", {}).items():
            summary.outcomes[outcome] = summary.outcomes.get(outcome, 0) + count
    if failures:
        raise PagingFailedError("; ".join(failures))
    raise_if_lost(lost)
    return summary


def _page_delivery(delivery: Delivery, deps: PagingDependencies, deadline: float) -> dict[str, Any]:
    """Every alert of the delivery is tried; if one fails, the delivery fails (and is retried whole:
    what already reached PagerDuty is idempotent there, by dedup key)."""
    outcomes: dict[str, int] = {}
    failed = 0
    for alert in delivery.alerts:
        decision = decide(alert, deps.pagerduty, deps.now())
        try:
            outcome = _apply(alert, decision, deps, deadline)
        except Exception as error:  # reported with the alert's key, then the delivery fails as a whole
            deps.reporter.failed(alert, decision, error)
            failed += 1
            continue
        deps.reporter.outcome(alert, decision, outcome)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    if failed:
        raise PagingFailedError(
            f"{failed} of {len(delivery.alerts)} alerts of {delivery.delivery_id} not sent"
        )
    return {"outcomes": outcomes}


def _apply(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    if not deps.state.is_latest(decision.member, alert.observed_at):
        return "stale"  # reordered: newer news of this alert was already handled
    if decision.action == "hold":
        if decision.held_by is not None and decision.held_until is not None:
            # Muted, not forgotten: release_held pages it when the window is over, if it still fires.
            deps.state.hold(
                decision.member,
                alert.model_dump_json(by_alias=True),
                alert.observed_at,
                decision.held_by,
                decision.held_until,
            )
        return "held"
    if decision.action == "resolve":
        cleared = deps.state.clear_held(decision.member, alert.observed_at)
        outcome = _resolve(alert, decision, deps, deadline)
        return "cleared" if cleared and outcome == "nothing_open" else outcome
    return _trigger(alert, decision, deps, deadline)


def _trigger(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    state = deps.state
    before, opened = state.add_member(
        decision.dedup_key, decision.member, service=decision.service, sev=decision.sev
    )
    if opened and before - {decision.member}:
        return "joined"  # the group's PagerDuty alert is open: another member's trigger was sent
    # Otherwise send, even when another member is in flight: PagerDuty merges triggers by dedup key, so
    # the worst case is one extra event, never a second page and never a silent member.
    routing_key = _routing_key(decision.service, deps)
    limit = deps.pagerduty.triggers_per_minute
    if not _spend(routing_key, alert, decision.dedup_key, "trigger", deps, limit=limit):
        state.remove_member(decision.dedup_key, decision.member)
        return _fold_into_storm(alert, decision, deps, deadline)
    _send_trigger(
        pagerduty_event(alert, decision, routing_key, "trigger"), decision.dedup_key, decision, deps, deadline
    )
    return "triggered"


def _fold_into_storm(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    """Over the routing key's budget: one storm alert for the service stands for every folded alert.
    It is sent from the headroom kept under PagerDuty's rate (see triggers_per_minute)."""
    storm = dedup_key(f"storm/{decision.service}")
    before, opened = deps.state.add_member(storm, decision.member, service=decision.service, sev=decision.sev)
    if opened and before - {decision.member}:
        return "folded"
    routing_key = _routing_key(decision.service, deps)
    _spend(routing_key, alert, storm, "trigger", deps, limit=None)  # the headroom above the budget
    _send_trigger(storm_event(alert, decision, storm, routing_key), storm, decision, deps, deadline)
    return "storm_triggered"


def _send_trigger(
    event: Any, key: str, decision: PageDecision, deps: PagingDependencies, deadline: float
) -> None:
    try:
        deps.events.send(event, deadline)
    except Exception:
        deps.state.remove_member(key, decision.member)  # not open in PagerDuty: do not pretend it is
        raise
    deps.state.mark_opened(key)


def _resolve(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    state = deps.state
    target = decision.dedup_key
    was_open, still_open = state.remove_member(target, decision.member)
    if not was_open:
        target = dedup_key(f"storm/{decision.service}")
        was_open, still_open = state.remove_member(target, decision.member)
    if not was_open:
        return "nothing_open"  # never paged (info, maintenance) or already resolved
    if still_open:
        return "kept_open"  # other members of its group (or storm) still fire
    routing_key = _routing_key(decision.service, deps)
    _spend(routing_key, alert, target, "resolve", deps, limit=None)  # counted, never held back
    try:
        deps.events.send(pagerduty_event(alert, decision, routing_key, "resolve", dedup=target), deadline)
    except Exception:
        state.add_member(
            target, decision.member, service=decision.service, sev=decision.sev
        )  # retry resolves
        raise
    state.mark_closed(target)
    return "resolved"


def page(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    """The trigger path of every firing alert (groups, storm budget, dedup keys), for an alert that
    pages later than it arrived: one a maintenance window held (services/maintenance.py)."""
    return _trigger(alert, decision, deps, deadline)


def _spend(
    routing_key: str, alert: Alert, target: str, action: str, deps: PagingDependencies, limit: int | None
) -> bool:
    """Count the event in its routing key's rolling minute (PagerDuty's rate limit is per routing key,
    whichever service names it). The id is the event's own, so that a retry counts it once."""
    budget_key = hashlib.sha256(routing_key.encode()).hexdigest()[:16]  # never the key itself
    event = f"{action}|{target}|{alert.key}|{alert.observed_at.isoformat()}"
    event_id = hashlib.sha256(event.encode()).hexdigest()[:24]
    return deps.state.spend_event(budget_key, event_id, deps.now(), limit)


def _routing_key(service: str, deps: PagingDependencies) -> str:
    ref = deps.pagerduty.services[service].routing_key
    return deps.secrets.resolve_all([ref]).value(ref)
