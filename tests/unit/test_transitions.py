from datetime import UTC, datetime, timedelta

import pytest

from runbook.models.results import CheckResult, Outcome
from runbook.models.state import CheckState, QueueSample
from runbook.services.transitions import Thresholds, advance

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
DEFAULT = Thresholds(failure=2, success=2)


def result(ok: bool, minute: int = 0, outcome: Outcome | None = None) -> CheckResult:
    return CheckResult(
        check="api",
        kind="http",
        ok=ok,
        outcome=outcome or (Outcome.OK if ok else Outcome.HTTP_STATUS),
        reason="fine" if ok else "answered 503, expected 200",
        observed_at=T0 + timedelta(minutes=minute),
    )


def run_series(pattern: str, thresholds: Thresholds = DEFAULT, state: CheckState | None = None):
    """'F' a failing run, 'S' a passing one; returns the final state and the changes in order."""
    state = state or CheckState(check="api")
    changes = []
    for minute, mark in enumerate(pattern):
        transition = advance(state, result(mark == "S", minute), thresholds)
        state = transition.state
        if transition.change:
            changes.append((minute, transition.change))
    return state, changes


def test_flapping_every_run_never_changes_state():
    state, changes = run_series("SS" + "FS" * 30)
    assert changes == []
    assert state.status == "up"


def test_down_after_failure_threshold_once_and_up_after_success_threshold_once():
    state, changes = run_series("SS" + "F" * 10 + "S" * 5)
    assert changes == [(3, "down"), (13, "up")]
    assert state.status == "up"


def test_first_confirmed_health_is_silent_but_first_outage_is_news():
    _, healthy = run_series("SSS")
    _, broken = run_series("FF")
    assert healthy == []
    assert broken == [(1, "down")]


@pytest.mark.parametrize(("failure", "pattern", "down_at"), [(1, "SSF", 2), (3, "SSFFSFFF", 7)])
def test_custom_failure_threshold(failure, pattern, down_at):
    _, changes = run_series(pattern, Thresholds(failure=failure, success=2))
    assert changes == [(down_at, "down")]


def test_streaks_are_capped_so_a_steady_check_needs_no_write():
    state, _ = run_series("SSSS")
    again = advance(state, result(True, 10), DEFAULT)
    assert not again.dirty
    assert again.state == state

    down, _ = run_series("FFFF")
    still_down = advance(down, result(False, 10), DEFAULT)
    assert not still_down.dirty


def test_transition_records_when_and_why():
    state, _ = run_series("SSFF")
    assert state.status == "down"
    assert state.changed_at == T0 + timedelta(minutes=3)
    assert state.last_outcome == "http_status"
    assert state.last_reason == "answered 503, expected 200"


def test_skipped_result_moves_nothing():
    state, _ = run_series("SSF")
    skipped = advance(state, result(False, 5, Outcome.SKIPPED), DEFAULT)
    assert skipped.state.failures == state.failures == 1
    assert skipped.change is None
    assert not skipped.dirty


def test_queue_samples_are_kept_newest_last_and_bounded():
    state = CheckState(check="q")
    for i in range(15):
        sample = QueueSample(at=T0 + timedelta(minutes=i), depth=i)
        state = advance(state, result(True, i), DEFAULT, sample).state
    assert [s.depth for s in state.samples] == list(range(5, 15))
