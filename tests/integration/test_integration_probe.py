"""The integration probe and its condition against loopback servers that answer like real APIs
(tests/support/vendor_apis.py): status, quota from headers, body or a usage endpoint, auth and secrets."""

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote_plus, urlencode, urlsplit

import pytest

from runbook.adapters.probes.base import ProbeEnvironment
from runbook.adapters.probes.integration import IntegrationProbe
from runbook.models.config import IntegrationCheck, ProbeSettings
from runbook.models.levels import Severity
from runbook.models.observations import IntegrationObservation
from runbook.models.results import CheckResult, Outcome
from runbook.models.secrets import SecretsManagerRef
from runbook.models.state import CheckState
from runbook.services.conditions.integration import evaluate, quota_sample
from standins import vendor_apis
from standins.http_servers import LoopbackServer, Reply
from tests.support.http_fixtures import TOKEN, TOKEN_REF
from tests.support.secrets import StaticSecrets

PROBE = IntegrationProbe()
# A key as some APIs issue them (base64): every character here must be percent-encoded in a query.
QUERY_KEY_REF = SecretsManagerRef(secret="prod/integrations/maps", key="api_key")
QUERY_KEY = "k3y+Zm9v/YmFy=&x y"
BEARER = {"header": "Authorization", "prefix": "Bearer ", "value": TOKEN_REF.model_dump()}
NO_HEADERS = Reply(body=b'{"status":"ok"}')


@pytest.fixture
async def env() -> AsyncIterator[ProbeEnvironment]:
    environment = ProbeEnvironment(
        settings=ProbeSettings(), secrets=StaticSecrets({TOKEN_REF: TOKEN, QUERY_KEY_REF: QUERY_KEY})
    )
    yield environment
    await PROBE.close(environment)


def make_integration(status_url: str, **fields: Any) -> IntegrationCheck:
    return IntegrationCheck.model_validate({"name": "api", "status_url": status_url, "timeout": 5} | fields)


async def probe_and_judge(
    check: IntegrationCheck, env: ProbeEnvironment, state: CheckState | None = None
) -> tuple[IntegrationObservation, CheckResult]:
    observation = await PROBE.observe(check, env)
    return observation, evaluate(check, observation, state or CheckState(check=check.name))


def assert_verdict(result: CheckResult, outcome: Outcome, severity: Severity | None, *words: str) -> None:
    assert (result.outcome, result.severity) == (outcome, severity), result.reason
    assert result.ok is (outcome is Outcome.OK)
    for word in words:
        assert word in result.reason


def assert_no_secret(observation: IntegrationObservation, result: CheckResult) -> None:
    for dumped in (observation.model_dump_json(), result.model_dump_json()):
        for secret in (TOKEN, QUERY_KEY):
            assert secret not in dumped


# --- vendors' rate-limit headers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "outcome", "severity", "words", "name", "source"),
    [
        pytest.param(
            lambda: vendor_apis.github(used=4000),
            Outcome.QUOTA_WARNING,
            "warning",
            ["the quota of api is at 80.0 %: 4000 of 5000 used (warning at 80 %); it resets in 30 min"],
            None,
            "X-RateLimit-* headers",
            id="github",
        ),
        pytest.param(
            lambda: vendor_apis.ietf_structured({"burst": (100, 40, 30), "daily": (1000, 30, 3600)}),
            Outcome.QUOTA_CRITICAL,
            None,
            ["at 97.0 % (daily): 970 of 1000 used (critical at 95 %); it resets in 1 h"],
            "daily",
            "RateLimit headers (IETF)",
            id="ietf-structured",
        ),
        pytest.param(
            lambda: vendor_apis.ietf_draft06(limit=100, remaining=60, reset_s=30),
            Outcome.OK,
            None,
            ["the quota of api is at 40.0 %: 40 of 100 used; it resets in 30 s"],
            None,
            "RateLimit-* headers (IETF draft)",
            id="ietf-draft06",
        ),
        pytest.param(
            lambda: vendor_apis.openai(requests=(10_000, 9_990), tokens=(150_000, 30_000)),
            Outcome.QUOTA_WARNING,
            "warning",
            ["at 80.0 % (tokens): 120000 of 150000 used (warning at 80 %); it resets in 6 min"],
            "tokens",
            "X-RateLimit-* headers",
            id="openai-tokens-most-used",
        ),
        pytest.param(
            lambda: vendor_apis.openai(requests=(500, 20), tokens=(150_000, 149_000), reset_requests="3m0s"),
            Outcome.QUOTA_CRITICAL,
            None,
            ["at 96.0 % (requests): 480 of 500 used (critical at 95 %); it resets in 3 min"],
            "requests",
            "X-RateLimit-* headers",
            id="openai-requests-most-used",
        ),
        pytest.param(
            lambda: vendor_apis.shopify(used=39),
            Outcome.QUOTA_CRITICAL,
            None,
            ["the quota of api is at 97.5 %: 39 of 40 used (critical at 95 %)"],
            None,
            "X-Shopify-Shop-Api-Call-Limit",
            id="shopify",
        ),
        pytest.param(
            lambda: vendor_apis.salesforce(used=3000),
            Outcome.OK,
            None,
            ["the quota of api is at 20.0 % (api-usage): 3000 of 15000 used"],
            "api-usage",
            "Sforce-Limit-Info",
            id="salesforce",
        ),
    ],
)
async def test_vendor_rate_limit_headers(
    http_server: LoopbackServer,
    env: ProbeEnvironment,
    reply: Callable[[], Reply],
    outcome: Outcome,
    severity: Severity | None,
    words: list[str],
    name: str | None,
    source: str,
) -> None:
    check = make_integration(http_server.route("/status", reply()))  # built now: resets are relative to now

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, outcome, severity, *words)
    assert observation.quota is not None
    assert (observation.quota.name, observation.quota.source) == (name, source)
    assert result.details["quota"]["percent"] == observation.quota.percent
    assert observation.quota_problem is None


@pytest.mark.parametrize(
    ("used", "outcome", "severity", "words"),
    [
        (790, Outcome.OK, None, "at 79.0 %: 790 of 1000 used; it resets in"),
        (800, Outcome.QUOTA_WARNING, "warning", "at 80.0 %: 800 of 1000 used (warning at 80 %)"),
        (949, Outcome.QUOTA_WARNING, "warning", "at 94.9 %: 949 of 1000 used (warning at 80 %)"),
        (950, Outcome.QUOTA_CRITICAL, None, "at 95.0 %: 950 of 1000 used (critical at 95 %)"),
        (1000, Outcome.QUOTA_EXHAUSTED, None, "at 100.0 %: 1000 of 1000 used: exhausted; it resets in"),
    ],
)
async def test_runbook_thresholds(
    http_server: LoopbackServer,
    env: ProbeEnvironment,
    used: int,
    outcome: Outcome,
    severity: Severity | None,
    words: str,
) -> None:
    check = make_integration(http_server.route("/status", vendor_apis.github(used=used, limit=1000)))

    _, result = await probe_and_judge(check, env)

    assert_verdict(result, outcome, severity, f"the quota of api is {words}")


# --- quota from the body or a usage endpoint -------------------------------------------------------------


async def test_quota_from_the_status_body(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    resets = (datetime.now(UTC) + timedelta(hours=2, seconds=20)).isoformat()
    body = vendor_apis.json_body({"status": "ok", "quota": {"used": 950, "limit": 1000, "resets_at": resets}})
    url = http_server.route("/status", Reply(body=body))
    check = make_integration(
        url,
        quota={"source": "body", "used": "quota.used", "limit": "quota.limit", "reset": "quota.resets_at"},
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.QUOTA_CRITICAL,
        None,
        "at 95.0 %: 950 of 1000 used (critical at 95 %); it resets in 2 h",
    )
    assert observation.quota is not None
    assert (observation.quota.source, observation.quota.remaining) == ("body", 50)
    assert len(http_server.requests) == 1  # nothing but the status request


async def test_a_body_that_reports_only_a_percentage(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    body = vendor_apis.json_body({"status": "ok", "usage": {"percent_used": 42.5}})
    check = make_integration(
        http_server.route("/status", Reply(body=body)),
        quota={"source": "body", "percent": "usage.percent_used"},
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.OK, None)
    assert result.reason == "the quota of api is at 42.5 %"
    assert observation.quota is not None
    assert (observation.quota.used, observation.quota.limit) == (None, None)


@pytest.mark.parametrize(
    ("usage", "fields", "outcome", "severity", "words"),
    [
        pytest.param(
            lambda: vendor_apis.key_usage(usage=85, limit=100),
            {"used": "data.usage", "limit": "data.limit"},
            Outcome.QUOTA_WARNING,
            "warning",
            "at 85.0 %: 85 of 100 used (warning at 80 %)",
            id="json-fields",
        ),
        pytest.param(
            lambda: vendor_apis.key_usage(usage=12.5, limit=50),
            {"remaining": "data.limit_remaining", "limit": "data.limit"},
            Outcome.OK,
            None,
            "at 25.0 %: 12.5 of 50 used",
            id="json-remaining",
        ),
        pytest.param(
            lambda: vendor_apis.github(used=4990),
            None,
            Outcome.QUOTA_CRITICAL,
            None,
            "at 99.8 %: 4990 of 5000 used (critical at 95 %); it resets in 30 min",
            id="headers",
        ),
    ],
)
async def test_a_separate_usage_endpoint(
    http_server: LoopbackServer,
    env: ProbeEnvironment,
    usage: Callable[[], Reply],
    fields: dict[str, str] | None,
    outcome: Outcome,
    severity: Severity | None,
    words: str,
) -> None:
    status_url = http_server.route("/status", NO_HEADERS)
    usage_url = http_server.route("/v1/usage", usage())  # built now: its reset is relative to now
    check = make_integration(
        status_url, auth=BEARER, quota={"source": "endpoint", "url": usage_url, "fields": fields}
    )

    _, result = await probe_and_judge(check, env)

    assert_verdict(result, outcome, severity, f"the quota of api is {words}")
    assert [r.path for r in http_server.requests] == ["/status", "/v1/usage"]
    # Read with the same auth as the status endpoint.
    assert http_server.received("/v1/usage")[0].headers["authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("usage", "timeout", "problem"),
    [
        pytest.param(
            Reply(status=500, body=b'{"error":"internal"}'),
            5.0,
            "usage endpoint {url} answered HTTP 500",
            id="500",
        ),
        pytest.param(
            Reply(status=404, body=b'{"error":"not found"}'),
            5.0,
            "usage endpoint {url} answered HTTP 404",
            id="404",
        ),
        pytest.param(
            Reply(action="hang"), 1.0, "usage endpoint {url}: no complete answer within", id="hanging"
        ),
        pytest.param(
            Reply(action="reset"), 5.0, "usage endpoint {url}: connection reset by 127.0.0.1", id="reset"
        ),
        pytest.param(
            Reply(body=b"<html>usage</html>", content_type="text/html"),
            5.0,
            "{url}: the answer is not JSON",
            id="html",
        ),
        pytest.param(
            vendor_apis.key_usage(usage=1, limit=2),
            5.0,
            "{url}: the body has no `usage.used`",
            id="missing-field",
        ),
    ],
)
async def test_a_failing_usage_endpoint_leaves_the_quota_unknown(
    http_server: LoopbackServer, env: ProbeEnvironment, usage: Reply, timeout: float, problem: str
) -> None:
    status_url = http_server.route("/status", NO_HEADERS)
    usage_url = http_server.route("/usage", usage)
    quota = {"source": "endpoint", "url": usage_url, "fields": {"used": "usage.used", "limit_value": 100}}
    check = make_integration(status_url, timeout=timeout, quota=quota)

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.QUOTA_UNKNOWN,
        "info",
        "the quota of api is unknown: ",
    )
    assert problem.format(url=usage_url) in result.reason
    assert observation.status_code == 200  # the integration itself is up
    assert observation.failure is None
    assert observation.quota is None


async def test_a_slow_usage_endpoint_gets_only_what_the_status_request_left(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    # Alone, the usage endpoint's 1.2 s fit the 2 s timeout (the control); after a 1 s status answer
    # they do not: the check as a whole is held to its timeout.
    usage_url = http_server.route("/usage", Reply(delay_ms=1200, body=b'{"used":10,"limit":100}'))
    quota = {"source": "endpoint", "url": usage_url, "fields": {"used": "used", "limit": "limit"}}
    fast = make_integration(http_server.route("/fast", NO_HEADERS), timeout=2.0, quota=quota)
    slow = make_integration(http_server.route("/slow-status", Reply(delay_ms=1000)), timeout=2.0, quota=quota)

    (_, control), (_, result) = await asyncio.gather(probe_and_judge(fast, env), probe_and_judge(slow, env))

    assert_verdict(control, Outcome.OK, None, "the quota of api is at 10.0 %")
    assert_verdict(result, Outcome.QUOTA_UNKNOWN, "info", "usage endpoint", "no complete answer within")
    budget = re.search(r"within ([0-9.]+) s", result.reason)
    assert budget is not None
    assert float(budget[1]) <= 1.0  # what 2 s minus the status request's 1 s leaves, at most


async def test_a_usage_endpoint_answering_429_is_an_exhausted_quota(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    status_url = http_server.route("/status", NO_HEADERS)
    usage_url = http_server.route("/usage", Reply(status=429, headers=(("Retry-After", "900"),)))
    quota = {"source": "endpoint", "url": usage_url, "fields": {"used": "used", "limit": "limit"}}
    check = make_integration(status_url, quota=quota)

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.QUOTA_EXHAUSTED, None, "exhausted", "it resets in 15 min")
    assert observation.status_code == 200  # the integration itself answered


# --- no quota, or an unreadable one ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "ok", "severity"),
    [("info", False, "info"), ("warning", False, "warning"), ("ignore", True, None)],
)
async def test_an_answer_without_rate_limit_headers(
    http_server: LoopbackServer, env: ProbeEnvironment, setting: str, ok: bool, severity: Severity | None
) -> None:
    check = make_integration(http_server.route("/status", NO_HEADERS), quota_unknown=setting)

    observation, result = await probe_and_judge(check, env)

    assert (result.outcome, result.ok, result.severity) == (Outcome.QUOTA_UNKNOWN, ok, severity)
    url = http_server.url("/status")
    assert result.reason == f"the quota of api is unknown: {url} answered without rate-limit headers"
    assert observation.quota_problem == f"{url} answered without rate-limit headers"
    assert "quota" not in result.details  # never a silent 0 %


async def test_an_integration_without_a_quota_is_ok_on_2xx(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_integration(http_server.route("/status", Reply(status=204, body=b"")), quota=None)

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.OK, None)
    assert result.reason == f"{http_server.url('/status')} answered HTTP 204"
    assert (observation.quota, observation.quota_problem) == (None, None)


@pytest.mark.parametrize(
    ("headers", "words"),
    [
        pytest.param(
            (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "abc")),
            "x-ratelimit-remaining is 'abc'; expected a count",
            id="not-a-count",
        ),
        pytest.param(
            (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", "-3")),
            "x-ratelimit-remaining is '-3'; expected a count",
            id="negative",
        ),
        pytest.param(
            (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Reset", "1800")),
            "x-ratelimit-limit is '5000' but x-ratelimit-remaining is missing",
            id="limit-alone",
        ),
        pytest.param(
            (("X-Shopify-Shop-Api-Call-Limit", "lots"),),
            "x-shopify-shop-api-call-limit is 'lots'; expected used/limit",
            id="shopify",
        ),
        pytest.param(
            (("RateLimit", '"default";r=5;t=30'),),
            'no ratelimit-policy "default" gives its q=',
            id="ietf-without-policy",
        ),
    ],
)
async def test_malformed_rate_limit_headers_are_named(
    http_server: LoopbackServer, env: ProbeEnvironment, headers: tuple[tuple[str, str], ...], words: str
) -> None:
    check = make_integration(http_server.route("/status", Reply(headers=headers)))

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result, Outcome.QUOTA_UNKNOWN, "info", f"the quota of api is unknown: {http_server.url('/status')}: "
    )
    assert words in result.reason.lower()
    assert observation.quota is None


# --- the status endpoint failing ------------------------------------------------------------------------


@pytest.mark.parametrize("status", [401, 403])
async def test_a_rejected_credential(http_server: LoopbackServer, env: ProbeEnvironment, status: int) -> None:
    reply = Reply(
        status=status, body=b'{"message":"Bad credentials"}', headers=(("WWW-Authenticate", "Bearer"),)
    )
    check = make_integration(http_server.route("/status", reply), auth=BEARER)

    _, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.AUTH_FAILED,
        None,
        f"{http_server.url('/status')} answered HTTP {status}: the credential was rejected (see `auth`)",
    )
    assert result.details["status_code"] == status


@pytest.mark.parametrize(
    ("seconds", "as_date", "words"),
    [
        pytest.param(120, False, "retry after 2 min", id="seconds"),
        pytest.param(3600, True, "retry after 1 h", id="http-date"),
    ],
)
async def test_429_is_an_exhausted_quota_not_an_outage(
    http_server: LoopbackServer, env: ProbeEnvironment, seconds: int, as_date: bool, words: str
) -> None:
    retry_after = vendor_apis.http_date_in(seconds) if as_date else str(seconds)
    check = make_integration(http_server.route("/status", vendor_apis.too_many_requests(retry_after)))

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.QUOTA_EXHAUSTED,
        None,
        f"the quota of api is exhausted: {http_server.url('/status')} answered HTTP 429 Too Many Requests",
        f"Too Many Requests; {words}",
    )
    assert observation.failure is None
    assert observation.retry_after_s == pytest.approx(seconds, abs=2)
    assert result.details["retry_after_s"] == observation.retry_after_s
    sample = quota_sample(observation)
    assert sample is not None
    assert sample.percent == 100
    assert observation.retry_after_s is not None
    assert sample.reset_at == observation.observed_at + timedelta(seconds=observation.retry_after_s)


async def test_429_without_retry_after_tells_the_reset_from_the_headers(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    github = vendor_apis.github(used=5000, reset_in_s=600)
    reply = Reply(status=429, body=b'{"message":"API rate limit exceeded"}', headers=github.headers)
    check = make_integration(http_server.route("/status", reply))

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result, Outcome.QUOTA_EXHAUSTED, None, "answered HTTP 429 Too Many Requests; it resets in 10 min"
    )
    assert observation.quota is not None
    assert observation.quota.percent == 100


async def test_github_403_with_no_requests_left_is_an_exhausted_quota(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    # docs.github.com: "If you exceed your primary rate limit, you will receive a 403 or 429 response,
    # and the x-ratelimit-remaining header will be 0."
    headers = vendor_apis.github(used=5000, reset_in_s=600).headers
    body = (
        b'{"message":"API rate limit exceeded for user ID 1.","documentation_url":"https://docs.github.com"}'
    )
    check = make_integration(http_server.route("/status", Reply(status=403, body=body, headers=headers)))

    _, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.QUOTA_EXHAUSTED, None, "answered HTTP 403", "it resets in 10 min")


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_server_error_is_an_http_status_failure(
    http_server: LoopbackServer, env: ProbeEnvironment, status: int
) -> None:
    # Even with quota headers on the error: a failing /status is the integration down, not a quota.
    reply = vendor_apis.github(used=10, body=b'{"message":"Server Error"}')
    check = make_integration(
        http_server.route("/status", Reply(status=status, body=reply.body, headers=reply.headers))
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.HTTP_STATUS,
        None,
        f"{http_server.url('/status')} answered HTTP {status}, expected 2xx",
    )
    # What the headers said is kept as evidence (and as a sample), but does not change the verdict.
    assert observation.quota is not None
    assert result.details["quota"]["percent"] == pytest.approx(0.2)


async def test_a_slow_status_endpoint_times_out(http_server: LoopbackServer, env: ProbeEnvironment) -> None:
    check = make_integration(http_server.route("/status", Reply(delay_ms=2000)), timeout=0.3)

    observation, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.TIMEOUT,
        None,
        f"{http_server.url('/status')} timed out: no complete answer within 0.3 s (waiting for the response)",
    )
    assert (observation.status_code, observation.latency_s) == (None, None)


async def test_a_refused_connection(closed_port: int, env: ProbeEnvironment) -> None:
    check = make_integration(f"http://127.0.0.1:{closed_port}/status")

    _, result = await probe_and_judge(check, env)

    assert_verdict(
        result,
        Outcome.CONNECTION_REFUSED,
        None,
        f"refused the connection: connection refused by 127.0.0.1:{closed_port}",
    )


# --- credentials ---------------------------------------------------------------------------------------


async def test_the_credential_goes_in_its_header_with_its_prefix(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    check = make_integration(
        http_server.route("/status", vendor_apis.github(used=100)),
        auth=BEARER,
        headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"},
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.OK, None, "the quota of api is at 2.0 %")
    (request,) = http_server.received("/status")
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["x-github-api-version"] == "2022-11-28"
    assert "?" not in request.target
    assert_no_secret(observation, result)


async def test_the_credential_goes_in_its_query_parameter(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    status_url = http_server.route("/status", NO_HEADERS)
    usage_url = http_server.route("/usage", vendor_apis.key_usage(usage=30, limit=100))
    check = make_integration(
        status_url,
        auth={"query": "key", "value": QUERY_KEY_REF.model_dump()},
        quota={
            "source": "endpoint",
            "url": usage_url,
            "fields": {"used": "data.usage", "limit": "data.limit"},
        },
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, Outcome.OK, None, "the quota of api is at 30.0 %")
    for request in http_server.requests:
        assert parse_qs(urlsplit(request.target).query) == {"key": [QUERY_KEY]}
        assert "authorization" not in request.headers
    assert [r.path for r in http_server.requests] == ["/status", "/usage"]
    assert_no_secret(observation, result)


ECHOED_TOKEN_HEADERS = (("X-RateLimit-Limit", "5000"), ("X-RateLimit-Remaining", TOKEN))


@pytest.mark.parametrize(
    ("reply", "quota", "outcome", "words"),
    [
        pytest.param(
            Reply(echo_headers=True),
            {"source": "body", "used": "authorization", "limit_value": 100},
            Outcome.QUOTA_UNKNOWN,
            "`authorization` is 'Bearer ***', not a number",
            id="request-echoed-in-the-body",
        ),
        pytest.param(
            Reply(headers=ECHOED_TOKEN_HEADERS),
            {"source": "headers"},
            Outcome.QUOTA_UNKNOWN,
            "x-ratelimit-remaining is '***'",
            id="token-in-a-rate-limit-header",
        ),
        pytest.param(
            Reply(
                status=401, body=f'{{"error":"invalid token {TOKEN}"}}'.encode(), headers=ECHOED_TOKEN_HEADERS
            ),
            {"source": "headers"},
            Outcome.AUTH_FAILED,
            "answered HTTP 401",
            id="401-echoing-the-token",
        ),
        pytest.param(
            Reply(status=429, body=TOKEN.encode(), headers=(("Retry-After", TOKEN), *ECHOED_TOKEN_HEADERS)),
            {"source": "headers"},
            Outcome.QUOTA_EXHAUSTED,
            "answered HTTP 429 Too Many Requests",
            id="429-echoing-the-token",
        ),
        pytest.param(
            Reply(action="hang"),
            {"source": "headers"},
            Outcome.TIMEOUT,
            "timed out",
            id="timeout",
        ),
    ],
)
async def test_an_echoed_secret_never_reaches_the_result(
    http_server: LoopbackServer,
    env: ProbeEnvironment,
    reply: Reply,
    quota: dict[str, Any],
    outcome: Outcome,
    words: str,
) -> None:
    check = make_integration(http_server.route("/status", reply), auth=BEARER, quota=quota, timeout=1.0)

    observation, result = await probe_and_judge(check, env)

    assert result.outcome is outcome, result.reason
    assert words in result.reason
    assert http_server.received("/status")[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert_no_secret(observation, result)


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        pytest.param(Reply(action="hang"), Outcome.TIMEOUT, id="timeout"),
        pytest.param(Reply(action="reset"), Outcome.CONNECTION_ERROR, id="reset"),
        pytest.param(Reply(action="garbage"), Outcome.CONNECTION_ERROR, id="not-http"),
        pytest.param(
            Reply(status=302, body=b"", headers=(("Location", "/elsewhere"),)),
            Outcome.HTTP_STATUS,
            id="redirect",
        ),
    ],
)
async def test_a_query_credential_stays_out_of_failures(
    http_server: LoopbackServer, env: ProbeEnvironment, reply: Reply, outcome: Outcome
) -> None:
    check = make_integration(
        http_server.route("/status", reply),
        auth={"query": "key", "value": QUERY_KEY_REF.model_dump()},
        timeout=1.0,
    )

    observation, result = await probe_and_judge(check, env)

    assert_verdict(result, outcome, None, http_server.url("/status"))
    assert "key=" not in result.model_dump_json()
    assert_no_secret(observation, result)


async def test_a_query_credential_echoed_percent_encoded_is_masked(
    http_server: LoopbackServer, env: ProbeEnvironment
) -> None:
    # An API that echoes the request URL (as error bodies and "self" links do), read by a quota path.
    sent = "/status?" + urlencode({"key": QUERY_KEY})
    body = vendor_apis.json_body({"request": {"url": sent}, "quota": {"used": 1, "limit": 10}})
    check = make_integration(
        http_server.route("/status", Reply(body=body)),
        auth={"query": "key", "value": QUERY_KEY_REF.model_dump()},
        quota={"source": "body", "used": "request.url", "limit": "quota.limit"},
    )

    observation, result = await probe_and_judge(check, env)

    assert http_server.received("/status")[0].target == sent  # the echo is faithful
    assert result.outcome is Outcome.QUOTA_UNKNOWN
    assert "`request.url` is" in result.reason
    for dumped in (observation.model_dump_json(), result.model_dump_json()):
        assert quote_plus(QUERY_KEY) not in dumped
