"""PagerDutyEscalationFunction's alert intake: every supported message becomes runbook alerts, each is
routed (services/routing.py) and sent to PagerDuty's Events API v2 as a trigger or a resolve.

- Nothing is lost: a delivery that cannot be sent fails the invocation (Lambda retries, then the
  dead-letter queue keeps it); a message that cannot be read is kept on the dead-letter queue at once
  (retrying would not help) and counted.
- Nobody is paged twice: each alert's newest news is kept with its PagerDuty alert (observed_at,
  delivery id, digest), so a redelivered message is a duplicate and a reordered one stale, in the
  same conditional write that makes the alert a member; a PagerDuty alert stays open while any of
  its member alerts fires (a group resolves with its last one).
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
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook.adapters.intake import Delivery, Rejected, read_event
from runbook.adapters.paging_state import Admission, Budget, News, PagingState
from runbook.adapters.parameters import SecretResolver
from runbook.models.alert import Alert
from runbook.models.config import RunbookConfig
from runbook.models.paging import PagerDutyConfig
from runbook.services.page_events import pagerduty_event, storm_event
from runbook.services.rejections import DeadLetterKeeper, keep_rejected, raise_if_lost
from runbook.services.routing import PageDecision, decide, dedup_key


class EventsSender(Protocol):
    def send(self, event: Any, deadline: float) -> Any: ...


RELEASE_DELIVERY = "maintenance-release"  # the delivery of a page a muting window held back


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
    lost = 0
    for item in read_event(event):
        if isinstance(item, Rejected):
            lost += not keep_rejected(item, deps.dead_letters, deps.reporter)
            summary.rejected += 1
            continue
        summary.deliveries += 1
        summary.alerts += len(item.alerts)
        try:
            result = _page_delivery(item, deps, deadline)
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
    """Every alert of the delivery is tried; if one fails, the delivery fails (and Lambda retries it
    whole: what already went through is a duplicate then, and sends nothing)."""
    outcomes: dict[str, int] = {}
    failed = 0
    for alert in delivery.alerts:
        decision = decide(alert, deps.pagerduty, deps.now())
        try:
            outcome = _apply(alert, decision, _news(alert, delivery.delivery_id), deps, deadline)
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


def _news(alert: Alert, delivery_id: str) -> News:
    return News(member=alert.key, at=int(alert.observed_at.timestamp() * 1000), delivery=delivery_id)


def _apply(
    alert: Alert, decision: PageDecision, news: News, deps: PagingDependencies, deadline: float
) -> str:
    """stale: newer news of this alert was handled (reordered); duplicate: this message was (SNS
    delivered it again, or Lambda retried it after it went through)."""
    if decision.action == "hold":
        verdict = deps.state.record_news(decision.dedup_key, news)
        if verdict != "newer":
            return verdict
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
        return _resolve(alert, decision, news, deps, deadline)
    return _trigger(alert, decision, news, deps, deadline)


def _trigger(
    alert: Alert, decision: PageDecision, news: News, deps: PagingDependencies, deadline: float
) -> str:
    state = deps.state
    routing_key = _routing_key(decision.service, deps)
    budget = _budget(routing_key, alert, decision.dedup_key, "trigger", deps)
    admission = state.admit_trigger(
        decision.dedup_key, news, budget, service=decision.service, sev=decision.sev, now=deps.now()
    )
    _say_if_reused(admission, news, deps)
    if admission.outcome == "over_budget":
        return _fold_into_storm(alert, decision, deps, deadline)
    if admission.outcome != "send":
        return admission.outcome  # joined (another member's trigger went out), stale, duplicate
    try:
        deps.events.send(pagerduty_event(alert, decision, routing_key, "trigger"), deadline)
    except Exception:
        state.undo_trigger(decision.dedup_key, news)  # not open in PagerDuty: do not pretend it is
        raise
    return "triggered"


def _fold_into_storm(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    """Over the routing key's budget: one storm alert for the service stands for every folded alert.
    It is sent from the headroom kept under PagerDuty's rate (see triggers_per_minute)."""
    storm = dedup_key(f"storm/{decision.service}")
    before, opened = deps.state.add_member(storm, decision.member, service=decision.service, sev=decision.sev)
    if opened and before - {decision.member}:
        return "folded"
    routing_key = _routing_key(decision.service, deps)
    deps.state.count_event(_budget(routing_key, alert, storm, "trigger", deps), deps.now())  # sent anyway
    try:
        deps.events.send(storm_event(alert, decision, storm, routing_key), deadline)
    except Exception:
        deps.state.remove_member(storm, decision.member)
        raise
    return "storm_triggered"


def _resolve(
    alert: Alert, decision: PageDecision, news: News, deps: PagingDependencies, deadline: float
) -> str:
    state = deps.state
    target = decision.dedup_key
    routing_key = _routing_key(decision.service, deps)
    admission = state.admit_resolve(
        target, news, _budget(routing_key, alert, target, "resolve", deps), deps.now()
    )
    _say_if_reused(admission, news, deps)
    if admission.outcome in ("stale", "duplicate", "kept_open"):
        return admission.outcome  # kept_open: other members of its group still fire
    if admission.outcome == "not_member":  # it kept nothing open here: folded, held, or never paged
        target = dedup_key(f"storm/{decision.service}")
        was_open, still_open = state.remove_member(target, decision.member)
        if not was_open:
            return "cleared" if state.clear_held(decision.member, alert.observed_at) else "nothing_open"
        if still_open:
            return "kept_open"  # other alerts folded into the storm alert still fire
        state.count_event(_budget(routing_key, alert, target, "resolve", deps), deps.now())
    try:
        deps.events.send(pagerduty_event(alert, decision, routing_key, "resolve", dedup=target), deadline)
    except Exception:  # open again, so that Lambda's retry sends the resolve
        if target == decision.dedup_key:
            state.undo_resolve(target, news)
        else:
            state.add_member(target, decision.member, service=decision.service, sev=decision.sev)
        raise
    return "resolved"


def page(alert: Alert, decision: PageDecision, deps: PagingDependencies, deadline: float) -> str:
    """The trigger path of every firing alert (groups, storm budget, dedup keys), for an alert that
    pages later than it arrived: one a maintenance window held (services/maintenance.py)."""
    return _trigger(alert, decision, _news(alert, RELEASE_DELIVERY), deps, deadline)


def _say_if_reused(admission: Admission, news: News, deps: PagingDependencies) -> None:
    """Newer news of the alert came with the delivery id of its previous news: another message that
    reuses an id. It was handled as the message it is (not as a redelivery); said here."""
    if admission.reused_id:
        deps.reporter.problem(
            "delivery id reused by a different message: processed as a message of its own",
            delivery_id=news.delivery,
            alert_key=news.member,
        )


def _budget(routing_key: str, alert: Alert, target: str, action: str, deps: PagingDependencies) -> Budget:
    """The event's place in its routing key's rolling minute (PagerDuty's rate limit is per routing
    key, whichever service names it). The id is the event's own, so that a retry counts it once."""
    event = f"{action}|{target}|{alert.key}|{alert.observed_at.isoformat()}"
    return Budget(
        key=hashlib.sha256(routing_key.encode()).hexdigest()[:16],  # never the key itself
        event_id=hashlib.sha256(event.encode()).hexdigest()[:24],
        slots=deps.pagerduty.triggers_per_minute,
    )


def _routing_key(service: str, deps: PagingDependencies) -> str:
    ref = deps.pagerduty.services[service].routing_key
    return deps.secrets.resolve_all([ref]).value(ref)
