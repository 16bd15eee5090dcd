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


PHASE_NAMES = {
    "dns": "DNS lookup",
    "connect": "TCP connect",
    "tls": "TLS handshake",
    "send": "sending the request",
    "first_byte": "time to first byte",
    "body": "reading the body",
}


class HttpPhases(BaseModel):
    """Where the latency of an HTTP exchange went, in ms, from the HTTP stack's trace events (summed over
    the hops of followed redirects). A phase that did not happen is None: no DNS lookup for an IP address,
    no connect or TLS handshake on a reused connection, no TLS for http://."""

    model_config = ConfigDict(frozen=True)

    dns_ms: float | None = Field(default=None, description="Looking the host name up.")
    connect_ms: float | None = Field(default=None, description="TCP connection, after the DNS lookup.")
    tls_ms: float | None = Field(default=None, description="TLS handshake.")
    send_ms: float | None = Field(default=None, description="Writing the request.")
    first_byte_ms: float | None = Field(
        default=None, description="From the request sent to the answer's headers: the server's time."
    )
    body_ms: float | None = Field(default=None, description="Reading the body.")
    reused: bool = Field(default=False, description="Over a pooled connection: nothing was connected.")

    def slowest(self) -> tuple[str, float] | None:
        """(phase, ms) of the longest phase (a key of PHASE_NAMES), or None when none was timed."""
        timed = self.timed_ms()
        return max(timed.items(), key=lambda item: item[1]) if timed else None

    def timed_ms(self) -> dict[str, float]:
        """The phases that happened, in order, e.g. {"connect": 0.3, "send": 0.1, "first_byte": 1.2, ...}."""
        return {name: ms for name in PHASE_NAMES if (ms := getattr(self, f"{name}_ms")) is not None}


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
    phases: HttpPhases | None = None  # None: the transport reported no trace events
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
    phases: HttpPhases | None = None  # of the /status request
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
