"""The ack-deadline sweep against PagerDuty's stand-in (REST requests checked against the spec) and the
state table in moto: incidents of different ages, levels and SEVs; never twice for one deadline; the last
level; pagination; 429 with ratelimit-reset; the time at a level as PagerDuty records it (reassigned
within the level, an acknowledgement that timed out), the log read only when needed and bounded."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.pagerduty import PagerDutyRest
from runbook.adapters.paging_state import PagingState
from runbook.config_file import parse_config
from runbook.services import ack_sweep
from runbook.services.ack_sweep import SweepDependencies, sweep
from standins.pagerduty_standin import PagerDutyStandin
from tests.support.run_doubles import T0, Clock

SERVICE = "PSVC001"
CONFIG = f"""
pagerduty:
  services:
    platform: {{routing_key: {{ssm: /runbook/pd}}, service_id: {SERVICE}}}
  default_service: platform
  ack:
    deadline: 5m
    deadlines: {{SEV3: 30m}}
    api_token: {{ssm: /runbook/pd-token}}
    from_email: oncall-bot@example.com
"""


class Reporter:
    def __init__(self) -> None:
        self.notes: list[tuple[str, int, str]] = []
        self.problems: list[tuple[str, dict[str, Any]]] = []

    def escalated(self, incident_id: str, level: int, note: str) -> None:
        self.notes.append((incident_id, level, note))

    def problem(self, message: str, **fields: Any) -> None:
        self.problems.append((message, fields))


@pytest.fixture
def clock(pagerduty: PagerDutyStandin) -> Clock:
    """The test's clock, PagerDuty's too: its assignments, log and escalation rules run on it."""
    clock = Clock(T0)
    pagerduty.now = clock
    return clock


@pytest.fixture
def make_deps(aws, pagerduty: PagerDutyStandin, clock: Clock):
    def make(page_size: int = 100) -> SweepDependencies:
        config = parse_config(CONFIG).pagerduty
        assert config is not None
        api = PagerDutyRest(
            httpx.Client(timeout=5.0),
            pagerduty.rest_url,
            pagerduty.token,
            "oncall-bot@example.com",
            RetryPolicy(base_s=0.01, cap_s=0.05, max_hint_s=2.0),
            page_size=page_size,
        )
        return SweepDependencies(
            config=config,
            state=PagingState(aws.dynamodb, aws.table_name),
            api=api,
            reporter=Reporter(),
            now=clock,
        )

    return make


def minutes_ago(n: float):
    return T0 - timedelta(minutes=n)


def test_only_incidents_past_their_deadline_move_one_level_up_with_a_note(make_deps, pagerduty):
    fresh = pagerduty.add_incident(created_at=minutes_ago(2))
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    acked = pagerduty.add_incident(created_at=minutes_ago(20), status="acknowledged")
    deps = make_deps()

    summary = sweep(deps, budget_s=20)

    assert summary.escalated == [late.id]
    assert [(e.incident_id, e.level) for e in pagerduty.escalations] == [(late.id, 2)]
    [note] = pagerduty.notes
    assert note.incident_id == late.id
    assert "Not acknowledged within 5 min" in note.content
    assert (
        "level 2: secondary on-call (Level 2 on-call)" in note.content
    )  # the runbook's name, then PagerDuty's
    assert "on-call -> secondary on-call -> engineering manager" in note.content
    assert {fresh.id, acked.id}.isdisjoint(e.incident_id for e in pagerduty.escalations)


def test_the_same_deadline_never_escalates_twice_and_the_next_level_waits_its_own(make_deps, pagerduty):
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    deps = make_deps()
    sweep(deps, budget_s=20)
    sweep(make_deps(), budget_s=20)  # an overlapping or the next sweep, a minute of work later
    assert [(e.incident_id, e.level) for e in pagerduty.escalations] == [(late.id, 2)]

    deps.now.now = T0 + timedelta(minutes=5, seconds=1)  # 5 minutes at level 2, still not acknowledged
    sweep(deps, budget_s=20)
    assert [e.level for e in pagerduty.escalations] == [2, 3]


def test_the_last_level_is_where_it_stops(make_deps, pagerduty):
    pagerduty.add_incident(created_at=minutes_ago(60), escalation_level=4)
    summary = sweep(make_deps(), budget_s=20)
    assert (summary.escalated, summary.at_last_level) == ([], 1)
    assert pagerduty.escalations == []


def test_a_lower_sev_has_its_own_deadline(make_deps, pagerduty, aws):
    pagerduty.add_policy(delays=[60] * 4)  # PagerDuty's own rules would not move it before the sweep
    sev3 = pagerduty.add_incident(created_at=minutes_ago(10), incident_key="runbook/quota-check/maps")
    deps = make_deps()
    deps.state.add_member("runbook/quota-check/maps", "quota-check/maps", service="platform", sev="SEV3")
    assert sweep(deps, budget_s=20).escalated == []  # SEV3: 30 minutes
    deps.now.now = T0 + timedelta(minutes=21)
    assert sweep(deps, budget_s=20).escalated == [sev3.id]


def test_pagination_is_followed(make_deps, pagerduty):
    incidents = [pagerduty.add_incident(created_at=minutes_ago(10)) for _ in range(7)]
    summary = sweep(make_deps(page_size=3), budget_s=20)
    assert sorted(summary.escalated) == sorted(i.id for i in incidents)
    listing = [r for r in pagerduty.received("/incidents") if r.method == "GET" and r.path == "/incidents"]
    assert len(listing) == 3


def test_the_rest_rate_limit_is_honoured(make_deps, pagerduty):
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    pagerduty.fail_next("/incidents", 429, times=1, headers={"ratelimit-reset": "0"})
    assert sweep(make_deps(), budget_s=20).escalated == [late.id]


def test_a_failed_escalation_gives_its_claim_back_for_the_next_sweep(make_deps, pagerduty):
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    pagerduty.fail_next(f"/incidents/{late.id}", 500, times=4)
    deps = make_deps()
    summary = sweep(deps, budget_s=20)
    assert (summary.escalated, summary.failed) == ([], 1)
    assert sweep(deps, budget_s=20).escalated == [late.id]


def test_a_reassignment_within_the_level_gives_the_new_assignee_the_whole_deadline(
    make_deps, pagerduty, clock
):
    pagerduty.add_policy(users_per_level=2)
    incident = pagerduty.add_incident(created_at=minutes_ago(4))
    clock.now = minutes_ago(1)
    pagerduty.person_reassigns(incident.id, ["UPEP0001L1b"])  # the other on-call of level 1
    deps = make_deps()
    clock.now = T0 + timedelta(minutes=1)  # 5 min since it was triggered, 2 since it was reassigned
    assert sweep(deps, budget_s=20).escalated == []
    clock.now = T0 + timedelta(minutes=4, seconds=1)
    assert sweep(deps, budget_s=20).escalated == [incident.id]
    assert "5 min at level 1" in pagerduty.notes[0].content


def test_an_acknowledgement_that_timed_out_restarts_the_deadline(make_deps, pagerduty, clock):
    pagerduty.add_policy(delays=[60] * 4)
    incident = pagerduty.add_incident(created_at=minutes_ago(40), status="acknowledged")
    pagerduty.acknowledgement_times_out(incident.id)  # at T0: triggered again, same assignee
    deps = make_deps()
    clock.now = T0 + timedelta(minutes=1)
    assert sweep(deps, budget_s=20).escalated == []
    clock.now = T0 + timedelta(minutes=5, seconds=1)
    assert sweep(deps, budget_s=20).escalated == [incident.id]
    assert "5 min at level 1" in pagerduty.notes[0].content


def test_the_log_is_read_only_for_incidents_past_their_deadline(make_deps, pagerduty):
    pagerduty.add_incident(created_at=minutes_ago(2))
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    sweep(make_deps(), budget_s=20)
    reads = [r for r in pagerduty.received("/incidents/") if r.path.endswith("/log_entries")]
    assert [r.path for r in reads] == [f"/incidents/{late.id}/log_entries"]
    assert dict(reads[0].query)["since"] == minutes_ago(6).isoformat()  # only what is newer


def test_log_reads_per_sweep_are_bounded_and_the_rest_wait_for_the_next(make_deps, pagerduty, monkeypatch):
    monkeypatch.setattr(ack_sweep, "MAX_LOG_READS_PER_SWEEP", 2)
    late = [pagerduty.add_incident(created_at=minutes_ago(10)) for _ in range(3)]
    deps = make_deps()
    first = sweep(deps, budget_s=20)
    assert (len(first.escalated), first.deferred) == (2, 1)
    assert ("more incidents past their deadline than one sweep reads", {"left": 1}) in deps.reporter.problems
    assert sweep(deps, budget_s=20).escalated == [late[2].id]


def test_an_unreadable_log_leaves_the_incident_for_the_next_sweep(make_deps, pagerduty):
    late = pagerduty.add_incident(created_at=minutes_ago(6))
    pagerduty.fail_next(f"/incidents/{late.id}/log_entries", 500, times=4)
    deps = make_deps()
    summary = sweep(deps, budget_s=20)
    assert (summary.escalated, summary.failed) == ([], 1)
    assert pagerduty.escalations == []
    assert sweep(deps, budget_s=20).escalated == [late.id]
