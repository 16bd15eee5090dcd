"""moto-backed AWS for integration tests: the state table is created from template.yaml's own
StateTable definition (standins.state_table), so the tests cannot drift from what is deployed."""

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.sqs.exceptions import SQSException
from moto.sqs.models import SQSBackend

from runbook.models.alert import Alert
from standins.state_table import REGION, create_state_table

# SendMessage's documented rule, which moto does not enforce: "The following Unicode characters are
# allowed: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF. Any characters not
# included in this list will be rejected." The same holds for String message attributes.
SQS_ALLOWED = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]*")
SQS_INVALID_CHARACTERS = (
    "Invalid binary character '#x0' was found in the message body, the set of allowed characters is "
    "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"
)


def _refuse_what_sqs_refuses(body: str, attributes: dict[str, Any] | None) -> None:
    values = (attributes or {}).values()
    texts = [body, *(a.get("StringValue") or a.get("string_value") or "" for a in values)]
    if not all(SQS_ALLOWED.fullmatch(text) for text in texts):
        raise SQSException("InvalidMessageContents", SQS_INVALID_CHARACTERS)


@contextmanager
def sqs_character_rules() -> Iterator[None]:
    """moto's SQS refuses, as SQS does, message bodies and attributes with characters SQS does not take."""
    send = SQSBackend.send_message

    def checked(self: SQSBackend, queue_name: str, message_body: str, *args: Any, **kwargs: Any) -> Any:
        attributes = kwargs.get("message_attributes", args[0] if args else None)
        _refuse_what_sqs_refuses(message_body, attributes)
        return send(self, queue_name, message_body, *args, **kwargs)

    SQSBackend.send_message = checked  # type: ignore[method-assign]
    try:
        yield
    finally:
        SQSBackend.send_message = send  # type: ignore[method-assign]


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
    with mock_aws(), sqs_character_rules():
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
