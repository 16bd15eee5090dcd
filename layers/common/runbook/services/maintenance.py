"""Muting maintenance windows mute pages, not state, as Alertmanager's silences do: paging remembers
each firing alert a window holds (its newest news, in the state table), and every minute this pages
those the window no longer covers (it ended, the sweep was late, or a deploy removed or narrowed it),
once, through the same trigger path as any alert. A resolve inside the window has already forgotten
its alert (services/paging.py), so nothing is sent for it.

Overlapping sweeps page once: a sweep claims a held alert (conditionally, on its version) before it
pages it; a sweep that dies mid-release loses the claim after RELEASE_LEASE_S. Work per sweep is
bounded (MAX_HELD_READ looked at, MAX_RELEASED paged); the rest waits for the next minute, and says so.
"""

import time

from pydantic import BaseModel, ValidationError

from runbook.adapters.paging_state import HeldAlert
from runbook.models.alert import Alert
from runbook.services.paging import PagingDependencies, page
from runbook.services.routing import decide, released

MAX_HELD_READ = 1000  # held alerts one sweep looks at
MAX_RELEASED = 100  # pages one sweep sends for them; the rest the next minute
RELEASE_LEASE_S = 300.0  # a sweep that dies while releasing: a later one pages after this


class ReleaseSummary(BaseModel):
    held: int = 0  # held alerts looked at
    still_held: int = 0  # their window is still open
    released: int = 0  # paged now, as any trigger (triggered, joined, folded, ...)
    dropped: int = 0  # newer news was handled (a resolve, a page), or it no longer pages at all
    failed: int = 0  # not sent: the next sweep tries again
    in_flight: int = 0  # another sweep is paging it
    left: int = 0  # not looked at within this sweep's limits: the next sweep does


def release_held(deps: PagingDependencies, budget_s: float) -> ReleaseSummary:
    """Every minute: page each held alert whose window no longer covers it (ended, missed by a late
    sweep, or removed from the config), once, with its newest news. Bounded per sweep."""
    deadline = time.monotonic() + budget_s
    summary = ReleaseSummary()
    if deps.config.pagerduty is None:
        return summary
    held, more = deps.state.held_alerts(MAX_HELD_READ)
    summary.held = len(held)
    for n, item in enumerate(held):
        if summary.released + summary.failed >= MAX_RELEASED or time.monotonic() >= deadline:
            summary.left = len(held) - n
            break
        _release(item, deps, deadline, summary)
    if summary.left or more:
        deps.reporter.problem(
            "held alerts left for the next sweep", left=summary.left, more_not_read=more, limit=MAX_RELEASED
        )
    return summary


def _release(item: HeldAlert, deps: PagingDependencies, deadline: float, summary: ReleaseSummary) -> None:
    try:
        alert = Alert.model_validate_json(item.message)
    except ValidationError:
        deps.reporter.problem("held alert unreadable; forgotten", alert_key=item.member)
        deps.state.forget_held(item)
        summary.dropped += 1
        return
    now = deps.now()
    decision = decide(alert, deps.pagerduty, now)
    if decision.held_by is not None and decision.held_until is not None:
        summary.still_held += 1
        if (decision.held_by, decision.held_until) != (item.window, item.until):
            deps.state.rehold(item, decision.held_by, decision.held_until)
        return
    latest = deps.state.latest_version(decision.dedup_key, item.member)
    if decision.action != "trigger" or (latest is not None and latest > item.version):
        deps.state.forget_held(item)
        summary.dropped += 1
        return
    if not deps.state.claim_held(item, now, RELEASE_LEASE_S):
        summary.in_flight += 1  # another sweep is paging it
        return
    decision = released(decision, item.window, item.until)
    try:
        outcome = page(alert, decision, deps, deadline)
    except Exception as error:  # reported; the claim is given back so that the next sweep tries again
        deps.state.unclaim_held(item)
        deps.reporter.failed(alert, decision, error)
        summary.failed += 1
        return
    deps.state.forget_held(item)
    deps.reporter.outcome(alert, decision, outcome)
    deps.reporter.released(alert, decision, item.window, outcome)
    summary.released += 1
