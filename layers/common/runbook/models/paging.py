"""The `pagerduty:` section of the runbook config: who is paged for which alert, how loud, when not
(muting maintenance windows) or with a word of context (annotating change windows), which alerts are
one problem (groups), and the ack-deadline escalation."""

import fnmatch
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from runbook.models.durations import Seconds
from runbook.models.levels import Sev, Severity
from runbook.models.secrets import SecretRef

PagerDutySeverity = Literal["critical", "error", "warning", "info"]
Urgency = Literal["high", "low", "none"]
WindowMode = Literal["mute", "annotate"]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = (
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
)
ServiceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")]
MAX_RULES = 500
# PagerDuty services decide urgency from the event's severity ("Based on alert severity": critical and
# error are high urgency, warning and info low): so urgency is sent as a severity.
URGENCY_SEVERITY: dict[Urgency, PagerDutySeverity | None] = {
    "high": "critical",
    "low": "warning",
    "none": None,
}
DEFAULT_URGENCY: dict[Severity, Urgency] = {"critical": "high", "warning": "low", "info": "none"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _one_or_many(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


# `check: api-*` or `check: [api-*, web-*]`
Patterns = Annotated[
    list[str],
    BeforeValidator(_one_or_many),
    WithJsonSchema(
        {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]},
        mode="validation",
    ),
]


class AlertMatch(_Strict):
    """All given fields must match (an empty match matches every alert). Values may use shell
    wildcards: `api-gateway-*`."""

    source: Patterns | None = None
    check: Patterns | None = None
    component: Patterns | None = None
    severity: list[Severity] | None = None
    sev: list[Sev] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    dimensions: Annotated[
        dict[str, str], Field(description="CloudWatch alarm dimensions (labels `dimension.<Name>`).")
    ] = Field(default_factory=dict)

    def matches(self, alert: Any) -> bool:
        """`alert`: a runbook Alert (duck-typed here so that models do not import each other)."""
        fields = (("source", self.source), ("check", self.check), ("component", self.component))
        for name, patterns in fields:
            if patterns is not None and not _any_match(str(getattr(alert, name)), patterns):
                return False
        if self.severity is not None and alert.severity not in self.severity:
            return False
        if self.sev is not None and alert.sev not in self.sev:
            return False
        wanted = self.labels | {f"dimension.{name}": value for name, value in self.dimensions.items()}
        return all(
            name in alert.labels and fnmatch.fnmatchcase(alert.labels[name], pattern)
            for name, pattern in wanted.items()
        )

    def is_empty(self) -> bool:
        """No field given: matches every alert."""
        return self == AlertMatch()

    def matches_everything(self) -> bool:
        """Every given field lets every alert through (`check: "*"`, all severities, ...)."""
        if self.labels or self.dimensions:
            return False  # a label pattern, even "*", needs the label
        patterns = (self.source, self.check, self.component)
        if any(p is not None and not any(set(x) == {"*"} for x in p) for p in patterns):
            return False
        if self.severity is not None and set(self.severity) != set(get_args(Severity)):
            return False
        return self.sev is None or set(self.sev) == set(get_args(Sev))


def _any_match(value: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(value, pattern) for pattern in patterns)


class PagerDutyService(_Strict):
    routing_key: Annotated[SecretRef, Field(description="The Events API v2 integration key (a secret).")]
    service_id: Annotated[
        str | None, Field(description="REST id (e.g. PABC123): its incidents get the ack-deadline sweep.")
    ] = None


class Route(_Strict):
    """First matching route wins; unset fields keep the alert's own values and the defaults."""

    match: AlertMatch = AlertMatch()
    service: ServiceName | None = None
    sev: Sev | None = None
    severity: Annotated[
        PagerDutySeverity | None, Field(description="PagerDuty severity; overrides the one urgency implies.")
    ] = None
    urgency: Annotated[Urgency | None, Field(description="none: never page (logged and counted).")] = None


class Group(_Strict):
    """Alerts that share a root (every check behind one gateway) page as one PagerDuty alert, open while
    any of them fires."""

    name: ServiceName
    match: AlertMatch
    summary: str | None = None


class WeeklyWindow(_Strict):
    day: Weekday
    start: Annotated[time, Field(description='UTC, "16:00".')]
    duration: Seconds


class MaintenanceWindow(_Strict):
    """`mute` (Alertmanager's silence): matching firing alerts do not page while the window is open;
    they are remembered, and those still firing when it ends page then (the minute sweep); one resolved
    inside never pages. Resolves are always sent. `annotate` (a change window): alerts page as usual
    and say in their details that they fired during the window."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    mode: Annotated[
        WindowMode,
        Field(description="mute: hold matching pages until the window ends; annotate: page, and say so."),
    ] = "mute"
    match: Annotated[
        AlertMatch, Field(description="Which alerts the window is for; a muting window needs one.")
    ] = AlertMatch()
    weekly: WeeklyWindow | None = None
    start: datetime | None = None
    end: datetime | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> "MaintenanceWindow":
        one_off = self.start is not None or self.end is not None
        if (self.weekly is None) == (not one_off):
            raise ValueError("a maintenance window is either `weekly` or a one-off `start` and `end`")
        if one_off:
            if self.start is None or self.end is None:
                raise ValueError("a one-off maintenance window needs both `start` and `end`")
            if self.start.tzinfo is None or self.end.tzinfo is None:
                raise ValueError("give `start` and `end` with a time zone, e.g. 2026-12-01T22:00:00Z")
            if self.end <= self.start:
                raise ValueError("`end` must be after `start`")
        if self.mode == "mute" and self.match.is_empty():
            raise ValueError(
                f"maintenance window {self.name!r} mutes pages (mode: mute, the default) but has no "
                "`match`: it would hold back every page of every source. Name what is under "
                "maintenance (e.g. `match: {check: postgres-*}`), or set `mode: annotate` for a change "
                "window: alerts then page as usual and say they fired during it"
            )
        return self

    def matches(self, alert: Any) -> bool:
        return self.match.matches(alert)

    def covers(self, when: datetime) -> bool:
        return self.occurrence(when) is not None

    def occurrence(self, when: datetime) -> tuple[datetime, datetime] | None:
        """(opens, ends) of the window's occurrence that covers `when`; None when it is closed."""
        if self.start is not None and self.end is not None:
            return (self.start, self.end) if self.start <= when < self.end else None
        assert self.weekly is not None
        weekly = self.weekly
        for days_back in range(8):  # a window may start on an earlier day and run past midnight
            day = (when - timedelta(days=days_back)).date()
            if WEEKDAYS[day.weekday()] != weekly.day:
                continue
            opens = datetime.combine(day, weekly.start, tzinfo=when.tzinfo)
            ends = opens + timedelta(seconds=weekly.duration)
            if opens <= when < ends:
                return opens, ends
        return None


class AckEscalation(_Strict):
    """Triggered incidents not acknowledged within the deadline move to the next escalation level."""

    enabled: bool = True
    deadline: Annotated[Seconds, Field(description="Runbook: acknowledge within 5 minutes.")] = 300.0
    deadlines: Annotated[dict[Sev, Seconds], Field(description="Per SEV, where it differs.")] = Field(
        default_factory=dict
    )
    api_token: Annotated[SecretRef | None, Field(description="REST API token (a secret).")] = None
    from_email: Annotated[
        str | None, Field(description="A PagerDuty user's email: REST writes need it (From header).")
    ] = None
    path: Annotated[
        list[str], Field(description="Who each escalation level is, for the note: level 1 first.")
    ] = Field(
        default_factory=lambda: [
            "on-call",
            "secondary on-call",
            "engineering manager",
            "VP engineering / incident commander",
        ]
    )

    def deadline_for(self, sev: str | None) -> float:
        return self.deadlines.get(sev, self.deadline) if sev else self.deadline  # type: ignore[call-overload]


class PagerDutyConfig(_Strict):
    services: Annotated[dict[ServiceName, PagerDutyService], Field(min_length=1)]
    default_service: ServiceName
    routes: Annotated[list[Route], Field(max_length=MAX_RULES)] = Field(default_factory=list)
    groups: Annotated[list[Group], Field(max_length=MAX_RULES)] = Field(default_factory=list)
    maintenance: Annotated[list[MaintenanceWindow], Field(max_length=MAX_RULES)] = Field(default_factory=list)
    triggers_per_minute: Annotated[
        int,
        Field(
            ge=1,
            le=110,
            description="Events (triggers and resolves alike) per routing key in any rolling 60 s before "
            "further triggers are folded into one storm alert; PagerDuty takes about 120: the rest is "
            "headroom for resolves and the storm alert.",
        ),
    ] = 100
    ack: AckEscalation = AckEscalation()

    @model_validator(mode="after")
    def _services_exist(self) -> "PagerDutyConfig":
        named = [self.default_service, *(r.service for r in self.routes if r.service)]
        unknown = sorted({name for name in named if name not in self.services})
        if unknown:
            raise ValueError(f"unknown PagerDuty service(s) {unknown}; defined: {sorted(self.services)}")
        sweeps = self.ack.enabled and any(s.service_id for s in self.services.values())
        if sweeps and (self.ack.api_token is None or not self.ack.from_email):
            raise ValueError("the ack-deadline sweep needs ack.api_token and ack.from_email")
        return self

    def warnings(self) -> list[tuple[tuple[str | int, ...], str]]:
        """What is valid but probably not meant, with where (`runbook validate` prints these)."""
        return [
            (
                ("pagerduty", "maintenance", n),
                f"maintenance window {w.name!r}: its `match` lets every alert through, so it "
                "holds back every page of every source while it is open; narrow the match to what is "
                "under maintenance, or set `mode: annotate` to page as usual and say so in the details",
            )
            for n, w in enumerate(self.maintenance)
            if w.mode == "mute" and w.match.matches_everything()
        ]
