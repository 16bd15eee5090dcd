"""Integration probe: the /status endpoint, then the quota from its headers, its body or a usage endpoint.

Both requests go through the HTTP probe (same pooled clients, timeouts, TLS and secret handling) and
share one deadline: the check's timeout.
"""

import time
from datetime import datetime, timedelta

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.http import HttpProbe
from runbook.adapters.probes.quota_fields import read_quota_fields
from runbook.adapters.probes.rate_limits import parse_retry_after, read_rate_limit_headers
from runbook.models.config import (
    BodyQuota,
    EndpointQuota,
    HeaderQuota,
    HttpCheck,
    HttpExpect,
    IntegrationCheck,
    QuotaFields,
)
from runbook.models.observations import HttpObservation, IntegrationObservation
from runbook.models.quota import QuotaFormatError, QuotaReading, quota_reading
from runbook.models.secrets import TextOrSecret

MIN_USAGE_TIMEOUT = 0.2  # below this, the usage request is not worth starting
TOO_MANY_REQUESTS = 429


class IntegrationProbe:
    """Implements the Probe protocol for `IntegrationCheck`."""

    def __init__(self, http: HttpProbe | None = None) -> None:
        self._http = http or HttpProbe()

    async def observe(self, check: IntegrationCheck, env: ProbeEnvironment) -> IntegrationObservation:
        started = time.monotonic()
        status = await self._http.observe(_request(check, str(check.status_url), check.timeout, env), env)
        observation = IntegrationObservation(
            observed_at=status.observed_at,
            latency_s=status.latency_s,
            phases=status.phases,
            failure=status.failure,
            target=status.target,
            status_code=status.status_code,
        )
        if status.status_code is None:
            return observation
        if not _succeeded(status):
            # A refusal (429, or GitHub's 403 at its primary rate limit) may still say what is left and
            # when it resets; a header that cannot be read changes nothing about the refusal itself.
            reading, _ = _from_headers(status, observation.observed_at)
            retry_after = status.headers.get("retry-after")
            return observation.model_copy(
                update={
                    "quota": reading,
                    "retry_after_s": parse_retry_after(retry_after, observation.observed_at)
                    if retry_after
                    else None,
                }
            )
        if check.quota is None:
            return observation
        # Both requests share the check's timeout: the usage endpoint gets what the status request left.
        left = round(check.timeout - (time.monotonic() - started), 2)
        reading, problem = await self._read_quota(check, status, env, usage_timeout=left)
        return observation.model_copy(update={"quota": reading, "quota_problem": problem})

    async def close(self, env: ProbeEnvironment) -> None:
        await self._http.close(env)

    async def _read_quota(
        self, check: IntegrationCheck, status: HttpObservation, env: ProbeEnvironment, *, usage_timeout: float
    ) -> tuple[QuotaReading | None, str | None]:
        # `usage_timeout` becomes the usage request's own check timeout, which the HTTP probe enforces.
        now = status.observed_at
        match check.quota:
            case HeaderQuota():
                return _from_headers(status, now)
            case BodyQuota():
                return _from_fields(status, check.quota, now)
            case EndpointQuota(url=url, fields=fields):
                if usage_timeout < MIN_USAGE_TIMEOUT:
                    return None, f"no time left for the usage endpoint within the check's {check.timeout:g} s"
                usage = await self._http.observe(_request(check, str(url), usage_timeout, env), env)
                if usage.status_code == TOO_MANY_REQUESTS:  # the usage endpoint's own refusal: nothing left
                    return _refused_reading(usage, now), None
                if usage.failure is not None:
                    return None, f"usage endpoint {usage.target}: {usage.failure.message}"
                if not _succeeded(usage):
                    return None, f"usage endpoint {usage.target} answered HTTP {usage.status_code}"
                return _from_headers(usage, now) if fields is None else _from_fields(usage, fields, now)
        return None, None


def _request(check: IntegrationCheck, url: str, timeout: float, env: ProbeEnvironment) -> HttpCheck:
    """The HTTP request of one step, with the integration's credential in its header or query. The
    request lives only for this step; the HTTP probe masks the credential in whatever it reports."""
    headers: dict[str, TextOrSecret] = dict(check.headers)
    query: dict[str, TextOrSecret] = {}
    auth = check.auth
    if auth is not None:
        credential = auth.prefix + env.secrets.value(auth.value)
        if auth.header is not None:
            headers[auth.header] = credential
        elif auth.query is not None:
            query[auth.query] = credential
    return HttpCheck(
        kind="http",
        name=check.name,
        url=url,
        headers=headers,
        query=query,
        timeout=timeout,
        tls=check.tls,
        expect=HttpExpect(status=list(range(200, 300))),
    )


def _refused_reading(observation: HttpObservation, now: datetime) -> QuotaReading:
    retry_after = observation.headers.get("retry-after")
    delay = parse_retry_after(retry_after, now) if retry_after else None
    reset_at = now + timedelta(seconds=delay) if delay is not None else None
    return quota_reading(source=f"{observation.target} answered HTTP 429", percent=100.0, reset_at=reset_at)


def _succeeded(observation: HttpObservation) -> bool:
    return observation.status_code is not None and 200 <= observation.status_code < 300


def _from_headers(observation: HttpObservation, now: datetime) -> tuple[QuotaReading | None, str | None]:
    try:
        reading = read_rate_limit_headers(observation.headers, now)
    except QuotaFormatError as error:
        return None, f"{observation.target}: {error}"
    if reading is None:
        return None, f"{observation.target} answered without rate-limit headers"
    return reading, None


def _from_fields(
    observation: HttpObservation, fields: QuotaFields, now: datetime
) -> tuple[QuotaReading | None, str | None]:
    if observation.body_truncated:
        return None, f"{observation.target}: the body is larger than probe.max_response_bytes"
    body = observation.body_json if observation.body_is_json else None
    try:
        return read_quota_fields(body, fields, now), None
    except QuotaFormatError as error:
        return None, f"{observation.target}: {error}"
