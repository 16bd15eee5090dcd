"""A local AWS for the sandbox: a moto server on 127.0.0.1 with the template's state table (its own key
schema and TTL), one SNS topic per topic of the template, the dead-letter queue, and an SQS queue
subscribed to each topic with raw delivery off, so that what the functions published is read back as
SNS delivers it: the envelope with its MessageAttributes. Secrets go to SSM (SecureString) and
Secrets Manager.
"""

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

from localrun.cfn_yaml import load_template
from localrun.intrinsics import Resolver
from localrun.resources import QUEUE, TABLE, create_resources
from sandbox.secrets import SecretValue

REGION = "us-east-1"
STACK = "sandbox"


@dataclass
class LocalAws:
    endpoint: str
    table_name: str
    topic_arns: dict[str, str]  # logical id -> ARN
    inbox_urls: dict[str, str]  # logical id of the topic -> its subscribed queue
    dead_letter_url: str
    _server: ThreadedMotoServer
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            session = boto3.session.Session(
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto's dummy credentials
                region_name=REGION,
            )
            self._clients[service] = session.client(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
        return self._clients[service]

    def function_env(self) -> dict[str, str]:
        """What every function needs to use this moto server instead of AWS."""
        topic = next(iter(self.topic_arns.values()), "")
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "STATE_TABLE_NAME": self.table_name,
            "ALERTS_TOPIC_ARN": self.topic_arns.get("AlertsTopic", topic),
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_url,
        }

    def take_published(self, topic: str) -> list[dict[str, Any]]:
        """The SNS envelopes the topic delivered since the last call (the queue is drained)."""
        sqs = self.client("sqs")
        envelopes: list[dict[str, Any]] = []
        for _ in range(100):  # bounded: 10 messages a receive
            messages = sqs.receive_message(
                QueueUrl=self.inbox_urls[topic], MaxNumberOfMessages=10, WaitTimeSeconds=0
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                envelopes.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.inbox_urls[topic], ReceiptHandle=message["ReceiptHandle"])
        return envelopes

    def dead_letter(self, body: str, reason: str) -> None:
        self.client("sqs").send_message(
            QueueUrl=self.dead_letter_url,
            MessageBody=body,
            MessageAttributes={"reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )

    def put_secrets(self, secrets: dict[str, SecretValue]) -> None:
        """`ssm:/name` -> SSM SecureString; `secret:name` -> Secrets Manager secret (an object as JSON)."""
        for name, value in secrets.items():
            text = value if isinstance(value, str) else json.dumps(value)
            kind, _, ident = name.partition(":")
            if kind == "ssm":
                self.client("ssm").put_parameter(Name=ident, Value=text, Type="SecureString", Overwrite=True)
            else:
                manager = self.client("secretsmanager")
                try:
                    manager.create_secret(Name=ident, SecretString=text)
                except manager.exceptions.ResourceExistsException:
                    manager.put_secret_value(SecretId=ident, SecretString=text)

    def close(self) -> None:
        self._server.stop()


def start_local_aws(template_path: Path, topics: list[str]) -> LocalAws:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's request lines
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    aws = LocalAws(f"http://{host}:{port}", "", {}, {}, "", server)
    try:
        _create(aws, template_path, topics)
    except Exception:
        server.stop()
        raise
    return aws


def _create(aws: LocalAws, template_path: Path, topics: list[str]) -> None:
    """What template.yaml declares (localrun.resources, as `runbook-local setup` makes it), and an
    inbox queue subscribed to each topic."""
    template = load_template(template_path)
    created = create_resources(template, Resolver(template, region=REGION), aws.client, STACK)
    tables = [c for c in created.values() if c.type == TABLE]
    queues = [c for c in created.values() if c.type == QUEUE]
    aws.table_name = (created.get("StateTable") or tables[0]).ref if tables else ""
    sqs, sns = aws.client("sqs"), aws.client("sns")
    for topic in topics:
        arn = created[topic].ref
        inbox = sqs.create_queue(QueueName=f"{STACK}-{topic}-deliveries")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        # Raw delivery off (SNS's default): the queue gets the envelope, MessageAttributes included.
        sns.subscribe(
            TopicArn=arn, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "false"}
        )
        aws.topic_arns[topic], aws.inbox_urls[topic] = arn, inbox
    dead_letters = created.get("DeadLetterQueue") or (queues[0] if queues else None)
    aws.dead_letter_url = (
        dead_letters.ref if dead_letters else sqs.create_queue(QueueName=f"{STACK}-dead-letters")["QueueUrl"]
    )
