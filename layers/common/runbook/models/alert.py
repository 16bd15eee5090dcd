"""The alert this project publishes on the AlertsTopic: `runbook.alert/v1`.

Consumers (PagerDuty and Statuspage functions, SNS filter policies, people) rely on these fields;
add optional fields freely, but renaming or removing one is a new schema version.
"""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runbook.models.levels import Sev, Severity

ALERT_SCHEMA: Literal["runbook.alert/v1"] = "runbook.alert/v1"
AlertStatus = Literal["firing", "resolved"]
# Fields copied into SNS message attributes so that subscription filter policies can use them.
FILTERABLE_FIELDS = ("schema", "status", "severity", "sev", "source", "check", "component")


class Alert(BaseModel):
    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_: Annotated[Literal["runbook.alert/v1"], Field(alias="schema")] = ALERT_SCHEMA
    key: Annotated[
        str,
        Field(
            max_length=200,
            description="Stable identity of the problem: the same problem always has this key.",
        ),
    ]
    status: AlertStatus
    severity: Severity
    sev: Sev
    summary: Annotated[str, Field(max_length=1024)]
    source: Annotated[str, Field(description="Producer, e.g. health-probe, cloudwatch, alertmanager.")]
    check: str
    component: str
    observed_at: datetime
    details: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "What the check saw: outcome, reason, latency_ms, thresholds, change, down_since, evidence; for"
            " HTTP checks also phases_ms (where latency_ms went: dns, connect, tls, send, first_byte, body;"
            " a phase that did not happen is absent) and connection_reused."
        ),
    )
    labels: dict[str, str] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict, description="runbook, dashboard, ...")

    def message_attributes(self) -> dict[str, str]:
        dumped = self.to_message()
        attributes = {field: str(dumped[field]) for field in FILTERABLE_FIELDS}
        change = self.details.get("change")
        if isinstance(change, str) and change:
            # down, up, escalated, deescalated, retired: a de-escalated alert may leave a SEV filter's range
            attributes["change"] = change
        return attributes

    def to_message(self) -> dict[str, Any]:
        return self.model_dump(mode="json", by_alias=True)
