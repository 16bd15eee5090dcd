"""PagerDutyEscalationFunction's composition root: paging (Events API) and the ack sweep (REST API)."""

from functools import cache

from runbook.adapters.aws_clients import aws_client
from runbook.adapters.dead_letters import DeadLetters
from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.pagerduty import PagerDutyEvents, PagerDutyRest
from runbook.adapters.paging_state import PagingState
from runbook.adapters.probes.base import utc_now
from runbook.config_file import load_config_cached
from runbook.models.settings import Settings
from runbook.roots.shared import secret_resolver, vendor_client
from runbook.services.ack_sweep import SweepDependencies
from runbook.services.pagerduty_function import PagerDutyFunctionDependencies
from runbook.services.paging import PagingDependencies
from runbook.telemetry import LambdaIdleNotice, LambdaPagingReporter


@cache
def pagerduty_dependencies() -> PagerDutyFunctionDependencies:
    return PagerDutyFunctionDependencies(
        config=load_config_cached(Settings.from_environ().runbook_config),
        paging=paging_dependencies,
        sweep=sweep_dependencies,
        idle=LambdaIdleNotice(),
    )


@cache
def paging_dependencies() -> PagingDependencies:
    settings = Settings.from_environ()
    table = settings.require("state_table_name")
    return PagingDependencies(
        config=load_config_cached(settings.runbook_config),
        state=PagingState(aws_client("dynamodb"), table),
        events=PagerDutyEvents(vendor_client(), settings.pagerduty_events_url, RetryPolicy()),
        secrets=secret_resolver(),
        dead_letters=DeadLetters(aws_client("sqs"), settings.require("dead_letter_queue_url")),
        reporter=LambdaPagingReporter(),
        now=utc_now,
    )


@cache
def sweep_dependencies() -> SweepDependencies:
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
            vendor_client(), settings.pagerduty_api_url, token, ack.from_email or "", RetryPolicy()
        ),
        reporter=LambdaPagingReporter(),
        now=utc_now,
    )
