"""What PagerDutyEscalationFunction does with each event: the minute schedule runs the ack-deadline
sweep; anything else is alert intake (SNS from the AlertsTopic, CloudWatch alarm events, Alertmanager)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook import telemetry
from runbook.models.events import is_schedule
from runbook.services.ack_sweep import SweepDependencies, SweepSummary, sweep
from runbook.services.paging import PagingDependencies, PagingSummary, handle_alert_event


@dataclass
class PagerDutyFunctionDependencies:
    # Built on first use: a sweep needs no Events API client, an alert needs no REST token.
    paging: Callable[[], PagingDependencies]
    sweep: Callable[[], SweepDependencies]


def handle_pagerduty_event(
    event: Any, deps: PagerDutyFunctionDependencies, budget_s: float
) -> PagingSummary | SweepSummary:
    if is_schedule(event):
        summary = sweep(deps.sweep(), budget_s)
        telemetry.record_sweep_run()
        return summary
    return handle_alert_event(event, deps.paging(), budget_s)
