"""What is sent to PagerDuty and read back from it: Events API v2 events, REST incidents, escalation
policies and on-calls.

Limits are PagerDuty's: `dedup_key` up to 255 characters, `payload.summary` up to 1024, a whole event
up to 512 KB. `pagerduty_event_from` makes any input fit them; the model itself
refuses an event that does not. The routing key is a secret: it is a SecretStr (masked in repr), and
validation errors never quote input.

The REST API does not say at which level of its escalation policy an incident is (the Incident object
has no such field; `escalation_level` exists only as a PUT input). `escalation_level_from` derives it:
an incident that escalates is reassigned to the on-call users of the new level, so its current
assignees, matched against the policy's on-calls (GET /oncalls), name the level. Unknown (None) when
no assignee is on call in the policy, or when the assignees are on call at several levels.

Nor does it say since when the incident is at that level; its assignments do: each has `at`, "the time
at which the assignment was created", set by PagerDuty whoever escalated or reassigned it (a person,
PagerDuty's own escalation timeout, this project). `Incident.assigned_at` keeps the earliest.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, SecretStr, TypeAdapter, model_validator

from runbook.text import truncate

EventAction = Literal["trigger", "acknowledge", "resolve"]
EventSeverity = Literal["critical", "error", "warning", "info"]
IncidentStatus = Literal["triggered", "acknowledged", "resolved"]

MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024
MAX_EVENT_BYTES = 512 * 1024
# Our own bounds, so that everything but custom_details stays small and custom_details alone is cut.
MAX_FIELD = 1024  # source, component, group, class, client, link text
MAX_URL = 2048
MAX_LINKS = 20
TRUNCATED_NOTE_KEY = "runbook_truncated"
_HASH_CHARS = 16
_MOMENT = TypeAdapter(AwareDatetime)


def _json_bytes(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False, default=str).encode())


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


class EventLink(_Frozen):
    href: Annotated[str, Field(min_length=1, max_length=MAX_URL)]
    text: Annotated[str | None, Field(max_length=MAX_FIELD)] = None


class EventPayload(_Frozen):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True, populate_by_name=True)

    summary: Annotated[str, Field(min_length=1, max_length=MAX_SUMMARY)]
    source: Annotated[str, Field(min_length=1, max_length=MAX_FIELD)]
    severity: EventSeverity
    timestamp: AwareDatetime | None = None
    component: Annotated[str | None, Field(max_length=MAX_FIELD)] = None
    group: Annotated[str | None, Field(max_length=MAX_FIELD)] = None
    class_: Annotated[str | None, Field(alias="class", max_length=MAX_FIELD)] = None
    custom_details: dict[str, Any] | None = None


class PagerDutyEvent(_Frozen):
    """One Events API v2 event. Build it with `pagerduty_event_from`, which truncates to the limits."""

    routing_key: SecretStr
    event_action: EventAction
    dedup_key: Annotated[str | None, Field(min_length=1, max_length=MAX_DEDUP_KEY)] = None
    payload: EventPayload | None = None
    links: Annotated[tuple[EventLink, ...], Field(max_length=MAX_LINKS)] = ()
    client: Annotated[str | None, Field(max_length=MAX_FIELD)] = None
    client_url: Annotated[str | None, Field(max_length=MAX_URL)] = None

    @model_validator(mode="after")
    def _complete_and_small(self) -> "PagerDutyEvent":
        if not self.routing_key.get_secret_value():
            raise ValueError("routing_key is empty")
        if self.event_action == "trigger" and self.payload is None:
            raise ValueError("a trigger needs a payload")
        if self.event_action != "trigger" and self.dedup_key is None:
            raise ValueError(f"`{self.event_action}` needs the dedup_key of the alert it acts on")
        size = _json_bytes(self.to_body())
        if size > MAX_EVENT_BYTES:
            raise ValueError(f"the event is {size} bytes; PagerDuty takes at most {MAX_EVENT_BYTES}")
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body for POST /v2/enqueue: the only place the routing key is revealed."""
        body: dict[str, Any] = {
            "routing_key": self.routing_key.get_secret_value(),
            "event_action": self.event_action,
        }
        if self.dedup_key is not None:
            body["dedup_key"] = self.dedup_key
        if self.payload is not None:
            body["payload"] = self.payload.model_dump(mode="json", by_alias=True, exclude_none=True)
        if self.links:
            body["links"] = [link.model_dump(mode="json", exclude_none=True) for link in self.links]
        if self.client is not None:
            body["client"] = self.client
        if self.client_url is not None:
            body["client_url"] = self.client_url
        return body


def fit_dedup_key(key: str) -> str:
    """`key` itself when it fits 255 characters; else its start and a hash of the whole, so that two
    long keys never meet and the same key always gives the same result (trigger and resolve match)."""
    if len(key) <= MAX_DEDUP_KEY:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()[:_HASH_CHARS]
    return f"{key[: MAX_DEDUP_KEY - _HASH_CHARS - 1]}~{digest}"


def pagerduty_event_from(
    *,
    routing_key: str,
    event_action: EventAction,
    dedup_key: str | None,
    summary: str | None = None,
    source: str | None = None,
    severity: EventSeverity = "info",
    timestamp: datetime | None = None,
    component: str | None = None,
    group: str | None = None,
    class_: str | None = None,
    custom_details: Mapping[str, Any] | None = None,
    links: Iterable[Mapping[str, str | None]] = (),
    client: str | None = None,
    client_url: str | None = None,
) -> PagerDutyEvent:
    """An event that fits PagerDuty's limits whatever the input: the dedup_key is fitted (fit_dedup_key),
    the summary and the short fields are truncated ("…" at the end), and when the whole event would pass
    512 KB, custom_details is cut (fields kept in order while they fit, the next shortened, the rest
    dropped) and says so under `runbook_truncated`. A trigger without a summary or source gets
    placeholders; acknowledge and resolve carry no payload (PagerDuty ignores it)."""
    payload: EventPayload | None = None
    if event_action == "trigger":
        payload = EventPayload(
            summary=truncate(summary or "(no summary)", MAX_SUMMARY),
            source=truncate(source or "unknown", MAX_FIELD),
            severity=severity,
            timestamp=timestamp,
            component=_short(component),
            group=_short(group),
            class_=_short(class_),
        )
    fitted_links = tuple(
        EventLink(href=str(link["href"]), text=_short(link.get("text")))
        for link in list(links)[:MAX_LINKS]
        if link.get("href") and len(str(link["href"])) <= MAX_URL
    )
    event = PagerDutyEvent(
        routing_key=SecretStr(routing_key),
        event_action=event_action,
        dedup_key=fit_dedup_key(dedup_key) if dedup_key else None,
        payload=payload,
        links=fitted_links,
        client=_short(client),
        client_url=client_url if client_url and len(client_url) <= MAX_URL else None,
    )
    if payload is None or not custom_details:
        return event
    # Measured as sent: JSON-mode values (datetimes as text), compact, UTF-8.
    details = EventPayload.model_validate(
        {"summary": "-", "source": "-", "severity": "info", "custom_details": dict(custom_details)}
    ).model_dump(mode="json")["custom_details"]
    budget = MAX_EVENT_BYTES - _json_bytes(event.to_body()) - len(',"custom_details":')
    fitted = payload.model_dump(by_alias=True) | {"custom_details": fit_custom_details(details, budget)}
    return PagerDutyEvent.model_validate(event.model_dump() | {"payload": fitted})


def fit_custom_details(details: dict[str, Any], budget: int) -> dict[str, Any]:
    """`details` when its JSON fits `budget` bytes; else the fields that fit in order, the first that
    does not shortened to its JSON text when room is left, and a note under TRUNCATED_NOTE_KEY."""
    if _json_bytes(details) <= budget:
        return details
    note_room = 400  # the note itself, with counts and key names cut short
    room = budget - note_room - 2  # the braces
    kept: dict[str, Any] = {}
    shortened: list[str] = []
    for key, value in details.items():
        item = _json_bytes({key: value}) - 1  # '"key":value,' without the braces, with a comma
        if item <= room:
            kept[key] = value
            room -= item
            continue
        key_cost = _json_bytes({key: ""}) - 1 + 8  # '"key":"",' and escapes' slack
        if room - key_cost > 200:  # worth showing the start of it
            text = json.dumps(value, ensure_ascii=False, default=str)
            kept[key] = _cut_utf8_json_string(text, room - key_cost)
            shortened.append(key)
        break
    dropped = len(details) - len(kept)
    note = (
        f"custom_details cut to fit PagerDuty's {MAX_EVENT_BYTES // 1024} KB event limit: "
        f"{len(details)} fields, {dropped} dropped"
        + (f", {truncate(shortened[0], 60)!r} shortened to the start of its JSON text" if shortened else "")
    )
    kept[TRUNCATED_NOTE_KEY] = note
    while _json_bytes(kept) > budget and len(kept) > 1:  # belt and braces: never over the limit
        kept.pop(next(k for k in kept if k != TRUNCATED_NOTE_KEY))
    return kept


def _cut_utf8_json_string(text: str, max_bytes: int) -> str:
    """The start of `text`, ending in "…", whose JSON string encoding takes at most `max_bytes`."""
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits
        middle = (low + high + 1) // 2
        if _json_bytes(text[:middle] + "…") <= max_bytes:
            low = middle
        else:
            high = middle - 1
    return text[:low] + "…"


def _short(value: str | None) -> str | None:
    return truncate(value, MAX_FIELD) if value else None


class SendResult(_Frozen):
    status: Literal["accepted"] = "accepted"
    dedup_key: str
    message: str = ""


# --- REST -----------------------------------------------------------------------------------------


class Incident(_Frozen):
    """The fields of a REST incident the sweep needs (`from_api` reads PagerDuty's JSON)."""

    id: str
    incident_key: str | None = None
    status: IncidentStatus
    urgency: Literal["high", "low"] | None = None
    created_at: AwareDatetime
    title: str = ""
    service_id: str
    escalation_policy_id: str | None = None
    assignee_ids: tuple[str, ...] = ()
    # The earliest `at` of its assignments: when its current assignees were assigned. A responder added
    # later does not move it; an escalation or a reassignment replaces every assignment, so it does.
    assigned_at: AwareDatetime | None = None
    html_url: str | None = None
    # Not in the REST API: filled by PagerDutyRest.triggered_incidents from the policy's on-calls
    # (escalation_level_from); None when it cannot be told.
    escalation_level: Annotated[int | None, Field(ge=1)] = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "Incident":
        assignments = data.get("assignments") or ()
        assigned = [_MOMENT.validate_python(a["at"]) for a in assignments if a.get("at") is not None]
        return cls(
            id=data["id"],
            incident_key=data.get("incident_key"),
            status=data["status"],
            urgency=data.get("urgency"),
            created_at=data["created_at"],
            title=data.get("title") or data.get("summary") or "",
            service_id=_ref_id(data.get("service")) or "",
            escalation_policy_id=_ref_id(data.get("escalation_policy")),
            assignee_ids=tuple(
                assignee_id
                for assignment in assignments
                if (assignee_id := _ref_id(assignment.get("assignee")))
            ),
            assigned_at=min(assigned, default=None),
            html_url=data.get("html_url"),
        )


class LogEntry(_Frozen):
    """One entry of an incident's log (GET /incidents/{id}/log_entries): what happened, and when.
    `type` is PagerDuty's: trigger_log_entry, escalate_log_entry, unacknowledge_log_entry, ..."""

    id: str
    type: str
    created_at: AwareDatetime
    agent_type: str | None = None  # who: user_reference (a person), service_reference (PagerDuty), ...

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "LogEntry":
        agent = data.get("agent")
        return cls(
            id=data["id"],
            type=data["type"],
            created_at=data["created_at"],
            agent_type=agent.get("type") if isinstance(agent, Mapping) else None,
        )


class EscalationTarget(_Frozen):
    id: str
    type: str  # user_reference, schedule_reference, ...
    name: str | None = None  # the reference's summary: a person or a schedule


class EscalationRule(_Frozen):
    level: Annotated[int, Field(ge=1)]
    delay_minutes: int
    targets: tuple[EscalationTarget, ...]


class EscalationPolicy(_Frozen):
    id: str
    name: str = ""
    num_loops: int = 0
    rules: tuple[EscalationRule, ...]

    @property
    def levels(self) -> int:
        return len(self.rules)

    def target_names(self, level: int) -> list[str]:
        """Who level `level` (1 first) pages, as PagerDuty names them; [] for a level it does not have."""
        if not 1 <= level <= len(self.rules):
            return []
        return [target.name or target.id for target in self.rules[level - 1].targets]

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "EscalationPolicy":
        rules = tuple(
            EscalationRule(
                level=index,
                delay_minutes=rule.get("escalation_delay_in_minutes") or 0,
                targets=tuple(
                    EscalationTarget(id=target["id"], type=target.get("type", ""), name=target.get("summary"))
                    for target in rule.get("targets") or ()
                ),
            )
            for index, rule in enumerate(data.get("escalation_rules") or (), start=1)
        )
        return cls(
            id=data["id"], name=data.get("name") or "", num_loops=data.get("num_loops") or 0, rules=rules
        )


class OnCall(_Frozen):
    """Someone on call at one level of an escalation policy (GET /oncalls)."""

    policy_id: str
    level: Annotated[int, Field(ge=1)]
    user_id: str
    user_name: str | None = None
    schedule_id: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "OnCall":
        user = data.get("user") or {}
        return cls(
            policy_id=_ref_id(data.get("escalation_policy")) or "",
            level=data["escalation_level"],
            user_id=user["id"],
            user_name=user.get("summary") or user.get("name"),
            schedule_id=_ref_id(data.get("schedule")),
        )


def escalation_level_from(assignee_ids: Sequence[str], on_calls: Iterable[OnCall]) -> int | None:
    """The level the incident's assignees are on call at; None when no assignee is on call, or when
    they are on call at more than one level (a person on two levels: the record cannot tell which)."""
    assignees = set(assignee_ids)
    levels = {on_call.level for on_call in on_calls if on_call.user_id in assignees}
    return levels.pop() if len(levels) == 1 else None


def _ref_id(reference: Any) -> str | None:
    if isinstance(reference, Mapping) and isinstance(reference.get("id"), str):
        return str(reference["id"])
    return None
