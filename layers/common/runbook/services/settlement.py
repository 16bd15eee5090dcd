"""One scheduled run, for the health probe and the quota check alike: run the checks within the
invocation's time, then move each check's streak in the state table, decide its alert on a transition
and publish it through an outbox, so that an alert SNS did not take is retried on the next run and
never lost."""

import asyncio
import contextlib
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.state_store import StaleStateError, StateStore
from runbook.models.alert import Alert
from runbook.models.config import AnyCheck
from runbook.models.quota import QuotaSample
from runbook.models.state import CheckState, QueueSample
from runbook.services.alerts import check_alert, retired_alert
from runbook.services.probe_runner import CheckRun, fits, run_checks
from runbook.services.transitions import Change, Thresholds, advance

MAX_WRITE_ATTEMPTS = 3  # optimistic-lock retries per check when runs overlap
MAX_RETIRED = 100  # resolves of removed checks per run; the rest follow on the next runs
STATE_WRITERS = 16  # DynamoDB writes in flight at once after a run

SampleOf = Callable[[CheckRun], QueueSample | QuotaSample | None]


class RunReporter(Protocol):
    """Where results go besides the state table: logs and metrics in Lambda, a table on the CLI."""

    def check_result(self, run: CheckRun, change: Change | None = None) -> None:
        """`change`: what the run did to the check's state (None: nothing a person needs to hear)."""

    def problem(self, message: str, **fields: Any) -> None: ...

    def config_problem(self, key: str, message: str, **fields: Any) -> None:
        """A mistake of the config that recurs every run: Lambda logs each `key` once per cold start."""


@dataclass(frozen=True)
class Settled:
    run: CheckRun
    state: CheckState | None  # None: the state could not be written
    change: Change | None


@dataclass(frozen=True)
class Settlement:
    settled: list[Settled]
    published: int
    pending: int  # not accepted by SNS; retried on the next run

    def changed(self, change: Change) -> list[str]:
        return [s.run.check.name for s in self.settled if s.change == change]

    @property
    def write_failures(self) -> int:
        return sum(s.state is None for s in self.settled)


@dataclass(frozen=True)
class Ledger:
    """Where a run's outcome is kept and announced."""

    store: StateStore
    topic: AlertsTopic
    reporter: RunReporter
    source: str  # producer of the alerts: part of their keys


def settle_runs(
    runs: Sequence[CheckRun], states: Mapping[str, CheckState], ledger: Ledger, sample_of: SampleOf
) -> Settlement:
    with ThreadPoolExecutor(max_workers=STATE_WRITERS) as pool:
        settled = list(
            pool.map(lambda run: _settle(run, states.get(run.check.name), ledger, sample_of), runs)
        )
        published, pending = _publish_outbox(settled, ledger, pool)
    return Settlement(settled, published, pending)


def _settle(run: CheckRun, state: CheckState | None, ledger: Ledger, sample_of: SampleOf) -> Settled:
    check, result = run.check, run.result
    state = state or CheckState(check=check.name)
    thresholds = Thresholds(failure=check.failure_threshold, success=check.success_threshold)
    sample = sample_of(run)
    for _ in range(MAX_WRITE_ATTEMPTS):
        transition = advance(state, result, thresholds, sample, failing_level=check.severity)
        new = transition.state
        if transition.change:
            alert = check_alert(check, result, transition.change, state, ledger.source, level=new.level)
            new = new.model_copy(update={"pending_alert": alert})
        if not transition.dirty:
            return Settled(run, new, None)
        try:
            return Settled(run, ledger.store.save_state(new), transition.change)
        except StaleStateError:
            state = ledger.store.get_state(check.name)  # an overlapping run wrote first: apply ours on top
    ledger.reporter.problem(
        "state write lost to concurrent runs", check=check.name, attempts=MAX_WRITE_ATTEMPTS
    )
    return Settled(run, None, None)


def _publish_outbox(settled: Sequence[Settled], ledger: Ledger, pool: ThreadPoolExecutor) -> tuple[int, int]:
    """Publish every decided alert, including ones a previous run could not; clear those SNS took."""
    outbox = [s.state for s in settled if s.state is not None and s.state.pending_alert is not None]
    alerts = [state.pending_alert for state in outbox if state.pending_alert is not None]
    failed = ledger.topic.publish(alerts)
    for alert, reason in failed:
        ledger.reporter.problem("alert not published; kept for the next run", key=alert.key, reason=reason)
    failed_keys = {alert.key for alert, _ in failed}
    done = [state for state in outbox if state.pending_alert and state.pending_alert.key not in failed_keys]
    list(pool.map(lambda state: _clear_pending(state, ledger), done))
    return len(done), len(failed)


def _clear_pending(state: CheckState, ledger: Ledger) -> None:
    alert = state.pending_alert
    # On a conflict an overlapping run owns the item; at worst it publishes the same alert (same key) again.
    with contextlib.suppress(StaleStateError):
        ledger.store.save_state(state.model_copy(update={"pending_alert": None, "last_alert": alert}))
    if alert is not None:  # what consumers were told is open: see retire_orphans
        ledger.store.mark_down(ledger.source, state.check, down=alert.status == "firing")


def retire_orphans(configured: set[str], ledger: Ledger, now: datetime) -> list[str]:
    """Resolve the open alerts of checks that left the config (or were disabled) while DOWN: otherwise
    their PagerDuty alert and status-page incident would stay open for ever. At most MAX_RETIRED a run."""
    store = ledger.store
    orphans = sorted(store.down_checks(ledger.source) - configured)[:MAX_RETIRED]
    open_alerts: list[tuple[CheckState, Alert]] = []
    for name in orphans:
        state = store.get_state(name)
        if state.status == "down" and state.last_alert is not None and state.last_alert.status == "firing":
            open_alerts.append((state, retired_alert(state.last_alert, now)))
        else:
            store.mark_down(ledger.source, name, down=False)  # nothing open was announced
    failed = {alert.key for alert, _ in ledger.topic.publish([alert for _, alert in open_alerts])}
    retired = []
    for state, alert in open_alerts:
        if alert.key in failed:
            ledger.reporter.problem(
                "resolve of a removed check not published; retried next run", key=alert.key
            )
            continue
        with contextlib.suppress(StaleStateError):
            store.save_state(CheckState(check=state.check, version=state.version, last_alert=alert))
        store.mark_down(ledger.source, state.check, down=False)
        retired.append(state.check)
    return retired


class FailingCheck(BaseModel):
    check: str
    outcome: str
    reason: str


class RunSummary(BaseModel):
    """What a scheduled run returns (and Lambda logs): counts, what failed, what changed."""

    checks: int
    passed: int
    failed: int
    skipped: int
    failing: list[FailingCheck]
    went_down: list[str] = Field(default_factory=list)
    came_up: list[str] = Field(default_factory=list)
    level_changed: list[str] = Field(default_factory=list, description="Escalated or de-escalated.")
    retired: list[str] = Field(default_factory=list, description="Removed from the config while DOWN.")
    alerts_published: int = 0
    alerts_pending: int = Field(default=0, description="Not accepted by SNS; retried on the next run.")
    state_write_failures: int = 0
    duration_ms: int = 0


def summarize(
    runs: Sequence[CheckRun], settlement: Settlement, started: float, retired: Sequence[str] = ()
) -> RunSummary:
    """`started`: time.monotonic() at the start of the run."""
    results = [run.result for run in runs]
    return RunSummary(
        checks=len(results),
        passed=sum(r.ok for r in results),
        failed=sum(not r.ok and r.counts for r in results),
        skipped=sum(not r.counts for r in results),
        failing=[
            FailingCheck(check=r.check, outcome=r.outcome, reason=r.reason) for r in results if not r.ok
        ],
        went_down=settlement.changed("down"),
        came_up=settlement.changed("up"),
        level_changed=settlement.changed("escalated") + settlement.changed("deescalated"),
        retired=list(retired),
        alerts_published=settlement.published,
        alerts_pending=settlement.pending,
        state_write_failures=settlement.write_failures,
        duration_ms=round((time.monotonic() - started) * 1000),
    )


def run_and_settle(
    checks: Sequence[AnyCheck],
    states: Mapping[str, CheckState],
    env: ProbeEnvironment,
    probes: Mapping[str, Any],
    ledger: Ledger,
    sample_of: SampleOf,
    *,
    budget_s: float,
    started: float,
    now: datetime,
) -> RunSummary:
    """`budget_s`: time left in the invocation at `started` (time.monotonic()); the probes get it minus
    the config's deadline margin, kept for the state writes and publishing."""
    probe_budget = budget_s - env.settings.deadline_margin - (time.monotonic() - started)
    for check in checks:
        if not fits(check, probe_budget):  # `runbook validate` refuses it; cut short, it can still alert
            ledger.reporter.config_problem(
                f"timeout/{check.name}",
                "check timeout does not fit in the function's run: cut short",
                check=check.name,
                timeout_s=check.timeout,
                run_s=round(probe_budget, 1),
                fix="lower the check's timeout, or raise the function's Timeout (runbook validate says how)",
            )
    runs = asyncio.run(run_checks(checks, env, probes, states, probe_budget))
    settlement = settle_runs(runs, states, ledger, sample_of)
    for settled in settlement.settled:
        ledger.reporter.check_result(settled.run, settled.change)
    retired = retire_orphans({check.name for check in checks}, ledger, now)
    return summarize(runs, settlement, started, retired)
