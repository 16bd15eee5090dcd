"""What HealthProbeFunction does with each event it receives."""

from typing import Any

from runbook import telemetry
from runbook.models.events import HeartbeatEvent, RejectedEvent, RejectedEventError, parse_probe_trigger
from runbook.services.health_probe import HealthProbeDependencies, run_health_probe
from runbook.services.heartbeats import HeartbeatOutcome, record_heartbeat
from runbook.services.settlement import RunSummary


def handle_probe_event(
    event: Any, deps: HealthProbeDependencies, budget_s: float
) -> RunSummary | HeartbeatOutcome | RejectedEvent:
    try:
        trigger = parse_probe_trigger(event)
    except RejectedEventError as error:
        # Not retried: the same event would be rejected again. The log line and metric tell.
        telemetry.record_rejected_event(str(error))
        return RejectedEvent(rejected=str(error))
    if isinstance(trigger, HeartbeatEvent):
        outcome = record_heartbeat(trigger.detail, deps.config, deps.store, received_at=trigger.time)
        telemetry.heartbeat_reported(outcome.check, outcome.accepted, outcome.reason)
        return outcome
    summary = run_health_probe(deps, budget_s)
    telemetry.record_probe_run(summary)
    return summary
