"""What is remembered between runs, per check (kept in the DynamoDB state table)."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runbook.models.alert import Alert
from runbook.models.levels import Severity
from runbook.models.quota import MAX_QUOTA_SAMPLES, QuotaSample

CheckStatus = Literal["unknown", "up", "down"]

MAX_QUEUE_SAMPLES = 10


class QueueSample(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    depth: int
    processed_total: int | None = Field(
        default=None, description="Jobs finished since the queue was created, where the backend tells."
    )


class CheckState(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    status: CheckStatus = "unknown"
    level: Severity | None = Field(default=None, description="While down: the severity of the open alert.")
    failures: int = Field(default=0, description="Consecutive runs worse than the current level.")
    successes: int = Field(default=0, description="Consecutive runs better than the current level.")
    streak_level: Severity | None = Field(
        default=None, description="The level the running streak would move to (None: healthy)."
    )
    changed_at: datetime | None = None
    last_outcome: str | None = None
    last_reason: str | None = None
    samples: list[QueueSample] = Field(default_factory=list, max_length=MAX_QUEUE_SAMPLES)
    quota_samples: list[QuotaSample] = Field(default_factory=list, max_length=MAX_QUOTA_SAMPLES)
    pending_alert: Alert | None = Field(
        default=None, description="Decided but not yet published: retried on the next run (outbox)."
    )
    last_alert: Alert | None = Field(
        default=None, description="The last alert published: a check removed while DOWN is resolved from it."
    )
    version: int = Field(default=0, description="Optimistic lock: every write expects the version it read.")


class HeartbeatRecord(BaseModel):
    """The latest report of an outside job for a `heartbeat` check."""

    model_config = ConfigDict(frozen=True)

    check: str
    status: Literal["pass", "fail"]
    reported_at: datetime
    summary: str = ""
    last_pass_at: datetime | None = None
