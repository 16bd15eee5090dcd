"""HealthProbeFunction's composition root."""

from functools import cache
from typing import Any

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.aws_clients import aws_client, probe_client
from runbook.adapters.probes.registry import default_probes
from runbook.adapters.state_store import StateStore
from runbook.cold_start import settle_heap
from runbook.config_file import load_config_cached
from runbook.models.settings import Settings
from runbook.roots.shared import secret_resolver
from runbook.services.health_probe import HealthProbeDependencies
from runbook.telemetry import LambdaRunReporter


def _sqs_client(region: str) -> Any:
    return probe_client("sqs", region)


@cache
def health_probe_dependencies() -> HealthProbeDependencies:
    settings = Settings.from_environ()
    config = load_config_cached(settings.runbook_config)
    dependencies = HealthProbeDependencies(
        config=config,
        store=StateStore(aws_client("dynamodb"), settings.require("state_table_name")),
        topic=AlertsTopic(aws_client("sns"), settings.require("alerts_topic_arn")),
        secrets=secret_resolver(),
        reporter=LambdaRunReporter(),
        sqs_client=_sqs_client,
        probes=default_probes().preload({check.kind for check in config.enabled_checks()}),
    )
    settle_heap()  # before the first checks time anything
    return dependencies
