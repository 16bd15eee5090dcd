"""What one run of one check found."""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runbook.models.levels import Severity
from runbook.models.observations import HttpPhases


class Outcome(StrEnum):
    """Machine-readable verdict of a check; `reason` carries the human sentence."""

    OK = "ok"
    # any kind
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_ERROR = "connection_error"
    PROBE_ERROR = "probe_error"  # an exception inside the probe itself
    SECRET_UNAVAILABLE = "secret_unavailable"  # noqa: S105 - an outcome name. A secret reference of the check could not be read
    SKIPPED = "skipped"  # not run (run deadline reached); does not move the streaks
    # http
    TLS_ERROR = "tls_error"
    TLS_EXPIRING = "tls_expiring"
    HTTP_STATUS = "http_status"
    BODY_MISMATCH = "body_mismatch"
    TOO_SLOW = "too_slow"
    # postgres (pg_isready's vocabulary, plus what pg_isready cannot tell)
    REJECTING = "rejecting"
    NO_RESPONSE = "no_response"
    BAD_CREDENTIALS = "bad_credentials"
    QUERY_FAILED = "query_failed"
    # redis
    AUTH_FAILED = "auth_failed"
    LOADING = "loading"
    UNEXPECTED_REPLY = "unexpected_reply"
    # queue
    DEPTH_EXCEEDED = "depth_exceeded"
    STALLED = "stalled"
    RATE_DROPPED = "rate_dropped"
    BACKLOG_GROWING = "backlog_growing"
    # heartbeat
    NEVER_REPORTED = "never_reported"
    STALE = "stale"
    REPORTED_FAILURE = "reported_failure"
    # integration (quota check)
    QUOTA_WARNING = "quota_warning"
    QUOTA_CRITICAL = "quota_critical"
    QUOTA_EXHAUSTED = "quota_exhausted"  # 429, or nothing left
    QUOTA_FORECAST = "quota_forecast"  # runs out before it resets, at the current rate
    QUOTA_UNKNOWN = "quota_unknown"  # reachable, but the answer says nothing readable about the quota


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    check: str
    kind: str
    ok: bool
    outcome: Outcome
    reason: str = Field(description="One sentence for a person on call; never contains a secret.")
    observed_at: datetime
    latency_ms: float | None = Field(
        default=None, description="What the target took; for HTTP, the exchange on the wire (see phases)."
    )
    phases: HttpPhases | None = Field(default=None, description="HTTP: where the latency went.")
    details: dict[str, Any] = Field(default_factory=dict, description="Evidence: status code, depth, ...")
    severity: Severity | None = Field(
        default=None, description="How loud this failure is, where it differs from the check's severity."
    )

    @property
    def counts(self) -> bool:
        """Whether this result moves the failure/success streaks."""
        return self.outcome is not Outcome.SKIPPED
