"""What a probe saw, before any judgement. Probes (adapters) produce these; conditions judge them."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from runbook.models.quota import QuotaReading
from runbook.models.state import HeartbeatRecord


class FailureKind(StrEnum):
    TIMEOUT = "timeout"
    REFUSED = "refused"
    CONNECTION = "connection"  # DNS, reset, unreachable, closed mid-answer
    TLS = "tls"
    PROTOCOL = "protocol"  # the peer answered something that is not the protocol
    AUTH = "auth"
    LOADING = "loading"  # redis: dataset still loading
    REJECTING = "rejecting"  # postgres: server up, not accepting (starting, shutting down, too many clients)
    QUERY = "query"
    OTHER = "other"


class ProbeFailure(BaseModel):
    """Why a probe got no usable answer. `message` is scrubbed of secrets before it leaves the probe."""

    model_config = ConfigDict(frozen=True)

    kind: FailureKind
    message: str


class _Observation(BaseModel):
    model_config = ConfigDict(frozen=True)

    observed_at: datetime
    latency_s: float | None = None
    failure: ProbeFailure | None = None


class HttpObservation(_Observation):
    target: str  # scheme://host:port/path, no query (it may hold tokens)
    status_code: int | None = None
    body_json: Any = None
    body_is_json: bool = False
    body_text: str | None = None  # at most max_response_bytes, decoded
    body_truncated: bool = False
    location: str | None = None  # of a redirect that was not followed
    cert_not_after: datetime | None = None
    headers: dict[str, str] = Field(
        default_factory=dict, description="Response headers, names lower case, values scrubbed and capped."
    )


class PostgresObservation(_Observation):
    target: str  # host:port/dbname
    server_state: Literal["accepting", "rejecting", "no_response"]
    server_version: str | None = None
    query_ran: bool = False


class RedisObservation(_Observation):
    target: str
    reply: str | None = None


class QueueObservation(_Observation):
    target: str
    depth: int | None = None
    processed_total: int | None = None
    in_flight: int | None = None
    details: dict[str, int | bool | str] = Field(default_factory=dict)  # delayed jobs, paused, ...


class HeartbeatObservation(_Observation):
    latest: HeartbeatRecord | None = None


class IntegrationObservation(_Observation):
    """The status endpoint's answer (latency and failure are its own) and what was read of the quota."""

    target: str
    status_code: int | None = None
    retry_after_s: float | None = Field(default=None, description="From a 429's Retry-After.")
    quota: QuotaReading | None = None
    quota_problem: str | None = Field(default=None, description="Why there is no reading; None if fine.")


Observation = (
    HttpObservation
    | PostgresObservation
    | RedisObservation
    | QueueObservation
    | HeartbeatObservation
    | IntegrationObservation
)
