"""What the Statuspage sync remembers (state table): the open SEV1/SEV2 alerts, the source of truth the
page is computed from, and the incident the project opened, with what it last wrote there."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from runbook.models.levels import Sev

MAX_TIMELINE = 50
# Alert keys are at most 200 characters: the list stays well inside a 400 KB DynamoDB item.
MAX_PEOPLE_ALERTS = 1000


class OpenAlert(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    source: str
    check: str
    component: str
    severity: str
    sev: Sev
    labels: dict[str, str] = Field(default_factory=dict)
    summary: str
    observed_at: datetime
    degraded: bool = Field(default=False, description="A latency-only failure: degraded performance.")


class TimelineEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    text: str


class OwnedIncident(BaseModel):
    """The Statuspage incident this project opened and manages; `status`, `impact` and `components` are
    what it last wrote, so that a difference on the page means a person changed it."""

    model_config = ConfigDict(frozen=True)

    incident_id: str
    name: str
    shortlink: str | None = None
    status: str
    impact: str
    components: dict[str, str] = Field(default_factory=dict)
    opened_at: datetime
    monitoring_since: datetime | None = None
    hands_off: bool = Field(default=False, description="A person changed the incident: leave it alone.")
    hands_off_components: list[str] = Field(default_factory=list)
    people_alerts: list[str] = Field(
        default_factory=list,
        max_length=MAX_PEOPLE_ALERTS,
        description="Alerts in a person's hands (keys): open when the person took the incident over, or "
        "told in #incident-room since. They open no other incident; one that resolves leaves the list.",
    )
    page_closed: bool = Field(
        default=False,
        description="The person resolved or deleted the incident on the page: no more reads or reminders; "
        "a failure not in people_alerts opens a new incident.",
    )
    last_reminder_at: datetime | None = None
    timeline: list[TimelineEntry] = Field(default_factory=list, max_length=MAX_TIMELINE)
    version: int = 0

    def noted(self, at: datetime, text: str) -> "OwnedIncident":
        return self.model_copy(
            update={"timeline": [*self.timeline, TimelineEntry(at=at, text=text)][-MAX_TIMELINE:]}
        )
