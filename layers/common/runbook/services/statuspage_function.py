"""What StatuspageUpdateFunction does with each event: keep the status page and the incident room
(services/status_sync.py), or nothing at all when the config has no `statuspage:` section."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from runbook.models.config import RunbookConfig
from runbook.services.idle import NO_STATUSPAGE, Idle, IdleNotice, stay_idle
from runbook.services.status_sync import StatusDependencies, StatusSummary, handle_status_event


@dataclass
class StatuspageFunctionDependencies:
    config: RunbookConfig
    status: Callable[[], StatusDependencies]  # built on first use: not at all without the section
    idle: IdleNotice


def handle_statuspage_event(
    event: Any, deps: StatuspageFunctionDependencies, budget_s: float
) -> StatusSummary | Idle:
    if deps.config.statuspage is None:
        return stay_idle(NO_STATUSPAGE, deps.idle)
    return handle_status_event(event, deps.status(), budget_s)
