"""Composition root: builds each function's dependencies once per cold start, from the environment."""

from functools import cache
from typing import Any

import httpx
from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.aws_clients import aws_client, probe_client
from runbook.adapters.dead_letters import DeadLetters
from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.pagerduty import PagerDutyEvents, PagerDutyRest
from runbook.adapters.paging_state import PagingState
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.probes.base import utc_now
from runbook.adapters.slack import SlackWebhook
from runbook.adapters.state_store import StateStore
from runbook.adapters.status_state import StatusState
from runbook.adapters.statuspage import StatuspageApi
from runbook.cold_start import settle_heap
from runbook.config_file import load_config_cached
from runbook.models.settings import Settings
from runbook.services.ack_sweep import SweepDependencies
from runbook.services.health_probe import HealthProbeDependencies
from runbook.services.pagerduty_function import PagerDutyFunctionDependencies
from runbook.services.paging import PagingDependencies
from runbook.services.quota_check import QuotaCheckDependencies
from runbook.services.status_sync import StatusDependencies
from runbook.services.statuspage_function import StatuspageFunctionDependencies
from runbook.telemetry import LambdaIdleNotice, LambdaPagingReporter, LambdaRunReporter, LambdaStatusReporter


def _sqs_client(region: str) -> Any:
    return probe_client("sqs", region)


def secret_resolver() -> SecretResolver:
    return SecretResolver(
        SSMProvider(boto3_client=aws_client("ssm")),
        SecretsProvider(boto3_client=aws_client("secretsmanager")),
    )


@cache
def health_probe_dependencies() -> HealthProbeDependencies:
    settings = Settings.from_environ()
    dependencies = HealthProbeDependencies(
        config=load_config_cached(settings.runbook_config),
        store=StateStore(aws_client("dynamodb"), settings.require("state_table_name")),
        topic=AlertsTopic(aws_client("sns"), settings.require("alerts_topic_arn")),
        secrets=secret_resolver(),
        reporter=LambdaRunReporter(),
        sqs_client=_sqs_client,
    )
    settle_heap()  # before the first checks time anything
    return dependencies


@cache
def quota_check_dependencies() -> QuotaCheckDependencies:
    settings = Settings.from_environ()
    dependencies = QuotaCheckDependencies(
        config=load_config_cached(settings.runbook_config),
        store=StateStore(aws_client("dynamodb"), settings.require("state_table_name")),
        topic=AlertsTopic(aws_client("sns"), settings.require("alerts_topic_arn")),
        secrets=secret_resolver(),
        reporter=LambdaRunReporter(),
    )
    settle_heap()  # before the first checks time anything
    return dependencies


def _vendor_client() -> httpx.Client:
    # Each call's own timeout comes from the retry policy and the invocation's deadline; these are limits.
    return httpx.Client(timeout=httpx.Timeout(10.0), trust_env=False, follow_redirects=False)


@cache
def pagerduty_dependencies() -> PagerDutyFunctionDependencies:
    return PagerDutyFunctionDependencies(
        config=load_config_cached(Settings.from_environ().runbook_config),
        paging=_paging_dependencies,
        sweep=_sweep_dependencies,
        idle=LambdaIdleNotice(),
    )


@cache
def _paging_dependencies() -> PagingDependencies:
    settings = Settings.from_environ()
    table = settings.require("state_table_name")
    return PagingDependencies(
        config=load_config_cached(settings.runbook_config),
        state=PagingState(aws_client("dynamodb"), table),
        events=PagerDutyEvents(_vendor_client(), settings.pagerduty_events_url, RetryPolicy()),
        secrets=secret_resolver(),
        dead_letters=DeadLetters(aws_client("sqs"), settings.require("dead_letter_queue_url")),
        reporter=LambdaPagingReporter(),
        now=utc_now,
    )


@cache
def _sweep_dependencies() -> SweepDependencies:
    settings = Settings.from_environ()
    pagerduty = load_config_cached(settings.runbook_config).pagerduty
    if pagerduty is None:
        raise ValueError("the runbook config has no `pagerduty:` section: there is nothing to sweep")
    ack = pagerduty.ack
    token = ""
    if ack.api_token is not None:
        token = secret_resolver().resolve_all([ack.api_token]).value(ack.api_token)
    return SweepDependencies(
        config=pagerduty,
        state=PagingState(aws_client("dynamodb"), settings.require("state_table_name")),
        api=PagerDutyRest(
            _vendor_client(), settings.pagerduty_api_url, token, ack.from_email or "", RetryPolicy()
        ),
        reporter=LambdaPagingReporter(),
        now=utc_now,
    )


@cache
def statuspage_dependencies() -> StatuspageFunctionDependencies:
    return StatuspageFunctionDependencies(
        config=load_config_cached(Settings.from_environ().runbook_config),
        status=_status_dependencies,
        idle=LambdaIdleNotice(),
    )


@cache
def _status_dependencies() -> StatusDependencies:
    settings = Settings.from_environ()
    config = load_config_cached(settings.runbook_config)
    return StatusDependencies(
        config=config,
        state=StatusState(aws_client("dynamodb"), settings.require("state_table_name")),
        page=lambda: _statuspage_api(settings.statuspage_api_url, settings.runbook_config),
        chat=SlackWebhook(_vendor_client(), RetryPolicy()),
        secrets=secret_resolver(),
        dead_letters=DeadLetters(aws_client("sqs"), settings.require("dead_letter_queue_url")),
        reporter=LambdaStatusReporter(),
        now=utc_now,
    )


@cache
def _statuspage_api(base_url: str, config_path: str) -> StatuspageApi:
    """Built on first use, once: its API key is a secret, and its pacing is per key."""
    statuspage = load_config_cached(config_path).statuspage
    if statuspage is None:
        raise ValueError("the runbook config has no `statuspage:` section: nothing to keep true")
    api_key = secret_resolver().resolve_all([statuspage.api_key]).value(statuspage.api_key)
    return StatuspageApi(_vendor_client(), base_url, statuspage.page_id, api_key, RetryPolicy())
