"""Events that start the scheduled functions: their schedule, and heartbeat reports of outside jobs."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from runbook.models.config import CheckName

HEARTBEAT_SOURCE = "runbook.heartbeat"
HEARTBEAT_DETAIL_TYPE = "Heartbeat"
MAX_HEARTBEAT_SUMMARY = 500


class ScheduledEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: Literal["aws.events"]
    detail_type: Annotated[Literal["Scheduled Event"], Field(alias="detail-type")]
    time: datetime


class HeartbeatReport(BaseModel):
    """What an outside job reports: `aws events put-events` or `runbook heartbeat` sends it."""

    model_config = ConfigDict(extra="ignore")

    check: CheckName
    status: Literal["pass", "fail"]
    summary: Annotated[str, Field(max_length=MAX_HEARTBEAT_SUMMARY * 4)] = ""
    reported_at: datetime | None = None

    @field_validator("reported_at")
    @classmethod
    def _utc_when_naive(cls, value: datetime | None) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


class HeartbeatEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    source: Literal["runbook.heartbeat"]
    detail_type: Annotated[Literal["Heartbeat"], Field(alias="detail-type")]
    time: datetime
    detail: HeartbeatReport


ProbeTrigger = Annotated[ScheduledEvent | HeartbeatEvent, Field(discriminator="source")]
_TRIGGER = TypeAdapter[ScheduledEvent | HeartbeatEvent](ProbeTrigger)
_SCHEDULE = TypeAdapter(ScheduledEvent)


class RejectedEvent(BaseModel):
    """What a function returns for an event it does not handle (not retried: it would fail again)."""

    rejected: str


class RejectedEventError(ValueError):
    """An event the function does not handle; the message says what was expected (no event content)."""


def parse_probe_trigger(event: Any) -> ScheduledEvent | HeartbeatEvent:
    try:
        return _TRIGGER.validate_python(event)
    except ValidationError as error:
        raise RejectedEventError(
            "expected an EventBridge Scheduled Event or a runbook.heartbeat Heartbeat event: " + _where(error)
        ) from None


def parse_schedule(event: Any) -> ScheduledEvent:
    try:
        return _SCHEDULE.validate_python(event)
    except ValidationError as error:
        raise RejectedEventError("expected an EventBridge Scheduled Event: " + _where(error)) from None


def is_schedule(event: Any) -> bool:
    try:
        parse_schedule(event)
    except RejectedEventError:
        return False
    return True


def _where(error: ValidationError) -> str:
    """Where the event differs from what was expected; the locations and messages only, not its content."""
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'event'}: {e['msg']}" for e in error.errors()[:5]
    )
