"""The PagerDuty stand-in refuses what PagerDuty's specs refuse, accepts what they accept, and answers
in PagerDuty's shapes: so an adapter test against it cannot pass on a request the vendor would reject."""

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from werkzeug.datastructures import Headers

from standins.pagerduty_standin import (
    ACCEPT,
    MAX_EVENT_BYTES,
    REST_HOST,
    OpenApiRequest,
    PagerDutyStandin,
    Violation,
    specs,
)
from tests.support import standin_fixtures
from tests.support.run_doubles import T0, Clock
from tests.support.standin_fixtures import fail_on_pagerduty_violations

pagerduty = standin_fixtures.pagerduty  # the fixture: a started stand-in, violations fail the test

ROUTING_KEY = "R0UT1NGKEY0000000000000000000001"
FROM = "runbook@example.com"


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5) as client:
        yield client


def event(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "health-probe/api",
        "payload": {"summary": "api is DOWN", "source": "api", "severity": "critical"},
    }
    return document | overrides


def rest_headers(pagerduty: PagerDutyStandin, write: bool = False) -> dict[str, str]:
    headers = {
        "Authorization": f"Token token={pagerduty.token}",
        "Accept": ACCEPT,
        "Content-Type": "application/json",
    }
    return headers | ({"From": FROM} if write else {})


def refused(pagerduty: PagerDutyStandin, response: httpx.Response, status: int = 400) -> Violation:
    assert response.status_code == status, response.text
    violations = pagerduty.take_violations()
    assert len(violations) == 1, violations
    return violations[0]


# --- Events v2 --------------------------------------------------------------------------------------


def test_a_valid_trigger_is_accepted_recorded_and_opens_an_alert(pagerduty, http):
    response = http.post(pagerduty.events_url, json=event())
    assert response.status_code == 202
    assert response.json() == {
        "status": "success",
        "message": "Event processed",
        "dedup_key": "health-probe/api",
    }
    assert pagerduty.events == [event()]
    assert pagerduty.open_alerts == {(ROUTING_KEY, "health-probe/api"): "triggered"}
    assert pagerduty.most_events_in_a_minute(ROUTING_KEY) == 1


def test_acknowledge_and_resolve_move_the_alert_and_a_resolve_for_nothing_open_is_still_202(pagerduty, http):
    http.post(pagerduty.events_url, json=event())
    http.post(
        pagerduty.events_url,
        json={"routing_key": ROUTING_KEY, "event_action": "acknowledge", "dedup_key": "health-probe/api"},
    )
    assert pagerduty.open_alerts == {(ROUTING_KEY, "health-probe/api"): "acknowledged"}
    for _ in range(2):
        response = http.post(
            pagerduty.events_url,
            json={"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "health-probe/api"},
        )
        assert response.status_code == 202
    assert pagerduty.open_alerts == {}
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "acknowledge", "resolve", "resolve"]


def test_a_trigger_without_dedup_key_gets_one(pagerduty, http):
    document = event()
    del document["dedup_key"]
    dedup_key = http.post(pagerduty.events_url, json=document).json()["dedup_key"]
    assert (ROUTING_KEY, dedup_key) in pagerduty.open_alerts


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ({k: v for k, v in event().items() if k != "routing_key"}, "'routing_key' is a required property"),
        (event(payload={"summary": "s", "source": "api", "severity": "fatal"}), "'fatal' is not one of"),
        (event(payload={"summary": "s", "severity": "info"}), "'source' is a required property"),
        (event(event_action="escalate"), "'escalate' is not one of"),
        (
            event(payload={"summary": "s", "source": "a", "severity": "info", "timestamp": "yesterday"}),
            "date-time",
        ),
        (event(routing_key=""), "'routing_key' is empty"),
        ({k: v for k, v in event().items() if k != "payload"}, "'payload' is required for trigger events"),
        ({"routing_key": ROUTING_KEY, "event_action": "resolve"}, "'dedup_key' is required for resolve"),
        (event(dedup_key="k" * 256), "length of 'dedup_key' is 256"),
        (
            event(payload={"summary": "s" * 1025, "source": "a", "severity": "info"}),
            "'payload.summary' is 1025",
        ),
    ],
    ids=[
        "no-routing-key",
        "bad-severity",
        "no-source",
        "bad-action",
        "bad-timestamp",
        "empty-routing-key",
        "trigger-without-payload",
        "resolve-without-dedup-key",
        "dedup-key-too-long",
        "summary-too-long",
    ],
)
def test_events_the_specs_or_pagerduty_forbid_are_refused_400(pagerduty, http, document, expected):
    response = http.post(pagerduty.events_url, json=document)
    violation = refused(pagerduty, response)
    assert any(expected in error for error in violation.errors), violation
    body = response.json()
    assert body["status"] == "invalid event"
    assert any(expected in error for error in body["errors"])
    assert pagerduty.events == []


def test_an_event_over_512_kb_and_a_body_that_is_not_json_are_refused(pagerduty, http):
    huge = event(
        payload={
            "summary": "s",
            "source": "a",
            "severity": "info",
            "custom_details": {"x": "y" * MAX_EVENT_BYTES},
        }
    )
    too_big = refused(pagerduty, http.post(pagerduty.events_url, json=huge))
    assert f"the limit is {MAX_EVENT_BYTES}" in str(too_big)
    not_json = http.post(pagerduty.events_url, content=b"{nope", headers={"Content-Type": "application/json"})
    assert "deserialize" in str(refused(pagerduty, not_json))


def test_the_events_rate_limit_is_a_rolling_minute_over_every_action(pagerduty, http):
    """PagerDuty counts events per routing key over a rolling 60 s, whatever their action: a new
    calendar minute frees nothing; 60 s after an event, its place is free again."""
    now = [1_000_030.0]  # 30 s into a minute
    pagerduty.clock = lambda: now[0]
    pagerduty.events_rate_limit = 2
    resolve = {"routing_key": ROUTING_KEY, "event_action": "resolve", "dedup_key": "health-probe/api"}

    def post(body: Any, at: float) -> int:
        now[0] = at
        status: int = http.post(pagerduty.events_url, json=body).status_code
        return status

    assert post(event(), 1_000_030.0) == 202
    assert post(resolve, 1_000_040.0) == 202
    assert post(event(), 1_000_061.0) == 429  # a new calendar minute, but the same rolling one
    assert post(event(), 1_000_090.0) == 202  # the first event is 60 s old
    assert pagerduty.throttled == 1
    assert pagerduty.most_events_in_a_minute(ROUTING_KEY) == 2


# --- REST -------------------------------------------------------------------------------------------


def test_rest_without_authorization_is_401_and_a_violation(pagerduty, http):
    headers = rest_headers(pagerduty)
    del headers["Authorization"]
    violation = refused(pagerduty, http.get(pagerduty.rest_url + "/incidents", headers=headers), 401)
    assert "security" in str(violation)


def test_rest_with_a_malformed_authorization_is_401_and_a_violation(pagerduty, http):
    headers = rest_headers(pagerduty) | {"Authorization": f"Bearer {pagerduty.token}"}
    violation = refused(pagerduty, http.get(pagerduty.rest_url + "/incidents", headers=headers), 401)
    assert "Token token=" in str(violation)


def test_rest_with_a_wrong_token_is_401_but_no_violation(pagerduty, http):
    headers = rest_headers(pagerduty) | {"Authorization": "Token token=someone-else"}
    response = http.get(pagerduty.rest_url + "/incidents", headers=headers)
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Unauthorized"
    assert pagerduty.violations == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"Accept": None}, "missing header Accept"),  # httpx sends */* unless removed
        ({"Accept": "application/json"}, "Accept must be"),
        ({"Content-Type": None}, "missing header Content-Type"),
    ],
    ids=["no-accept", "unversioned-accept", "no-content-type"],
)
def test_rest_headers_the_spec_requires(pagerduty, http, change, expected):
    headers = Headers(rest_headers(pagerduty))
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    request = http.build_request("GET", pagerduty.rest_url + "/incidents", headers=dict(headers))
    if "Accept" not in headers:
        del request.headers["Accept"]
    response = http.send(request)
    assert expected in str(refused(pagerduty, response))


@pytest.mark.parametrize(
    ("body", "write", "expected"),
    [
        (
            {"incident": {"type": "incident_reference", "escalation_level": "two"}},
            True,
            "not of type 'integer'",
        ),
        ({"incident": {"escalation_level": 2}}, True, "'type' is a required property"),
        ({"escalation_level": 2}, True, "'incident' is a required property"),
        (
            {"incident": {"type": "incident_reference", "escalation_level": 2}},
            False,
            "header parameter: From",
        ),
    ],
    ids=["level-not-integer", "no-type", "not-wrapped", "no-from"],
)
def test_wrong_escalation_requests_are_refused(pagerduty, http, body, write, expected):
    incident = pagerduty.add_incident()
    url = f"{pagerduty.rest_url}/incidents/{incident.id}"
    response = http.put(url, content=json.dumps(body), headers=rest_headers(pagerduty, write))
    assert expected in str(refused(pagerduty, response))
    assert incident.escalation_level == 1
    assert pagerduty.escalations == []


def test_a_from_that_is_not_an_email_and_a_note_without_content_are_refused(pagerduty, http):
    incident = pagerduty.add_incident()
    url = f"{pagerduty.rest_url}/incidents/{incident.id}/notes"
    headers = rest_headers(pagerduty, write=True)
    bad_from = http.post(url, json={"note": {"content": "x"}}, headers=headers | {"From": "runbook"})
    assert "From" in str(refused(pagerduty, bad_from))
    no_content = http.post(url, json={"note": {}}, headers=headers)
    assert "'content' is a required property" in str(refused(pagerduty, no_content))
    assert incident.notes == []


def test_unknown_paths_are_404_and_violations(pagerduty, http):
    # The vendored REST document holds only the operations the project calls: /users is unknown too.
    for path in ("/nope", "/users"):
        assert "path" in str(
            refused(pagerduty, http.get(pagerduty.rest_url + path, headers=rest_headers(pagerduty)), 404)
        )
    assert "path" in str(refused(pagerduty, http.post(pagerduty.base_url + "/v2/nope", json=event()), 404))


def test_valid_rest_calls_are_served_and_recorded(pagerduty, http):
    incident = pagerduty.add_incident(service_id="PSVC1")
    base, headers = pagerduty.rest_url, rest_headers(pagerduty)
    listed = http.get(
        base + "/incidents", params={"statuses[]": "triggered", "service_ids[]": "PSVC1"}, headers=headers
    )
    assert [i["id"] for i in listed.json()["incidents"]] == [incident.id]
    escalated = http.put(
        f"{base}/incidents/{incident.id}",
        json={"incident": {"type": "incident_reference", "escalation_level": 3}},
        headers=rest_headers(pagerduty, write=True),
    )
    assert escalated.status_code == 200
    assert incident.escalation_level == 3
    assert [a["assignee"]["id"] for a in escalated.json()["incident"]["assignments"]] == ["UPEP0001L3"]
    noted = http.post(
        f"{base}/incidents/{incident.id}/notes",
        json={"note": {"content": "why"}},
        headers=rest_headers(pagerduty, write=True),
    )
    assert noted.status_code == 200
    assert incident.notes == ["why"]
    assert [(e.incident_id, e.level, e.from_email) for e in pagerduty.escalations] == [(incident.id, 3, FROM)]


def test_escalating_beyond_the_policy_or_a_resolved_incident_is_refused_like_pagerduty(pagerduty, http):
    incident = pagerduty.add_incident()
    resolved = pagerduty.add_incident(status="resolved")
    headers = rest_headers(pagerduty, write=True)
    beyond = http.put(
        f"{pagerduty.rest_url}/incidents/{incident.id}",
        json={"incident": {"type": "incident_reference", "escalation_level": 5}},
        headers=headers,
    )
    assert beyond.status_code == 400
    assert "not in the escalation policy" in beyond.json()["error"]["errors"][0]
    again = http.put(
        f"{pagerduty.rest_url}/incidents/{resolved.id}",
        json={"incident": {"type": "incident_reference", "escalation_level": 2}},
        headers=headers,
    )
    assert again.json()["error"]["errors"] == ["Incident Already Resolved"]
    assert pagerduty.violations == []  # valid requests that PagerDuty refuses for what they ask


class _Answer:
    """openapi-core's Response protocol over an httpx response."""

    def __init__(self, response: httpx.Response) -> None:
        self.status_code = response.status_code
        self.content_type = response.headers.get("content-type", "")
        self.headers = Headers(list(response.headers.items()))
        self.data = response.content


def test_the_stand_in_answers_in_the_shapes_of_the_rest_spec(pagerduty, http):
    incident = pagerduty.add_incident(service_id="PSVC1")
    base = pagerduty.rest_url
    calls = [
        ("GET", "/incidents", {"statuses[]": "triggered"}, None),
        ("GET", f"/incidents/{incident.id}", {}, None),
        (
            "PUT",
            f"/incidents/{incident.id}",
            {},
            {"incident": {"type": "incident_reference", "escalation_level": 2}},
        ),
        ("POST", f"/incidents/{incident.id}/notes", {}, {"note": {"content": "n"}}),
        ("GET", "/escalation_policies/PEP0001", {}, None),
        ("GET", "/oncalls", {"escalation_policy_ids[]": "PEP0001"}, None),
        ("GET", f"/incidents/{incident.id}/log_entries", {"since": "2026-01-01T00:00:00+00:00"}, None),
    ]
    _, rest_spec = specs()
    for method, path, params, body in calls:
        response = http.request(
            method,
            base + path,
            params=params,
            json=body,
            headers=rest_headers(pagerduty, write=body is not None),
        )
        assert response.is_success, response.text
        sent = pagerduty.requests[-1]
        errors = list(rest_spec.iter_response_errors(OpenApiRequest(REST_HOST, sent), _Answer(response)))
        assert errors == [], (method, path, [str(e.__cause__ or e) for e in errors])


def test_whoever_escalates_pagerduty_records_the_new_assignment_and_the_log(pagerduty):
    clock = Clock(T0)
    pagerduty.now = clock
    pagerduty.add_policy(delays=[2, 30, 30, 30])
    incident = pagerduty.add_incident(created_at=T0)
    clock.now = T0 + timedelta(minutes=1)
    answer = pagerduty.person_updates_incident(incident.id, {"status": "acknowledged"})
    assert answer["incident"]["status"] == "acknowledged"
    clock.now = T0 + timedelta(minutes=10)
    pagerduty.acknowledgement_times_out(incident.id)  # triggered again at T0+10m: the timer restarts
    clock.now = T0 + timedelta(minutes=12, seconds=30)
    pagerduty.run_escalation_rules()  # level 1's 2 minutes ran out at T0+12m
    assert incident.escalation_level == 2
    clock.now = T0 + timedelta(minutes=13)
    pagerduty.person_updates_incident(incident.id, {"escalation_level": 3}, from_email="bob@example.com")

    listed = pagerduty.incident_document(incident.id)
    assert [(a["assignee"]["id"], a["at"]) for a in listed["assignments"]] == [
        ("UPEP0001L3", "2026-11-27T12:13:00Z")
    ]
    log = pagerduty.log_documents(incident.id)
    assert [(e["type"], e["created_at"], e["agent"]["type"]) for e in log] == [
        ("trigger_log_entry", "2026-11-27T12:00:00Z", "service_reference"),
        ("acknowledge_log_entry", "2026-11-27T12:01:00Z", "user_reference"),
        ("unacknowledge_log_entry", "2026-11-27T12:10:00Z", "service_reference"),
        ("escalate_log_entry", "2026-11-27T12:12:00Z", "service_reference"),  # its own rule
        ("escalate_log_entry", "2026-11-27T12:13:00Z", "user_reference"),  # Bob
    ]
    assert [a["id"] for a in log[-1]["assignees"]] == ["UPEP0001L3"]
    assert [(e.level, e.from_email) for e in pagerduty.escalations] == [(3, "bob@example.com")]


def test_a_direct_assignment_is_no_longer_moved_by_the_policy(pagerduty):
    clock = Clock(T0)
    pagerduty.now = clock
    pagerduty.add_policy(delays=[2, 2, 2, 2], users_per_level=2)
    incident = pagerduty.add_incident(created_at=T0)
    clock.now = T0 + timedelta(minutes=1)
    pagerduty.person_reassigns(incident.id, ["UPEP0001L1b"])
    clock.now = T0 + timedelta(minutes=30)
    document = pagerduty.incident_document(incident.id)
    assert document["assigned_via"] == "direct_assignment"
    assert [(a["assignee"]["id"], a["at"]) for a in document["assignments"]] == [
        ("UPEP0001L1b", "2026-11-27T12:01:00Z")
    ]
    assert pagerduty.log_documents(incident.id)[-1]["type"] == "assign_log_entry"


# --- faults and the fixture's own check ----------------------------------------------------------------


def test_fail_next_answers_the_injected_status_then_serves_again(pagerduty, http):
    pagerduty.fail_next("/v2/enqueue", 429, times=2, headers={"Retry-After": "7"})
    first, second, third = (http.post(pagerduty.events_url, json=event()) for _ in range(3))
    assert (first.status_code, first.headers["retry-after"]) == (429, "7")
    assert second.status_code == 429
    assert third.status_code == 202
    assert len(pagerduty.events) == 1
    assert len(pagerduty.received("/v2/enqueue")) == 3


def test_an_invalid_request_is_refused_even_while_a_fault_is_queued(pagerduty, http):
    pagerduty.fail_next("/v2/enqueue", 503)
    refused(pagerduty, http.post(pagerduty.events_url, json=event(event_action="page")))
    assert http.post(pagerduty.events_url, json=event()).status_code == 503


def test_delay_holds_the_answer(pagerduty):
    pagerduty.delay("/v2/", 30)
    with httpx.Client(timeout=0.2) as client, pytest.raises(httpx.ReadTimeout):
        client.post(pagerduty.events_url, json=event())


def test_violations_left_over_fail_the_test():
    standin = PagerDutyStandin()
    fail_on_pagerduty_violations(standin)  # nothing recorded: passes
    standin.violations.append(
        Violation("POST", "/v2/enqueue", 400, ("'routing_key' is a required property",))
    )
    with pytest.raises(pytest.fail.Exception, match="routing_key"):
        fail_on_pagerduty_violations(standin)
