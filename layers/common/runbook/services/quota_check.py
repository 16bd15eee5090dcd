"""QuotaCheckFunction's service: probe each integration's /status and quota, move its level, publish
alerts on transitions. The same runner, state, transitions and outbox as the health probe."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook import telemetry
from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.probes.base import ProbeEnvironment, utc_now
from runbook.adapters.probes.registry import default_probes
from runbook.adapters.state_store import StateStore
from runbook.models.config import RunbookConfig
from runbook.models.events import RejectedEvent, RejectedEventError, parse_schedule
from runbook.models.observations import IntegrationObservation
from runbook.models.quota import QuotaSample
from runbook.models.secrets import find_secret_refs
from runbook.services.conditions.integration import quota_sample
from runbook.services.probe_runner import CheckRun
from runbook.services.settlement import Ledger, RunReporter, RunSummary, run_and_settle

QUOTA_CHECK_SOURCE = "quota-check"


@dataclass
class QuotaCheckDependencies:
    config: RunbookConfig
    store: StateStore
    topic: AlertsTopic
    secrets: SecretResolver
    reporter: RunReporter
    probes: Mapping[str, Any] = field(default_factory=default_probes)
    now: Callable[[], datetime] = utc_now


def handle_quota_event(
    event: Any, deps: QuotaCheckDependencies, budget_s: float
) -> RunSummary | RejectedEvent:
    try:
        parse_schedule(event)
    except RejectedEventError as error:
        # Not retried: the same event would be rejected again. The log line and metric tell.
        telemetry.record_rejected_event(str(error))
        return RejectedEvent(rejected=str(error))
    summary = run_quota_check(deps, budget_s)
    telemetry.record_quota_run(summary)
    return summary


def run_quota_check(deps: QuotaCheckDependencies, budget_s: float) -> RunSummary:
    """`budget_s`: time left in the invocation; the probes get it minus the config's deadline margin."""
    started = time.monotonic()
    integrations = deps.config.enabled_integrations()
    states = deps.store.load_states(i.name for i in integrations)
    env = ProbeEnvironment(
        settings=deps.config.probe,
        secrets=deps.secrets.resolve_all(ref for i in integrations for ref in find_secret_refs(i)),
        now=deps.now,
    )
    ledger = Ledger(deps.store, deps.topic, deps.reporter, QUOTA_CHECK_SOURCE)
    return run_and_settle(
        integrations,
        states,
        env,
        deps.probes,
        ledger,
        _sample,
        budget_s=budget_s,
        started=started,
        now=deps.now(),
    )


def _sample(run: CheckRun) -> QuotaSample | None:
    observation = run.observation
    return quota_sample(observation) if isinstance(observation, IntegrationObservation) else None
