"""What PagerDutyEscalationFunction does with each event: the minute schedule pages the alerts muting
windows held and no longer hold, then runs the ack-deadline sweep; anything else is alert intake (SNS
from the AlertsTopic, CloudWatch alarm events, Alertmanager). Without a `pagerduty:` section in the
config, nothing (services/idle.py)."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import Field

from runbook import telemetry
from runbook.models.config import RunbookConfig
from runbook.models.events import is_schedule
from runbook.services.ack_sweep import SweepDependencies, SweepSummary, sweep
from runbook.services.idle import NO_PAGERDUTY, Idle, IdleNotice, stay_idle
from runbook.services.maintenance import ReleaseSummary, release_held
from runbook.services.paging import PagingDependencies, PagingSummary, handle_alert_event

RELEASE_SHARE = 0.5  # of the minute's budget: held pages first, the ack sweep gets the rest


@dataclass
class PagerDutyFunctionDependencies:
    config: RunbookConfig
    # Built on first use: a sweep needs no Events API client, an alert needs no REST token, and without
    # a `pagerduty:` section neither is built.
    paging: Callable[[], PagingDependencies]
    sweep: Callable[[], SweepDependencies]
    idle: IdleNotice


class MinuteSummary(SweepSummary):
    release: ReleaseSummary = Field(default_factory=ReleaseSummary)


def handle_pagerduty_event(
    event: Any, deps: PagerDutyFunctionDependencies, budget_s: float
) -> PagingSummary | MinuteSummary | Idle:
    if deps.config.pagerduty is None:
        return stay_idle(NO_PAGERDUTY, deps.idle)
    if is_schedule(event):
        return _every_minute(deps, budget_s)
    return handle_alert_event(event, deps.paging(), budget_s)


def _every_minute(deps: PagerDutyFunctionDependencies, budget_s: float) -> MinuteSummary:
    started = time.monotonic()
    release, failure = ReleaseSummary(), None
    try:
        release = release_held(deps.paging(), budget_s * RELEASE_SHARE)
    except Exception as error:  # the ack sweep still runs; the invocation fails after it
        failure = error
    summary = sweep(deps.sweep(), budget_s - (time.monotonic() - started))
    telemetry.record_sweep_run()
    if failure is not None:
        raise failure
    return MinuteSummary(**summary.model_dump(), release=release)
