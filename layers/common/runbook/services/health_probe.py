"""HealthProbeFunction's service: run the checks, move the streaks, publish alerts on transitions."""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.probes.base import ProbeEnvironment, utc_now
from runbook.adapters.probes.registry import default_probes
from runbook.adapters.state_store import StateStore
from runbook.models.config import RunbookConfig
from runbook.models.observations import QueueObservation
from runbook.models.secrets import find_secret_refs
from runbook.models.state import QueueSample
from runbook.services.alerts import HEALTH_PROBE_SOURCE
from runbook.services.probe_runner import CheckRun
from runbook.services.settlement import Ledger, RunReporter, RunSummary, run_and_settle


@dataclass
class HealthProbeDependencies:
    config: RunbookConfig
    store: StateStore
    topic: AlertsTopic
    secrets: SecretResolver
    reporter: RunReporter
    sqs_client: Callable[[str], Any] | None = None
    probes: Mapping[str, Any] = field(default_factory=default_probes)
    now: Callable[[], datetime] = utc_now


def run_health_probe(deps: HealthProbeDependencies, budget_s: float) -> RunSummary:
    """`budget_s`: time left in the invocation; the probes get it minus the config's deadline margin."""
    started = time.monotonic()
    checks = deps.config.enabled_checks()
    states = deps.store.load_states(c.name for c in checks)
    env = ProbeEnvironment(
        settings=deps.config.probe,
        secrets=deps.secrets.resolve_all(ref for check in checks for ref in find_secret_refs(check)),
        sqs_client=deps.sqs_client,
        heartbeats=deps.store.load_heartbeats(c.name for c in checks if c.kind == "heartbeat"),
        now=deps.now,
    )
    ledger = Ledger(deps.store, deps.topic, deps.reporter, HEALTH_PROBE_SOURCE)
    return run_and_settle(
        checks, states, env, deps.probes, ledger, _sample, budget_s=budget_s, started=started, now=deps.now()
    )


def _sample(run: CheckRun) -> QueueSample | None:
    observation = run.observation
    if isinstance(observation, QueueObservation) and observation.depth is not None:
        return QueueSample(
            at=observation.observed_at, depth=observation.depth, processed_total=observation.processed_total
        )
    return None
