"""Composition root: builds each function's dependencies once per cold start, from the environment."""

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.parameters import SecretsProvider, SSMProvider

from runbook.adapters.alerts_topic import AlertsTopic
from runbook.adapters.aws_clients import aws_client, probe_client
from runbook.adapters.parameters import SecretResolver
from runbook.adapters.state_store import StateStore
from runbook.config_file import load_config_cached
from runbook.models.settings import Settings
from runbook.services.health_probe import HealthProbeDependencies
from runbook.services.quota_check import QuotaCheckDependencies
from runbook.telemetry import LambdaRunReporter


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
    return HealthProbeDependencies(
        config=load_config_cached(settings.runbook_config),
        store=StateStore(aws_client("dynamodb"), settings.require("state_table_name")),
        topic=AlertsTopic(aws_client("sns"), settings.require("alerts_topic_arn")),
        secrets=secret_resolver(),
        reporter=LambdaRunReporter(),
        sqs_client=_sqs_client,
    )


@cache
def quota_check_dependencies() -> QuotaCheckDependencies:
    settings = Settings.from_environ()
    return QuotaCheckDependencies(
        config=load_config_cached(settings.runbook_config),
        store=StateStore(aws_client("dynamodb"), settings.require("state_table_name")),
        topic=AlertsTopic(aws_client("sns"), settings.require("alerts_topic_arn")),
        secrets=secret_resolver(),
        reporter=LambdaRunReporter(),
    )
