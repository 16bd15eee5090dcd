"""`runbook` from a terminal: real checks against loopback targets, exit codes, heartbeat sending."""

import json

import boto3

from runbook.adapters.aws_clients import aws_client
from runbook.cli import EXIT_BAD_CONFIG, EXIT_FAILING, EXIT_OK, main
from tests.support.http_servers import Reply


def write_config(tmp_path, text: str):
    path = tmp_path / "runbook.yaml"
    path.write_text(text)
    return str(path)


def test_check_prints_a_table_and_exits_non_zero_when_a_check_fails(
    tmp_path, http_server, closed_port, capsys
):
    http_server.route("/slow", Reply(delay_ms=800))
    config = write_config(
        tmp_path,
        "checks:\n"
        f"  - {{name: api, kind: http, url: '{http_server.url('/ok')}', expect: {{json: {{status: ok}}}}}}\n"
        f"  - {{name: slow-api, kind: http, url: '{http_server.url('/slow')}',"
        " expect: {max_latency: 200ms}}\n"
        f"  - {{name: cache, kind: redis, host: 127.0.0.1, port: {closed_port}, timeout: 2s}}\n"
        "  - {name: synthetic, kind: heartbeat, max_age: 30m}\n",
    )
    assert main(["check", "--config", config]) == EXIT_FAILING
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split() == ["CHECK", "KIND", "RESULT", "LATENCY", "REASON"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert " ok " in rows["api"]
    assert "TOO_SLOW" in rows["slow-api"]
    assert "CONNECTION_REFUSED" in rows["cache"]
    assert "SKIPPED" in rows["synthetic"]
    assert "1 passed, 2 failing, 1 skipped" in err


def test_check_passes_and_can_select_checks_and_print_json(tmp_path, http_server, capsys):
    config = write_config(
        tmp_path,
        "checks:\n"
        f"  - {{name: api, kind: http, url: '{http_server.url('/ok')}'}}\n"
        f"  - {{name: other, kind: http, url: '{http_server.url('/error')}'}}\n",
    )
    assert main(["check", "--config", config, "--only", "api", "--json"]) == EXIT_OK
    [result] = json.loads(capsys.readouterr().out)
    assert (result["check"], result["ok"], result["outcome"]) == ("api", True, "ok")
    assert main(["check", "--config", config, "--only", "nope"]) == EXIT_BAD_CONFIG
    assert "no check or integration named 'nope'" in capsys.readouterr().err


def test_check_covers_integrations_with_their_quota(tmp_path, http_server, capsys):
    http_server.route(
        "/vendor",
        Reply(headers=(("X-RateLimit-Limit", "1000"), ("X-RateLimit-Remaining", "150"))),
    )
    config = write_config(
        tmp_path,
        "checks:\n"
        f"  - {{name: api, kind: http, url: '{http_server.url('/ok')}'}}\n"
        "integrations:\n"
        f"  - {{name: vendor, status_url: '{http_server.url('/vendor')}'}}\n"
        f"  - {{name: plain, status_url: '{http_server.url('/ok')}', quota: null}}\n",
    )
    assert main(["check", "--config", config]) == EXIT_FAILING
    out, err = capsys.readouterr()
    rows = {line.split()[0]: line for line in out.splitlines()[1:]}
    assert set(rows) == {"api", "vendor", "plain"}
    assert "integration" in rows["vendor"]
    assert "QUOTA_WARNING" in rows["vendor"]
    assert "85.0 %" in rows["vendor"]
    assert " ok " in rows["plain"]
    assert "2 passed, 1 failing" in err
    assert main(["check", "--config", config, "--only", "plain"]) == EXIT_OK
    assert main(["validate", "--config", config]) == EXIT_OK
    assert "1 checks, 2 integrations" in capsys.readouterr().out


def test_invalid_config_exits_2_with_located_problems(tmp_path, capsys):
    config = write_config(tmp_path, "checks:\n  - {name: db, kind: postgres, host: h}\n")
    assert main(["validate", "--config", config]) == EXIT_BAD_CONFIG
    err = capsys.readouterr().err
    assert 'line 2: checks[0] "db" (postgres): user: required field is missing' in err


def test_validate_lists_the_checks_and_schema_prints_json(tmp_path, capsys):
    config = write_config(
        tmp_path, "checks:\n  - {name: synthetic, kind: heartbeat, max_age: 30m, enabled: false}\n"
    )
    assert main(["validate", "--config", config]) == EXIT_OK
    assert "synthetic" in capsys.readouterr().out
    assert main(["schema"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["title"].startswith("runbook-automation config")


def test_heartbeat_is_sent_as_the_event_the_template_rule_matches(aws, capsys):
    client = boto3.client("events", region_name="eu-west-1")
    client.create_event_bus(Name="ci")
    queue_url = aws.sqs.create_queue(QueueName="heartbeats")["QueueUrl"]
    queue_arn = aws.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    client.put_rule(
        Name="heartbeat",
        EventBusName="ci",
        EventPattern=json.dumps({"source": ["runbook.heartbeat"], "detail-type": ["Heartbeat"]}),
    )
    client.put_targets(Rule="heartbeat", EventBusName="ci", Targets=[{"Id": "q", "Arn": queue_arn}])

    aws_client.cache_clear()  # a client cached outside this test's moto context would not be mocked
    code = main(
        [
            "heartbeat",
            "--check",
            "web-app-synthetic",
            "--status",
            "pass",
            "--summary",
            "42/42",
            "--event-bus",
            "ci",
        ]
    )
    assert code == EXIT_OK
    assert "heartbeat pass for web-app-synthetic sent" in capsys.readouterr().out
    [message] = aws.sqs.receive_message(QueueUrl=queue_url).get("Messages", [])
    event = json.loads(message["Body"])
    assert event["detail"] == {"check": "web-app-synthetic", "status": "pass", "summary": "42/42"}
    aws_client.cache_clear()
