"""Judges a queue observation: the depth limit, and whether processing keeps up (runbook: "< 100
messages, processing rate stable").

`state.samples` are the readings of earlier runs (newest last); the current observation is not among them.
Where the backend counts finished jobs (BullMQ), the processing rate is measured between samples; where
it does not (Redis lists, SQS), a backlog that grows run after run stands in for it.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any
from urllib.parse import urlsplit

from runbook.models.config import BullmqQueueCheck, RedisListQueueCheck, SqsQueueCheck
from runbook.models.observations import QueueObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState, QueueSample
from runbook.services.conditions.verdict import FAILURE_OUTCOMES as FAILURE_OUTCOMES
from runbook.services.conditions.verdict import check_result

# Two readings closer than this come from overlapping or retried invocations, not from the schedule:
# over a few seconds a healthy worker may finish nothing, and "0 per minute" would read as a stall.
MIN_INTERVAL = timedelta(seconds=10)
# Older readings mean the prober was not running (or the check was off) in between: an average over
# that gap is not "the previous interval", and the workload may have changed meanwhile.
MAX_SAMPLE_AGE = timedelta(minutes=15)
# Below this many jobs finished in the previous interval, a drop is noise (2 jobs then 0.9 per minute).
MIN_JOBS_FOR_DROP = 10

QueueCheck = BullmqQueueCheck | RedisListQueueCheck | SqsQueueCheck


@dataclass(frozen=True)
class _Point:
    at: datetime
    depth: int
    processed_total: int | None


@dataclass(frozen=True)
class _Verdict:
    outcome: Outcome
    reason: str


def queue_label(check: QueueCheck) -> str:
    match check:
        case BullmqQueueCheck():
            return check.queue
        case RedisListQueueCheck():
            return check.key
        case SqsQueueCheck():
            return urlsplit(str(check.queue_url)).path.rstrip("/").rsplit("/", 1)[-1] or check.name


def _count(n: int, check: QueueCheck) -> str:
    noun = "message" if isinstance(check, SqsQueueCheck) else "job"
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:.1f} min"


def _interval(newer: _Point, older: _Point) -> tuple[int, float] | None:
    """(jobs finished, per minute) between two points; None when the counter went backwards (a reset)
    or is unknown."""
    if newer.processed_total is None or older.processed_total is None:
        return None
    finished = newer.processed_total - older.processed_total
    if finished < 0:
        return None
    return finished, finished / ((newer.at - older.at).total_seconds() / 60)


def _series(samples: list[QueueSample], now: datetime, length: int, need_total: bool) -> list[_Point]:
    """Up to `length` earlier points, newest first, each at least MIN_INTERVAL older than the one after it
    (the first: than now) and none older than MAX_SAMPLE_AGE. A too-close sample is passed over, not
    compared, so one overlapping run does not hide the regular one before it."""
    points: list[_Point] = []
    newer_at = now
    for sample in sorted(samples, key=lambda s: s.at, reverse=True):
        if len(points) == length or now - sample.at > MAX_SAMPLE_AGE:
            break
        if need_total and sample.processed_total is None:
            continue
        if newer_at - sample.at < MIN_INTERVAL:
            continue
        points.append(_Point(sample.at, sample.depth, sample.processed_total))
        newer_at = sample.at
    return points


def _why_not_compared(samples: list[QueueSample], now: datetime) -> str:
    if not samples:
        return "no earlier sample"
    newest = max(s.at for s in samples)
    if now - newest > MAX_SAMPLE_AGE:
        return f"the newest earlier sample is older than {_minutes(MAX_SAMPLE_AGE)}"
    return f"too few earlier samples at least {MIN_INTERVAL.total_seconds():g} s apart"


def _judge_rate(
    check: QueueCheck, now: _Point, samples: list[QueueSample], details: dict[str, Any]
) -> _Verdict | None:
    """Finished-job counter known: STALLED or RATE_DROPPED while jobs wait."""
    series = _series(samples, now.at, 2, need_total=True)
    if not series:
        details["rate_not_compared"] = _why_not_compared(samples, now.at)
        return None
    previous = series[0]
    current = _interval(now, previous)
    details["interval_s"] = round((now.at - previous.at).total_seconds(), 1)
    if current is None:
        # The queue was obliterated or Redis flushed (or failed jobs were retried): a new baseline.
        details["counter_reset"] = True
        return None
    _, rate = current
    details["rate_per_minute"] = round(rate, 2)
    earlier = _interval(previous, series[1]) if len(series) == 2 else None
    if earlier is not None:
        details["previous_rate_per_minute"] = round(earlier[1], 2)
    if check.rate is None:
        return None
    # Jobs waited at both ends of the interval, so the workers had work throughout; a job that arrived
    # a moment ago and is not finished yet is not a stall.
    if not (now.depth > 0 and previous.depth > 0):
        return None
    label = queue_label(check)
    if rate == 0:
        return _Verdict(
            Outcome.STALLED,
            f"{label}: {_count(now.depth, check)} waiting and none finished in "
            f"{_minutes(now.at - previous.at)}",
        )
    if earlier is None:
        return None
    earlier_finished, earlier_rate = earlier
    floor = earlier_rate * (1 - check.rate.max_drop_percent / 100)
    if earlier_finished >= MIN_JOBS_FOR_DROP and rate < floor:
        drop = round(100 * (1 - rate / earlier_rate))
        return _Verdict(
            Outcome.RATE_DROPPED,
            f"{label}: processing fell to {rate:.1f}/min from {earlier_rate:.1f}/min (-{drop}%, "
            f"limit -{check.rate.max_drop_percent}%) with {_count(now.depth, check)} waiting",
        )
    return None


def _judge_growth(
    check: QueueCheck, now: _Point, samples: list[QueueSample], details: dict[str, Any]
) -> _Verdict | None:
    """No finished-job counter: BACKLOG_GROWING when the depth rose in each of the last N intervals."""
    if check.rate is None:
        return None
    wanted = check.rate.growing_samples
    series = _series(samples, now.at, wanted, need_total=False)
    if len(series) < wanted:
        details["growth_not_compared"] = _why_not_compared(samples, now.at)
        return None
    depths = [p.depth for p in reversed(series)] + [now.depth]
    details["recent_depths"] = depths
    if all(newer > older for older, newer in pairwise(depths)):
        return _Verdict(
            Outcome.BACKLOG_GROWING,
            f"{queue_label(check)}: backlog grew in each of the last {wanted} runs "
            f"({' -> '.join(map(str, depths))} waiting)",
        )
    return None


def evaluate(check: QueueCheck, observation: QueueObservation, state: CheckState) -> CheckResult:
    label = queue_label(check)
    details: dict[str, Any] = {"target": observation.target, "max_depth": check.max_depth}
    # The probe's extra evidence (delayed jobs, paused queue, ...); QueueObservation has no field for it yet.
    details.update(observation.details)

    def result(outcome: Outcome, reason: str) -> CheckResult:
        return check_result(check, observation, outcome, reason, details, reason_limit=None)

    if observation.failure is not None:
        details["failure"] = observation.failure.kind.value
        outcome = FAILURE_OUTCOMES.get(observation.failure.kind, Outcome.PROBE_ERROR)
        return result(outcome, f"{label}: {observation.failure.message}")
    if observation.depth is None:
        return result(Outcome.PROBE_ERROR, f"{label}: the probe returned no depth")

    details["depth"] = observation.depth
    details["in_flight"] = observation.in_flight
    if observation.processed_total is not None:
        details["processed_total"] = observation.processed_total
    now = _Point(observation.observed_at, observation.depth, observation.processed_total)
    # Rate first, so its evidence is in the details even when the depth limit decides.
    if now.processed_total is not None:
        verdict = _judge_rate(check, now, state.samples, details)
    else:
        verdict = _judge_growth(check, now, state.samples, details)

    if observation.depth >= check.max_depth:
        return result(
            Outcome.DEPTH_EXCEEDED,
            f"{label}: {_count(observation.depth, check)} waiting, limit {check.max_depth}",
        )
    if verdict is not None:
        return result(verdict.outcome, verdict.reason)
    rate = details.get("rate_per_minute")
    rate_text = f", {rate:.1f} finished/min" if rate is not None else ""
    return result(
        Outcome.OK,
        f"{label}: {_count(observation.depth, check)} waiting (limit {check.max_depth}){rate_text}",
    )
