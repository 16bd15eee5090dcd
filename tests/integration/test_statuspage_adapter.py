"""The Statuspage adapter against the stand-in (every request checked against Statuspage's spec, its rate
limit enforced), with a fake clock shared by the adapter and the stand-in's limiter: the pacing and the
retry waits are asserted as numbers, and only one test waits for real (about a second)."""

import dataclasses
import json
import logging
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from runbook.adapters.http_retry import DeliveryFailedError, RetryPolicy, is_retryable_status
from runbook.adapters.statuspage import (
    StatuspageAnswerError,
    StatuspageApi,
    StatuspageRejectedError,
)
from runbook.models.statuspage_api import (
    MAX_BODY,
    MAX_NAME,
    IncidentChange,
    IncidentDraft,
    SpIncident,
)
from standins.statuspage_standin import StatuspageStandin
from tests.support import fake_time as fake_clock
from tests.support import standin_fixtures
from tests.support.fake_time import FakeTime

statuspage = standin_fixtures.statuspage  # the fixture: a started stand-in, violations fail the test
http = fake_clock.http  # the fixture: an httpx.Client

POLICY = RetryPolicy(max_attempts=4, base_s=0.5, cap_s=8.0, attempt_timeout_s=5.0, min_attempt_s=0.2)


@pytest.fixture
def fake_time(statuspage: StatuspageStandin) -> FakeTime:
    fake = FakeTime()
    statuspage.clock = fake.monotonic  # the stand-in's limiter sees the adapter's time
    return fake


def make_api(
    statuspage: StatuspageStandin,
    http: httpx.Client,
    fake_time: FakeTime,
    *,
    api_key: str | None = None,
    policy: RetryPolicy = POLICY,
    min_interval_s: float = 1.0,
) -> StatuspageApi:
    return StatuspageApi(
        http,
        statuspage.base_url,
        statuspage.page_id,
        statuspage.api_key if api_key is None else api_key,
        policy,
        min_interval_s=min_interval_s,
        sleep=fake_time.sleep,
        clock=fake_time.monotonic,
        rng=lambda: 0.5,
    )


@pytest.fixture
def api(statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime) -> StatuspageApi:
    statuspage.add_component("cmp_api", "API")
    statuspage.add_component("cmp_web", "Website")
    return make_api(statuspage, http, fake_time)


@pytest.fixture
def deadline(fake_time: FakeTime) -> float:
    return fake_time.now + 60


def draft(**fields: Any) -> IncidentDraft:
    values: dict[str, Any] = {
        "name": "API health check failing",
        "status": "investigating",
        "body": "The API health check has failed 3 times in a row.",
        "components": {"cmp_api": "major_outage"},
        "metadata": {"runbook": {"check": "api-health"}},
    }
    return IncidentDraft(**(values | fields))


def answers(statuspage: StatuspageStandin, path: str = "") -> list[int | None]:
    return [request.status for request in statuspage.received(statuspage.page_path + path)]


# --- calls ----------------------------------------------------------------------------------------


def test_create_get_update_round_trip(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime, deadline: float
) -> None:
    created = api.create_incident(draft(impact_override="major", deliver_notifications=False), deadline)
    assert created.status == "investigating"
    assert created.impact == "major"
    assert [(c.id, c.status) for c in created.components] == [("cmp_api", "major_outage")]
    assert created.metadata == {"runbook": {"check": "api-health"}}
    assert [u.body for u in created.incident_updates] == ["The API health check has failed 3 times in a row."]
    assert created.shortlink
    sent = statuspage.received(statuspage.page_path + "/incidents")[0]
    assert sent.json() == {
        "incident": {
            "name": "API health check failing",
            "status": "investigating",
            "impact_override": "major",
            "body": "The API health check has failed 3 times in a row.",
            "component_ids": ["cmp_api"],
            "components": {"cmp_api": "major_outage"},
            "metadata": {"runbook": {"check": "api-health"}},
            "deliver_notifications": False,
        }
    }
    assert sent.headers["authorization"] == f"OAuth {statuspage.api_key}"

    fetched = api.get_incident(created.id, deadline)
    assert fetched == created

    change = IncidentChange(status="resolved", body="Recovered.", components={"cmp_api": "operational"})
    updated = api.update_incident(created.id, change, deadline)
    assert updated.status == "resolved"
    assert updated.resolved_at is not None
    assert [(u.status, u.body) for u in updated.incident_updates] == [
        ("resolved", "Recovered."),
        ("investigating", "The API health check has failed 3 times in a row."),
    ]
    assert statuspage.components["cmp_api"].status == "operational"
    assert api.get_incident(created.id, deadline) == updated

    assert statuspage.rate_limited == 0
    assert fake_time.sleeps == [1.0, 1.0, 1.0]  # one second between requests, none before the first
    assert answers(statuspage) == [201, 200, 200, 200]


def test_an_update_sends_only_the_fields_set(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    incident = api.create_incident(draft(), deadline)
    api.update_incident(incident.id, IncidentChange(body="Still looking."), deadline)
    api.update_incident(incident.id, IncidentChange(impact_override="critical"), deadline)
    patches = [r.json() for r in statuspage.received(f"{statuspage.page_path}/incidents/{incident.id}")]
    assert patches == [
        {"incident": {"body": "Still looking."}},
        {"incident": {"impact_override": "critical"}},
    ]
    assert statuspage.incidents[incident.id].impact == "critical"


def test_an_empty_change_is_not_sent(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    with pytest.raises(ValueError, match="changes nothing"):
        api.update_incident("abc", IncidentChange(), deadline)
    assert statuspage.requests == []


def test_an_unknown_incident_is_none(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    assert api.get_incident("nosuchincident", deadline) is None
    with pytest.raises(StatuspageRejectedError) as raised:
        api.update_incident("nosuchincident", IncidentChange(body="x"), deadline)
    assert raised.value.status == 404


def test_an_incident_id_stays_one_path_segment(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    assert api.get_incident("../components", deadline) is None
    assert statuspage.received(statuspage.page_path)[0].path.endswith("/incidents/..%2Fcomponents")


def test_what_a_person_changed_is_read_back(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    incident = api.create_incident(draft(), deadline)
    statuspage.person_edits_incident(incident.id, status="identified", body="Bad deploy.", impact="minor")
    statuspage.person_edits_component("cmp_web", "partial_outage")
    fetched = api.get_incident(incident.id, deadline)
    assert fetched is not None
    assert (fetched.status, fetched.impact) == ("identified", "minor")
    assert fetched.updated_at is not None
    assert incident.updated_at is not None
    assert fetched.updated_at > incident.updated_at
    assert fetched.incident_updates[0].body == "Bad deploy."
    components = {c.id: c for c in api.list_components(deadline)}
    assert components["cmp_web"].status == "partial_outage"


def test_components_are_read_page_by_page(
    statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime, deadline: float
) -> None:
    for n in range(150):
        statuspage.add_component(f"cmp{n:03d}", f"Component {n}")
    components = make_api(statuspage, http, fake_time).list_components(deadline)
    assert [c.id for c in components] == [f"cmp{n:03d}" for n in range(150)]
    assert [r.query for r in statuspage.received(statuspage.page_path + "/components")] == [
        (("page", "1"), ("per_page", "100")),
        (("page", "2"), ("per_page", "100")),
    ]
    assert fake_time.sleeps == [1.0]
    assert statuspage.rate_limited == 0


def test_a_component_listing_cut_short_says_so(
    statuspage: StatuspageStandin,
    http: httpx.Client,
    fake_time: FakeTime,
    deadline: float,
    caplog: pytest.LogCaptureFixture,
) -> None:
    for n in range(250):
        statuspage.add_component(f"cmp{n:03d}", f"Component {n}")
    with caplog.at_level(logging.WARNING, logger="runbook.adapters.statuspage"):
        components = make_api(statuspage, http, fake_time).list_components(deadline, max_pages=2)
    assert len(components) == 200
    assert "statuspage component listing cut short" in caplog.text


# --- pacing ---------------------------------------------------------------------------------------


def test_calls_in_a_row_are_paced_and_never_rate_limited_for_real(
    statuspage: StatuspageStandin, http: httpx.Client
) -> None:
    """Real clocks on both sides: the second call waits about a second."""
    statuspage.add_component("cmp_api", "API")
    api = StatuspageApi(http, statuspage.base_url, statuspage.page_id, statuspage.api_key, POLICY)
    deadline = statuspage.clock() + 30
    incident = api.create_incident(draft(), deadline)
    assert api.get_incident(incident.id, deadline) == incident
    assert statuspage.rate_limited == 0
    assert answers(statuspage) == [201, 200]


def test_the_pacing_counts_from_the_end_of_the_previous_exchange(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime, deadline: float
) -> None:
    api.list_components(deadline)
    fake_time.now += 0.4  # the caller did something else meanwhile
    api.list_components(deadline)
    fake_time.now += 5.0
    api.list_components(deadline)
    assert fake_time.sleeps == pytest.approx([0.6])
    assert statuspage.rate_limited == 0


def test_a_client_without_pacing_meets_the_rate_limit(
    statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime, deadline: float
) -> None:
    """What the pacing prevents: without it, the stand-in answers 429 and the retries wait it out."""
    unpaced = make_api(statuspage, http, fake_time, min_interval_s=0.0)
    unpaced.list_components(deadline)
    unpaced.list_components(deadline)
    assert statuspage.rate_limited > 0
    assert answers(statuspage)[-1] == 200


def test_the_pacing_is_per_client_instance(
    statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime, deadline: float
) -> None:
    make_api(statuspage, http, fake_time).list_components(deadline)
    make_api(statuspage, http, fake_time).list_components(deadline)  # a new instance knows nothing
    assert statuspage.rate_limited == 1  # so one instance per API key: Statuspage counts per token


# --- retries --------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [420, 429])
def test_rate_limit_answers_are_retried_after_retry_after(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime, deadline: float, status: int
) -> None:
    statuspage.fail_next(statuspage.page_path + "/incidents", status, headers={"Retry-After": "3"})
    incident = api.create_incident(draft(), deadline)
    assert incident.status == "investigating"
    assert answers(statuspage) == [status, 201]
    assert fake_time.sleeps == [3.0]  # the server's hint beats the backoff (0.25 s) and the pacing (1 s)
    assert len(statuspage.incidents) == 1


def test_a_rate_limit_answer_without_hint_waits_at_least_the_pacing(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime, deadline: float
) -> None:
    statuspage.rate_limit_status = 420
    statuspage.fail_next(statuspage.page_path + "/components", 420, times=2)
    api.list_components(deadline)
    assert answers(statuspage) == [420, 420, 200]
    assert fake_time.sleeps == [1.0, 1.0]  # backoffs of 0.25 and 0.5 s: the pacing is longer
    assert statuspage.rate_limited == 0


def test_server_errors_are_retried_with_growing_waits(
    statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime, deadline: float
) -> None:
    statuspage.add_component("cmp_api", "API")
    statuspage.fail_next(statuspage.page_path + "/incidents", 503, times=3)
    api = make_api(statuspage, http, fake_time, policy=dataclasses.replace(POLICY, base_s=2.0))
    api.create_incident(draft(), deadline)
    assert answers(statuspage) == [503, 503, 503, 201]
    assert fake_time.sleeps == [1.0, 2.0, 4.0]  # rng 0.5 of 2, 4, 8 s


def test_retries_give_up_when_attempts_run_out(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    statuspage.fail_next(statuspage.page_path + "/components", 502, times=10)
    with pytest.raises(DeliveryFailedError) as raised:
        api.list_components(deadline)
    assert (raised.value.attempts, raised.value.last_status, raised.value.reason) == (
        4,
        502,
        "retries exhausted",
    )


def test_the_callers_policy_is_left_alone(statuspage: StatuspageStandin, api: StatuspageApi) -> None:
    assert POLICY.retry_statuses == frozenset({429})
    assert not is_retryable_status(420)
    assert is_retryable_status(420, frozenset({420, 429}))
    assert is_retryable_status(503)
    assert is_retryable_status(429)


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, {"error": "param is missing or the value is empty: incident"}, "param is missing"),
        (
            422,
            {"error": ["Name can't be blank", "Status is invalid"]},
            "Name can't be blank; Status is invalid",
        ),
        (403, {"message": "Forbidden"}, "Forbidden"),
        (409, None, "stand-in answer 409"),
    ],
)
def test_refusals_are_reported_not_retried(
    statuspage: StatuspageStandin,
    api: StatuspageApi,
    fake_time: FakeTime,
    deadline: float,
    status: int,
    body: Any,
    message: str,
) -> None:
    statuspage.fail_next(statuspage.page_path + "/incidents", status, body=body)
    with pytest.raises(StatuspageRejectedError) as raised:
        api.create_incident(draft(), deadline)
    assert raised.value.status == status
    assert message in raised.value.message
    assert "POST /pages/{page_id}/incidents" in str(raised.value)
    assert answers(statuspage) == [status]
    assert fake_time.sleeps == []


def test_statuspages_own_refusal_is_reported(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    with pytest.raises(StatuspageRejectedError) as raised:
        api.create_incident(draft(components={"cmp_gone": "major_outage"}), deadline)
    assert raised.value.status == 422
    assert "cmp_gone" in raised.value.message


def test_an_unreadable_answer_is_an_answer_error(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    statuspage.fail_next(statuspage.page_path + "/incidents", 201, body=["not", "an", "incident"])
    with pytest.raises(StatuspageAnswerError, match="no JSON object"):
        api.create_incident(draft(), deadline)
    statuspage.fail_next(statuspage.page_path + "/incidents", 201, body={"id": "x", "status": "bogus"})
    with pytest.raises(StatuspageAnswerError, match="unexpected answer"):
        api.create_incident(draft(), deadline)
    statuspage.fail_next(statuspage.page_path + "/components", 200, body={"components": []})
    with pytest.raises(StatuspageAnswerError, match="not a list"):
        api.list_components(deadline)


# --- deadlines ------------------------------------------------------------------------------------


def test_no_request_is_sent_when_the_pacing_would_end_past_the_deadline(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime
) -> None:
    api.list_components(fake_time.now + 10)
    deadline = fake_time.now + 1.1  # the pacing (1 s) and an attempt (0.2 s) do not fit
    with pytest.raises(DeliveryFailedError) as raised:
        api.list_components(deadline)
    assert raised.value.attempts == 0
    assert "deadline reached" in str(raised.value)
    assert fake_time.sleeps == []
    assert len(statuspage.requests) == 1


def test_a_retry_that_the_pacing_pushes_past_the_deadline_is_not_made(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime
) -> None:
    statuspage.fail_next(statuspage.page_path + "/components", 503)
    deadline = fake_time.now + 1.1  # the backoff (0.25 s) would fit; the pacing (1 s) does not
    with pytest.raises(DeliveryFailedError) as raised:
        api.list_components(deadline)
    assert (raised.value.attempts, raised.value.last_status) == (1, 503)
    assert "deadline reached" in raised.value.reason
    assert fake_time.now <= deadline
    assert answers(statuspage) == [503]


def test_a_retry_after_past_the_deadline_stops_the_call(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime
) -> None:
    statuspage.fail_next(statuspage.page_path + "/incidents", 429, headers={"Retry-After": "30"})
    deadline = fake_time.now + 10
    with pytest.raises(DeliveryFailedError) as raised:
        api.create_incident(draft(), deadline)
    assert raised.value.last_status == 429
    assert fake_time.sleeps == []
    assert fake_time.now <= deadline
    assert statuspage.incidents == {}


def test_waits_never_end_past_the_deadline(
    statuspage: StatuspageStandin, api: StatuspageApi, fake_time: FakeTime
) -> None:
    statuspage.fail_next(statuspage.page_path + "/components", 500, times=10)
    deadline = fake_time.now + 2.0
    with pytest.raises(DeliveryFailedError) as raised:
        api.list_components(deadline)
    assert fake_time.now <= deadline
    assert fake_time.sleeps == [1.0]  # after it, another wait of 1 s and an attempt (0.2 s) would not fit
    assert raised.value.attempts == 2


# --- the API key ----------------------------------------------------------------------------------


def test_the_api_key_is_never_in_an_exception(
    statuspage: StatuspageStandin, http: httpx.Client, fake_time: FakeTime, deadline: float
) -> None:
    key = statuspage.api_key
    api = make_api(statuspage, http, fake_time)
    statuspage.fail_next(statuspage.page_path, 400, body={"error": f"bad header: OAuth {key}"})
    statuspage.fail_next(statuspage.page_path, 503, times=4, headers={"X-Echo": key})
    errors: list[Exception] = []
    for client in (api, api, make_api(statuspage, http, fake_time, api_key=key[::-1])):
        with pytest.raises((StatuspageRejectedError, DeliveryFailedError)) as raised:
            client.list_components(deadline)
        errors.append(raised.value)
    assert [type(e) for e in errors] == [
        StatuspageRejectedError,
        DeliveryFailedError,
        StatuspageRejectedError,
    ]
    assert "***" in str(errors[0])
    assert getattr(errors[2], "status", None) == 401
    for error in errors:
        assert key not in str(error)
        assert key not in repr(error)
        assert key[::-1] not in str(error)
    assert key not in repr(api)


def test_the_api_key_and_page_are_required(http: httpx.Client) -> None:
    with pytest.raises(ValueError, match="api_key"):
        StatuspageApi(http, "https://api.statuspage.io/v1", "page", "", POLICY)
    with pytest.raises(ValueError, match="page_id"):
        StatuspageApi(http, "https://api.statuspage.io/v1", "", "key", POLICY)


# --- the models -----------------------------------------------------------------------------------


def test_a_draft_cuts_its_name_and_body_to_fit() -> None:
    long = draft(name="n" * 1000, body="b" * 100_000)
    assert len(long.name) == MAX_NAME
    assert long.name.endswith("…")
    assert len(long.body) == MAX_BODY
    assert long.body.endswith("…")
    change = IncidentChange(body="b" * 100_000)
    assert change.body is not None
    assert len(change.body) == MAX_BODY


def test_a_long_draft_is_accepted_by_statuspage(
    statuspage: StatuspageStandin, api: StatuspageApi, deadline: float
) -> None:
    created = api.create_incident(draft(name="n" * 1000, body="b" * 100_000), deadline)
    assert len(created.name) == MAX_NAME


@pytest.mark.parametrize(
    "fields",
    [
        {"name": ""},
        {"name": "   "},
        {"metadata": {"check": "api-health"}},
        {"components": {"cmp_api": "on_fire"}},
        {"status": "scheduled"},
        {"impact_override": "maintenance"},
    ],
)
def test_a_draft_statuspage_would_refuse_cannot_be_made(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        draft(**fields)


def test_a_draft_without_optional_fields_sends_no_empty_ones() -> None:
    body = IncidentDraft(name="Down").to_body()
    assert body == {"incident": {"name": "Down", "status": "investigating", "deliver_notifications": True}}


def test_an_incident_is_read_from_statuspages_json(statuspage: StatuspageStandin) -> None:
    statuspage.add_component("cmp_api", "API")
    incident = statuspage.person_creates_incident(
        "Slow", body="Looking.", components={"cmp_api": "partial_outage"}, metadata={"a": {"b": 1}}
    )
    document = json.loads(json.dumps(statuspage.incident_json(incident.id)))
    parsed = SpIncident.from_api(document)
    assert (parsed.id, parsed.name, parsed.status, parsed.impact) == (
        incident.id,
        "Slow",
        "investigating",
        "major",
    )
    assert parsed.components[0].status == "partial_outage"
    assert parsed.incident_updates[0].body == "Looking."
    assert parsed.metadata == {"a": {"b": 1}}
    assert parsed.created_at.tzinfo is not None
    with pytest.raises(ValidationError):
        SpIncident.from_api({**document, "status": "scheduled"})  # a maintenance: not modelled
