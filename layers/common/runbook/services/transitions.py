"""Failure/success thresholds against flapping: the one place that decides when a check changes state.

Pure: no I/O. Streaks are capped at their threshold so that a check that stays up (or down) leaves
its state unchanged and costs no write.
"""

from dataclasses import dataclass
from typing import Literal

from runbook.models.results import CheckResult
from runbook.models.state import MAX_QUEUE_SAMPLES, CheckState, QueueSample

Change = Literal["down", "up"]


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
    state: CheckState, result: CheckResult, thresholds: Thresholds, sample: QueueSample | None = None
) -> Transition:
    samples = _with_sample(state.samples, sample)
    if not result.counts:
        return _finish(state, state.model_copy(update={"samples": samples}), None)
    if result.ok:
        successes, failures = min(state.successes + 1, thresholds.success), 0
    else:
        successes, failures = 0, min(state.failures + 1, thresholds.failure)

    change: Change | None = None
    status = state.status
    if status != "down" and failures >= thresholds.failure:
        status, change = "down", "down"
    elif status == "down" and successes >= thresholds.success:
        status, change = "up", "up"
    elif status == "unknown" and successes >= thresholds.success:
        status = "up"  # first confirmed health is not news: nobody was told it was down

    update: dict[str, object] = {
        "status": status,
        "successes": successes,
        "failures": failures,
        "samples": samples,
    }
    if status != state.status:
        update |= {
            "changed_at": result.observed_at,
            "last_outcome": result.outcome.value,
            "last_reason": result.reason,
        }
    return _finish(state, state.model_copy(update=update), change)


def _with_sample(samples: list[QueueSample], sample: QueueSample | None) -> list[QueueSample]:
    if sample is None:
        return samples
    return [*samples, sample][-MAX_QUEUE_SAMPLES:]


def _finish(old: CheckState, new: CheckState, change: Change | None) -> Transition:
    return Transition(state=new, change=change, dirty=new != old)
