"""PagerDutyEscalationFunction's handler as Lambda runs it, in the test process: moto for AWS (the `aws`
fixture), the PagerDuty stand-in for both of PagerDuty's APIs, a dead-letter queue, the config a test
gives, and a cold start per config. Fixtures: `dlq` (the queue's URL) and `pagerduty_function`."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from runbook.observability import logger
from standins.lambda_runtime import load_handler_module, reset_cold_start
from standins.pagerduty_standin import PagerDutyStandin
from tests.support.aws import AwsStack

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


@pytest.fixture
def dlq(aws: AwsStack) -> str:
    return str(aws.sqs.create_queue(QueueName="runbook-dlq")["QueueUrl"])


@pytest.fixture
def pagerduty_function(
    aws: AwsStack, pagerduty: PagerDutyStandin, dlq: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str | Path], Handler]]:
    """`cold_start(config)`: the handler after a cold start with `config` (YAML text, or a file);
    called again, a deploy of another config. Its log lines go to stdout, as in Lambda."""
    monkeypatch.setattr(logger.registered_handler, "stream", sys.__stdout__)
    configs = iter(range(1_000))

    def cold_start(config: str | Path) -> Handler:
        if isinstance(config, str):
            path = tmp_path / f"runbook-{next(configs)}.yaml"
            path.write_text(config)
            config = path
        for name, value in {
            "RUNBOOK_CONFIG": str(config),
            "STATE_TABLE_NAME": aws.table_name,
            "ALERTS_TOPIC_ARN": aws.topic_arn,
            "DEAD_LETTER_QUEUE_URL": dlq,
            "PAGERDUTY_EVENTS_URL": pagerduty.events_url,
            "PAGERDUTY_API_URL": pagerduty.rest_url,
        }.items():
            monkeypatch.setenv(name, value)
        reset_cold_start()
        handler: Handler = load_handler_module("pagerduty_escalation").lambda_handler
        return handler

    yield cold_start
    reset_cold_start()
