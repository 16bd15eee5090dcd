"""HealthProbeFunction's service: run the checks, move the streaks, publish alerts on transitions."""

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.probes.base import ProbeEnvironment, utc_now
from runbook.adapters.probes.registry import default_probes
from runbook.adapters.state_store import StaleStateError, StateStore
from runbook.models.config import RunbookConfig
from runbook.models.observations import QueueObservation
from runbook.models.secrets import find_secret_refs
from runbook.models.state import CheckState, QueueSample
from runbook.services.alerts import check_alert
from runbook.services.probe_runner import CheckRun, run_checks
from runbook.services.transitions import Change, Thresholds, advance

MAX_WRITE_ATTEMPTS = 3  # optimistic-lock retries per check when runs overlap
STATE_WRITERS = 16  # DynamoDB writes in flight at once after a run


class RunReporter(Protocol):
    """Where results go besides the state table: logs and metrics in Lambda, a table on the CLI."""

    def check_result(self, run: CheckRun) -> None: ...

    def problem(self, message: str, **fields: Any) -> None: ...


@dataclass
class HealthProbeDependencies:
    config: RunbookConfig
    store: StateStore
    topic: AlertsTopic
    secrets: SecretResolver
    reporter: RunReporter
    sqs_client: Callable[[str], Any] | None = None
    probes: dict[str, Any] = field(default_factory=default_probes)
    now: Callable[[], datetime] = utc_now


class FailingCheck(BaseModel):
    check: str
    outcome: str
    reason: str


class ProbeRunSummary(BaseModel):
    checks: int
    passed: int
    failed: int
    skipped: int
    failing: list[FailingCheck]
    went_down: list[str] = Field(default_factory=list)
    came_up: list[str] = Field(default_factory=list)
    alerts_published: int = 0
    alerts_pending: int = Field(default=0, description="Not accepted by SNS; retried on the next run.")
    state_write_failures: int = 0
    duration_ms: int = 0


@dataclass(frozen=True)
class _Settled:
    run: CheckRun
    state: CheckState | None  # None: the state could not be written
    change: Change | None


def run_health_probe(deps: HealthProbeDependencies, budget_s: float) -> ProbeRunSummary:
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
    probe_budget = budget_s - deps.config.probe.deadline_margin - (time.monotonic() - started)
    runs = asyncio.run(run_checks(checks, env, deps.probes, states, probe_budget))
    for run in runs:
        deps.reporter.check_result(run)

    with ThreadPoolExecutor(max_workers=STATE_WRITERS) as pool:
        settled = list(pool.map(lambda run: _settle(run, states.get(run.check.name), deps), runs))
        published, pending = _publish_outbox(settled, deps, pool)
    return _summary(runs, settled, published, pending, started)


def _settle(run: CheckRun, state: CheckState | None, deps: HealthProbeDependencies) -> _Settled:
    check, result = run.check, run.result
    state = state or CheckState(check=check.name)
    thresholds = Thresholds(failure=check.failure_threshold, success=check.success_threshold)
    for _ in range(MAX_WRITE_ATTEMPTS):
        transition = advance(state, result, thresholds, _sample(run))
        new = transition.state
        if transition.change:
            new = new.model_copy(
                update={"pending_alert": check_alert(check, result, transition.change, state)}
            )
        if not transition.dirty:
            return _Settled(run, new, None)
        try:
            return _Settled(run, deps.store.save_state(new), transition.change)
        except StaleStateError:
            state = deps.store.get_state(check.name)  # an overlapping run wrote first: apply ours on top
    deps.reporter.problem(
        "state write lost to concurrent runs", check=check.name, attempts=MAX_WRITE_ATTEMPTS
    )
    return _Settled(run, None, None)


def _publish_outbox(
    settled: Sequence[_Settled], deps: HealthProbeDependencies, pool: ThreadPoolExecutor
) -> tuple[int, int]:
    """Publish every decided alert, including ones a previous run could not; clear those SNS took."""
    outbox = [s.state for s in settled if s.state is not None and s.state.pending_alert is not None]
    alerts = [state.pending_alert for state in outbox if state.pending_alert is not None]
    failed = deps.topic.publish(alerts)
    for alert, reason in failed:
        deps.reporter.problem("alert not published; kept for the next run", key=alert.key, reason=reason)
    failed_keys = {alert.key for alert, _ in failed}
    done = [state for state in outbox if state.pending_alert and state.pending_alert.key not in failed_keys]
    list(pool.map(lambda state: _clear_pending(state, deps), done))
    return len(done), len(failed)


def _clear_pending(state: CheckState, deps: HealthProbeDependencies) -> None:
    # On a conflict an overlapping run owns the item; at worst it publishes the same alert (same key) again.
    with contextlib.suppress(StaleStateError):
        deps.store.save_state(state.model_copy(update={"pending_alert": None}))


def _sample(run: CheckRun) -> QueueSample | None:
    observation = run.observation
    if isinstance(observation, QueueObservation) and observation.depth is not None:
        return QueueSample(
            at=observation.observed_at, depth=observation.depth, processed_total=observation.processed_total
        )
    return None


def _summary(
    runs: Sequence[CheckRun], settled: Sequence[_Settled], published: int, pending: int, started: float
) -> ProbeRunSummary:
    results = [run.result for run in runs]
    return ProbeRunSummary(
        checks=len(results),
        passed=sum(r.ok for r in results),
        failed=sum(not r.ok and r.counts for r in results),
        skipped=sum(not r.counts for r in results),
        failing=[
            FailingCheck(check=r.check, outcome=r.outcome, reason=r.reason) for r in results if not r.ok
        ],
        went_down=[s.run.check.name for s in settled if s.change == "down"],
        came_up=[s.run.check.name for s in settled if s.change == "up"],
        alerts_published=published,
        alerts_pending=pending,
        state_write_failures=sum(s.state is None for s in settled),
        duration_ms=round((time.monotonic() - started) * 1000),
    )
