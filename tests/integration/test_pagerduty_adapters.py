"""PagerDuty adapters against the stand-in (every request checked against PagerDuty's specs), and the
retry arithmetic with a fake clock: no test waits for real except the one about a real timeout."""

import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy, send_with_retry, server_hint
from runbook.adapters.pagerduty import EventRejectedError, PagerDutyApiError, PagerDutyEvents, PagerDutyRest
from runbook.models.pagerduty import (
    MAX_DEDUP_KEY,
    MAX_EVENT_BYTES,
    MAX_SUMMARY,
    TRUNCATED_NOTE_KEY,
    OnCall,
    escalation_level_from,
    fit_dedup_key,
    pagerduty_event_from,
)
from standins.pagerduty_standin import PagerDutyStandin
from tests.support import fake_time as fake_clock
from tests.support import standin_fixtures
from tests.support.fake_time import FakeTime
from tests.support.run_doubles import Clock

pagerduty = standin_fixtures.pagerduty  # the fixture: a started stand-in, violations fail the test
fake_time = fake_clock.fake_time  # the fixture: a FakeTime at 1000.0
http = fake_clock.http  # the fixture: an httpx.Client

ROUTING_KEY = "d41d8cd98f00b204e9800998ecf8427e"
FROM = "runbook@example.com"
POLICY = RetryPolicy(max_attempts=4, base_s=0.5, cap_s=8.0, attempt_timeout_s=5.0, min_attempt_s=0.2)
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture
def events(pagerduty: PagerDutyStandin, http: httpx.Client, fake_time: FakeTime) -> PagerDutyEvents:
    return PagerDutyEvents(
        http, pagerduty.events_url, POLICY, sleep=fake_time.sleep, clock=fake_time.monotonic, rng=lambda: 0.5
    )


def rest_api(
    pagerduty: PagerDutyStandin,
    http: httpx.Client,
    fake_time: FakeTime,
    token: str | None = None,
    page_size: int = 100,
) -> PagerDutyRest:
    return PagerDutyRest(
        http,
        pagerduty.rest_url,
        token or pagerduty.token,
        FROM,
        POLICY,
        page_size=page_size,
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        rng=lambda: 0.5,
    )


@pytest.fixture
def rest(pagerduty: PagerDutyStandin, http: httpx.Client, fake_time: FakeTime) -> PagerDutyRest:
    return rest_api(pagerduty, http, fake_time)


def trigger(dedup_key: str = "health-probe/api", **fields):
    values: dict[str, Any] = {
        "summary": "api is DOWN",
        "source": "api",
        "severity": "critical",
        "timestamp": NOW,
    } | fields
    return pagerduty_event_from(
        routing_key=ROUTING_KEY, event_action="trigger", dedup_key=dedup_key, **values
    )


def resolve(dedup_key: str = "health-probe/api"):
    return pagerduty_event_from(routing_key=ROUTING_KEY, event_action="resolve", dedup_key=dedup_key)


# --- Events v2 --------------------------------------------------------------------------------------


def test_trigger_then_resolve_with_the_same_dedup_key_opens_and_closes_the_alert(
    pagerduty, events, fake_time
):
    deadline = fake_time.now + 10
    sent = events.send(trigger(component="api", group="gateway", class_="http"), deadline)
    assert (sent.status, sent.dedup_key) == ("accepted", "health-probe/api")
    assert pagerduty.open_alerts == {(ROUTING_KEY, "health-probe/api"): "triggered"}
    assert events.send(resolve(), deadline).dedup_key == "health-probe/api"
    assert pagerduty.open_alerts == {}
    first = pagerduty.events[0]
    assert first["payload"] == {
        "summary": "api is DOWN",
        "source": "api",
        "severity": "critical",
        "timestamp": "2026-11-27T12:00:00Z",
        "component": "api",
        "group": "gateway",
        "class": "http",
    }
    assert "payload" not in pagerduty.events[1]
    assert fake_time.sleeps == []


def test_a_long_summary_and_dedup_key_are_cut_to_pagerduty_limits_and_still_match(
    pagerduty, events, fake_time
):
    long_key = "group/" + "k" * 400
    events.send(trigger(long_key, summary="s" * 2000), fake_time.now + 10)
    sent = pagerduty.events[0]
    assert len(sent["payload"]["summary"]) == MAX_SUMMARY
    assert sent["payload"]["summary"].endswith("…")
    assert len(sent["dedup_key"]) == MAX_DEDUP_KEY
    assert fit_dedup_key(long_key + "x") != sent["dedup_key"]  # another long key: another alert
    events.send(resolve(long_key), fake_time.now + 10)
    assert pagerduty.events[1]["dedup_key"] == sent["dedup_key"]
    assert pagerduty.open_alerts == {}


def test_huge_custom_details_are_cut_to_fit_512_kb_and_say_so(pagerduty, events, fake_time):
    details = {"reason": "timeout", "body": "x" * 700_000, "later": list(range(10)), "when": NOW}
    events.send(trigger(custom_details=details), fake_time.now + 10)
    request = pagerduty.received("/v2/enqueue")[0]
    assert len(request.body) <= MAX_EVENT_BYTES
    kept = pagerduty.events[0]["payload"]["custom_details"]
    assert kept["reason"] == "timeout"
    assert kept["body"].startswith('"xxx')
    assert kept["body"].endswith("…")
    assert "later" not in kept
    assert "when" not in kept
    assert "512 KB" in kept[TRUNCATED_NOTE_KEY]
    assert "2 dropped" in kept[TRUNCATED_NOTE_KEY]


def test_small_custom_details_are_sent_as_they_are(pagerduty, events, fake_time):
    events.send(trigger(custom_details={"latency_ms": 812, "observed_at": NOW}), fake_time.now + 10)
    assert pagerduty.events[0]["payload"]["custom_details"] == {
        "latency_ms": 812,
        "observed_at": "2026-11-27T12:00:00Z",
    }


def test_429_with_retry_after_is_waited_out_then_sent(pagerduty, events, fake_time):
    pagerduty.fail_next("/v2/enqueue", 429, headers={"Retry-After": "3"})
    assert events.send(trigger(), fake_time.now + 30).status == "accepted"
    assert fake_time.sleeps == [3.0]  # the hint, longer than the jittered 0.25 s
    assert len(pagerduty.received("/v2/enqueue")) == 2
    assert len(pagerduty.events) == 1


def test_503_twice_then_success(pagerduty, events, fake_time):
    pagerduty.fail_next("/v2/enqueue", 503, times=2)
    assert events.send(trigger(), fake_time.now + 30).status == "accepted"
    assert fake_time.sleeps == [0.25, 0.5]  # rng 0.5 of 0.5 s, then of 1 s
    assert len(pagerduty.received("/v2/enqueue")) == 3


def test_400_is_not_retried_and_reports_pagerdutys_message(pagerduty, events, fake_time):
    body = {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["'payload.source' is missing"],
    }
    pagerduty.fail_next("/v2/enqueue", 400, body=body)
    with pytest.raises(EventRejectedError) as caught:
        events.send(trigger(), fake_time.now + 30)
    assert caught.value.status == 400
    assert caught.value.errors == ("'payload.source' is missing",)
    assert "Event object is invalid: 'payload.source' is missing" in str(caught.value)
    assert len(pagerduty.received("/v2/enqueue")) == 1
    assert fake_time.sleeps == []


def test_retries_exhausted_raise_delivery_failed_with_attempts_and_last_status(pagerduty, events, fake_time):
    pagerduty.fail_next("/v2/enqueue", 502, times=10)
    with pytest.raises(DeliveryFailedError) as caught:
        events.send(trigger(), fake_time.now + 60)
    error = caught.value
    assert (error.attempts, error.last_status, error.reason) == (4, 502, "retries exhausted")
    assert len(fake_time.sleeps) == 3


def test_the_deadline_stops_retries_without_sleeping_past_it(pagerduty, events, fake_time):
    pagerduty.fail_next("/v2/enqueue", 503, times=10, headers={"Retry-After": "2"})
    deadline = fake_time.now + 5
    with pytest.raises(DeliveryFailedError) as caught:
        events.send(trigger(), deadline)
    assert caught.value.attempts == 3  # at 0, 2 and 4 s; a fourth at 6 s would be past the deadline
    assert "deadline" in caught.value.reason
    assert fake_time.now <= deadline
    assert fake_time.sleeps == [2.0, 2.0]


def test_a_deadline_already_past_sends_nothing(pagerduty, events, fake_time):
    with pytest.raises(DeliveryFailedError, match="deadline reached") as caught:
        events.send(trigger(), fake_time.now - 1)
    assert caught.value.attempts == 0
    assert pagerduty.requests == []


def test_a_real_timeout_is_capped_by_the_deadline(pagerduty, http):
    """Real clock: the stand-in holds its answer; the one attempt gets the time left, then none fits."""
    pagerduty.delay("/v2/enqueue", 30)
    sender = PagerDutyEvents(http, pagerduty.events_url, POLICY)
    with pytest.raises(DeliveryFailedError) as caught:
        sender.send(trigger(), time.monotonic() + 0.5)
    assert (caught.value.attempts, caught.value.last_error) == (1, "ReadTimeout")


def test_secrets_never_appear_in_event_errors(pagerduty, events, fake_time):
    echo = {
        "status": "invalid event",
        "message": f"bad routing_key {ROUTING_KEY}",
        "errors": [f"key {ROUTING_KEY}"],
    }
    pagerduty.fail_next("/v2/enqueue", 400, body=echo)
    with pytest.raises(EventRejectedError) as rejected:
        events.send(trigger(), fake_time.now + 10)
    pagerduty.fail_next("/v2/enqueue", 500, times=10)
    with pytest.raises(DeliveryFailedError) as failed:
        events.send(trigger(), fake_time.now + 60)
    for error in (rejected.value, failed.value):
        assert ROUTING_KEY not in str(error)
        assert ROUTING_KEY not in repr(error.args)
    assert "bad routing_key ***" in str(rejected.value)
    assert ROUTING_KEY not in repr(trigger())


def test_a_refused_connection_is_retried_then_reported_by_class(http, fake_time):
    with socket.socket() as sock:  # a port nobody listens on once it is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sender = PagerDutyEvents(
        http, f"http://127.0.0.1:{port}/v2/enqueue", POLICY, sleep=fake_time.sleep, clock=fake_time.monotonic
    )
    with pytest.raises(DeliveryFailedError) as caught:
        sender.send(trigger(), fake_time.now + 60)
    assert (caught.value.attempts, caught.value.last_error) == (4, "ConnectError")


# --- REST -------------------------------------------------------------------------------------------


def test_triggered_incidents_follow_pagination_over_three_pages(pagerduty, http, fake_time):
    wanted = [
        pagerduty.add_incident(service_id="PSVC1", created_at=NOW - timedelta(minutes=i)) for i in range(5)
    ]
    pagerduty.add_incident(service_id="PSVC1", status="acknowledged")
    pagerduty.add_incident(service_id="POTHER")
    api = rest_api(pagerduty, http, fake_time, page_size=2)
    incidents = api.triggered_incidents(["PSVC1"], fake_time.now + 30)
    assert [i.id for i in incidents] == [i.id for i in wanted]
    assert incidents[0].created_at == NOW
    assert incidents[0].service_id == "PSVC1"
    assert incidents[0].escalation_policy_id == "PEP0001"
    assert incidents[0].status == "triggered"
    assert incidents[0].urgency == "high"
    offsets = [dict(r.query)["offset"] for r in pagerduty.received("/incidents")]
    assert offsets == ["0", "2", "4"]
    listing = pagerduty.received("/incidents")[0]
    assert ("statuses[]", "triggered") in listing.query
    assert ("service_ids[]", "PSVC1") in listing.query


def test_the_page_bound_stops_the_listing_and_logs_it(pagerduty, http, fake_time, caplog):
    for _ in range(5):
        pagerduty.add_incident(service_id="PSVC1")
    api = rest_api(pagerduty, http, fake_time, page_size=2)
    with caplog.at_level(logging.WARNING, logger="runbook.adapters.pagerduty"):
        incidents = api.triggered_incidents(["PSVC1"], fake_time.now + 30, max_pages=2)
    assert len(incidents) == 4
    (record,) = [r for r in caplog.records if "cut short" in r.getMessage()]
    assert (record.max_pages, record.incidents_read, record.more) == (2, 4, True)


def test_no_services_means_no_incidents_and_no_call(pagerduty, rest, fake_time):
    assert rest.triggered_incidents([], fake_time.now + 30) == []
    assert pagerduty.requests == []


def test_the_escalation_level_is_derived_from_assignees_and_on_calls(pagerduty, rest, fake_time):
    pagerduty.add_policy("PEPA", levels=3)
    pagerduty.add_policy("PEPB", levels=2)
    first = pagerduty.add_incident(service_id="PSVC1", policy_id="PEPA", escalation_level=1)
    third = pagerduty.add_incident(service_id="PSVC1", policy_id="PEPA", escalation_level=3)
    second = pagerduty.add_incident(service_id="PSVC1", policy_id="PEPB", escalation_level=2)
    incidents = {i.id: i for i in rest.triggered_incidents(["PSVC1"], fake_time.now + 30)}
    assert incidents[first.id].escalation_level == 1
    assert incidents[third.id].escalation_level == 3
    assert incidents[second.id].escalation_level == 2
    assert incidents[third.id].assignee_ids == ("UPEPAL3",)
    assert len(pagerduty.received("/oncalls")) == 2  # once per policy


def test_a_person_on_two_levels_leaves_the_level_unknown():
    on_calls = [OnCall(policy_id="P", level=1, user_id="ann"), OnCall(policy_id="P", level=3, user_id="ann")]
    assert escalation_level_from(["ann"], on_calls) is None
    assert escalation_level_from(["bob"], on_calls) is None
    assert escalation_level_from([], on_calls) is None
    assert escalation_level_from(["bob"], [*on_calls, OnCall(policy_id="P", level=2, user_id="bob")]) == 2


def test_log_entries_since_a_moment_follow_pagination(pagerduty, http, fake_time):
    clock = Clock(NOW)
    pagerduty.now = clock
    pagerduty.add_policy(delays=[60] * 4)
    incident = pagerduty.add_incident(created_at=NOW, status="acknowledged")
    for minutes in (10, 20):  # acknowledged again, and timed out again
        clock.now = NOW + timedelta(minutes=minutes)
        pagerduty.acknowledgement_times_out(incident.id)
        pagerduty.person_updates_incident(incident.id, {"status": "acknowledged"})
    api = rest_api(pagerduty, http, fake_time, page_size=2)
    entries = api.log_entries(incident.id, NOW + timedelta(minutes=10), fake_time.now + 30)
    assert [(e.type, e.created_at - NOW) for e in entries] == [
        ("unacknowledge_log_entry", timedelta(minutes=10)),
        ("acknowledge_log_entry", timedelta(minutes=10)),
        ("unacknowledge_log_entry", timedelta(minutes=20)),
        ("acknowledge_log_entry", timedelta(minutes=20)),
    ]
    assert [e.agent_type for e in entries[:2]] == ["service_reference", "user_reference"]
    listing = [r for r in pagerduty.received("/incidents/") if r.path.endswith("/log_entries")]
    assert [dict(r.query)["offset"] for r in listing] == ["0", "2"]
    assert all(dict(r.query)["since"] == "2026-11-27T12:10:00+00:00" for r in listing)


def test_an_incident_is_at_its_level_since_its_assignments(pagerduty, rest, fake_time):
    clock = Clock(NOW)
    pagerduty.now = clock
    incident = pagerduty.add_incident(service_id="PSVC1", created_at=NOW)
    clock.now = NOW + timedelta(minutes=3, seconds=48)
    pagerduty.person_updates_incident(incident.id, {"escalation_level": 2})
    (listed,) = rest.triggered_incidents(["PSVC1"], fake_time.now + 30)
    assert (listed.escalation_level, listed.created_at, listed.assigned_at) == (
        2,
        NOW,
        NOW + timedelta(minutes=3, seconds=48),
    )


def test_escalation_policy_levels_and_target_names(pagerduty, rest, fake_time):
    pagerduty.add_policy("PEPX", levels=4, name="Platform")
    policy = rest.escalation_policy("PEPX", fake_time.now + 30)
    assert (policy.id, policy.name, policy.levels) == ("PEPX", "Platform", 4)
    assert policy.target_names(2) == ["Level 2 on-call"]
    assert policy.target_names(5) == []


def test_escalate_moves_the_incident_and_sends_from(pagerduty, rest, fake_time):
    incident = pagerduty.add_incident(service_id="PSVC1")
    rest.escalate(incident.id, 2, fake_time.now + 30)
    assert incident.escalation_level == 2
    assert [(e.incident_id, e.level, e.from_email) for e in pagerduty.escalations] == [(incident.id, 2, FROM)]
    (listed,) = rest.triggered_incidents(["PSVC1"], fake_time.now + 30)
    assert (listed.escalation_level, listed.assignee_ids) == (2, ("UPEP0001L2",))


def test_escalating_beyond_the_policy_reports_pagerdutys_error(pagerduty, rest, fake_time):
    incident = pagerduty.add_incident()
    with pytest.raises(PagerDutyApiError) as caught:
        rest.escalate(incident.id, 9, fake_time.now + 30)
    assert (caught.value.status, caught.value.code) == (400, 2001)
    assert "Escalation level 9 is not in the escalation policy" in str(caught.value)
    assert fake_time.sleeps == []


def test_add_note(pagerduty, rest, fake_time):
    incident = pagerduty.add_incident()
    rest.add_note(incident.id, "Not acknowledged within 5 min: escalated to level 2.", fake_time.now + 30)
    assert incident.notes == ["Not acknowledged within 5 min: escalated to level 2."]
    assert pagerduty.notes[0].from_email == FROM


def test_an_answer_without_what_was_asked_is_an_api_error(pagerduty, rest, fake_time):
    incident = pagerduty.add_incident()
    pagerduty.fail_next(f"/incidents/{incident.id}/notes", 200, body={"unexpected": True})
    with pytest.raises(PagerDutyApiError, match="no 'note' object"):
        rest.add_note(incident.id, "x", fake_time.now + 30)
    pagerduty.fail_next("/incidents", 200, body={"incidents": [{"id": "PX"}], "more": False})
    with pytest.raises(PagerDutyApiError, match="unexpected answer"):
        rest.triggered_incidents(["PSVC001"], fake_time.now + 30)


def test_an_unknown_incident_is_404_not_retried(pagerduty, rest, fake_time):
    with pytest.raises(PagerDutyApiError) as caught:
        rest.add_note("PNOPE", "x", fake_time.now + 30)
    assert caught.value.status == 404
    assert len(pagerduty.received("/incidents/PNOPE")) == 1


def test_an_id_cannot_reach_another_path(pagerduty, rest, fake_time):
    with pytest.raises(PagerDutyApiError):
        rest.escalation_policy("../incidents", fake_time.now + 30)
    assert pagerduty.requests[0].path == "/escalation_policies/..%2Fincidents"  # one segment


def test_429_with_ratelimit_reset_is_waited_out(pagerduty, rest, fake_time):
    pagerduty.add_incident(service_id="PSVC1")
    pagerduty.fail_next("/incidents", 429, headers={"ratelimit-reset": "4", "ratelimit-remaining": "0"})
    assert len(rest.triggered_incidents(["PSVC1"], fake_time.now + 30)) == 1
    assert fake_time.sleeps == [4.0]


def test_the_rest_token_never_appears_in_errors(pagerduty, http, fake_time):
    secret = "u+SECRET-TOKEN-1234567890"
    with pytest.raises(PagerDutyApiError) as unauthorized:
        rest_api(pagerduty, http, fake_time, token=secret).escalation_policy("PEP0001", fake_time.now + 30)
    assert unauthorized.value.status == 401
    pagerduty.fail_next(
        "/oncalls", 403, body={"error": {"message": f"token {pagerduty.token} may not", "code": 2010}}
    )
    with pytest.raises(PagerDutyApiError) as forbidden:
        rest_api(pagerduty, http, fake_time).on_calls("PEP0001", fake_time.now + 30)
    pagerduty.fail_next("/escalation_policies", 500, times=10)
    with pytest.raises(DeliveryFailedError) as failed:
        rest_api(pagerduty, http, fake_time).escalation_policy("PEP0001", fake_time.now + 60)
    assert secret not in str(unauthorized.value)
    assert pagerduty.token not in str(forbidden.value)
    assert "token *** may not" in str(forbidden.value)
    assert pagerduty.token not in str(failed.value)
    assert "GET http://127.0.0.1" in str(failed.value)


# --- the retry arithmetic, on a mock transport ------------------------------------------------------------


def scripted(*replies: httpx.Response | Exception) -> tuple[httpx.Client, list[float]]:
    """A client whose transport answers with `replies` in turn; the read timeout of each attempt (the
    request object is reused, so its timeout is read when it is sent)."""
    seen: list[float] = []
    queue = list(replies)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.Client(transport=httpx.MockTransport(handle)), seen


def test_backoff_is_full_jitter_within_the_exponential_ceiling_and_the_cap():
    policy = RetryPolicy(base_s=0.5, cap_s=8.0)
    assert [policy.backoff(n, lambda: 1.0) for n in range(1, 8)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0]
    assert policy.backoff(3, lambda: 0.0) == 0.0
    assert policy.backoff(3, lambda: 0.25) == 0.5
    assert policy.backoff(200, lambda: 0.999) < 8.0  # no overflow far out


def test_each_wait_is_drawn_from_rng(fake_time):
    client, _ = scripted(httpx.Response(500), httpx.Response(502), httpx.Response(503), httpx.Response(200))
    draws = iter([0.1, 0.9, 0.5])
    response = send_with_retry(
        client,
        client.build_request("GET", "https://vendor.example/x"),
        deadline=fake_time.now + 60,
        policy=RetryPolicy(max_attempts=4, base_s=1.0, cap_s=3.0),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        rng=lambda: next(draws),
    )
    assert response.status_code == 200
    assert fake_time.sleeps == pytest.approx([0.1, 1.8, 1.5])  # 0.1 x 1, 0.9 x 2, 0.5 x min(3, 4)


def test_retry_after_as_an_http_date_is_honoured(fake_time):
    wall = 1_800_000_000.0
    later = format_datetime(datetime.fromtimestamp(wall + 7, UTC), usegmt=True)
    client, _ = scripted(httpx.Response(503, headers={"Retry-After": later}), httpx.Response(202))
    send_with_retry(
        client,
        client.build_request("POST", "https://vendor.example/x", content=b"{}"),
        deadline=fake_time.now + 60,
        policy=POLICY,
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        rng=lambda: 0.0,
        wall_clock=lambda: wall,
    )
    assert fake_time.sleeps == [7.0]


def test_server_hints_read_and_unreadable():
    assert server_hint(httpx.Response(429, headers={"ratelimit-reset": "12"}), 0) == 12
    assert server_hint(httpx.Response(200, headers={"ratelimit-reset": "12"}), 0) is None  # only on a 429
    assert server_hint(httpx.Response(429, headers={"Retry-After": "2", "ratelimit-reset": "5"}), 0) == 5
    assert server_hint(httpx.Response(503, headers={"Retry-After": "soon"}), 0) is None
    assert server_hint(httpx.Response(503, headers={"Retry-After": "-3"}), 0) is None


def test_a_hint_beyond_max_hint_or_the_deadline_stops_at_once(fake_time):
    client, seen = scripted(httpx.Response(429, headers={"Retry-After": "3600"}))
    with pytest.raises(DeliveryFailedError, match="asks to wait 3600 s"):
        send_with_retry(
            client,
            client.build_request("GET", "https://vendor.example/x"),
            deadline=fake_time.now + 7200,
            policy=POLICY,
            sleep=fake_time.sleep,
            clock=fake_time.monotonic,
        )
    client, seen = scripted(httpx.Response(429, headers={"Retry-After": "20"}))
    with pytest.raises(DeliveryFailedError, match="deadline"):
        send_with_retry(
            client,
            client.build_request("GET", "https://vendor.example/x"),
            deadline=fake_time.now + 10,
            policy=POLICY,
            sleep=fake_time.sleep,
            clock=fake_time.monotonic,
        )
    assert fake_time.sleeps == []
    assert len(seen) == 1


def test_each_attempt_timeout_is_capped_by_the_time_left(fake_time):
    client, seen = scripted(httpx.ReadTimeout("slow"), httpx.Response(200))
    send_with_retry(
        client,
        client.build_request("GET", "https://vendor.example/x"),
        deadline=fake_time.now + 3,
        policy=RetryPolicy(attempt_timeout_s=10.0, base_s=0.5),
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        rng=lambda: 1.0,
    )
    # MockTransport does not time out: the timeouts are read from what each attempt carried.
    assert seen == [3.0, 2.5]


def test_non_retryable_statuses_are_returned_and_transport_errors_that_cannot_heal_are_not_retried(fake_time):
    client, seen = scripted(httpx.Response(404), httpx.Response(200))
    response = send_with_retry(
        client,
        client.build_request("GET", "https://vendor.example/x"),
        deadline=fake_time.now + 10,
        policy=POLICY,
        clock=fake_time.monotonic,
    )
    assert response.status_code == 404
    assert len(seen) == 1
    client, seen = scripted(httpx.UnsupportedProtocol("nope"))
    with pytest.raises(DeliveryFailedError, match="not retryable") as caught:
        send_with_retry(
            client,
            client.build_request("GET", "https://vendor.example/x"),
            deadline=fake_time.now + 10,
            policy=POLICY,
            clock=fake_time.monotonic,
        )
    assert (caught.value.attempts, caught.value.last_error) == (1, "UnsupportedProtocol")


def test_the_failure_message_names_no_query_and_no_header(fake_time):
    client, _ = scripted(*[httpx.Response(500)] * 4)
    request = client.build_request(
        "GET", "https://user:pw@vendor.example/x?token=abc", headers={"Authorization": "Token token=abc"}
    )
    with pytest.raises(DeliveryFailedError) as caught:
        send_with_retry(
            client,
            request,
            deadline=fake_time.now + 60,
            policy=POLICY,
            sleep=fake_time.sleep,
            clock=fake_time.monotonic,
        )
    assert str(caught.value).startswith("GET https://vendor.example:443/x: ")
    assert "abc" not in str(caught.value)
    assert "pw" not in str(caught.value)


def test_events_body_is_compact_json_with_the_routing_key(pagerduty, events, fake_time):
    events.send(trigger(), fake_time.now + 10)
    request = pagerduty.received("/v2/enqueue")[0]
    assert request.headers["content-type"] == "application/json"
    assert json.loads(request.body)["routing_key"] == ROUTING_KEY
