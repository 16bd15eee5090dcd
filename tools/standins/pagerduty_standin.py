"""A local PagerDuty on 127.0.0.1: the Events API v2 (`POST /v2/enqueue`) and the REST calls of the
ack-deadline sweep, on one threaded HTTP server with a random port.

Every request is checked against PagerDuty's published OpenAPI documents (openapi-core) and against the
vendor rules the documents do not state (specs/README.md: dedup_key <= 255, summary <= 1024, event
<= 512 KB, payload on triggers, dedup_key on acknowledge/resolve; REST's versioned Accept and
`Token token=` Authorization). A request that fails is answered as PagerDuty would (400, or 401 for
credentials) and recorded in `violations`; the `pagerduty` fixture (tests/support/standin_fixtures.py)
fails the test at teardown when any is left (a test about refusals takes them with `take_violations()`).

Behaviour: Events v2 answers 202 and keeps the events in order (`events`), the open alerts per
(routing_key, dedup_key) (`open_alerts`) and when each event of a routing key arrived (`arrivals`).
With `events_rate_limit` set, it throttles as PagerDuty does: at most that many events (every action)
per routing key over a rolling 60 s, answering 429 beyond (`throttled` counts them).
REST keeps a small model: escalation policies with N levels (one user per level unless told otherwise)
and an escalation delay per level (`escalation_delay_in_minutes`, 30 unless told), incidents on them,
escalations, notes and each incident's log. On the stand-in's clock `now` (the wall clock unless a test
sets its own), as PagerDuty does:
- an incident is assigned to the users of its level (`assignments[].at`: when that assignment was
  made) until a person reassigns it to users (`person_reassigns`, as in the UI: a direct assignment,
  which PagerDuty's rules no longer move);
- a PUT with `escalation_level` (from whoever sends it: `From`) reassigns it to that level, now;
- the policy's own rules escalate a triggered incident one level when it stays unacknowledged for
  the level's delay (applied before each REST answer, or by `run_escalation_rules()`), stamped with
  when the timeout fell due, and stop at the last level;
- an acknowledgement (PUT status) pauses that; `acknowledgement_times_out(id)` ends it (the service's
  acknowledgement timeout): triggered again, same assignments, the timer restarts;
- every change is a log entry (`GET /incidents/{id}/log_entries`, `since`/`until`, paginated).
Faults per path prefix: `fail_next(prefix, status, times, headers)` (for valid requests; a fault's
body is PagerDuty-like unless given), `delay(prefix, seconds)`. The server, the faults and the violations
are standin_server's.

The specs are read once per process from the checkout's tests/vendor/specs (vendored by
scripts/vendor-shared; the REST document cut to the operations the project calls), or from
$PAGERDUTY_SPECS_DIR.
"""

import functools
import json
import os
import re
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.paths.exceptions import PathError
from openapi_core.validation.request.exceptions import SecurityValidationError
from werkzeug.datastructures import Headers, ImmutableMultiDict

from standins.standin_server import VENDORED_SPECS_DIR, HeaderPairs, PathFaultStandin, StandinHandler
from standins.standin_server import Violation as Violation  # re-exported: tests import it from here

SPECS_DIR = Path(os.environ.get("PAGERDUTY_SPECS_DIR", VENDORED_SPECS_DIR))
EVENTS_SPEC = "pagerduty-events-v2.openapi.json"
REST_SPEC = "pagerduty-rest.subset.openapi.json"
EVENTS_HOST = "https://events.pagerduty.com"  # the specs' servers: requests are checked as if sent there
REST_HOST = "https://api.pagerduty.com"
ACCEPT = "application/vnd.pagerduty+json;version=2"
TOKEN = "standin-rest-token-6f1d0c3b9a2e"  # noqa: S105 - the stand-in's own, made up: no secret
DEFAULT_DELAY_MINUTES = 30  # PagerDuty's default escalation delay
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_EVENT_BYTES = 512 * 1024
RATE_WINDOW_S = 60.0  # PagerDuty: about 120 events per routing key over a rolling minute (specs/README.md)
_AUTHORIZATION = re.compile(r"^Token token=(\S+)$")
_SHOWN_ERROR = 300


@functools.cache
def specs() -> tuple[OpenAPI, OpenAPI]:
    """(Events v2, REST), loaded once. The REST document has `default` values its own schemas refuse,
    so the documents themselves are not validated: only requests against them."""
    # None skips the document check (openapi-core's documented switch; its annotation omits None).
    config = Config(spec_validator_cls=None)  # type: ignore[arg-type]
    events, rest = (_document(name) for name in (EVENTS_SPEC, REST_SPEC))
    return OpenAPI.from_dict(events, config=config), OpenAPI.from_dict(rest, config=config)


@functools.cache
def _document(name: str) -> dict[str, Any]:
    path = SPECS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"PagerDuty spec {path} not found (set PAGERDUTY_SPECS_DIR)")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


@functools.cache
def required_headers_with_defaults(route: str, method: str) -> tuple[str, ...]:
    """Headers the REST spec requires on an operation but gives a default (Accept, Content-Type):
    openapi-core fills the default in for a missing one, so their presence is checked here."""
    document = _document(REST_SPEC)
    path_item = document["paths"].get(route) or {}
    operation = path_item.get(method.lower()) or {}
    names = []
    for parameter in [*path_item.get("parameters", ()), *operation.get("parameters", ())]:
        if "$ref" in parameter:
            parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
        schema = parameter.get("schema") or {}
        if parameter.get("in") == "header" and parameter.get("required") and "default" in schema:
            names.append(parameter["name"])
    return tuple(names)


@dataclass(frozen=True)
class StandinRequest:
    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class StandinPolicy:
    id: str
    name: str
    levels: list[list[str]]  # user ids on call at each level, level 1 first
    user_names: dict[str, str] = field(default_factory=dict)
    delays: list[int] = field(default_factory=list)  # escalation_delay_in_minutes of each level

    def delay_of(self, level: int) -> timedelta:
        return timedelta(
            minutes=self.delays[level - 1] if level <= len(self.delays) else DEFAULT_DELAY_MINUTES
        )


@dataclass(frozen=True)
class StandinLogEntry:
    type: str  # trigger_log_entry, escalate_log_entry, ...
    created_at: datetime
    agent: str | None  # a person's email; None: PagerDuty itself (the service: a timeout, an event)
    assignees: tuple[str, ...] = ()  # escalate and assign entries: who it went to


@dataclass
class StandinIncident:
    id: str
    number: int
    title: str
    service_id: str
    policy_id: str
    created_at: datetime
    status: str = "triggered"
    urgency: str = "high"
    escalation_level: int = 1
    incident_key: str | None = None
    notes: list[str] = field(default_factory=list)
    escalations: list[int] = field(default_factory=list)  # levels set through PUT, in order
    assigned_at: datetime | None = None  # when its current assignees were assigned (created_at first)
    assignees: list[str] | None = None  # a direct assignment (PUT assignments); None: its level's users
    log: list[StandinLogEntry] = field(default_factory=list)  # oldest first

    @property
    def timer_started_at(self) -> datetime:
        """Since when PagerDuty's escalation timer runs at this level: the assignment, or the end of
        the last acknowledgement."""
        starts = [self.assigned_at or self.created_at]
        starts += [e.created_at for e in self.log if e.type == "unacknowledge_log_entry"]
        return max(starts)


@dataclass(frozen=True)
class Escalation:
    incident_id: str
    level: int
    from_email: str


@dataclass(frozen=True)
class Note:
    incident_id: str
    content: str
    from_email: str


class OpenApiRequest:
    """What openapi-core reads of a request (its Request protocol)."""

    def __init__(self, host_url: str, request: StandinRequest) -> None:
        self.host_url = host_url
        self.path = request.path
        self.method = request.method.lower()
        self.body: bytes | None = request.body or None
        self.content_type = request.headers.get("content-type", "").lower()
        self.parameters = RequestParameters(
            query=ImmutableMultiDict(list(request.query)),
            header=Headers(list(request.headers.items())),
        )


class PagerDutyStandin(PathFaultStandin):
    def __init__(self, token: str = TOKEN, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.token = token
        self.clock = clock  # wall clock, for the rolling minute of the rate limit
        self.now: Callable[[], datetime] = lambda: datetime.now(UTC)  # REST's: assignments, log, rules
        self.events_rate_limit: int | None = None  # per routing key per rolling 60 s; None: unlimited
        self.requests: list[StandinRequest] = []
        self.events: list[dict[str, Any]] = []  # accepted events, in order
        self.open_alerts: dict[
            tuple[str, str], str
        ] = {}  # (routing_key, dedup_key) -> triggered|acknowledged
        self.arrivals: defaultdict[str, list[float]] = defaultdict(list)  # accepted events' times per key
        self.throttled = 0  # events answered 429
        self.policies: dict[str, StandinPolicy] = {}
        self.incidents: dict[str, StandinIncident] = {}
        self.escalations: list[Escalation] = []
        self.notes: list[Note] = []

    # --- life -------------------------------------------------------------------------------------

    def start(self) -> Self:
        specs()  # fail here, not inside a request, when the documents are missing
        return super().start()

    @property
    def events_url(self) -> str:
        return self.base_url + "/v2/enqueue"

    @property
    def rest_url(self) -> str:
        return self.base_url

    # --- what tests set up (fail_next, delay: PathFaultStandin's) ---------------------------------

    def add_policy(
        self,
        policy_id: str = "PEP0001",
        levels: int = 4,
        name: str | None = None,
        *,
        delays: list[int] | None = None,
        users_per_level: int = 1,
    ) -> StandinPolicy:
        """A policy with `levels` levels, `users_per_level` users on call at each (U<policy>L<n>, then
        U<policy>L<n>b, ...), each level escalating after `delays[n-1]` minutes (30 by default)."""
        suffixes = ["", *"bcdefgh"][:users_per_level]
        users = [[f"U{policy_id}L{n}{x}" for x in suffixes] for n in range(1, levels + 1)]
        names = {
            f"U{policy_id}L{n}{x}": f"Level {n} on-call" + (f" {x}" if x else "")
            for n in range(1, levels + 1)
            for x in suffixes
        }
        delays = list(delays) if delays is not None else [DEFAULT_DELAY_MINUTES] * levels
        policy = StandinPolicy(policy_id, name or f"Policy {policy_id}", users, names, delays)
        with self._lock:
            self.policies[policy_id] = policy
        return policy

    def add_incident(
        self,
        *,
        service_id: str = "PSVC001",
        policy_id: str | None = None,
        created_at: datetime | None = None,
        status: str = "triggered",
        escalation_level: int = 1,
        title: str | None = None,
        urgency: str = "high",
        incident_key: str | None = None,
        incident_id: str | None = None,
    ) -> StandinIncident:
        """An incident on `policy_id` (the default policy, created with 4 levels when needed)."""
        with self._lock:
            if policy_id is None:
                policy_id = "PEP0001"
                if policy_id not in self.policies:
                    self.add_policy(policy_id)
            number = len(self.incidents) + 1
            created = created_at or self.now()
            incident = StandinIncident(
                id=incident_id or f"PINC{number:04d}",
                number=number,
                title=title or f"Incident {number}",
                service_id=service_id,
                policy_id=policy_id,
                created_at=created,
                status=status,
                urgency=urgency,
                escalation_level=escalation_level,
                incident_key=incident_key or uuid.uuid4().hex,
                assigned_at=created,
            )
            incident.log.append(StandinLogEntry("trigger_log_entry", created, None))
            if status == "acknowledged":
                incident.log.append(StandinLogEntry("acknowledge_log_entry", created, "someone@example.com"))
            self.incidents[incident.id] = incident
        return incident

    # --- what people do --------------------------------------------------------------------------------

    def person_updates_incident(
        self, incident_id: str, changes: dict[str, Any], from_email: str = "alice@example.com"
    ) -> dict[str, Any]:
        """A person's change (escalate, acknowledge, resolve), sent as PUT /incidents/{id}
        to this stand-in, checked like every request: `changes` is the body's `incident` object
        (without `type`). PagerDuty's answer, which must be a success."""
        response = httpx.put(
            f"{self.rest_url}/incidents/{quote(incident_id, safe='')}",
            json={"incident": {"type": "incident_reference", **changes}},
            headers={
                "Authorization": f"Token token={self.token}",
                "Accept": ACCEPT,
                "Content-Type": "application/json",
                "From": from_email,
            },
            timeout=5.0,
        )
        assert response.is_success, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def person_reassigns(
        self, incident_id: str, users: list[str], from_email: str = "alice@example.com"
    ) -> StandinIncident:
        """A person reassigning the incident to these users in PagerDuty's UI, now (the REST spec marks
        an assignee's id read-only, so no spec-valid PUT can do it): a direct assignment, new
        assignments, an assign_log_entry; PagerDuty's rules no longer escalate it."""
        self.run_escalation_rules()  # what PagerDuty did before the person acted
        with self._lock:
            incident = self.incidents[incident_id]
            known = {user for level in self.policies[incident.policy_id].levels for user in level}
            assert users, "reassign to at least one user"
            assert set(users) <= known, users
            incident.assignees = list(users)
            incident.status = "triggered"
            self._assign(incident, self.now(), from_email, "assign_log_entry")
        return incident

    # --- what PagerDuty does by itself --------------------------------------------------------------

    def run_escalation_rules(self) -> None:
        """Each triggered incident on its policy that stayed unacknowledged for its level's delay moves
        one level up (as often as the delays allow by `now`), stamped with when the timeout fell due."""
        now = self.now()
        with self._lock:
            for incident in self.incidents.values():
                policy = self.policies[incident.policy_id]
                while (
                    incident.status == "triggered"
                    and incident.assignees is None
                    and incident.escalation_level < len(policy.levels)
                ):
                    due = incident.timer_started_at + policy.delay_of(incident.escalation_level)
                    if due > now:
                        break
                    incident.escalation_level += 1
                    self._assign(incident, due, None, "escalate_log_entry")

    def acknowledgement_times_out(self, incident_id: str) -> StandinIncident:
        """The service's acknowledgement timeout, now: the incident is triggered again, still assigned
        to whom it was, and its level's escalation timer starts again."""
        self.run_escalation_rules()
        with self._lock:
            incident = self.incidents[incident_id]
            assert incident.status == "acknowledged", incident.status
            incident.status = "triggered"
            incident.log.append(StandinLogEntry("unacknowledge_log_entry", self.now(), None))
        return incident

    def _assign(self, incident: StandinIncident, at: datetime, agent: str | None, kind: str) -> None:
        incident.assigned_at = at
        incident.log.append(StandinLogEntry(kind, at, agent, tuple(self._assignees(incident))))

    def _assignees(self, incident: StandinIncident) -> list[str]:
        if incident.status == "resolved":
            return []
        if incident.assignees is not None:
            return incident.assignees
        return self.policies[incident.policy_id].levels[incident.escalation_level - 1]

    # --- what tests read (and take_violations) ----------------------------------------------------

    def received(self, path_prefix: str) -> list[StandinRequest]:
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]

    def incident_document(self, incident_id: str) -> dict[str, Any]:
        """The incident as GET /incidents/{id} answers it now (PagerDuty's rules applied first)."""
        self.run_escalation_rules()
        with self._lock:
            return self._incident_json(self.incidents[incident_id])

    def log_documents(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's whole log as GET /incidents/{id}/log_entries answers it, oldest first."""
        self.run_escalation_rules()
        with self._lock:
            incident = self.incidents[incident_id]
            return [self._log_entry_json(incident, i, entry) for i, entry in enumerate(incident.log)]

    def most_events_in_a_minute(self, routing_key: str) -> int:
        """The most events of `routing_key` accepted within any rolling 60 s: what PagerDuty limits."""
        with self._lock:
            times = sorted(self.arrivals[routing_key])
        most, first = 0, 0
        for last, at in enumerate(times):
            while at - times[first] >= RATE_WINDOW_S:
                first += 1
            most = max(most, last - first + 1)
        return most

    # --- serving ----------------------------------------------------------------------------------

    def _handle(self, handler: StandinHandler) -> None:
        split = urlsplit(handler.path)
        request = StandinRequest(
            method=handler.command,
            path=split.path,
            query=tuple(parse_qsl(split.query, keep_blank_values=True)),
            headers=handler.lower_headers(),
            body=handler.read_body(),
        )
        with self._lock:
            self.requests.append(request)
            delay = self._delay_of(request.path)
        self._wait(delay)
        status, document, headers = self._answer(request)
        payload = json.dumps(document).encode() if document is not None else b""
        handler.reply(status, "application/json", payload, headers)

    def _answer(self, request: StandinRequest) -> tuple[int, Any, HeaderPairs]:
        is_events = request.path.startswith("/v2/")
        status, errors = self._events_problems(request) if is_events else self._rest_problems(request)
        if errors:
            with self._lock:
                self.violations.append(Violation(request.method, request.path, status, tuple(errors)))
            return status, _error_body(is_events, status, errors), ()
        with self._lock:
            fault = self._take_fault(request.path)
        if fault is not None:
            body = fault.body if fault.body is not None else _error_body(is_events, fault.status, [])
            return fault.status, body, fault.headers
        if is_events:
            return self._enqueue(request)
        if not self._authorized(request):
            return 401, {"error": {"message": "Unauthorized", "code": 2006}}, ()
        with self._lock:
            self.run_escalation_rules()  # what PagerDuty did in the meantime
            status, document = self._rest(request)
        return status, document, ()

    # --- validation -------------------------------------------------------------------------------

    def _events_problems(self, request: StandinRequest) -> tuple[int, list[str]]:
        events_spec, _ = specs()
        errors = _spec_errors(events_spec, EVENTS_HOST, request)
        if errors:
            return (404 if errors[0].startswith("path") else 400), errors
        return 400, _event_rules(request)

    def _rest_problems(self, request: StandinRequest) -> tuple[int, list[str]]:
        _, rest_spec = specs()
        errors = _spec_errors(rest_spec, REST_HOST, request)
        if errors and errors[0].startswith("path"):
            return 404, errors
        for name in required_headers_with_defaults(_route_of(request.path), request.method):
            if name.lower() not in request.headers:
                errors.append(f"missing header {name}, required by the spec")
        authorization = request.headers.get("authorization")
        unauthenticated = any(e.startswith("security") for e in errors)
        if authorization is not None and not _AUTHORIZATION.match(authorization):
            errors.append("Authorization must be `Token token=<API key>`")
            unauthenticated = True
        accept = request.headers.get("accept", "").replace(" ", "").lower()
        if "accept" in request.headers and accept != ACCEPT:
            errors.append(f"Accept must be {ACCEPT}")
        if not errors and not _REST_ROUTES.get((request.method, _route_of(request.path))):
            errors.append("valid for PagerDuty, but not implemented by the stand-in")
            return 501, errors
        return (401 if unauthenticated else 400), errors

    def _authorized(self, request: StandinRequest) -> bool:
        match = _AUTHORIZATION.match(request.headers.get("authorization", ""))
        return match is not None and match.group(1) == self.token

    # --- Events v2 --------------------------------------------------------------------------------

    def _enqueue(self, request: StandinRequest) -> tuple[int, Any, HeaderPairs]:
        event = request.json()
        routing_key = event["routing_key"]
        now = self.clock()
        with self._lock:
            limit, arrivals = self.events_rate_limit, self.arrivals[routing_key]
            if limit is not None and sum(1 for at in arrivals if now - at < RATE_WINDOW_S) >= limit:
                self.throttled += 1
                body = {"status": "throttle event", "message": "Requests are arriving too quickly."}
                return 429, body, ()
            arrivals.append(now)
            dedup_key = event.get("dedup_key") or uuid.uuid4().hex
            key = (routing_key, dedup_key)
            action = event["event_action"]
            if action == "trigger":
                self.open_alerts.setdefault(key, "triggered")
            elif action == "acknowledge" and key in self.open_alerts:
                self.open_alerts[key] = "acknowledged"
            elif action == "resolve":
                self.open_alerts.pop(key, None)  # nothing open: still 202, as PagerDuty answers
            self.events.append(event)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, ()

    # --- REST -------------------------------------------------------------------------------------

    def _rest(self, request: StandinRequest) -> tuple[int, Any]:
        route = _route_of(request.path)
        handler = _REST_ROUTES[(request.method, route)]
        return handler(self, request)

    def _list_incidents(self, request: StandinRequest) -> tuple[int, Any]:
        query = ImmutableMultiDict(list(request.query))
        statuses = set(query.getlist("statuses[]"))
        services = set(query.getlist("service_ids[]"))
        limit = min(int(query.get("limit", 25)), 100)
        offset = int(query.get("offset", 0))
        matching = [
            incident
            for incident in sorted(self.incidents.values(), key=lambda i: i.number)
            if (not statuses or incident.status in statuses)
            and (not services or incident.service_id in services)
        ]
        page = matching[offset : offset + limit]
        return 200, {
            "incidents": [self._incident_json(incident) for incident in page],
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(matching),
            "total": None,
        }

    def _get_incident(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_id_of(request.path))
        if incident is None:
            return _not_found()
        return 200, {"incident": self._incident_json(incident)}

    def _update_incident(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_id_of(request.path))
        if incident is None:
            return _not_found()
        changes = request.json()["incident"]
        policy = self.policies[incident.policy_id]
        person, now = request.headers["from"], self.now()
        if "escalation_level" in changes and incident.status == "resolved":
            return _invalid("Incident Already Resolved")
        if "escalation_level" in changes:
            level = changes["escalation_level"]
            if not 1 <= level <= len(policy.levels):
                return _invalid(f"Escalation level {level} is not in the escalation policy")
            incident.escalation_level = level
            incident.escalations.append(level)
            incident.status = "triggered"  # escalating reassigns and re-notifies: it is triggered again
            incident.assignees = None  # back on its policy
            self._assign(incident, now, person, "escalate_log_entry")
            self.escalations.append(Escalation(incident.id, level, person))
        if "status" in changes and changes["status"] != incident.status:
            incident.status = changes["status"]
            kind = {"acknowledged": "acknowledge_log_entry", "resolved": "resolve_log_entry"}
            incident.log.append(StandinLogEntry(kind.get(incident.status, "trigger_log_entry"), now, person))
        return 200, {"incident": self._incident_json(incident)}

    def _list_log_entries(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_id_of(request.path))
        if incident is None:
            return _not_found()
        query = ImmutableMultiDict(list(request.query))
        since = datetime.fromisoformat(query["since"]) if "since" in query else None
        until = datetime.fromisoformat(query["until"]) if "until" in query else None
        limit = min(int(query.get("limit", 25)), 100)
        offset = int(query.get("offset", 0))
        matching = [
            (index, entry)
            for index, entry in enumerate(incident.log)
            if (since is None or entry.created_at >= since) and (until is None or entry.created_at < until)
        ]
        page = matching[offset : offset + limit]
        return 200, {
            "log_entries": [self._log_entry_json(incident, index, entry) for index, entry in page],
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(matching),
            "total": None,
        }

    def _add_note(self, request: StandinRequest) -> tuple[int, Any]:
        incident = self.incidents.get(_id_of(request.path))
        if incident is None:
            return _not_found()
        content = request.json()["note"]["content"]
        incident.notes.append(content)
        self.notes.append(Note(incident.id, content, request.headers["from"]))
        return 200, {
            "note": {
                "id": f"PNOTE{len(self.notes):03d}",
                "user": {"id": "PUSER01", "type": "user_reference", "summary": request.headers["from"]},
                "channel": {"summary": "The PagerDuty website or APIs"},
                "content": content,
                "created_at": _iso(self.now()),
            }
        }

    def _get_policy(self, request: StandinRequest) -> tuple[int, Any]:
        policy = self.policies.get(_id_of(request.path))
        if policy is None:
            return _not_found()
        return 200, {"escalation_policy": self._policy_json(policy)}

    def _list_on_calls(self, request: StandinRequest) -> tuple[int, Any]:
        query = ImmutableMultiDict(list(request.query))
        wanted = set(query.getlist("escalation_policy_ids[]"))
        limit = min(int(query.get("limit", 25)), 100)
        offset = int(query.get("offset", 0))
        on_calls = [
            {
                "escalation_policy": self._policy_ref(policy),
                "escalation_level": level,
                "user": self._user_ref(policy, user),
            }
            for policy in self.policies.values()
            if not wanted or policy.id in wanted
            for level, users in enumerate(policy.levels, start=1)
            for user in users
        ]
        page = on_calls[offset : offset + limit]
        return 200, {
            "oncalls": page,
            "limit": limit,
            "offset": offset,
            "more": offset + len(page) < len(on_calls),
        }

    # --- PagerDuty's JSON -------------------------------------------------------------------------

    def _incident_json(self, incident: StandinIncident) -> dict[str, Any]:
        policy = self.policies[incident.policy_id]
        created = _iso(incident.created_at)
        assigned = _iso(incident.assigned_at or incident.created_at)
        updated = _iso(max(e.created_at for e in incident.log)) if incident.log else created
        return {
            "id": incident.id,
            "type": "incident",
            "summary": f"[#{incident.number}] {incident.title}",
            "self": f"{self.base_url}/incidents/{incident.id}",
            "html_url": f"https://standin.pagerduty.com/incidents/{incident.id}",
            "incident_number": incident.number,
            "title": incident.title,
            "created_at": created,
            "updated_at": updated,
            "status": incident.status,
            "incident_key": incident.incident_key,
            "service": {
                "id": incident.service_id,
                "type": "service_reference",
                "summary": f"Service {incident.service_id}",
                "self": f"{self.base_url}/services/{incident.service_id}",
                "html_url": f"https://standin.pagerduty.com/service-directory/{incident.service_id}",
            },
            "assignments": [
                {"at": assigned, "assignee": self._user_ref(policy, user)}
                for user in self._assignees(incident)
            ],
            "assigned_via": "direct_assignment" if incident.assignees is not None else "escalation_policy",
            "last_status_change_at": updated,
            "alert_counts": {"all": 1, "triggered": int(incident.status != "resolved"), "resolved": 0},
            "is_mergeable": True,
            "escalation_policy": self._policy_ref(policy),
            "teams": [],
            "pending_actions": [],
            "acknowledgements": [],
            "urgency": incident.urgency,
        }

    def _log_entry_json(
        self, incident: StandinIncident, index: int, entry: StandinLogEntry
    ) -> dict[str, Any]:
        policy = self.policies[incident.policy_id]
        entry_id = f"R{incident.id}{index:04d}"
        agent = (
            {"id": "PUSER01", "type": "user_reference", "summary": entry.agent}
            if entry.agent
            else {
                "id": incident.service_id,
                "type": "service_reference",
                "summary": f"Service {incident.service_id}",
            }
        )
        document: dict[str, Any] = {
            "id": entry_id,
            "type": entry.type,
            "summary": entry.type.removesuffix("_log_entry").replace("_", " ").capitalize(),
            "self": f"{self.base_url}/log_entries/{entry_id}?incident_id={incident.id}",
            "html_url": f"https://standin.pagerduty.com/incidents/{incident.id}/log_entries/{entry_id}",
            "created_at": _iso(entry.created_at),
            "agent": agent,
            # No `channel`: the spec's Channel is a oneOf whose five branches all accept {"type": ...},
            # so no plain channel validates against it. It is optional; the project does not read it.
            "incident": {
                "id": incident.id,
                "type": "incident_reference",
                "summary": f"[#{incident.number}] {incident.title}",
                "self": f"{self.base_url}/incidents/{incident.id}",
                "html_url": f"https://standin.pagerduty.com/incidents/{incident.id}",
            },
            "service": {"id": incident.service_id, "type": "service_reference"},
            "teams": [],
        }
        if entry.type in ("escalate_log_entry", "assign_log_entry"):
            document["assignees"] = [self._user_ref(policy, user) for user in entry.assignees]
        return document

    def _policy_json(self, policy: StandinPolicy) -> dict[str, Any]:
        return self._policy_ref(policy) | {
            "type": "escalation_policy",
            "name": policy.name,
            "num_loops": 0,
            "on_call_handoff_notifications": "if_has_services",
            "escalation_rules": [
                {
                    "id": f"PRULE{level}",
                    "escalation_delay_in_minutes": int(policy.delay_of(level).total_seconds() // 60),
                    "targets": [self._user_ref(policy, user) for user in users],
                }
                for level, users in enumerate(policy.levels, start=1)
            ],
            "services": [],
            "teams": [],
        }

    def _policy_ref(self, policy: StandinPolicy) -> dict[str, Any]:
        return {
            "id": policy.id,
            "type": "escalation_policy_reference",
            "summary": policy.name,
            "self": f"{self.base_url}/escalation_policies/{policy.id}",
            "html_url": f"https://standin.pagerduty.com/escalation_policies/{policy.id}",
        }

    def _user_ref(self, policy: StandinPolicy, user: str) -> dict[str, Any]:
        return {
            "id": user,
            "type": "user_reference",
            "summary": policy.user_names.get(user, user),
            "self": f"{self.base_url}/users/{user}",
            "html_url": f"https://standin.pagerduty.com/users/{user}",
        }


_RestHandler = Callable[[PagerDutyStandin, StandinRequest], tuple[int, Any]]
_REST_ROUTES: dict[tuple[str, str], _RestHandler] = {
    ("GET", "/incidents"): PagerDutyStandin._list_incidents,
    ("GET", "/incidents/{id}"): PagerDutyStandin._get_incident,
    ("PUT", "/incidents/{id}"): PagerDutyStandin._update_incident,
    ("POST", "/incidents/{id}/notes"): PagerDutyStandin._add_note,
    ("GET", "/incidents/{id}/log_entries"): PagerDutyStandin._list_log_entries,
    ("GET", "/escalation_policies/{id}"): PagerDutyStandin._get_policy,
    ("GET", "/oncalls"): PagerDutyStandin._list_on_calls,
}
_ROUTE_PATTERNS = [
    (re.compile(r"^/incidents/[^/]+/notes$"), "/incidents/{id}/notes"),
    (re.compile(r"^/incidents/[^/]+/log_entries$"), "/incidents/{id}/log_entries"),
    (re.compile(r"^/incidents/[^/]+$"), "/incidents/{id}"),
    (re.compile(r"^/escalation_policies/[^/]+$"), "/escalation_policies/{id}"),
]


def _route_of(path: str) -> str:
    for pattern, route in _ROUTE_PATTERNS:
        if pattern.match(path):
            return route
    return path


def _id_of(path: str) -> str:
    return unquote(path.split("/")[2])


def _spec_errors(spec: OpenAPI, host: str, request: StandinRequest) -> list[str]:
    """The spec's objections, each "path: …", "security: …" or "request: …" (cut to a readable size)."""
    errors: list[str] = []
    for error in spec.iter_request_errors(OpenApiRequest(host, request)):
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


def _event_rules(request: StandinRequest) -> list[str]:
    """What the Events API refuses beyond its OpenAPI document (PagerDuty's documentation)."""
    errors: list[str] = []
    if len(request.body) > MAX_EVENT_BYTES:
        errors.append(f"event is {len(request.body)} bytes; the limit is {MAX_EVENT_BYTES}")
    event = request.json()
    if not event.get("routing_key"):
        errors.append("'routing_key' is empty")
    dedup_key = event.get("dedup_key")
    if event["event_action"] == "trigger":
        if "payload" not in event:
            errors.append("'payload' is required for trigger events")
    elif not dedup_key:
        errors.append(f"'dedup_key' is required for {event['event_action']} events")
    if isinstance(dedup_key, str) and len(dedup_key) > MAX_DEDUP_KEY:
        errors.append(f"length of 'dedup_key' is {len(dedup_key)}; the limit is {MAX_DEDUP_KEY}")
    summary = (event.get("payload") or {}).get("summary")
    if isinstance(summary, str) and len(summary) > MAX_SUMMARY:
        errors.append(f"length of 'payload.summary' is {len(summary)}; the limit is {MAX_SUMMARY}")
    return errors


def _error_body(is_events: bool, status: int, errors: list[str]) -> dict[str, Any]:
    if is_events:
        if status == 400:
            return {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        return {"status": "error", "message": f"stand-in answer {status}"}
    messages = {
        400: "Invalid Input Provided",
        401: "Unauthorized",
        404: "Not Found",
        429: "Rate Limit Exceeded",
    }
    codes = {400: 2001, 401: 2006, 404: 2100, 429: 2020}
    error: dict[str, Any] = {"message": messages.get(status, f"stand-in answer {status}")}
    if status in codes:
        error["code"] = codes[status]
    if errors:
        error["errors"] = errors
    return {"error": error}


def _not_found() -> tuple[int, Any]:
    return 404, {"error": {"message": "Not Found", "code": 2100}}


def _invalid(message: str) -> tuple[int, Any]:
    return 400, {"error": {"message": "Invalid Input Provided", "code": 2001, "errors": [message]}}


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cut(text: str) -> str:
    return text if len(text) <= _SHOWN_ERROR else text[: _SHOWN_ERROR - 1] + "…"
