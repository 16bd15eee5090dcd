"""The quota check service below the handler: a real loopback integration API whose quota the test moves
run by run, DynamoDB and SNS in moto. Levels, one alert per transition, the forecast, 429s."""

from datetime import timedelta
from email.utils import format_datetime

import pytest
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.state_store import StateStore
from runbook.config_file import parse_config
from runbook.models.quota import MAX_QUOTA_SAMPLES
from runbook.services.quota_check import QuotaCheckDependencies, run_quota_check
from standins.http_servers import Reply
from tests.support.run_doubles import T0, Clock, RecordingReporter

LIMIT = 5000
TICK = timedelta(minutes=5)


def quota_reply(percent: float, resets_in: timedelta = timedelta(hours=3), now=T0) -> Reply:
    """GitHub's style: X-RateLimit-* with Used and an epoch Reset."""
    used = round(LIMIT * percent / 100)
    headers = (
        ("X-RateLimit-Limit", str(LIMIT)),
        ("X-RateLimit-Remaining", str(LIMIT - used)),
        ("X-RateLimit-Used", str(used)),
        ("X-RateLimit-Reset", str(int((now + resets_in).timestamp()))),
    )
    return Reply(headers=headers)


@pytest.fixture
def make_deps(aws):
    def make(config_text: str) -> QuotaCheckDependencies:
        return QuotaCheckDependencies(
            config=parse_config(config_text),
            store=StateStore(aws.dynamodb, aws.table_name),
            topic=AlertsTopic(aws.sns, aws.topic_arn),
            secrets=SecretResolver(
                SSMProvider(boto3_client=aws.ssm), SecretsProvider(boto3_client=aws.secretsmanager)
            ),
            reporter=RecordingReporter(),
            now=Clock(),
        )

    return make


def integration(server, name: str = "payments", extra: str = "") -> str:
    return (
        "probe: {deadline_margin: 1s}\n"
        "integrations:\n"
        f"  - {{name: {name}, status_url: '{server.url('/' + name)}', timeout: 2s{extra}}}\n"
    )


def tick(deps: QuotaCheckDependencies, n: int):
    deps.now.now = T0 + n * TICK  # type: ignore[attr-defined]
    return run_quota_check(deps, budget_s=30.0)


def test_quota_climbs_to_warning_then_critical_and_recovers_with_one_alert_per_transition(
    aws, http_server, make_deps
):
    deps = make_deps(integration(http_server, extra=", forecast: {enabled: false}"))
    series = [50, 60, 81, 82, 96, 97, 97, 40, 41]
    for n, percent in enumerate(series):
        http_server.route("/payments", quota_reply(percent, now=T0 + n * TICK))
        tick(deps, n)
    alerts = [alert for alert, _ in aws.published()]
    assert [(a.status, a.severity, a.sev, a.details["change"]) for a in alerts] == [
        ("firing", "warning", "SEV3", "down"),
        ("firing", "critical", "SEV2", "escalated"),
        ("resolved", "critical", "SEV2", "up"),
    ]
    assert {a.key for a in alerts} == {"quota-check/payments"}
    assert alerts[0].details["evidence"]["quota"]["percent"] == pytest.approx(82.0)
    assert alerts[0].summary.startswith("payments is WARNING: the quota of payments is at 82.0 %")
    assert "warning at 80 %" in alerts[0].summary
    assert alerts[1].details["previous_severity"] == "warning"
    assert "resets in 3 h" in alerts[1].summary


def test_a_429_is_quota_exhausted_not_down(aws, http_server, make_deps):
    deps = make_deps(integration(http_server))
    http_server.route("/payments", Reply(status=429, body=b"slow down", headers=(("Retry-After", "1800"),)))
    tick(deps, 0)
    summary = tick(deps, 1)
    [failing] = summary.failing
    assert failing.outcome == "quota_exhausted"
    assert "retry after 30 min" in failing.reason
    [(alert, attributes)] = aws.published()
    assert (alert.status, alert.severity, attributes["severity"]) == ("firing", "critical", "critical")
    assert alert.details["outcome"] == "quota_exhausted"


def test_a_429_with_an_http_date_retry_after(aws, http_server, make_deps):
    deps = make_deps(integration(http_server, extra=", failure_threshold: 1"))
    retry_at = format_datetime(T0 + timedelta(hours=2), usegmt=True)
    http_server.route("/payments", Reply(status=429, headers=(("Retry-After", retry_at),)))
    summary = tick(deps, 0)
    assert "retry after 2 h" in summary.failing[0].reason


def test_steady_growth_warns_before_the_threshold_when_the_quota_runs_out_before_it_resets(
    aws, http_server, make_deps
):
    deps = make_deps(integration(http_server))
    # +8 points every 5 minutes from 20 %: 100 % in about 40 minutes, the reset is 3 h away.
    for n, percent in enumerate([20, 28, 36, 44]):
        http_server.route("/payments", quota_reply(percent, now=T0 + n * TICK))
        summary = tick(deps, n)
    assert summary.went_down == ["payments"]
    [(alert, _)] = aws.published()
    assert alert.severity == "warning"
    assert alert.details["outcome"] == "quota_forecast"
    assert "at this rate the quota of payments is exhausted in" in alert.summary
    assert "it resets in 3 h" in alert.summary


def test_samples_are_kept_in_the_state_table_newest_last_and_bounded(aws, http_server, make_deps):
    deps = make_deps(integration(http_server, extra=", forecast: {enabled: false}"))
    runs = MAX_QUOTA_SAMPLES + 3
    for n in range(runs):
        http_server.route("/payments", quota_reply(10 + n * 0.5, now=T0 + n * TICK))
        tick(deps, n)
    samples = deps.store.get_state("payments").quota_samples
    assert len(samples) == MAX_QUOTA_SAMPLES
    assert samples[-1].at == T0 + (runs - 1) * TICK
    assert samples[-1].percent == pytest.approx(10 + (runs - 1) * 0.5)


def test_failing_status_endpoint_is_critical_and_no_quota_information_is_info(aws, http_server, make_deps):
    config = (
        "integrations:\n"
        f"  - {{name: crm, status_url: '{http_server.url('/crm')}', failure_threshold: 1}}\n"
        f"  - {{name: maps, status_url: '{http_server.url('/maps')}', failure_threshold: 1}}\n"
    )
    http_server.route("/crm", Reply(status=503))
    http_server.route("/maps", Reply())  # 200 without any rate-limit header
    deps = make_deps(config)
    summary = tick(deps, 0)
    outcomes = {f.check: (f.outcome, f.reason) for f in summary.failing}
    assert outcomes["crm"][0] == "http_status"
    assert outcomes["maps"][0] == "quota_unknown"
    assert "without rate-limit headers" in outcomes["maps"][1]
    severities = {alert.check: (alert.severity, alert.sev) for alert, _ in aws.published()}
    assert severities == {"crm": ("critical", "SEV2"), "maps": ("info", "SEV4")}


def test_the_quota_check_runs_the_integrations_only(aws, http_server, make_deps):
    check = f"checks:\n  - {{name: api, kind: http, url: '{http_server.url('/ok')}'}}\n"
    http_server.route("/payments", quota_reply(10))
    deps = make_deps(integration(http_server) + check)
    summary = tick(deps, 0)
    assert (summary.checks, summary.passed) == (1, 1)
    assert [r.check for r in deps.reporter.results] == ["payments"]
