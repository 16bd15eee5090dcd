"""StateStore against DynamoDB (moto), table created from template.yaml."""

from datetime import UTC, datetime, timedelta

import pytest

from runbook.adapters.state_store import StaleStateError, StateStore
from runbook.models.alert import Alert
from runbook.models.state import CheckState, QueueSample

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(aws):
    return StateStore(aws.dynamodb, aws.table_name)


def test_unknown_checks_load_as_absent_and_get_as_fresh(store):
    assert store.load_states(["a", "b"]) == {}
    assert store.get_state("a") == CheckState(check="a")


def test_save_and_load_round_trip_with_samples_and_pending_alert(store):
    alert = Alert(
        key="health-probe/q",
        status="firing",
        severity="critical",
        sev="SEV2",
        summary="q is DOWN",
        source="health-probe",
        check="q",
        component="workers",
        observed_at=NOW,
    )
    state = CheckState(
        check="q",
        status="down",
        failures=2,
        changed_at=NOW,
        pending_alert=alert,
        samples=[QueueSample(at=NOW, depth=150, processed_total=10)],
    )
    saved = store.save_state(state)
    assert saved.version == 1
    loaded = store.load_states(["q"])["q"]
    assert loaded == saved
    assert store.get_state("q") == saved


def test_a_write_based_on_a_stale_read_is_refused(store):
    first = store.save_state(CheckState(check="api", failures=1))
    store.save_state(first.model_copy(update={"failures": 2}))  # another run wrote meanwhile
    with pytest.raises(StaleStateError):
        store.save_state(first.model_copy(update={"successes": 1}))
    with pytest.raises(StaleStateError):  # creating what already exists is stale too
        store.save_state(CheckState(check="api"))
    assert store.get_state("api").failures == 2


def test_batch_load_covers_more_than_one_batch(store):
    for i in range(130):
        store.save_state(CheckState(check=f"c{i}", status="up"))
    loaded = store.load_states([f"c{i}" for i in range(140)])
    assert len(loaded) == 130


def test_heartbeats_keep_the_newest_report_and_the_last_pass(store):
    assert store.save_heartbeat("synthetic", "pass", NOW, "42/42")
    assert store.save_heartbeat("synthetic", "fail", NOW + timedelta(minutes=10), "3 failed")
    # An older pass arriving late does not hide the newer failure, but still counts as a pass.
    assert not store.save_heartbeat("synthetic", "pass", NOW + timedelta(minutes=5), "late")
    record = store.load_heartbeats(["synthetic", "other"])["synthetic"]
    assert record.status == "fail"
    assert record.summary == "3 failed"
    assert record.reported_at == NOW + timedelta(minutes=10)
    assert record.last_pass_at == NOW + timedelta(minutes=5)
