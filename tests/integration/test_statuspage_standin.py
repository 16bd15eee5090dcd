"""The Statuspage stand-in itself: it accepts what Statuspage's spec allows, refuses (and records) what
it forbids, enforces the 1 request/s rate limit per token, and keeps a model of the page that the API and
a person in the UI both change. The limiter's clock is a fake that the tests move."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from standins import statuspage_standin
from standins.statuspage_standin import StatuspageStandin
from tests.support import standin_fixtures
from tests.support.standin_fixtures import fail_on_statuspage_violations

statuspage = standin_fixtures.statuspage  # the fixture: a started stand-in, violations fail the test


class Clock:
    """The limiter's clock: it moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(statuspage: StatuspageStandin) -> Clock:
    clock = Clock()
    statuspage.clock = clock
    return clock


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client() as client:
        yield client


class Api:
    """Raw calls, each one a second after the previous (on the limiter's clock)."""

    def __init__(self, standin: StatuspageStandin, http: httpx.Client, clock: Clock) -> None:
        self.standin = standin
        self.http = http
        self.clock = clock
        self.headers = {"Authorization": f"OAuth {standin.api_key}"}

    def __call__(self, method: str, path: str, *, tick: float = 1.0, **kwargs: Any) -> httpx.Response:
        self.clock.now += tick
        headers = self.headers | kwargs.pop("headers", {})
        url = self.standin.base_url + self.standin.page_path + path
        return self.http.request(method, url, headers=headers, **kwargs)


@pytest.fixture
def api(statuspage: StatuspageStandin, http: httpx.Client, clock: Clock) -> Api:
    return Api(statuspage, http, clock)


def valid_incident(**fields: Any) -> dict[str, Any]:
    return {"incident": {"name": "Checkout is failing", "status": "investigating", **fields}}


# --- valid calls ----------------------------------------------------------------------------------


def test_create_get_patch_and_list_are_answered_as_statuspage_does(
    statuspage: StatuspageStandin, api: Api
) -> None:
    statuspage.add_component("cmp_api", "API")
    statuspage.add_component("cmp_web", "Website")
    created = api(
        "POST",
        "/incidents",
        json=valid_incident(
            body="We are looking into it.",
            component_ids=["cmp_api"],
            components={"cmp_api": "major_outage"},
            metadata={"runbook": {"check": "api-health"}},
            deliver_notifications=False,
        ),
    )
    assert created.status_code == 201
    incident = created.json()
    assert incident["status"] == "investigating"
    assert incident["impact"] == "critical"  # the worst component: a major outage
    assert [c["id"] for c in incident["components"]] == ["cmp_api"]
    assert incident["metadata"] == {"runbook": {"check": "api-health"}}
    assert [u["body"] for u in incident["incident_updates"]] == ["We are looking into it."]
    assert statuspage.components["cmp_api"].status == "major_outage"

    patched = api(
        "PATCH",
        f"/incidents/{incident['id']}",
        json={"incident": {"status": "resolved", "body": "Fixed.", "components": {"cmp_api": "operational"}}},
    )
    assert patched.status_code == 200
    assert patched.json()["status"] == "resolved"
    assert patched.json()["resolved_at"] is not None
    assert patched.json()["impact"] == "none"
    updates = patched.json()["incident_updates"]
    assert [(u["status"], u["body"]) for u in updates] == [
        ("resolved", "Fixed."),
        ("investigating", "We are looking into it."),
    ]  # newest first
    assert updates[0]["affected_components"] == [
        {"code": "cmp_api", "name": "API", "old_status": "major_outage", "new_status": "operational"}
    ]
    assert patched.json()["metadata"] == {"runbook": {"check": "api-health"}}  # kept

    fetched = api("GET", f"/incidents/{incident['id']}")
    assert fetched.status_code == 200
    assert fetched.json() == patched.json()

    listed = api("GET", "/components", params={"page": 1, "per_page": 100})
    assert listed.status_code == 200
    assert [(c["id"], c["status"]) for c in listed.json()] == [
        ("cmp_api", "operational"),
        ("cmp_web", "operational"),
    ]
    assert statuspage.rate_limited == 0
    assert [r.status for r in statuspage.received(statuspage.page_path)] == [201, 200, 200, 200]


def test_components_are_listed_100_a_page_at_most(statuspage: StatuspageStandin, api: Api) -> None:
    for n in range(130):
        statuspage.add_component(f"cmp{n:03d}", f"Component {n}")
    first = api("GET", "/components", params={"page": 1, "per_page": 500})
    second = api("GET", "/components", params={"page": 2, "per_page": 100})
    unpaged = api("GET", "/components")
    assert [len(r.json()) for r in (first, second, unpaged)] == [100, 30, 100]
    assert second.json()[0]["id"] == "cmp100"


def test_a_patch_without_status_or_body_adds_no_update(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.add_component("cmp_api", "API")
    incident_id = api("POST", "/incidents", json=valid_incident()).json()["id"]
    patched = api("PATCH", f"/incidents/{incident_id}", json={"incident": {"impact_override": "minor"}})
    assert patched.json()["impact"] == "minor"
    assert len(patched.json()["incident_updates"]) == 1
    again = api("PATCH", f"/incidents/{incident_id}", json={"incident": {"status": "investigating"}})
    assert len(again.json()["incident_updates"]) == 1  # the same status: no change


def test_changes_within_one_millisecond_still_read_back_in_order(
    statuspage: StatuspageStandin, api: Api
) -> None:
    # Statuspage writes whole milliseconds; a person's edit just after the API's change must still read
    # as later (this failed on a fresh clone when both fell in one millisecond: 17:51:54.073 twice).
    moments = iter(datetime(2026, 1, 8, 17, 51, 54, 72_100 + step * 100, tzinfo=UTC) for step in range(10))
    statuspage.now = lambda: next(moments)
    created = api("POST", "/incidents", json=valid_incident()).json()
    statuspage.person_edits_incident(created["id"], body="Bad deploy.")
    edited = api("GET", f"/incidents/{created['id']}").json()
    assert created["updated_at"] == "2026-01-08T17:51:54.072Z"
    assert edited["updated_at"] == "2026-01-08T17:51:54.073Z"


def test_unknown_incidents_pages_and_components_are_404_or_422_not_violations(
    statuspage: StatuspageStandin, api: Api, http: httpx.Client
) -> None:
    assert api("GET", "/incidents/nosuchincident").status_code == 404
    assert api("PATCH", "/incidents/nosuchincident", json={"incident": {"body": "x"}}).status_code == 404
    unknown = api("POST", "/incidents", json=valid_incident(components={"cmp_gone": "major_outage"}))
    assert unknown.status_code == 422
    assert "cmp_gone" in unknown.text
    api.clock.now += 1
    other_page = http.get(f"{statuspage.base_url}/pages/otherpage/components", headers=api.headers)
    assert other_page.status_code == 404
    assert statuspage.incidents == {}
    assert statuspage.violations == []


# --- what the spec forbids ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        pytest.param(valid_incident(status="on_fire"), 400, "is not one of", id="bad-status-enum"),
        pytest.param(valid_incident(impact_override="catastrophic"), 400, "is not one of", id="bad-impact"),
        pytest.param({"incident": {"status": "identified"}}, 400, "'name' is a required", id="no-name"),
        pytest.param({"incident": {"name": 42}}, 400, "is not of type 'string'", id="name-not-text"),
        pytest.param(
            {"incident": "Checkout is failing"}, 400, "not of type 'object'", id="incident-not-object"
        ),
        pytest.param({"name": "Checkout is failing"}, 400, "incident", id="not-wrapped-in-incident"),
        pytest.param(valid_incident(component_ids="cmp_api"), 400, "not of type 'array'", id="ids-not-list"),
        pytest.param(valid_incident(deliver_notifications="yes"), 400, "'boolean'", id="notify-not-bool"),
        pytest.param(valid_incident(name="x" * 256), 422, "Name is too long", id="name-over-255"),
        pytest.param(valid_incident(body="x" * 25_001), 422, "Body is too long", id="body-over-25000"),
        pytest.param(valid_incident(metadata={"check": "api"}), 422, "top-level values", id="metadata-flat"),
        pytest.param(
            valid_incident(components={"cmp_api": "on_fire"}),
            422,
            "not a component status",
            id="bad-component",
        ),
        pytest.param(
            valid_incident(status="scheduled"), 501, "not implemented by the stand-in", id="maintenance"
        ),
    ],
)
def test_incident_bodies_the_spec_forbids_are_refused_and_recorded(
    statuspage: StatuspageStandin, api: Api, body: dict[str, Any], status: int, error: str
) -> None:
    statuspage.add_component("cmp_api", "API")
    response = api("POST", "/incidents", json=body)
    assert response.status_code == status
    violations = statuspage.take_violations()
    assert len(violations) == 1
    assert error in str(violations[0])
    assert statuspage.incidents == {}


def test_a_form_encoded_body_is_refused(statuspage: StatuspageStandin, api: Api) -> None:
    response = api(
        "POST",
        "/incidents",
        content=b"incident[name]=Checkout+is+failing",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "mimetype" in str(statuspage.take_violations())


def test_a_patch_with_a_bad_status_is_refused(statuspage: StatuspageStandin, api: Api) -> None:
    incident_id = api("POST", "/incidents", json=valid_incident()).json()["id"]
    response = api("PATCH", f"/incidents/{incident_id}", json={"incident": {"status": "fixed"}})
    assert response.status_code == 400
    assert len(statuspage.take_violations()) == 1
    assert statuspage.incidents[incident_id].status == "investigating"


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param({"Authorization": f"Token token={statuspage_standin.API_KEY}"}, id="pagerduty-style"),
        pytest.param({"Authorization": f"Bearer {statuspage_standin.API_KEY}"}, id="bearer"),
    ],
)
def test_requests_without_oauth_authorization_are_refused(
    statuspage: StatuspageStandin, clock: Clock, http: httpx.Client, headers: dict[str, str]
) -> None:
    response = http.get(statuspage.base_url + statuspage.page_path + "/components", headers=headers)
    assert response.status_code == 401
    violations = statuspage.take_violations()
    assert len(violations) == 1
    assert violations[0].status == 401


def test_a_wrong_key_is_401_but_no_violation(statuspage: StatuspageStandin, api: Api) -> None:
    response = api("GET", "/components", headers={"Authorization": "OAuth not-the-key"})
    assert response.status_code == 401
    assert statuspage.violations == []


@pytest.mark.parametrize(
    ("method", "path"),
    [("PUT", "/incidents/abc"), ("DELETE", "/incidents/abc"), ("GET", "/incidents"), ("GET", "/subscribers")],
)
def test_operations_outside_the_vendored_subset_are_refused(
    statuspage: StatuspageStandin, api: Api, method: str, path: str
) -> None:
    response = api(method, path, json={"incident": {"name": "x"}} if method == "PUT" else None)
    assert response.status_code == 404
    assert statuspage.take_violations()[0].errors[0].startswith("path")


def test_paths_outside_v1_are_refused(
    statuspage: StatuspageStandin, clock: Clock, http: httpx.Client
) -> None:
    root = statuspage.base_url.removesuffix("/v1")
    response = http.get(f"{root}/pages/{statuspage.page_id}/components", headers={"Authorization": "OAuth k"})
    assert response.status_code == 404
    assert len(statuspage.take_violations()) == 1


def test_violations_left_fail_the_test_at_teardown(statuspage: StatuspageStandin, api: Api) -> None:
    api("GET", "/components", headers={"Authorization": "Bearer x"})
    with pytest.raises(pytest.fail.Exception, match="requests Statuspage would refuse"):
        fail_on_statuspage_violations(statuspage)
    statuspage.take_violations()


# --- the rate limit -------------------------------------------------------------------------------


def test_a_second_request_within_a_second_is_answered_429(statuspage: StatuspageStandin, api: Api) -> None:
    assert api("GET", "/components").status_code == 200
    assert api("GET", "/components", tick=0.999).status_code == 429
    assert statuspage.rate_limited == 1
    # Measured from the previous request, whatever its answer: the refused one counts too.
    assert api("GET", "/components", tick=0.5).status_code == 429
    assert api("GET", "/components", tick=1.0).status_code == 200
    assert statuspage.rate_limited == 2
    assert statuspage.violations == []


def test_the_rate_limit_answer_can_be_420(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.rate_limit_status = 420
    api("GET", "/components")
    response = api("POST", "/incidents", tick=0.1, json=valid_incident())
    assert response.status_code == 420
    assert statuspage.incidents == {}  # nothing created
    assert statuspage.rate_limited == 1


def test_the_rate_limit_counts_per_token_before_faults(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.fail_next(statuspage.page_path + "/components", 503)
    api("GET", "/incidents/x")
    assert api("GET", "/components", tick=0.2).status_code == 429  # the fault waits its turn
    assert api("GET", "/components").status_code == 503
    assert api("GET", "/components").status_code == 200


# --- faults and delays ----------------------------------------------------------------------------


def test_faults_answer_the_next_requests_under_a_prefix(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.fail_next(statuspage.page_path + "/incidents", 420, times=2, headers={"Retry-After": "7"})
    statuspage.fail_next(statuspage.page_path + "/incidents", 500, body={"error": "boom"})
    answers = [api("POST", "/incidents", json=valid_incident()) for _ in range(4)]
    assert [r.status_code for r in answers] == [420, 420, 500, 201]
    assert answers[0].headers["Retry-After"] == "7"
    assert answers[2].json() == {"error": "boom"}
    assert len(statuspage.incidents) == 1
    assert statuspage.rate_limited == 0  # fault answers are not the limiter's


def test_a_delayed_answer_outlasts_a_short_client_timeout(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.delay(statuspage.page_path + "/components", 5.0)
    with pytest.raises(httpx.ReadTimeout):
        api("GET", "/components", timeout=0.2)
    statuspage.delay(statuspage.page_path + "/components", 0)
    assert api("GET", "/components").status_code == 200


# --- what a person does in the UI -----------------------------------------------------------------


def test_a_person_editing_an_incident_adds_an_update_and_moves_updated_at(
    statuspage: StatuspageStandin, api: Api
) -> None:
    incident_id = api("POST", "/incidents", json=valid_incident(body="Looking.")).json()["id"]
    before = api("GET", f"/incidents/{incident_id}").json()
    statuspage.person_edits_incident(incident_id, status="identified", body="A bad deploy.", impact="major")
    after = api("GET", f"/incidents/{incident_id}").json()
    assert after["status"] == "identified"
    assert after["impact"] == "major"
    assert after["updated_at"] > before["updated_at"]
    assert [(u["status"], u["body"]) for u in after["incident_updates"]] == [
        ("identified", "A bad deploy."),
        ("investigating", "Looking."),
    ]
    assert statuspage.incidents[incident_id].updates[-1].by_person

    statuspage.person_edits_incident(incident_id, impact="minor")  # no status, no body: no update
    assert len(statuspage.incidents[incident_id].updates) == 2
    statuspage.person_edits_incident(incident_id, status="resolved")
    assert statuspage.incident_json(incident_id)["resolved_at"] is not None


def test_a_person_editing_a_component_moves_its_status_and_updated_at(
    statuspage: StatuspageStandin, api: Api
) -> None:
    statuspage.add_component("cmp_api", "API")
    before = api("GET", "/components").json()[0]
    statuspage.person_edits_component("cmp_api", "partial_outage")
    after = api("GET", "/components").json()[0]
    assert after["status"] == "partial_outage"
    assert after["updated_at"] > before["updated_at"]


def test_a_person_can_open_an_incident_the_api_then_reads(statuspage: StatuspageStandin, api: Api) -> None:
    statuspage.add_component("cmp_api", "API")
    incident = statuspage.person_creates_incident(
        "Slow API", body="Investigating.", components={"cmp_api": "degraded_performance"}
    )
    fetched = api("GET", f"/incidents/{incident.id}").json()
    assert (fetched["name"], fetched["impact"], fetched["status"]) == ("Slow API", "minor", "investigating")
    assert statuspage.components["cmp_api"].status == "degraded_performance"
