"""The built artifact, and the local stand-ins for AWS and for a monitored target.

`sam build` runs once per session for this machine's architecture, into a temporary build dir. Its
dependency cache lives in the system temp dir (keyed by checkout and architecture, locked against
concurrent runs), so a second session rebuilds only what changed and nothing lands in the repo.
AWS is a moto server on 127.0.0.1; the state table is created from template.yaml's StateTable.
"""

import http.server
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localrun.api import host_architecture
from sandbox import build as sandbox_build
from standins.moto_rules import dynamodb_transactions_as_dynamodb, sqs_character_rules
from standins.state_table import create_state_table

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
OTHER_ARCHITECTURE = {"x86_64": "arm64", "arm64": "x86_64"}


def sam_build(build_dir: Path, architecture: str) -> Path:
    """`sam build` of template.yaml for `architecture` (the sandbox's build, sharing its cache)."""
    try:
        return sandbox_build.sam_build(architecture=architecture, build_dir=build_dir)
    except sandbox_build.BuildError as error:
        pytest.fail(str(error))


@pytest.fixture(scope="session")
def built_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return sam_build(tmp_path_factory.mktemp("sam") / "build", host_architecture())


# ---------------------------------------------------------------- AWS (moto server)
@dataclass
class LocalAws:
    endpoint: str
    dynamodb: Any
    sns: Any
    sqs: Any
    table_name: str
    topic_arn: str
    inbox_url: str
    dead_letter_url: str
    secretsmanager: Any

    def function_env(self) -> dict[str, str]:
        """What the function needs to talk to this moto server instead of AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "STATE_TABLE_NAME": self.table_name,
            "ALERTS_TOPIC_ARN": self.topic_arn,
            "DEAD_LETTER_QUEUE_URL": self.dead_letter_url,
        }

    def item(self, pk: str, sk: str) -> dict[str, Any] | None:
        key = {"pk": {"S": pk}, "sk": {"S": sk}}
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.table_name, Key=key, ConsistentRead=True
        ).get("Item")
        return item

    def published(self) -> list[dict[str, Any]]:
        """Messages the topic delivered to its SQS subscriber, as the SNS envelopes."""
        received = self.sqs.receive_message(
            QueueUrl=self.inbox_url, MaxNumberOfMessages=10, WaitTimeSeconds=1
        )
        return [json.loads(m["Body"]) for m in received.get("Messages", [])]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # moto, in this process: SQS refuses what SQS refuses, DynamoDB's transactions are checked as DynamoDB's
    with sqs_character_rules(), dynamodb_transactions_as_dynamodb():
        server.start()
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
        server.stop()


@pytest.fixture
def local_aws(moto_endpoint: str) -> LocalAws:
    """A fresh table, topic and subscriber queue per test on the shared moto server."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    dynamodb = session.client("dynamodb", endpoint_url=moto_endpoint)
    sns = session.client("sns", endpoint_url=moto_endpoint)
    sqs = session.client("sqs", endpoint_url=moto_endpoint)
    suffix = uuid.uuid4().hex[:8]
    table_name = f"runbook-state-{suffix}"
    create_state_table(dynamodb, table_name)
    topic_arn = sns.create_topic(Name=f"runbook-alerts-{suffix}")["TopicArn"]
    inbox_url = sqs.create_queue(QueueName=f"alerts-inbox-{suffix}")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    dead_letter_url = sqs.create_queue(QueueName=f"runbook-dlq-{suffix}")["QueueUrl"]
    secretsmanager = session.client("secretsmanager", endpoint_url=moto_endpoint)
    return LocalAws(
        moto_endpoint, dynamodb, sns, sqs, table_name, topic_arn, inbox_url, dead_letter_url, secretsmanager
    )


# ---------------------------------------------------------------- a monitored target
_ROUTES = {
    "/ok": (200, b'{"status":"ok"}'),
    "/down": (500, b'{"status":"error"}'),
    "/quota": (200, b'{"status":"ok"}'),
}
_QUOTA_HEADERS = (
    ("X-RateLimit-Limit", "5000"),
    ("X-RateLimit-Remaining", "100"),
    ("X-RateLimit-Used", "4900"),
)


class _TargetHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = _ROUTES.get(self.path, (404, b"{}"))
        self.send_response(status)
        if self.path == "/quota":  # an integration's /status with GitHub-style rate-limit headers
            for name, value in _QUOTA_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output for the function's own logs


@pytest.fixture(scope="session")
def target_url() -> Iterator[str]:
    """http://127.0.0.1:<port>: /ok answers 200 {"status":"ok"}, /down answers 500, /quota answers 200
    with X-RateLimit-* headers saying 4900 of 5000 requests are used."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _TargetHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="session")
def closed_url() -> str:
    """A loopback URL nothing listens on: vendor APIs point there so that nothing leaves the machine."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
