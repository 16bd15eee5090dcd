"""The ack-deadline sweep (every minute): a triggered PagerDuty incident nobody acknowledged within its
deadline (runbook: 5 minutes; per SEV in the config) moves to the next level of its escalation policy,
with a note that says why and who is next on the runbook's path.

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


class IncidentsApi(Protocol):
    def triggered_incidents(self, service_ids: list[str], deadline: float) -> list[Any]: ...

    def escalation_policy(self, policy_id: str, deadline: float) -> Any: ...

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
    since = deps.state.escalated_at(incident.id, level) or incident.created_at
    sev = deps.state.sev_of(incident.incident_key) if incident.incident_key else None
    allowed = ack.deadline_for(sev)
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
