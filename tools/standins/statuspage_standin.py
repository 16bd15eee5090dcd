"""A local Statuspage (API v1) on 127.0.0.1: the operations the runbook calls, for one page, on one
threaded HTTP server with a random port (`base_url` ends in /v1, as https://api.statuspage.io/v1 does).

Every request is checked against Statuspage's published OpenAPI document (openapi-core; the subset in
tests/vendor/specs made by scripts/vendor-shared, or $STATUSPAGE_SPECS_DIR) and against the rules the
document states only in words: `Authorization: OAuth <key>`, a body wrapped in `incident`, a name of
at most 255 characters, a body of at most 25,000, metadata whose top-level values are objects. A request
that fails is answered as Statuspage would (400, 401 for credentials, 404 for a path it does not have,
422 for a rule) and recorded in `violations`; the `statuspage` fixture (tests/support/standin_fixtures.py)
fails the test at teardown when any is left (a test about refusals takes them with `take_violations()`).

Rate limit, as Statuspage's (1 request per second per token): a request that comes less than
`min_interval_s` (1.0) after the previous request of its token, whatever that one's answer, is answered
`rate_limit_status` (429; set 420 to get Statuspage's other answer) and counted in `rate_limited` (it is
not a violation: it is the client's pacing that is wrong, and tests assert on the count). The limiter
reads `clock` (time.monotonic unless given): a test with a fake clock shares it with the client.

Model: components (`add_component`), incidents created and patched through the API: the `components`
statuses of a request are applied to the page's components (and attach them to the incident), a
status change or a body adds an incident update (newest first in the answers), metadata is merged by
top-level key, impact follows the worst component unless overridden. What a person does in the
Statuspage UI: `person_creates_incident`, `person_edits_incident`, `person_deletes_incident`,
`person_edits_component`. Faults
per API path prefix (the path after /v1): `fail_next(prefix, status, times, headers)` (for valid,
authorized requests within the rate; a fault's body is {"error": ...} unless given),
`delay(prefix, seconds)`. The server, the faults and the violations are standin_server's.
"""

import functools
import json
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, unquote, urlsplit

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from standins.standin_server import VENDORED_SPECS_DIR, HeaderPairs, PathFaultStandin, StandinHandler
from standins.standin_server import Violation as Violation  # re-exported: tests import it from here

SPECS_DIR = Path(os.environ.get("STATUSPAGE_SPECS_DIR", VENDORED_SPECS_DIR))
SPEC = "statuspage.subset.openapi.json"
API_HOST = "https://api.statuspage.io"  # the spec's server (…/v1): requests are checked as if sent there
API_ROOT = "/v1"
API_KEY = "standin-statuspage-key-3c9e1f0a7b52d6"
PAGE_ID = "stdinpage001"
MAX_NAME = 255
MAX_BODY = 25_000
PER_PAGE_LIMIT = 100  # Statuspage pages lists by 100 at most, whatever per_page asks
COMPONENT_STATUSES = (
    "operational",
    "degraded_performance",
    "partial_outage",
    "major_outage",
    "under_maintenance",
)
SCHEDULED_STATUSES = ("scheduled", "in_progress", "verifying", "completed")
IMPACT_OF = {"major_outage": "critical", "partial_outage": "major", "degraded_performance": "minor"}
IMPACT_ORDER = ("none", "minor", "major", "critical")
_AUTHORIZATION = re.compile(r"^OAuth (\S+)$")
_SHOWN_ERROR = 300


@functools.cache
def spec() -> OpenAPI:
    """The vendored document, loaded once. Its response schemas have a type the OpenAPI schema refuses
    ("Object"), so the document itself is not validated: only requests against it."""
    # None skips the document check (openapi-core's documented switch; its annotation omits None).
    config = Config(spec_validator_cls=None)  # type: ignore[arg-type]
    return OpenAPI.from_dict(_document(), config=config)


@functools.cache
def _document() -> dict[str, Any]:
    path = SPECS_DIR / SPEC
    if not path.is_file():
        raise FileNotFoundError(f"Statuspage spec {path} not found (set STATUSPAGE_SPECS_DIR)")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@dataclass
class StandinRequest:
    method: str
    path: str  # the API path, after /v1 (the whole path when it is not under /v1)
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float  # the stand-in's clock when the request arrived
    status: int | None = None  # what the stand-in answered

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandinComponent:
    id: str
    name: str
    status: str
    position: int
    created_at: datetime
    updated_at: datetime


@dataclass
class StandinUpdate:
    id: str
    status: str
    body: str
    created_at: datetime
    affected_components: list[dict[str, str]] = field(default_factory=list)
    deliver_notifications: bool = True
    by_person: bool = False  # made in the UI (person_…), not through the API


@dataclass
class StandinIncident:
    id: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    impact_override: str | None = None
    resolved_at: datetime | None = None
    monitoring_at: datetime | None = None
    component_ids: list[str] = field(default_factory=list)
    updates: list[StandinUpdate] = field(default_factory=list)  # oldest first (answers list newest first)
    metadata: dict[str, Any] = field(default_factory=dict)
    deliver_notifications: bool = True

    @property
    def shortlink(self) -> str:
        return f"https://stspg.io/{self.id[:9]}"


class OpenApiRequest:
    """What openapi-core reads of a request (its Request protocol)."""

    def __init__(self, host_url: str, request: StandinRequest) -> None:
        self.host_url = host_url
        self.path = API_ROOT + request.path
        self.method = request.method.lower()
        self.body: bytes | None = request.body or None
        self.content_type = request.headers.get("content-type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.query)),
            header=Headers(list(request.headers.items())),
        )


_Answer = tuple[int, Any, HeaderPairs]


class StatuspageStandin(PathFaultStandin):
    def __init__(
        self,
        api_key: str = API_KEY,
        page_id: str = PAGE_ID,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        super().__init__()
        self.api_key = api_key
        self.page_id = page_id
        self.clock = clock  # the rate limiter's (monotonic) clock
        self._last_stamp: datetime | None = None
        self.now = now  # the wall clock of created_at, updated_at, …
        self.min_interval_s = 1.0  # per token
        self.rate_limit_status = 429  # or 420
        self.rate_limited = 0  # requests answered rate_limit_status
        self.requests: list[StandinRequest] = []
        self.components: dict[str, StandinComponent] = {}
        self.incidents: dict[str, StandinIncident] = {}
        self._last_request_at: dict[str, float] = {}  # per token

    @property
    def now(self) -> Callable[[], datetime]:
        return self._now

    @now.setter
    def now(self, clock: Callable[[], datetime]) -> None:
        """A test that puts the page on its own clock starts a new timeline: stamps taken on the
        previous clock (components added before) must not push every later stamp onto that clock."""
        self._now = clock
        self._last_stamp = None

    # --- life -------------------------------------------------------------------------------------

    def start(self) -> Self:
        spec()  # fail here, not inside a request, when the document is missing
        return super().start()

    @property
    def base_url(self) -> str:
        """The API root, as https://api.statuspage.io/v1."""
        return super().base_url + API_ROOT

    @property
    def page_path(self) -> str:
        """/pages/<page_id>: the prefix of every path this page serves (for received, fail_next, delay)."""
        return f"/pages/{self.page_id}"

    # --- what tests set up (fail_next, delay: PathFaultStandin's) ---------------------------------

    def add_component(self, component_id: str, name: str, status: str = "operational") -> StandinComponent:
        assert status in COMPONENT_STATUSES, status
        with self._lock:
            stamp = self._stamp()
            component = StandinComponent(component_id, name, status, len(self.components) + 1, stamp, stamp)
            self.components[component_id] = component
        return component

    # --- what a person does in the Statuspage UI --------------------------------------------------

    def person_creates_incident(
        self,
        name: str,
        status: str = "investigating",
        body: str = "",
        components: dict[str, str] | None = None,
        impact: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> StandinIncident:
        with self._lock:
            document: dict[str, Any] = {"name": name, "status": status, "body": body}
            if components:
                document["components"] = components
            if impact:
                document["impact_override"] = impact
            if metadata:
                document["metadata"] = metadata
            incident = self._new_incident(document, by_person=True)
        return incident

    def person_edits_incident(
        self, incident_id: str, status: str | None = None, body: str | None = None, impact: str | None = None
    ) -> StandinIncident:
        """As a person editing the incident in the UI: the status, a new update's body, the impact.
        A status or a body adds an incident update; updated_at moves either way."""
        with self._lock:
            incident = self.incidents[incident_id]
            stamp = self._stamp()
            if impact is not None:
                assert impact in IMPACT_ORDER, impact
                incident.impact_override = incident.impact = impact
            if status is not None:
                self._set_status(incident, status, stamp)
            if status is not None or body is not None:
                incident.updates.append(_update(incident.status, body or "", stamp, [], True, by_person=True))
            incident.updated_at = stamp
        return incident

    def person_deletes_incident(self, incident_id: str) -> None:
        """As a person deleting the incident in the UI: it is gone (GET answers 404); its components
        keep their statuses."""
        with self._lock:
            del self.incidents[incident_id]

    def person_edits_component(self, component_id: str, status: str) -> StandinComponent:
        """As a person setting a component's status on the components page: its updated_at moves; no
        incident gets an update (Statuspage adds one only for changes made through an incident)."""
        assert status in COMPONENT_STATUSES, status
        with self._lock:
            component = self.components[component_id]
            component.status = status
            component.updated_at = self._stamp()
        return component

    # --- what tests read (and take_violations) ----------------------------------------------------

    def received(self, path_prefix: str) -> list[StandinRequest]:
        """The requests whose API path (after /v1) starts with `path_prefix`, in order."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def incident_json(self, incident_id: str) -> dict[str, Any]:
        """The incident as GET answers it."""
        with self._lock:
            return self._incident_json(self.incidents[incident_id])

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, handler: StandinHandler) -> None:
        split = urlsplit(handler.path)
        path = split.path
        request = StandinRequest(
            method=handler.command,
            path=path[len(API_ROOT) :] if path.startswith(API_ROOT + "/") else path,
            query=tuple(parse_qsl(split.query, keep_blank_values=True)),
            headers=handler.lower_headers(),
            body=handler.read_body(),
            at=self.clock(),
        )
        with self._lock:
            self.requests.append(request)
            delay = self._delay_of(request.path)
        self._wait(delay)
        if not path.startswith(API_ROOT + "/"):
            status, document, headers = self._refuse(request, 404, ["path: not under /v1"])
        else:
            status, document, headers = self._answer(request)
        request.status = status
        payload = json.dumps(document).encode() if document is not None else b""
        handler.reply(status, "application/json; charset=utf-8", payload, headers)

    def _answer(self, request: StandinRequest) -> _Answer:
        match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
        token = match.group(1) if match else None
        with self._lock:
            previous = self._last_request_at.get(token) if token else None
            if token:
                self._last_request_at[token] = request.at
        status, errors = self._problems(request)
        if errors:
            return self._refuse(request, status, errors)
        if token != self.api_key:
            return 401, {"error": "Could not authenticate"}, ()
        if previous is not None and request.at - previous < self.min_interval_s:
            with self._lock:
                self.rate_limited += 1
            return self.rate_limit_status, {"error": "Rate limit exceeded. Slow down."}, ()
        with self._lock:
            fault = self._take_fault(request.path)
            if fault is not None:
                body = fault.body if fault.body is not None else {"error": f"stand-in answer {fault.status}"}
                return fault.status, body, fault.headers
            parts = request.path.split("/")  # "", "pages", page_id, ...
            if unquote(parts[2]) != self.page_id:
                return 404, {"error": "The requested resource could not be found."}, ()
            handler = _ROUTES.get((request.method, _route_of(request.path)))
            if handler is None:
                return self._refuse(
                    request, 501, ["valid for Statuspage, but not implemented by the stand-in"]
                )
            status, document = handler(self, request)
        return status, document, ()

    def _refuse(self, request: StandinRequest, status: int, errors: list[str]) -> _Answer:
        with self._lock:
            self.violations.append(Violation(request.method, request.path, status, tuple(errors)))
        return status, {"error": errors}, ()

    # --- validation -------------------------------------------------------------------------------

    def _problems(self, request: StandinRequest) -> tuple[int, list[str]]:
        errors = _spec_errors(request)
        if errors and errors[0].startswith("path"):
            return 404, errors
        unauthenticated = any(e.startswith("security") for e in errors)
        authorization = request.headers.get("authorization")
        if authorization is not None and not _AUTHORIZATION.match(authorization):
            errors.append("Authorization must be `OAuth <API key>`")
            unauthenticated = True
        if unauthenticated:
            return 401, errors
        if errors:
            return 400, errors
        if request.method in ("POST", "PATCH"):
            return _incident_rules(request)
        return 400, []

    # --- the API ----------------------------------------------------------------------------------

    def _create_incident(self, request: StandinRequest) -> tuple[int, Any]:
        document = request.json()["incident"]
        unknown = [cid for cid in _component_ids(document) if cid not in self.components]
        if unknown:
            return 422, {"error": [f"Component {cid} not found" for cid in unknown]}
        return 201, self._incident_json(self._new_incident(document, by_person=False))

    def _get_incident(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_incident_id_of(request.path))
        if incident is None:
            return 404, {"error": "The requested resource could not be found."}
        return 200, self._incident_json(incident)

    def _patch_incident(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_incident_id_of(request.path))
        if incident is None:
            return 404, {"error": "The requested resource could not be found."}
        document = request.json()["incident"]
        unknown = [cid for cid in _component_ids(document) if cid not in self.components]
        if unknown:
            return 422, {"error": [f"Component {cid} not found" for cid in unknown]}
        stamp = self._stamp()
        if "name" in document:
            incident.name = document["name"]
        if "metadata" in document:
            incident.metadata.update(document["metadata"])
        if "deliver_notifications" in document:
            incident.deliver_notifications = document["deliver_notifications"]
        affected = self._apply_components(incident, document, stamp)
        if "impact_override" in document:
            incident.impact_override = document["impact_override"]
        self._set_impact(incident)
        status_changed = "status" in document and document["status"] != incident.status
        if "status" in document:
            self._set_status(incident, document["status"], stamp)
        if status_changed or "body" in document:
            notify = document.get("deliver_notifications", True)
            incident.updates.append(
                _update(incident.status, document.get("body", ""), stamp, affected, notify)
            )
        incident.updated_at = stamp
        return 200, self._incident_json(incident)

    def _list_components(self, request: StandinRequest) -> tuple[int, Any]:
        query = dict(request.query)
        page = max(1, int(query.get("page", 1)))
        per_page = min(int(query.get("per_page", PER_PAGE_LIMIT)), PER_PAGE_LIMIT)
        ordered = sorted(self.components.values(), key=lambda c: c.position)
        chosen = ordered[(page - 1) * per_page : page * per_page]
        return 200, [self._component_json(component) for component in chosen]

    # --- the model --------------------------------------------------------------------------------

    def _new_incident(self, document: dict[str, Any], *, by_person: bool) -> StandinIncident:
        stamp = self._stamp()
        incident = StandinIncident(
            id=uuid.uuid4().hex[:12],
            name=document["name"],
            status="investigating",
            impact="none",
            created_at=stamp,
            updated_at=stamp,
            metadata=dict(document.get("metadata") or {}),
            deliver_notifications=document.get("deliver_notifications", True),
            impact_override=document.get("impact_override"),
        )
        affected = self._apply_components(incident, document, stamp)
        self._set_status(incident, document.get("status") or "investigating", stamp)
        self._set_impact(incident)
        body = document.get("body") or ""
        update = _update(incident.status, body, stamp, affected, incident.deliver_notifications, by_person)
        incident.updates.append(update)
        self.incidents[incident.id] = incident
        return incident

    def _apply_components(
        self, incident: StandinIncident, document: dict[str, Any], stamp: datetime
    ) -> list[dict[str, str]]:
        """Attach the components named (component_ids or components) and set the statuses given."""
        affected = []
        for component_id in _component_ids(document):
            if component_id not in incident.component_ids:
                incident.component_ids.append(component_id)
        for component_id, status in (document.get("components") or {}).items():
            component = self.components[component_id]
            if status and status != component.status:
                affected.append(
                    {
                        "code": component_id,
                        "name": component.name,
                        "old_status": component.status,
                        "new_status": status,
                    }
                )
                component.status = status
                component.updated_at = stamp
        return affected

    def _set_status(self, incident: StandinIncident, status: str, stamp: datetime) -> None:
        if status == incident.status:
            return
        incident.status = status
        if status == "monitoring":
            incident.monitoring_at = stamp
        if status == "resolved":
            incident.resolved_at = stamp
        else:
            incident.resolved_at = None

    def _set_impact(self, incident: StandinIncident) -> None:
        if incident.impact_override:
            incident.impact = incident.impact_override
            return
        impacts = [IMPACT_OF.get(self.components[cid].status, "none") for cid in incident.component_ids]
        incident.impact = max(impacts, key=IMPACT_ORDER.index, default="none")

    def _stamp(self) -> datetime:
        """Now, but always after the previous stamp (by a millisecond at least): order shows. In whole
        milliseconds, as Statuspage writes them: two stamps within one millisecond would read equal."""
        now = self.now().astimezone(UTC)
        stamp = now.replace(microsecond=now.microsecond // 1000 * 1000)
        if self._last_stamp is not None and stamp <= self._last_stamp:
            stamp = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = stamp
        return stamp

    # --- Statuspage's JSON ------------------------------------------------------------------------

    def _incident_json(self, incident: StandinIncident) -> dict[str, Any]:
        return {
            "id": incident.id,
            "components": [self._component_json(self.components[cid]) for cid in incident.component_ids],
            "created_at": _iso(incident.created_at),
            "impact": incident.impact,
            "impact_override": incident.impact_override,
            "incident_updates": [
                self._update_json(incident, update) for update in reversed(incident.updates)
            ],
            "metadata": incident.metadata,
            "monitoring_at": _iso(incident.monitoring_at),
            "name": incident.name,
            "page_id": self.page_id,
            "postmortem_body": None,
            "postmortem_body_last_updated_at": None,
            "postmortem_ignored": False,
            "postmortem_notified_subscribers": False,
            "postmortem_notified_twitter": False,
            "postmortem_published_at": None,
            "resolved_at": _iso(incident.resolved_at),
            "scheduled_auto_completed": False,
            "scheduled_auto_in_progress": False,
            "scheduled_for": None,
            "scheduled_remind_prior": False,
            "scheduled_reminded_at": None,
            "scheduled_until": None,
            "shortlink": incident.shortlink,
            "status": incident.status,
            "updated_at": _iso(incident.updated_at),
            "reminder_intervals": None,
        }

    def _update_json(self, incident: StandinIncident, update: StandinUpdate) -> dict[str, Any]:
        return {
            "id": update.id,
            "incident_id": incident.id,
            "affected_components": update.affected_components,
            "body": update.body,
            "created_at": _iso(update.created_at),
            "custom_tweet": None,
            "deliver_notifications": update.deliver_notifications,
            "display_at": _iso(update.created_at),
            "status": update.status,
            "tweet_id": None,
            "twitter_updated_at": None,
            "updated_at": _iso(update.created_at),
            "wants_twitter_update": False,
        }

    def _component_json(self, component: StandinComponent) -> dict[str, Any]:
        return {
            "id": component.id,
            "page_id": self.page_id,
            "group_id": None,
            "created_at": _iso(component.created_at),
            "updated_at": _iso(component.updated_at),
            "group": False,
            "name": component.name,
            "description": None,
            "position": component.position,
            "status": component.status,
            "showcase": True,
            "only_show_if_degraded": False,
            "automation_email": f"component+{component.id}@notifications.statuspage.io",
            "start_date": None,
        }


_Route = Callable[[StatuspageStandin, StandinRequest], tuple[int, Any]]
_ROUTES: dict[tuple[str, str], _Route] = {
    ("POST", "/pages/{page_id}/incidents"): StatuspageStandin._create_incident,
    ("GET", "/pages/{page_id}/incidents/{incident_id}"): StatuspageStandin._get_incident,
    ("PATCH", "/pages/{page_id}/incidents/{incident_id}"): StatuspageStandin._patch_incident,
    ("GET", "/pages/{page_id}/components"): StatuspageStandin._list_components,
}
_ROUTE_PATTERNS = [
    (re.compile(r"^/pages/[^/]+/incidents/[^/]+$"), "/pages/{page_id}/incidents/{incident_id}"),
    (re.compile(r"^/pages/[^/]+/incidents$"), "/pages/{page_id}/incidents"),
    (re.compile(r"^/pages/[^/]+/components$"), "/pages/{page_id}/components"),
]


def _route_of(path: str) -> str:
    for pattern, route in _ROUTE_PATTERNS:
        if pattern.match(path):
            return route
    return path


def _incident_id_of(path: str) -> str:
    return unquote(path.split("/")[4])


def _component_ids(document: dict[str, Any]) -> list[str]:
    """The components a request names: component_ids, then the keys of components."""
    ids = list(document.get("component_ids") or ())
    ids += [cid for cid in document.get("components") or {} if cid not in ids]
    return ids


def _update(
    status: str,
    body: str,
    stamp: datetime,
    affected: list[dict[str, str]],
    deliver_notifications: bool,
    by_person: bool = False,
) -> StandinUpdate:
    return StandinUpdate(
        uuid.uuid4().hex[:12], status, body, stamp, affected, deliver_notifications, by_person
    )


def _spec_errors(request: StandinRequest) -> list[str]:
    """The spec's objections, each "path: …", "security: …" or "request: …" (cut to a readable size)."""
    errors: list[str] = []
    for error in spec().iter_request_errors(OpenApiRequest(API_HOST, request)):
        if isinstance(error, PathError):
            kind = "path"
        elif isinstance(error, SecurityValidationError):
            kind = "security"
        else:
            kind = "request"
        details = [str(getattr(e, "message", e)) for e in getattr(error.__cause__, "schema_errors", ()) or ()]
        text = f"{kind}: {error}"
        errors.append(_cut(text) + "".join(f" [{_cut(detail)}]" for detail in details))
    return errors


def _incident_rules(request: StandinRequest) -> tuple[int, list[str]]:
    """What Statuspage refuses beyond its document's schemas (its descriptions, its behaviour)."""
    try:
        body = request.json()
    except ValueError:
        return 400, ["the body is not JSON"]
    incident = body.get("incident") if isinstance(body, dict) else None
    if not isinstance(incident, dict):
        return 400, ["param is missing or the value is empty: incident"]
    errors: list[str] = []
    name = incident.get("name")
    if request.method == "POST" or "name" in incident:
        if not isinstance(name, str) or not name.strip():
            errors.append("Name can't be blank")
        elif len(name) > MAX_NAME:
            errors.append(f"Name is too long ({len(name)} characters; the limit is {MAX_NAME})")
    text = incident.get("body")
    if isinstance(text, str) and len(text) > MAX_BODY:
        errors.append(f"Body is too long ({len(text)} characters; the limit is {MAX_BODY})")
    metadata = incident.get("metadata")
    if isinstance(metadata, dict) and any(not isinstance(value, dict) for value in metadata.values()):
        errors.append("metadata: all top-level values must be objects")
    components = incident.get("components")
    if isinstance(components, dict):
        wrong = [cid for cid, status in components.items() if status not in (*COMPONENT_STATUSES, "")]
        errors += [f"components.{cid}: not a component status" for cid in wrong]
    if errors:
        return 422, errors
    if incident.get("status") in SCHEDULED_STATUSES:
        return 501, ["scheduled maintenances are valid for Statuspage, but not implemented by the stand-in"]
    return 400, []


def _iso(when: datetime | None) -> str | None:
    if when is None:
        return None
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_ERROR else text[: _SHOWN_ERROR - 1] + "…"
