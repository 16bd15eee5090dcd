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


def graded(level: str | None, minute: int) -> CheckResult:
    """A quota-like result: None passes, otherwise fails at that level."""
    if level is None:
        return result(True, minute)
    return result(False, minute, Outcome.QUOTA_WARNING).model_copy(update={"severity": level})


def run_levels(levels: list[str | None], thresholds: Thresholds = DEFAULT):
    state = CheckState(check="quota")
    changes = []
    for minute, level in enumerate(levels):
        transition = advance(state, graded(level, minute), thresholds)
        state = transition.state
        if transition.change:
            changes.append((minute, transition.change, state.level))
    return state, changes


W, C = "warning", "critical"


def test_a_quota_climbs_warning_then_critical_and_comes_back_in_steps():
    state, changes = run_levels([None, None, W, W, W, C, C, C, W, W, None, None])
    assert changes == [
        (3, "down", W),
        (6, "escalated", C),
        (9, "deescalated", W),
        (11, "up", None),
    ]
    assert state.status == "up"


def test_one_critical_spike_amid_warnings_does_not_escalate():
    _, changes = run_levels([W, W, C, W, C, W, W])
    assert changes == [(1, "down", W)]


def test_a_streak_moves_only_as_far_as_all_its_runs_went():
    # Up -> two failing runs, one warning and one critical: down at warning, the level both reached.
    _, changes = run_levels([None, None, C, W])
    assert changes == [(3, "down", W)]
    # Critical -> one ok, one warning: back to warning, not up.
    _, changes = run_levels([C, C, None, W])
    assert changes == [(1, "down", C), (3, "deescalated", W)]


def test_hovering_at_a_boundary_never_changes_the_level():
    hovering: list[str | None] = [W, W, *([C, W] * 20)]
    _, changes = run_levels(hovering)
    assert changes == [(1, "down", W)]


def test_a_steady_level_costs_no_write():
    state, _ = run_levels([W, W, W])
    again = advance(state, graded(W, 9), DEFAULT)
    assert not again.dirty
    assert again.change is None


def test_a_level_change_keeps_the_outage_start():
    state, _ = run_levels([None, None, W, W, C, C])
    assert state.changed_at == T0 + timedelta(minutes=3)
    assert state.last_outcome == "quota_warning"


def test_failing_level_defaults_to_the_checks_severity():
    state = CheckState(check="api")
    for minute in range(2):
        state = advance(state, result(False, minute), DEFAULT, failing_level="warning").state
    assert (state.status, state.level) == ("down", "warning")


def test_a_state_stored_before_levels_existed_is_read_as_down_at_the_checks_level():
    legacy = CheckState(check="api", status="down", failures=2)
    steady = advance(legacy, result(False, 1), DEFAULT)
    assert steady.change is None
    assert steady.state.status == "down"
