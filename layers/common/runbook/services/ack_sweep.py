"""The ack-deadline sweep (every minute): a triggered PagerDuty incident nobody acknowledged within its
deadline (runbook: 5 minutes; per SEV in the config) moves to the next level of its escalation policy,
with a note that says why and who is next on the runbook's path.

The time at the current level is PagerDuty's own record, whoever moved the incident there (a person,
PagerDuty's escalation timeout, this project): it counts from when its current assignees were
assigned (the assignments' `at`), or from when it last went back to triggered after an
acknowledgement (its log), whichever is later. So a reassignment, even within one level, gives the
new assignees the whole deadline, and so does an acknowledgement that ended. The log is read only for
an incident past its deadline by its assignments: one request each, at most MAX_LOG_READS_PER_SWEEP
per sweep, so that a sweep stays well under PagerDuty's 960 requests a minute.

Each (incident, level) is claimed in the state table before it is escalated, so overlapping sweeps
never escalate one incident twice for the same deadline; a failed escalation gives its claim back.
The sweep stops at the policy's last level.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook.adapters.paging_state import PagingState
from runbook.models.paging import AckEscalation, PagerDutyConfig
from runbook.text import human_duration

MAX_INCIDENTS_PER_SWEEP = 500
# Each costs up to three requests (the log, the escalation, the note); the rest wait a minute.
MAX_LOG_READS_PER_SWEEP = 200
# Entries after which the assignees are paged again without a new assignment: an acknowledgement ended
# (by hand, or by the service's acknowledgement timeout). An acknowledgement counts too: a triggered
# incident acknowledged at t went back to triggered after t. (The spec names it both ways.)
RETRIGGERING_ENTRIES = frozenset(
    {"unacknowledge_log_entry", "acknowledge_log_entry", "acknowledgement_log_entry"}
)


class IncidentsApi(Protocol):
    def triggered_incidents(self, service_ids: list[str], deadline: float) -> list[Any]: ...

    def escalation_policy(self, policy_id: str, deadline: float) -> Any: ...

    def log_entries(self, incident_id: str, since: datetime, deadline: float) -> list[Any]: ...

    def escalate(self, incident_id: str, level: int, deadline: float) -> None: ...

    def add_note(self, incident_id: str, content: str, deadline: float) -> None: ...


class SweepReporter(Protocol):
    def escalated(self, incident_id: str, level: int, note: str) -> None: ...

    def problem(self, message: str, **fields: Any) -> None: ...


@dataclass
class SweepDependencies:
    config: PagerDutyConfig
    state: PagingState
    api: IncidentsApi
    reporter: SweepReporter
    now: Callable[[], datetime]


class SweepSummary(BaseModel):
    incidents: int = 0
    escalated: list[str] = Field(default_factory=list)
    at_last_level: int = 0
    unknown_level: int = 0
    failed: int = 0
    log_reads: int = 0
    deferred: int = 0  # past their deadline, left for the next sweep (MAX_LOG_READS_PER_SWEEP)


def sweep(deps: SweepDependencies, budget_s: float) -> SweepSummary:
    deadline = time.monotonic() + budget_s
    service_ids = [s.service_id for s in deps.config.services.values() if s.service_id]
    summary = SweepSummary()
    if not deps.config.ack.enabled or not service_ids:
        return summary
    incidents = deps.api.triggered_incidents(service_ids, deadline)
    if len(incidents) > MAX_INCIDENTS_PER_SWEEP:
        deps.reporter.problem("more triggered incidents than one sweep handles", count=len(incidents))
        incidents = sorted(incidents, key=lambda i: i.created_at)[:MAX_INCIDENTS_PER_SWEEP]
    summary.incidents = len(incidents)
    policies: dict[str, Any] = {}
    for incident in incidents:
        if time.monotonic() >= deadline:
            deps.reporter.problem(
                "sweep stopped at its deadline", left=summary.incidents - len(summary.escalated)
            )
            break
        _consider(incident, deps, policies, summary, deadline)
    if summary.deferred:
        deps.reporter.problem(
            "more incidents past their deadline than one sweep reads", left=summary.deferred
        )
    return summary


def _consider(
    incident: Any, deps: SweepDependencies, policies: dict[str, Any], summary: SweepSummary, deadline: float
) -> None:
    ack = deps.config.ack
    now = deps.now()
    level, policy = incident.escalation_level, incident.escalation_policy_id
    if level is None or policy is None:
        # Assigned outside its policy's on-calls (or no policy): escalating could move it down a level.
        deps.reporter.problem("escalation level unknown; not escalated", incident=incident.id)
        summary.unknown_level += 1
        return
    if policy not in policies:
        policies[policy] = deps.api.escalation_policy(policy, deadline)
    if level >= policies[policy].levels:
        summary.at_last_level += 1
        return
    sev = deps.state.sev_of(incident.incident_key) if incident.incident_key else None
    allowed = ack.deadline_for(sev)
    since = incident.assigned_at or incident.created_at
    if (now - since).total_seconds() < allowed:
        return
    if summary.log_reads >= MAX_LOG_READS_PER_SWEEP:
        summary.deferred += 1
        return
    summary.log_reads += 1
    try:
        entries = deps.api.log_entries(incident.id, since, deadline)
    except Exception as error:
        deps.reporter.problem(
            "incident log unreadable; the next sweep tries again",
            incident=incident.id,
            error=type(error).__name__,
        )
        summary.failed += 1
        return
    since = max([since, *(e.created_at for e in entries if e.type in RETRIGGERING_ENTRIES)])
    waited = (now - since).total_seconds()
    if waited < allowed:
        return
    target = level + 1
    if not deps.state.claim_escalation(incident.id, target, now):
        return  # another sweep did it
    note = _note(ack, sev, allowed, waited, level, target, policies[policy].target_names(target))
    try:
        deps.api.escalate(incident.id, target, deadline)
        deps.api.add_note(incident.id, note, deadline)
    except Exception as error:
        deps.state.release_escalation(incident.id, target)
        deps.reporter.problem(
            "escalation failed; the next sweep tries again", incident=incident.id, error=type(error).__name__
        )
        summary.failed += 1
        return
    deps.reporter.escalated(incident.id, target, note)
    summary.escalated.append(incident.id)


def _note(
    ack: AckEscalation,
    sev: str | None,
    allowed: float,
    waited: float,
    level: int,
    target: int,
    names: list[str],
) -> str:
    """Why, and who is next: the runbook's name for the level and whom PagerDuty's policy pages there."""
    who = ack.path[target - 1] if target - 1 < len(ack.path) else f"level {target}"
    if names:
        who += f" ({', '.join(names[:5])})"
    path = " -> ".join(ack.path)
    of_sev = f" ({sev})" if sev else ""
    return (
        f"Not acknowledged within {human_duration(allowed)}{of_sev}: "
        f"{human_duration(waited)} at level {level}. "
        f"Escalated by runbook-automation to level {target}: {who}. Runbook path: {path}."
    )
