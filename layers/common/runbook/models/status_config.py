"""The `statuspage:` section of the runbook config: which alerts affect which customer-facing
components, how loud that is on the page, the words customers read, and the Slack channels."""

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from runbook.models.durations import Seconds
from runbook.models.levels import Sev
from runbook.models.paging import AlertMatch
from runbook.models.secrets import SecretRef

ComponentStatus = Literal["operational", "degraded_performance", "partial_outage", "major_outage"]
Impact = Literal["none", "minor", "major", "critical"]
COMPONENT_RANK: dict[str, int] = {
    "operational": 0,
    "degraded_performance": 1,
    "partial_outage": 2,
    "major_outage": 3,
}
IMPACT_RANK: dict[str, int] = {"none": 0, "minor": 1, "major": 2, "critical": 3}
MAX_COMPONENTS = 200
DEFAULT_STATUS: dict[Sev, ComponentStatus] = {"SEV1": "major_outage", "SEV2": "partial_outage"}
DEFAULT_IMPACT: dict[Sev, Impact] = {"SEV1": "critical", "SEV2": "major"}
PROBLEM_WORDS: dict[ComponentStatus, str] = {
    "major_outage": "outage",
    "partial_outage": "partial outage",
    "degraded_performance": "degraded performance",
    "operational": "operational",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StatusComponent(_Strict):
    id: Annotated[str, Field(min_length=1, description="The Statuspage component id.")]
    name: Annotated[str, Field(min_length=1, description="As customers read it, e.g. 'API'.")]
    match: AlertMatch


class Wording(_Strict):
    """Customer-facing text. `{components}` is the affected components' names, `{impact}` the impact."""

    name: str = "{components}: {problem}"
    investigating: str = "We are investigating an issue affecting {components}. We will post an update soon."
    update: str = "We are still working on the issue; affected now: {components}."
    monitoring: str = "A fix has been applied for {components}; we are monitoring the results."
    resolved: str = "{components}: this incident has been resolved and all systems are operating normally."
    problems: dict[ComponentStatus, str] = Field(default_factory=lambda: dict(PROBLEM_WORDS))


class SlackChannels(_Strict):
    ops_alerts: Annotated[
        SecretRef | None, Field(description="#ops-alerts incoming webhook URL (a secret).")
    ] = None
    incident_room: Annotated[
        SecretRef | None, Field(description="#incident-room incoming webhook URL (a secret).")
    ] = None
    update_every: Annotated[Seconds, Field(description="Runbook: internal update every 15 minutes.")] = 900.0


class StatuspageConfig(_Strict):
    page_id: Annotated[str, Field(min_length=1)]
    api_key: SecretRef
    components: Annotated[list[StatusComponent], Field(min_length=1, max_length=MAX_COMPONENTS)]
    sevs: Annotated[list[Sev], Field(min_length=1, description="SEVs that reach the page.")] = [
        "SEV1",
        "SEV2",
    ]
    status: dict[Sev, ComponentStatus] = Field(default_factory=lambda: dict(DEFAULT_STATUS))
    impact: dict[Sev, Impact] = Field(default_factory=lambda: dict(DEFAULT_IMPACT))
    degraded_outcomes: Annotated[
        list[str], Field(description="Outcomes that only slow a component down: degraded_performance.")
    ] = ["too_slow"]
    wording: Wording = Wording()
    quiet_period: Annotated[
        Seconds, Field(description="Monitoring this long with no new failure resolves the incident.")
    ] = 900.0
    slack: SlackChannels = SlackChannels()

    @model_validator(mode="after")
    def _mapped(self) -> "StatuspageConfig":
        missing = [sev for sev in self.sevs if sev not in self.status or sev not in self.impact]
        if missing:
            raise ValueError(f"sevs {missing} need a component `status` and an `impact`")
        ids = [c.id for c in self.components]
        if len(ids) != len(set(ids)):
            raise ValueError("a Statuspage component id is listed twice")
        return self
