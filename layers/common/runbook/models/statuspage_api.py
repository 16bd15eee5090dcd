"""What is sent to Statuspage (API v1) and read back from it: incidents, their updates, components.

Limits are Statuspage's: an incident name up to 255 characters, an incident update body up to 25,000
(the runbook keeps well under it: MAX_BODY), metadata whose top-level values are all objects. The
drafts cut the texts to fit ("…" at the end) and refuse metadata Statuspage would refuse. Only
realtime incidents are modelled (not scheduled maintenances). Validation errors quote no value (at most
a metadata key).
"""

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from runbook.text import truncate

ComponentStatus = Literal[
    "operational", "degraded_performance", "partial_outage", "major_outage", "under_maintenance"
]
IncidentStatus = Literal["investigating", "identified", "monitoring", "resolved"]
Impact = Literal["none", "minor", "major", "critical"]

MAX_NAME = 255  # Statuspage's limit
STATUSPAGE_MAX_BODY = 25_000  # Statuspage's limit for an incident update's body
MAX_BODY = 10_000  # ours: an update people read on a status page


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, hide_input_in_errors=True)


# --- read back ------------------------------------------------------------------------------------


class SpComponent(_Frozen):
    id: str
    name: str = ""
    status: ComponentStatus
    updated_at: AwareDatetime | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "SpComponent":
        return cls(
            id=data["id"],
            name=data.get("name") or "",
            status=data["status"],
            updated_at=data.get("updated_at"),
        )


class SpIncidentUpdate(_Frozen):
    id: str
    status: IncidentStatus
    body: str = ""
    created_at: AwareDatetime

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "SpIncidentUpdate":
        return cls(
            id=data["id"], status=data["status"], body=data.get("body") or "", created_at=data["created_at"]
        )


class SpIncident(_Frozen):
    """A realtime incident as Statuspage answers it. `incident_updates` in Statuspage's order (newest
    first); `components`: the components the incident affects, with their current status."""

    id: str
    name: str
    status: IncidentStatus
    impact: Impact
    created_at: AwareDatetime
    updated_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None
    components: list[SpComponent] = Field(default_factory=list)
    incident_updates: list[SpIncidentUpdate] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    shortlink: str | None = None

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> "SpIncident":
        metadata = data.get("metadata")
        return cls(
            id=data["id"],
            name=data.get("name") or "",
            status=data["status"],
            impact=data.get("impact") or "none",
            created_at=data["created_at"],
            updated_at=data.get("updated_at"),
            resolved_at=data.get("resolved_at"),
            components=[SpComponent.from_api(c) for c in data.get("components") or ()],
            incident_updates=[SpIncidentUpdate.from_api(u) for u in data.get("incident_updates") or ()],
            metadata=metadata if isinstance(metadata, dict) else {},
            shortlink=data.get("shortlink") or None,
        )


# --- sent -----------------------------------------------------------------------------------------


def _fit_body(value: Any) -> Any:
    return truncate(value, MAX_BODY) if isinstance(value, str) else value


def _check_metadata(metadata: Mapping[str, Any]) -> None:
    wrong = [key for key, value in metadata.items() if not isinstance(value, dict)]
    if wrong:
        raise ValueError(
            f"Statuspage metadata takes objects as top-level values; {len(wrong)} key(s) are not: "
            + ", ".join(truncate(key, 60) for key in wrong[:5])
        )


class IncidentDraft(_Frozen):
    """A new realtime incident. `name` is cut to 255 characters and `body` (its first update) to
    MAX_BODY; `components` maps component ids to the status to set; `metadata`'s top-level values
    must be objects (Statuspage's rule)."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    status: IncidentStatus = "investigating"
    impact_override: Impact | None = None
    body: Annotated[str, Field(max_length=MAX_BODY)] = ""
    components: dict[str, ComponentStatus] = Field(default_factory=dict)
    metadata: dict[str, Any] = Field(default_factory=dict)
    deliver_notifications: bool = True

    @field_validator("name", mode="before")
    @classmethod
    def _cut_name(cls, value: Any) -> Any:
        return truncate(value, MAX_NAME) if isinstance(value, str) else value

    @field_validator("body", mode="before")
    @classmethod
    def _cut_body(cls, value: Any) -> Any:
        return _fit_body(value)

    @model_validator(mode="after")
    def _statuspage_rules(self) -> "IncidentDraft":
        if not self.name.strip():
            raise ValueError("an incident needs a name")
        _check_metadata(self.metadata)
        return self

    def to_body(self) -> dict[str, Any]:
        """The JSON body of POST /pages/{page_id}/incidents."""
        incident: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.impact_override is not None:
            incident["impact_override"] = self.impact_override
        if self.body:
            incident["body"] = self.body
        if self.components:
            incident["component_ids"] = list(self.components)
            incident["components"] = dict(self.components)
        if self.metadata:
            incident["metadata"] = self.metadata
        incident["deliver_notifications"] = self.deliver_notifications
        return {"incident": incident}


class IncidentChange(_Frozen):
    """What to change on an incident: only the fields set are sent. A status or a body adds an incident
    update on Statuspage; `components` maps component ids to the status to set (and attaches them)."""

    status: IncidentStatus | None = None
    body: Annotated[str | None, Field(max_length=MAX_BODY)] = None
    components: dict[str, ComponentStatus] | None = None
    impact_override: Impact | None = None

    @field_validator("body", mode="before")
    @classmethod
    def _cut_body(cls, value: Any) -> Any:
        return _fit_body(value)

    @property
    def is_empty(self) -> bool:
        return self.status is None and self.body is None and not self.components and not self.impact_override

    def to_body(self) -> dict[str, Any]:
        """The JSON body of PATCH /pages/{page_id}/incidents/{incident_id}."""
        incident: dict[str, Any] = {}
        if self.status is not None:
            incident["status"] = self.status
        if self.body is not None:
            incident["body"] = self.body
        if self.components:
            incident["component_ids"] = list(self.components)
            incident["components"] = dict(self.components)
        if self.impact_override is not None:
            incident["impact_override"] = self.impact_override
        return {"incident": incident}
