"""moto-backed AWS for integration tests: the state table is created from template.yaml's own
StateTable definition (standins.state_table), so the tests cannot drift from what is deployed."""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from runbook.models.alert import Alert
from standins.moto_rules import dynamodb_transactions_as_dynamodb, sqs_character_rules
from standins.state_table import REGION, create_state_table


@dataclass
class AwsStack:
    dynamodb: Any
    sns: Any
    sqs: Any
    ssm: Any
    secretsmanager: Any
    table_name: str
    topic_arn: str
    inbox_url: str  # an SQS queue subscribed to the topic: what subscribers would receive

    def published(self) -> list[tuple[Alert, dict[str, str]]]:
        """Drain the subscribed queue: each alert with the message attributes SNS delivered."""
        received: list[tuple[Alert, dict[str, str]]] = []
        for _ in range(100):  # bounded: 10 messages per receive
            messages = self.sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in envelope.get("MessageAttributes", {}).items()}
                received.append((Alert.model_validate_json(envelope["Message"]), attributes))
                self.sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return received


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsStack]:
    for name, value in {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    with mock_aws(), sqs_character_rules(), dynamodb_transactions_as_dynamodb():
        session = boto3.session.Session(region_name=REGION)
        clients: dict[str, Any] = {
            s: session.client(s) for s in ("dynamodb", "sns", "sqs", "ssm", "secretsmanager")
        }
        create_state_table(clients["dynamodb"], "runbook-state")
        topic_arn = clients["sns"].create_topic(Name="runbook-alerts")["TopicArn"]
        inbox_url = clients["sqs"].create_queue(QueueName="alerts-inbox")["QueueUrl"]
        inbox_arn = clients["sqs"].get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        clients["sns"].subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
        yield AwsStack(**clients, table_name="runbook-state", topic_arn=topic_arn, inbox_url=inbox_url)
