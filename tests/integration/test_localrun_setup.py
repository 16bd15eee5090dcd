"""`runbook-local setup`: what template.yaml declares for the functions to talk to, created on a moto
server, and the env-vars file that points every function at it. The README's "Running one function"
recipe runs it end to end (tests/e2e/test_readme_commands.py)."""

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from localrun.api import setup
from localrun.cfn_yaml import load_template
from localrun.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
REGION = "eu-west-1"
HOST_ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def client(service: str, endpoint: str):
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def test_creates_what_the_template_declares_and_names_it_for_every_function(moto_endpoint: str) -> None:
    result = setup(TEMPLATE, moto_endpoint, host_env=HOST_ENV)

    declared = load_template(TEMPLATE)["Resources"]
    table = client("dynamodb", moto_endpoint).describe_table(TableName=result.created["StateTable"].ref)[
        "Table"
    ]
    properties = declared["StateTable"]["Properties"]
    assert table["KeySchema"] == properties["KeySchema"]
    ttl = client("dynamodb", moto_endpoint).describe_time_to_live(TableName=table["TableName"])
    assert (
        ttl["TimeToLiveDescription"]["AttributeName"]
        == properties["TimeToLiveSpecification"]["AttributeName"]
    )
    topics = client("sns", moto_endpoint).list_topics()["Topics"]
    assert {t["TopicArn"] for t in topics} == {
        c.ref for c in result.created.values() if c.type == "AWS::SNS::Topic"
    }
    queue = client("sqs", moto_endpoint).get_queue_attributes(
        QueueUrl=result.created["DeadLetterQueue"].ref, AttributeNames=["MessageRetentionPeriod"]
    )
    assert queue["Attributes"]["MessageRetentionPeriod"] == str(
        declared["DeadLetterQueue"]["Properties"]["MessageRetentionPeriod"]
    )

    functions = [k for k, v in declared.items() if v["Type"] == "AWS::Serverless::Function"]
    assert set(result.env_vars) == set(functions)
    for function in functions:
        env = result.env_vars[function]
        assert env["STATE_TABLE_NAME"] == table["TableName"]
        assert env["ALERTS_TOPIC_ARN"] == result.created["AlertsTopic"].ref
    for function in ("PagerDutyEscalationFunction", "StatuspageUpdateFunction"):
        assert result.env_vars[function]["DEAD_LETTER_QUEUE_URL"] == result.created["DeadLetterQueue"].ref


def test_a_second_run_keeps_what_is_there(moto_endpoint: str) -> None:
    first = setup(TEMPLATE, moto_endpoint, host_env=HOST_ENV)
    dynamodb = client("dynamodb", moto_endpoint)
    key = {"pk": {"S": "check#x"}, "sk": {"S": "state"}}
    dynamodb.put_item(TableName=first.created["StateTable"].ref, Item=key)
    second = setup(TEMPLATE, moto_endpoint, host_env=HOST_ENV)
    assert second.env_vars == first.env_vars
    assert "Item" in dynamodb.get_item(TableName=second.created["StateTable"].ref, Key=key)


def test_the_cli_writes_the_env_vars_file_on_top_of_the_example(
    moto_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in HOST_ENV.items():
        monkeypatch.setenv(name, value)
    output = tmp_path / "env.local.json"
    example = ROOT / "events" / "env.example.json"
    args = [
        "setup",
        "--endpoint-url",
        moto_endpoint,
        "-t",
        str(TEMPLATE),
        "-n",
        str(example),
        "-o",
        str(output),
    ]
    assert main(args) == 0
    written = json.loads(output.read_text())
    base = json.loads(example.read_text())
    # The example's own values stay (vendor URLs on loopback); the resources' names are the new ones.
    pagerduty = written["PagerDutyEscalationFunction"]
    assert pagerduty["PAGERDUTY_EVENTS_URL"] == base["PagerDutyEscalationFunction"]["PAGERDUTY_EVENTS_URL"]
    assert pagerduty["DEAD_LETTER_QUEUE_URL"].startswith(moto_endpoint)
    assert written["HealthProbeFunction"]["STATE_TABLE_NAME"] == "local-StateTable"
    err = capsys.readouterr().err
    assert "StateTable (DynamoDB table local-StateTable)" in err
    assert f"wrote {output}" in err


def test_the_cli_never_creates_in_an_account(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    assert main(["setup", "-t", str(TEMPLATE)]) == 2
    err = capsys.readouterr().err
    assert "--endpoint-url" in err
    assert "Traceback" not in err
