"""The queue condition on constructed sample series: no Redis, no SQS, no clock."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from runbook.models.config import BullmqQueueCheck, RedisListQueueCheck, SqsQueueCheck
from runbook.models.observations import FailureKind, ProbeFailure, QueueObservation
from runbook.models.results import Outcome
from runbook.models.state import CheckState, QueueSample
from runbook.services.conditions import queue
from runbook.services.conditions.queue import MAX_SAMPLE_AGE, MIN_INTERVAL, evaluate

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def bullmq_check(**overrides: Any) -> BullmqQueueCheck:
    fields = {"name": "emails-queue", "kind": "queue", "backend": "bullmq", "queue": "emails"}
    return BullmqQueueCheck.model_validate({**fields, "redis": {"host": "redis.internal"}, **overrides})


def list_check(**overrides: Any) -> RedisListQueueCheck:
    fields = {"name": "thumbs", "kind": "queue", "backend": "redis_list", "key": "thumbnails"}
    return RedisListQueueCheck.model_validate({**fields, "redis": {"host": "redis.internal"}, **overrides})


def sqs_check(**overrides: Any) -> SqsQueueCheck:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/invoices"
    fields = {"name": "invoices", "kind": "queue", "backend": "sqs", "queue_url": url}
    return SqsQueueCheck.model_validate({**fields, **overrides})


def observed(depth: int, processed: int | None = None, in_flight: int | None = 2, at: datetime = NOW):
    return QueueObservation(
        observed_at=at,
        target="t",
        depth=depth,
        processed_total=processed,
        in_flight=in_flight,
        latency_s=0.004,
    )


def history(*points: tuple[timedelta, int, int | None]) -> CheckState:
    """Earlier samples, given as (how long before NOW, depth, processed_total), oldest first."""
    samples = [QueueSample(at=NOW - ago, depth=depth, processed_total=total) for ago, depth, total in points]
    return CheckState(check="c", samples=samples)


# ------------------------------------------------------------------------------------------------- depth


def test_depth_under_the_limit_is_ok_and_carries_the_evidence():
    result = evaluate(bullmq_check(), observed(12, 0, in_flight=3), CheckState(check="c"))
    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.details["depth"] == 12
    assert result.details["in_flight"] == 3
    assert result.details["rate_not_compared"] == "no earlier sample"
    assert result.latency_ms == 4.0


@pytest.mark.parametrize(("depth", "outcome"), [(99, Outcome.OK), (100, Outcome.DEPTH_EXCEEDED)])
def test_the_limit_is_reached_at_max_depth(depth, outcome):
    assert evaluate(bullmq_check(), observed(depth), CheckState(check="c")).outcome is outcome


def test_depth_exceeded_says_how_many_wait_and_the_limit():
    result = evaluate(bullmq_check(), observed(143), CheckState(check="c"))
    assert not result.ok
    assert result.reason == "emails: 143 jobs waiting, limit 100"


def test_depth_exceeded_wins_over_a_stall_but_keeps_the_rate_evidence():
    state = history((MINUTE, 150, 500))
    result = evaluate(bullmq_check(), observed(160, 500), state)
    assert result.outcome is Outcome.DEPTH_EXCEEDED
    assert result.details["rate_per_minute"] == 0


def test_sqs_counts_messages_and_names_the_queue_from_its_url():
    result = evaluate(sqs_check(max_depth=10), observed(11), CheckState(check="c"))
    assert result.reason == "invoices: 11 messages waiting, limit 10"


# -------------------------------------------------------------------- rate (BullMQ: finished-job counter)


def test_steady_processing_is_ok_with_the_rate_in_the_details():
    state = history((3 * MINUTE, 20, 0), (2 * MINUTE, 25, 60), (MINUTE, 18, 120))
    result = evaluate(bullmq_check(), observed(22, 180), state)
    assert result.outcome is Outcome.OK
    assert result.details["rate_per_minute"] == 60.0
    assert result.details["previous_rate_per_minute"] == 60.0
    assert result.details["interval_s"] == 60.0
    assert "60.0 finished/min" in result.reason


def test_jobs_waiting_and_none_finished_is_a_stall():
    state = history((2 * MINUTE, 4, 100), (MINUTE, 5, 120))
    result = evaluate(bullmq_check(), observed(8, 120), state)
    assert result.outcome is Outcome.STALLED
    assert result.reason == "emails: 8 jobs waiting and none finished in 1.0 min"
    assert result.details["rate_per_minute"] == 0


def test_an_idle_queue_finishing_nothing_is_not_a_stall():
    state = history((MINUTE, 0, 120))
    assert evaluate(bullmq_check(), observed(0, 120), state).outcome is Outcome.OK


def test_jobs_that_arrived_since_the_last_run_are_not_a_stall_yet():
    # Nothing waited at the previous run: the workers may simply not have picked the new jobs up yet.
    state = history((MINUTE, 0, 120))
    assert evaluate(bullmq_check(), observed(3, 120), state).outcome is Outcome.OK


def test_rate_dropping_while_jobs_wait_reports_both_rates():
    state = history((2 * MINUTE, 30, 1000), (MINUTE, 30, 1060))
    result = evaluate(bullmq_check(), observed(40, 1080), state)
    assert result.outcome is Outcome.RATE_DROPPED
    assert result.details["rate_per_minute"] == 20.0
    assert result.details["previous_rate_per_minute"] == 60.0
    assert "20.0/min from 60.0/min" in result.reason
    assert "-67%" in result.reason
    assert "-50%" in result.reason


@pytest.mark.parametrize(("finished_now", "outcome"), [(30, Outcome.OK), (29, Outcome.RATE_DROPPED)])
def test_a_drop_of_exactly_max_drop_percent_is_still_ok(finished_now, outcome):
    state = history((2 * MINUTE, 30, 1000), (MINUTE, 30, 1060))
    assert evaluate(bullmq_check(), observed(40, 1060 + finished_now), state).outcome is outcome


def test_max_drop_percent_comes_from_the_check():
    state = history((2 * MINUTE, 30, 1000), (MINUTE, 30, 1060))
    check = bullmq_check(rate={"max_drop_percent": 80})
    assert evaluate(check, observed(40, 1080), state).outcome is Outcome.OK


def test_a_drop_over_a_handful_of_jobs_is_noise():
    state = history((2 * MINUTE, 3, 100), (MINUTE, 3, 100 + queue.MIN_JOBS_FOR_DROP - 1))
    result = evaluate(bullmq_check(), observed(3, 100 + queue.MIN_JOBS_FOR_DROP), state)
    assert result.outcome is Outcome.OK


def test_a_rate_drop_with_nothing_waiting_is_just_less_work():
    state = history((2 * MINUTE, 0, 1000), (MINUTE, 0, 1060))
    assert evaluate(bullmq_check(), observed(0, 1065), state).outcome is Outcome.OK


def test_a_counter_that_went_backwards_is_a_reset_not_a_failure():
    state = history((2 * MINUTE, 30, 5000), (MINUTE, 30, 5060))
    result = evaluate(bullmq_check(), observed(5, 12), state)
    assert result.ok
    assert result.outcome is Outcome.OK
    assert result.details["counter_reset"] is True
    assert "rate_per_minute" not in result.details


def test_a_reset_in_the_previous_interval_leaves_no_rate_to_drop_from():
    state = history((2 * MINUTE, 30, 5000), (MINUTE, 30, 10))
    result = evaluate(bullmq_check(), observed(40, 12), state)
    assert result.outcome is Outcome.OK
    assert "previous_rate_per_minute" not in result.details


def test_a_too_short_interval_is_not_compared():
    # An overlapping invocation 3 s ago: nothing finished in 3 s, which says nothing about a stall.
    state = history((timedelta(seconds=3), 10, 500))
    result = evaluate(bullmq_check(), observed(10, 500), state)
    assert result.outcome is Outcome.OK
    assert "rate_per_minute" not in result.details
    assert "apart" in result.details["rate_not_compared"]


def test_a_too_close_sample_is_passed_over_for_the_regular_one_before_it():
    state = history((MINUTE, 10, 440), (timedelta(seconds=3), 10, 500))
    result = evaluate(bullmq_check(), observed(10, 500), state)
    assert result.outcome is Outcome.OK
    assert result.details["interval_s"] == 60.0
    assert result.details["rate_per_minute"] == 60.0
    state = history((MINUTE, 10, 500), (timedelta(seconds=3), 10, 500))
    assert evaluate(bullmq_check(), observed(10, 500), state).outcome is Outcome.STALLED


def test_the_minimum_interval_boundary():
    state = history((MIN_INTERVAL, 10, 500))
    assert evaluate(bullmq_check(), observed(10, 500), state).outcome is Outcome.STALLED
    state = history((MIN_INTERVAL - timedelta(milliseconds=1), 10, 500))
    assert evaluate(bullmq_check(), observed(10, 500), state).outcome is Outcome.OK


def test_stale_samples_are_not_compared():
    # The prober did not run for 20 minutes: no rate over that gap, and no stall from it.
    state = history((timedelta(minutes=21), 10, 500), (timedelta(minutes=20), 10, 500))
    result = evaluate(bullmq_check(), observed(10, 500), state)
    assert result.outcome is Outcome.OK
    assert "older than" in result.details["rate_not_compared"]
    state = history((MAX_SAMPLE_AGE, 10, 500))
    assert evaluate(bullmq_check(), observed(10, 500), state).outcome is Outcome.STALLED


def test_rate_null_judges_depth_only():
    state = history((2 * MINUTE, 30, 1000), (MINUTE, 30, 1060))
    result = evaluate(bullmq_check(rate=None), observed(40, 1060), state)
    assert result.outcome is Outcome.OK
    assert result.details["rate_per_minute"] == 0  # still measured, as evidence


# ------------------------------------------------------------ growth (Redis lists, SQS: no finished count)


@pytest.mark.parametrize("make_check", [list_check, sqs_check])
def test_a_backlog_growing_in_each_of_the_last_intervals(make_check):
    state = history((3 * MINUTE, 10, None), (2 * MINUTE, 20, None), (MINUTE, 30, None))
    result = evaluate(make_check(), observed(40), state)
    assert result.outcome is Outcome.BACKLOG_GROWING
    assert result.details["recent_depths"] == [10, 20, 30, 40]
    assert "10 -> 20 -> 30 -> 40" in result.reason
    assert "rate_per_minute" not in result.details


def test_growth_needs_as_many_earlier_samples_as_configured():
    state = history((2 * MINUTE, 20, None), (MINUTE, 30, None))
    result = evaluate(list_check(), observed(40), state)
    assert result.outcome is Outcome.OK
    assert "growth_not_compared" in result.details
    check = list_check(rate={"growing_samples": 2})
    assert evaluate(check, observed(40), state).outcome is Outcome.BACKLOG_GROWING


def test_a_pause_in_the_growth_is_not_growing():
    state = history((3 * MINUTE, 10, None), (2 * MINUTE, 20, None), (MINUTE, 20, None))
    assert evaluate(list_check(), observed(40), state).outcome is Outcome.OK


def test_growth_skips_too_close_and_stale_samples():
    stale_and_close = history(
        (timedelta(minutes=30), 1, None),
        (3 * MINUTE, 10, None),
        (2 * MINUTE, 20, None),
        (MINUTE, 30, None),
        (timedelta(seconds=2), 45, None),  # an overlapping run: passed over, not compared
    )
    assert evaluate(list_check(), observed(40), stale_and_close).outcome is Outcome.BACKLOG_GROWING
    only_stale = history(
        (timedelta(minutes=40), 1, None), (timedelta(minutes=30), 2, None), (MINUTE, 3, None)
    )
    result = evaluate(list_check(), observed(4), only_stale)
    assert result.outcome is Outcome.OK


# ------------------------------------------------------------------------------------------- failures


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        (FailureKind.REFUSED, Outcome.CONNECTION_REFUSED),
        (FailureKind.TIMEOUT, Outcome.TIMEOUT),
        (FailureKind.AUTH, Outcome.AUTH_FAILED),
        (FailureKind.LOADING, Outcome.LOADING),
        (FailureKind.QUERY, Outcome.QUERY_FAILED),
        (FailureKind.CONNECTION, Outcome.CONNECTION_ERROR),
    ],
)
def test_a_probe_failure_becomes_its_outcome(kind, outcome):
    failure = ProbeFailure(kind=kind, message="Error 111 connecting to 10.0.0.5:6379. Connection refused.")
    observation = QueueObservation(observed_at=NOW, target="t", failure=failure)
    result = evaluate(bullmq_check(), observation, history((MINUTE, 10, 5)))
    assert not result.ok
    assert result.outcome is outcome
    assert result.reason == "emails: Error 111 connecting to 10.0.0.5:6379. Connection refused."


def test_every_failure_kind_has_a_failing_outcome():
    assert set(queue.FAILURE_OUTCOMES) == set(FailureKind)
    assert Outcome.OK not in queue.FAILURE_OUTCOMES.values()
