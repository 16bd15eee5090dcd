"""Failure/success thresholds against flapping: the one place that decides when a check changes state.

A failing result carries a level (info < warning < critical; a plain check fails at its own severity,
an integration's quota at warning or critical). `failures` counts consecutive runs worse than the
current level, `successes` consecutive runs better than it; each move needs its threshold, so a
quota hovering around 95 % moves neither up nor down. A steady check leaves its state unchanged and
costs no write.

Pure: no I/O.
"""

from dataclasses import dataclass
from typing import Literal

from runbook.models.levels import Severity
from runbook.models.quota import MAX_QUOTA_SAMPLES, QuotaSample
from runbook.models.results import CheckResult
from runbook.models.state import MAX_QUEUE_SAMPLES, CheckState, QueueSample

Change = Literal["down", "up", "escalated", "deescalated"]
_RANK: dict[Severity | None, int] = {None: 0, "info": 1, "warning": 2, "critical": 3}


@dataclass(frozen=True)
class Thresholds:
    failure: int
    success: int


@dataclass(frozen=True)
class Transition:
    state: CheckState
    change: Change | None
    dirty: bool  # the stored state must be written


def advance(
    state: CheckState,
    result: CheckResult,
    thresholds: Thresholds,
    sample: QueueSample | QuotaSample | None = None,
    failing_level: Severity = "critical",
) -> Transition:
    """`failing_level`: the level of a failing result that names none itself (the check's severity)."""
    with_sample = state.model_copy(update=_with_sample(state, sample))
    if not result.counts:
        return _finish(state, with_sample, None)
    observed: Severity | None = None if result.ok else (result.severity or failing_level)
    current = _current_level(state, failing_level)

    failures = successes = 0
    streak: Severity | None = None
    target: Severity | None = current
    if _RANK[observed] > _RANK[current]:
        failures = state.failures + 1
        # Escalate only as far as every run of the streak went: one critical spike amid warnings is no crisis.
        streak = observed if state.failures == 0 else _lower(state.streak_level or observed, observed)
        if failures >= thresholds.failure:
            target = streak
    elif _RANK[observed] < _RANK[current] or (state.status == "unknown" and observed is None):
        successes = state.successes + 1
        # De-escalate only as far as the streak allows: the worst level seen while getting better.
        streak = observed if state.successes == 0 else _higher(state.streak_level, observed)
        if successes >= thresholds.success:
            target = streak

    moved = target != current or (state.status == "unknown" and successes >= thresholds.success)
    if not moved:
        update: dict[str, object] = {"failures": failures, "successes": successes, "streak_level": streak}
        return _finish(state, with_sample.model_copy(update=update), None)
    return _finish(state, _moved(with_sample, result, target), _change(state.status, current, target))


def _current_level(state: CheckState, failing_level: Severity) -> Severity | None:
    if state.status != "down":
        return None
    return state.level or failing_level  # a state stored before levels existed


def _moved(state: CheckState, result: CheckResult, target: Severity | None) -> CheckState:
    status = "down" if target else "up"
    update: dict[str, object] = {
        "status": status,
        "level": target,
        "failures": 0,
        "successes": 0,
        "streak_level": None,
        "last_outcome": result.outcome.value,
        "last_reason": result.reason,
    }
    if status != state.status:  # a level change within an outage keeps the outage's start
        update["changed_at"] = result.observed_at
    return state.model_copy(update=update)


def _change(status: str, current: Severity | None, target: Severity | None) -> Change | None:
    if target is None:
        return "up" if status == "down" else None  # first confirmed health is not news
    if current is None:
        return "down"
    return "escalated" if _RANK[target] > _RANK[current] else "deescalated"


def _lower(a: Severity | None, b: Severity | None) -> Severity | None:
    return a if _RANK[a] <= _RANK[b] else b


def _higher(a: Severity | None, b: Severity | None) -> Severity | None:
    return a if _RANK[a] >= _RANK[b] else b


def _with_sample(state: CheckState, sample: QueueSample | QuotaSample | None) -> dict[str, object]:
    if isinstance(sample, QueueSample):
        return {"samples": [*state.samples, sample][-MAX_QUEUE_SAMPLES:]}
    if isinstance(sample, QuotaSample):
        return {"quota_samples": [*state.quota_samples, sample][-MAX_QUOTA_SAMPLES:]}
    return {}


def _finish(old: CheckState, new: CheckState, change: Change | None) -> Transition:
    return Transition(state=new, change=change, dirty=new != old)
