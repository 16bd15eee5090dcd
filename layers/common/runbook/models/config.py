"""The runbook config (config/runbook.yaml): what to check, how, and how loud a failure is.

Validated once at cold start. Every model forbids unknown keys so that a typo is an error that
names its place rather than a silently ignored setting.
"""

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from runbook.models.durations import Seconds
from runbook.models.field_error import ConfigFieldError
from runbook.models.levels import Sev, Severity
from runbook.models.paging import PagerDutyConfig
from runbook.models.quota import MAX_QUOTA_SAMPLES
from runbook.models.secrets import SecretRef, TextOrSecret
from runbook.models.status_config import StatuspageConfig

CheckName = Annotated[
    str,
    Field(
        pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$",
        description="Unique, stable name: lower case letters, digits, '.', '_' or '-' (max 63).",
    ),
]
Port = Annotated[int, Field(ge=1, le=65535)]
MAX_CHECKS = 2000
MAX_INTEGRATIONS = 500


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckDefaults(_Strict):
    """Values every check inherits unless it sets its own."""

    timeout: Seconds = 5.0
    failure_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    success_threshold: Annotated[int, Field(ge=1, le=100)] = 2
    severity: Severity = "critical"
    sev: Sev = "SEV2"


class CheckBase(_Strict):
    name: CheckName
    component: Annotated[str | None, Field(description="What the check watches; defaults to its name.")] = (
        None
    )
    description: str = ""
    enabled: bool = True
    severity: Severity = "critical"
    sev: Sev = "SEV2"
    timeout: Annotated[Seconds, Field(description="Limit for the whole check, connection included.")] = 5.0
    failure_threshold: Annotated[
        int, Field(ge=1, le=100, description="Consecutive failures before the check is DOWN.")
    ] = 2
    success_threshold: Annotated[
        int, Field(ge=1, le=100, description="Consecutive successes before a DOWN check is UP again.")
    ] = 2
    labels: dict[str, str] = Field(default_factory=dict)
    runbook_url: HttpUrl | None = None
    dashboard_url: HttpUrl | None = None
    metrics: Annotated[
        bool,
        Field(
            description="Send this check's own CloudWatch metrics (success and latency, about $0.60 a "
            "month a check); off, its results are still in the logs and the run's metrics."
        ),
    ] = False

    @property
    def component_name(self) -> str:
        return self.component or self.name


def _reject_credentials_in_url(url: HttpUrl) -> HttpUrl:
    if urlsplit(str(url)).password is not None:
        raise ValueError("a password in the URL would leak into logs and alerts; use a secret reference")
    return url


# A URL the probes request: a password in it would leak into logs and alerts.
TargetUrl = Annotated[HttpUrl, AfterValidator(_reject_credentials_in_url)]


class HttpExpect(_Strict):
    status: Annotated[list[Annotated[int, Field(ge=100, le=599)]], Field(min_length=1)] = [200]
    json_fields: Annotated[
        dict[str, Any] | None,
        Field(
            alias="json", description="Fields the JSON body must contain (nested objects match as subsets)."
        ),
    ] = None
    body_contains: str | None = None
    max_latency: Annotated[Seconds | None, Field(description="Slower answers fail (runbook: 200ms).")] = None

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class HttpTls(_Strict):
    ca_file: Annotated[str | None, Field(description="PEM bundle for a private CA.")] = None
    min_days_to_expiry: Annotated[
        int, Field(ge=0, le=3650, description="Fail when the certificate expires sooner (0: off).")
    ] = 14


class HttpCheck(CheckBase):
    kind: Literal["http"]
    url: TargetUrl
    method: Literal["GET", "HEAD", "POST"] = "GET"
    headers: dict[str, TextOrSecret] = Field(default_factory=dict)
    query: Annotated[
        dict[str, TextOrSecret],
        Field(description="Query parameters added to the URL, e.g. an API key as a secret reference."),
    ] = Field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = False
    max_redirects: Annotated[int, Field(ge=0, le=20)] = 5
    expect: HttpExpect = HttpExpect()
    tls: HttpTls = HttpTls()


class PostgresCheck(CheckBase):
    kind: Literal["postgres"]
    host: Annotated[str, Field(min_length=1)]
    port: Port = 5432
    dbname: str = "postgres"
    user: Annotated[str, Field(min_length=1)]
    password: SecretRef | None = None
    sslmode: Literal["disable", "allow", "prefer", "require", "verify-ca", "verify-full"] = "prefer"
    sslrootcert: str | None = None
    query: Annotated[str | None, Field(description="Optional query that must succeed, e.g. 'select 1'.")] = (
        None
    )


class RedisConnection(_Strict):
    host: Annotated[str, Field(min_length=1)]
    port: Port = 6379
    db: Annotated[int, Field(ge=0, le=10000)] = 0
    username: Annotated[str | None, Field(description="ACL user (Redis 6+).")] = None
    password: SecretRef | None = None
    tls: bool = False
    ca_file: Annotated[str | None, Field(description="PEM bundle to verify the server with TLS.")] = None


class RedisCheck(CheckBase, RedisConnection):
    kind: Literal["redis"]


class QueueRate(_Strict):
    """How "processing rate stable" is judged, from samples kept between runs."""

    max_drop_percent: Annotated[
        int,
        Field(
            ge=1, le=100, description="Fail when the processing rate falls by more than this while jobs wait."
        ),
    ] = 50
    growing_samples: Annotated[
        int,
        Field(ge=2, le=10, description="Fail when the depth grew in this many consecutive samples."),
    ] = 3


class _QueueCheckBase(CheckBase):
    kind: Literal["queue"]
    max_depth: Annotated[int, Field(ge=1, description="Fail at this depth or more (runbook: < 100).")] = 100
    rate: Annotated[QueueRate | None, Field(description="null: judge depth only.")] = QueueRate()


class BullmqQueueCheck(_QueueCheckBase):
    backend: Literal["bullmq"]
    redis: RedisConnection
    queue: Annotated[str, Field(min_length=1)]
    prefix: str = "bull"


class RedisListQueueCheck(_QueueCheckBase):
    backend: Literal["redis_list"]
    redis: RedisConnection
    key: Annotated[str, Field(min_length=1)]


class SqsQueueCheck(_QueueCheckBase):
    backend: Literal["sqs"]
    queue_url: HttpUrl


QueueCheck = Annotated[BullmqQueueCheck | RedisListQueueCheck | SqsQueueCheck, Field(discriminator="backend")]


class HeartbeatCheck(CheckBase):
    """Fed from outside (e.g. the CI job that runs the web app's e2e and Lighthouse suite)."""

    kind: Literal["heartbeat"]
    max_age: Annotated[Seconds, Field(description="Fail when no passing report arrived within this window.")]
    require_pass: Annotated[bool, Field(description="A failing latest report fails the check.")] = True


Check = Annotated[
    HttpCheck | PostgresCheck | RedisCheck | QueueCheck | HeartbeatCheck, Field(discriminator="kind")
]


JsonPath = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9_$-]+(\[\d+\])*(\.[A-Za-z0-9_$-]+(\[\d+\])*)*$",
        description='Where a value sits in the JSON body: "quota.used", "limits[0].remaining".',
    ),
]


class IntegrationAuth(_Strict):
    """How the integration's API wants its credential: a header or a query parameter."""

    header: Annotated[str | None, Field(description='Header name, e.g. "Authorization".')] = None
    query: Annotated[str | None, Field(description='Query parameter name, e.g. "api_key".')] = None
    value: SecretRef
    prefix: Annotated[str, Field(description='Put before the secret, e.g. "Bearer ".')] = ""

    @model_validator(mode="after")
    def _one_place(self) -> "IntegrationAuth":
        if (self.header is None) == (self.query is None):
            raise ValueError("set exactly one of auth.header or auth.query")
        return self


class QuotaFields(_Strict):
    """Where the quota is in a JSON body: a percentage, or two of used / limit / remaining."""

    used: JsonPath | None = None
    limit: JsonPath | None = None
    remaining: JsonPath | None = None
    percent: JsonPath | None = None
    reset: Annotated[
        JsonPath | None,
        Field(description="Reset time: epoch seconds or milliseconds, ISO 8601, or seconds from now."),
    ] = None
    limit_value: Annotated[
        float | None, Field(gt=0, description="A fixed limit, for APIs that report only what is used.")
    ] = None

    @model_validator(mode="after")
    def _enough_to_compute(self) -> "QuotaFields":
        has_limit = self.limit is not None or self.limit_value is not None
        if self.percent is None and not (has_limit and (self.used or self.remaining)):
            raise ValueError(
                "a quota needs `percent`, or `limit` (or `limit_value`) with `used` or `remaining`"
            )
        return self


class HeaderQuota(_Strict):
    """The status answer's rate-limit headers (X-RateLimit-*, RateLimit/RateLimit-Policy, ...)."""

    source: Literal["headers"] = "headers"


class BodyQuota(QuotaFields):
    """Fields of the status answer's JSON body."""

    source: Literal["body"]


class EndpointQuota(_Strict):
    """A separate usage endpoint, read with the same auth: its JSON fields, or its headers."""

    source: Literal["endpoint"]
    url: TargetUrl
    fields: Annotated[QuotaFields | None, Field(description="null: read its rate-limit headers.")] = None


QuotaSource = Annotated[HeaderQuota | BodyQuota | EndpointQuota, Field(discriminator="source")]
Percent = Annotated[float, Field(gt=0, le=100)]


class QuotaForecast(_Strict):
    """Warn early when the quota runs out before it resets, at the rate of the recent samples."""

    enabled: bool = True
    min_samples: Annotated[
        int, Field(ge=2, le=MAX_QUOTA_SAMPLES, description="Samples in the current window before it speaks.")
    ] = 3
    horizon: Annotated[
        Seconds, Field(description="When the reset time is unknown: warn if the quota runs out sooner.")
    ] = 3600.0


class IntegrationCheck(CheckBase):
    """A third-party integration: its /status endpoint answers 2xx, and its quota lasts (runbook: < 80 %).

    `severity` is used when the status endpoint fails or the quota is used up; the quota levels below
    have their own."""

    kind: Literal["integration"] = "integration"
    status_url: TargetUrl
    auth: IntegrationAuth | None = None
    headers: dict[str, TextOrSecret] = Field(default_factory=dict)
    quota: Annotated[
        QuotaSource | None, Field(description="null: the integration has no quota to watch.")
    ] = HeaderQuota()
    warning_percent: Annotated[Percent, Field(description="Warning at this usage (runbook: 80).")] = 80.0
    critical_percent: Annotated[Percent, Field(description="Critical at this usage.")] = 95.0
    quota_unknown: Annotated[
        Literal["ignore", "info", "warning"],
        Field(description="How loud an answer without quota information is."),
    ] = "info"
    forecast: QuotaForecast = QuotaForecast()
    tls: HttpTls = HttpTls()

    @model_validator(mode="after")
    def _levels_in_order(self) -> "IntegrationCheck":
        if self.warning_percent >= self.critical_percent:
            raise ValueError(
                f"warning_percent ({self.warning_percent:g}) must be below "
                f"critical_percent ({self.critical_percent:g})"
            )
        return self


# Anything the probe runner runs: a health check or an integration of the quota check.
AnyCheck = (
    HttpCheck
    | PostgresCheck
    | RedisCheck
    | BullmqQueueCheck
    | RedisListQueueCheck
    | SqsQueueCheck
    | HeartbeatCheck
    | IntegrationCheck
)


class ProbeSettings(_Strict):
    max_concurrency: Annotated[int, Field(ge=1, le=1000, description="Checks in flight at once.")] = 64
    deadline_margin: Annotated[
        Seconds, Field(description="Time kept back from the Lambda deadline to save state and publish.")
    ] = 5.0
    max_response_bytes: Annotated[int, Field(ge=1024, le=10_485_760)] = 65536


class RunbookConfig(_Strict):
    version: Literal[1] = 1
    defaults: CheckDefaults = CheckDefaults()
    probe: ProbeSettings = ProbeSettings()
    checks: Annotated[list[Check], Field(max_length=MAX_CHECKS)] = Field(default_factory=list)
    pagerduty: Annotated[
        PagerDutyConfig | None, Field(description="Paging and ack-deadline escalation (PagerDuty).")
    ] = None
    statuspage: Annotated[
        StatuspageConfig | None,
        Field(description="Customer communication for SEV1/SEV2 (Statuspage, Slack)."),
    ] = None
    integrations: Annotated[
        list[IntegrationCheck],
        Field(max_length=MAX_INTEGRATIONS, description="Third-party integrations for the quota check."),
    ] = Field(default_factory=list)

    @model_validator(mode="before")
    @classmethod
    def _inherit_defaults(cls, data: Any) -> Any:
        """Copy `defaults` into each check and integration that does not set the value itself."""
        if not isinstance(data, dict):
            return data
        try:
            defaults = CheckDefaults.model_validate(data.get("defaults") or {})
        except ValueError:
            return data  # reported once, at `defaults`, not again for every check
        inherited = defaults.model_dump(exclude_unset=True)
        data = dict(data)
        for section in ("checks", "integrations"):
            if isinstance(data.get(section), list):
                data[section] = [{**inherited, **c} if isinstance(c, dict) else c for c in data[section]]
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> "RunbookConfig":
        # One namespace: checks and integrations share the state table's keys and the alert keys' names.
        seen: dict[str, tuple[str, int]] = {}
        entries = [("checks", i, c.name) for i, c in enumerate(self.checks)]
        entries += [("integrations", i, c.name) for i, c in enumerate(self.integrations)]
        for section, index, name in entries:
            if name in seen:
                first = seen[name]
                raise ConfigFieldError(
                    (section, index, "name"),
                    f"{name!r} is used twice; check and integration names must be unique: rename this "
                    f"one or {first[0]}[{first[1]}]",
                    see=(*first, "name"),
                )
            seen[name] = (section, index)
        return self

    def enabled_checks(self) -> list[Check]:
        return [c for c in self.checks if c.enabled]

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)

    def enabled_integrations(self) -> list[IntegrationCheck]:
        return [i for i in self.integrations if i.enabled]
