"""What PagerDutyEscalationFunction does with each event: the minute schedule runs the ack-deadline
sweep; anything else is alert intake (SNS from the AlertsTopic, CloudWatch alarm events, Alertmanager).
Without a `pagerduty:` section in the config, nothing (services/idle.py)."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook import telemetry
from runbook.models.config import RunbookConfig
from runbook.models.events import is_schedule
from runbook.services.ack_sweep import SweepDependencies, SweepSummary, sweep
from runbook.services.idle import NO_PAGERDUTY, Idle, IdleNotice, stay_idle
from runbook.services.paging import PagingDependencies, PagingSummary, handle_alert_event


@dataclass
class PagerDutyFunctionDependencies:
    config: RunbookConfig
    # Built on first use: a sweep needs no Events API client, an alert needs no REST token, and without
    # a `pagerduty:` section neither is built.
    paging: Callable[[], PagingDependencies]
    sweep: Callable[[], SweepDependencies]
    idle: IdleNotice


def handle_pagerduty_event(
    event: Any, deps: PagerDutyFunctionDependencies, budget_s: float
) -> PagingSummary | SweepSummary | Idle:
    if deps.config.pagerduty is None:
        return stay_idle(NO_PAGERDUTY, deps.idle)
    if is_schedule(event):
        summary = sweep(deps.sweep(), budget_s)
        telemetry.record_sweep_run()
        return summary
    return handle_alert_event(event, deps.paging(), budget_s)
