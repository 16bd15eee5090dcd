"""StatuspageUpdateFunction's composition root: the status page, #incident-room and #ops-alerts."""

from functools import cache

from runbook.adapters.aws_clients import aws_client
from runbook.adapters.dead_letters import DeadLetters
from runbook.adapters.http_retry import RetryPolicy
from runbook.adapters.probes.base import utc_now
from runbook.adapters.slack import SlackWebhook
from runbook.adapters.status_state import StatusState
from runbook.adapters.statuspage import StatuspageApi
from runbook.config_file import load_config_cached
from runbook.models.settings import Settings
from runbook.roots.shared import secret_resolver, vendor_client
from runbook.services.status_sync import StatusDependencies
from runbook.services.statuspage_function import StatuspageFunctionDependencies
from runbook.telemetry import LambdaIdleNotice, LambdaStatusReporter


@cache
def statuspage_dependencies() -> StatuspageFunctionDependencies:
    return StatuspageFunctionDependencies(
        config=load_config_cached(Settings.from_environ().runbook_config),
        status=status_dependencies,
        idle=LambdaIdleNotice(),
    )


@cache
def status_dependencies() -> StatusDependencies:
    settings = Settings.from_environ()
    config = load_config_cached(settings.runbook_config)
    return StatusDependencies(
        config=config,
        state=StatusState(aws_client("dynamodb"), settings.require("state_table_name")),
        page=lambda: statuspage_api(settings.statuspage_api_url, settings.runbook_config),
        chat=SlackWebhook(vendor_client(), RetryPolicy()),
        secrets=secret_resolver(),
        dead_letters=DeadLetters(aws_client("sqs"), settings.require("dead_letter_queue_url")),
        reporter=LambdaStatusReporter(),
        now=utc_now,
    )


@cache
def statuspage_api(base_url: str, config_path: str) -> StatuspageApi:
    """Built on first use, once: its API key is a secret, and its pacing is per key."""
    statuspage = load_config_cached(config_path).statuspage
    if statuspage is None:
        raise ValueError("the runbook config has no `statuspage:` section: nothing to keep true")
    api_key = secret_resolver().resolve_all([statuspage.api_key]).value(statuspage.api_key)
    return StatuspageApi(vendor_client(), base_url, statuspage.page_id, api_key, RetryPolicy())
