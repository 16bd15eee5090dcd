"""The `pagerduty:` section of the runbook config: who is paged for which alert, how loud, when not
(maintenance windows), which alerts are one problem (groups), and the ack-deadline escalation."""

import fnmatch
from datetime import datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, model_validator

from runbook.models.durations import Seconds
from runbook.models.levels import Sev, Severity
from runbook.models.secrets import SecretRef

PagerDutySeverity = Literal["critical", "error", "warning", "info"]
Urgency = Literal["high", "low", "none"]
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
    """Alerts inside a window do not page (they are logged and counted); resolves are always sent."""

    name: str
    match: AlertMatch = AlertMatch()
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
        return self

    def covers(self, when: datetime) -> bool:
        if self.start is not None and self.end is not None:
            return self.start <= when < self.end
        assert self.weekly is not None
        weekly = self.weekly
        for days_back in range(8):  # a window may start on an earlier day and run past midnight
            day = (when - timedelta(days=days_back)).date()
            if WEEKDAYS[day.weekday()] != weekly.day:
                continue
            opens = datetime.combine(day, weekly.start, tzinfo=when.tzinfo)
            if opens <= when < opens + timedelta(seconds=weekly.duration):
                return True
        return False


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
