"""Contracts of template.yaml that other code and the operators rely on (docs/ARCHITECTURE.md)."""

import ast
import os
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from localrun.cfn_yaml import load_template
from localrun.intrinsics import Resolver

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = load_template(ROOT / "template.yaml")
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]
FUNCTIONS = {k: v for k, v in RESOURCES.items() if v["Type"] == "AWS::Serverless::Function"}
GLOBAL_ENV = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
# The flags that make `uv export` print exactly layers/common/requirements.txt (`make requirements`).
UV_EXPORT = [
    "export",
    "--format",
    "requirements.txt",
    "--frozen",
    "--no-dev",
    "--no-hashes",
    "--no-emit-project",
    "--no-header",
]


def _statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    """Inline statements and those of the template's managed policies the function attaches."""
    statements: list[dict[str, Any]] = []
    for policy in function["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Ref" in policy:
            policy = RESOURCES[policy["Ref"]]["Properties"]["PolicyDocument"]
        statements += policy["Statement"]
    return statements


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("logical_id", "resource_type"),
    [
        ("HealthProbeFunction", "AWS::Serverless::Function"),
        ("QuotaCheckFunction", "AWS::Serverless::Function"),
        ("PagerDutyEscalationFunction", "AWS::Serverless::Function"),
        ("StatuspageUpdateFunction", "AWS::Serverless::Function"),
        ("CheckRunnerPolicy", "AWS::IAM::ManagedPolicy"),
        ("QuotaCheckHeartbeatAlarm", "AWS::CloudWatch::Alarm"),
        ("CommonLayer", "AWS::Serverless::LayerVersion"),
        ("ConfigLayer", "AWS::Serverless::LayerVersion"),
        ("StateTable", "AWS::DynamoDB::Table"),
        ("AlertsTopic", "AWS::SNS::Topic"),
        ("AlertsTopicKey", "AWS::KMS::Key"),
        ("DeadLetterQueue", "AWS::SQS::Queue"),
        ("HeartbeatPublisherPolicy", "AWS::IAM::ManagedPolicy"),
        ("ProbeHeartbeatAlarm", "AWS::CloudWatch::Alarm"),
        ("DeadLetterQueueAlarm", "AWS::CloudWatch::Alarm"),
    ],
)
def test_logical_ids_are_the_documented_ones(logical_id: str, resource_type: str) -> None:
    assert RESOURCES[logical_id]["Type"] == resource_type


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_handler_exists_on_disk(logical_id: str) -> None:
    props = FUNCTIONS[logical_id]["Properties"]
    module, _, name = props["Handler"].rpartition(".")
    source = ROOT / props["CodeUri"] / (module.replace(".", "/") + ".py")
    assert source.is_file(), f"{logical_id}: {source} does not exist"
    defined = {n.name for n in ast.parse(source.read_text()).body if isinstance(n, ast.FunctionDef)}
    assert name in defined, f"{logical_id}: {source} defines no function {name}"


def test_functions_follow_the_naming_contract() -> None:
    for logical_id, function in FUNCTIONS.items():
        props = function["Properties"]
        assert props["Handler"] == "app.lambda_handler", logical_id
        assert props["CodeUri"].startswith("functions/"), logical_id


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_function_policies_name_real_resources(logical_id: str) -> None:
    statements = _statements(FUNCTIONS[logical_id])
    assert statements, f"{logical_id} has no policy"
    for statement in statements:
        assert "*" not in _as_list(statement["Resource"]), statement.get("Sid")
        assert not any(a == "*" or a.endswith(":*") for a in _as_list(statement["Action"])), statement.get(
            "Sid"
        )


CHECKERS = ["HealthProbeFunction", "QuotaCheckFunction"]


@pytest.mark.parametrize("logical_id", CHECKERS)
def test_checkers_may_use_the_table_but_not_scan_or_delete_it(logical_id: str) -> None:
    table = next(s for s in _statements(FUNCTIONS[logical_id]) if s["Sid"] == "StateTable")
    assert table["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    assert set(table["Action"]) == {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
    }


@pytest.mark.parametrize("logical_id", CHECKERS)
def test_secrets_are_scoped_by_the_path_prefix(logical_id: str) -> None:
    statements = {s["Sid"]: s for s in _statements(FUNCTIONS[logical_id])}
    assert "parameter/${SecretsPathPrefix}*" in statements["ReadParameters"]["Resource"]["Fn::Sub"]
    assert "secret:${SecretsPathPrefix}*" in statements["ReadSecrets"]["Resource"]["Fn::Sub"]


def test_state_table_schema() -> None:
    table = RESOURCES["StateTable"]
    props = table["Properties"]
    assert props["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {(a["AttributeName"], a["AttributeType"]) for a in props["AttributeDefinitions"]} == {
        ("pk", "S"),
        ("sk", "S"),
    }
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


def test_alerts_topic_uses_a_customer_managed_key_that_alarms_can_use() -> None:
    assert RESOURCES["AlertsTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "AlertsTopicKey"}
    key = RESOURCES["AlertsTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = {
        service
        for statement in key["KeyPolicy"]["Statement"]
        for service in _as_list(statement["Principal"].get("Service", []))
    }
    assert {"cloudwatch.amazonaws.com", "events.amazonaws.com"} <= services


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_each_function_logs_to_its_own_group_with_retention(logical_id: str) -> None:
    log_group = FUNCTIONS[logical_id]["Properties"]["LoggingConfig"]["LogGroup"]
    group = RESOURCES[log_group["Ref"]]
    assert group["Type"] == "AWS::Logs::LogGroup"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
def test_failed_async_invocations_go_to_the_dead_letter_queue(logical_id: str) -> None:
    config = FUNCTIONS[logical_id]["Properties"]["EventInvokeConfig"]
    assert 0 <= config["MaximumRetryAttempts"] <= 2
    assert 60 <= config["MaximumEventAgeInSeconds"] <= 21600
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["DeadLetterQueue", "Arn"]
    }


def test_globals_carry_the_powertools_and_resource_settings() -> None:
    assert GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"] == "runbook-automation"
    assert GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"] == "RunbookAutomation"
    assert GLOBAL_ENV["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert GLOBAL_ENV["ALERTS_TOPIC_ARN"] == {"Ref": "AlertsTopic"}
    assert GLOBAL_ENV["STATE_TABLE_NAME"] == {"Ref": "StateTable"}
    globals_ = TEMPLATE["Globals"]["Function"]
    assert globals_["Runtime"] == "python3.13"
    assert globals_["Layers"] == [{"Ref": "CommonLayer"}, {"Ref": "ConfigLayer"}]


@pytest.mark.parametrize(
    ("alarm_id", "metric", "emitter"),
    [
        ("ProbeHeartbeatAlarm", "ProbeRun", "record_probe_run"),
        ("QuotaCheckHeartbeatAlarm", "QuotaCheckRun", "record_quota_run"),
    ],
)
def test_heartbeat_alarms_watch_what_the_checkers_emit(alarm_id: str, metric: str, emitter: str) -> None:
    alarm = RESOURCES[alarm_id]["Properties"]
    assert (alarm["Namespace"], alarm["MetricName"]) == (GLOBAL_ENV["POWERTOOLS_METRICS_NAMESPACE"], metric)
    telemetry = (ROOT / "layers/common/runbook/telemetry.py").read_text()
    assert f"def {emitter}(" in telemetry
    assert f'name="{metric}"' in telemetry
    assert alarm["Dimensions"] == [{"Name": "service", "Value": GLOBAL_ENV["POWERTOOLS_SERVICE_NAME"]}]
    assert alarm["TreatMissingData"] == "breaching"  # a prober that stopped sends nothing
    assert {"Ref": "AlertsTopic"} in alarm["AlarmActions"]  # it pages through the usual path too
    assert alarm["AlarmActions"] == alarm["OKActions"]


def test_heartbeat_publishers_may_only_send_heartbeats() -> None:
    (statement,) = RESOURCES["HeartbeatPublisherPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "events:PutEvents"
    assert statement["Condition"]["StringEquals"]["events:source"] == "runbook.heartbeat"
    rule = FUNCTIONS["HealthProbeFunction"]["Properties"]["Events"]["Heartbeat"]["Properties"]["Pattern"]
    assert rule == {"source": ["runbook.heartbeat"], "detail-type": ["Heartbeat"]}


def test_outputs() -> None:
    assert {
        "AlertsTopicArn",
        "StateTableName",
        "DeadLetterQueueUrl",
        "HealthProbeFunctionName",
        "QuotaCheckFunctionName",
        "PagerDutyEscalationFunctionName",
        "StatuspageUpdateFunctionName",
        "HeartbeatPublisherPolicyArn",
        "WatchdogTopicArn",
        "WatchdogPath",
    } <= set(TEMPLATE["Outputs"])


def test_layer_requirements_are_exported_from_the_lock() -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    exported = subprocess.run([uv, *UV_EXPORT], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    current = (ROOT / "layers/common/requirements.txt").read_text()
    assert current == exported, "layers/common/requirements.txt is stale: run `make requirements`"


def test_quota_check_runs_on_its_own_schedule_every_five_minutes_by_default() -> None:
    schedule = FUNCTIONS["QuotaCheckFunction"]["Properties"]["Events"]["Schedule"]["Properties"]
    assert schedule["Schedule"] == {"Ref": "QuotaCheckSchedule"}
    assert TEMPLATE["Parameters"]["QuotaCheckSchedule"]["Default"] == "rate(5 minutes)"


def test_paging_subscribes_to_the_alerts_topic_and_sweeps_every_minute() -> None:
    props = FUNCTIONS["PagerDutyEscalationFunction"]["Properties"]
    alerts = props["Events"]["Alerts"]
    assert alerts["Type"] == "SNS"
    assert alerts["Properties"]["Topic"] == {"Ref": "AlertsTopic"}
    # What SNS cannot deliver lands in the DLQ; the queue policy lets the topic send there.
    assert alerts["Properties"]["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    }
    queue_policy = RESOURCES["DeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert any(s.get("Principal") == {"Service": "sns.amazonaws.com"} for s in queue_policy)
    assert props["Events"]["AckSweep"]["Properties"]["Schedule"] == "rate(1 minute)"
    assert props["Environment"]["Variables"]["DEAD_LETTER_QUEUE_URL"] == {"Ref": "DeadLetterQueue"}


def test_paging_may_write_its_state_and_keep_unreadable_messages_but_not_publish_alerts() -> None:
    statements = {s["Sid"]: s for s in _statements(FUNCTIONS["PagerDutyEscalationFunction"])}
    assert "dynamodb:DeleteItem" in statements["PagingState"]["Action"]  # escalation claims, held alerts
    assert statements["KeepUnreadableMessages"]["Action"] == "sqs:SendMessage"
    assert "PublishAlerts" not in statements  # it consumes the topic: publishing could loop


def test_vendor_endpoints_are_parameters_with_the_real_defaults() -> None:
    params = TEMPLATE["Parameters"]
    assert params["PagerDutyEventsUrl"]["Default"] == "https://events.pagerduty.com/v2/enqueue"
    assert params["PagerDutyApiUrl"]["Default"] == "https://api.pagerduty.com"
    assert GLOBAL_ENV["PAGERDUTY_EVENTS_URL"] == {"Ref": "PagerDutyEventsUrl"}
    assert GLOBAL_ENV["PAGERDUTY_API_URL"] == {"Ref": "PagerDutyApiUrl"}


def test_only_what_can_change_the_page_invokes_the_statuspage_function() -> None:
    props = FUNCTIONS["StatuspageUpdateFunction"]["Properties"]
    alerts = props["Events"]["Alerts"]["Properties"]
    assert alerts["Topic"] == {"Ref": "AlertsTopic"}
    # SEV1/SEV2, every resolve, and every de-escalation (an alert may drop below SEV2: it leaves the page)
    assert alerts["FilterPolicy"] == {
        "$or": [{"sev": ["SEV1", "SEV2"]}, {"status": ["resolved"]}, {"change": ["deescalated"]}]
    }
    assert props["Events"]["Sync"]["Properties"]["Schedule"] == "rate(1 minute)"
    # One at a time: the page allows one request a second per token, and a sync reads, decides, writes.
    assert props["ReservedConcurrentExecutions"] == 1
    assert GLOBAL_ENV["STATUSPAGE_API_URL"] == {"Ref": "StatuspageApiUrl"}
    assert TEMPLATE["Parameters"]["StatuspageApiUrl"]["Default"] == "https://api.statuspage.io/v1"


# ---------------------------------------------------------------- the alarms' second path
ALARMS = {k: v["Properties"] for k, v in RESOURCES.items() if v["Type"] == "AWS::CloudWatch::Alarm"}
# The alarms issue 10 names: they used to notify only the AlertsTopic, read by PagerDutyEscalationFunction.
PROBERS_OWN_ALARMS = ["ProbeHeartbeatAlarm", "QuotaCheckHeartbeatAlarm", "DeadLetterQueueAlarm"]
PAGERDUTY_CLOUDWATCH_URL = "https://events.pagerduty.com/integration/0123456789abcdef0123456789abcdef/enqueue"


def _topics_the_project_reads() -> set[str]:
    """Topics a function of the stack subscribes to, or that deliver to a queue or function of it."""
    read = {
        event["Properties"]["Topic"]["Ref"]
        for function in FUNCTIONS.values()
        for event in function["Properties"].get("Events", {}).values()
        if event["Type"] == "SNS"
    }
    for resource in RESOURCES.values():
        if resource["Type"] == "AWS::SNS::Subscription":
            endpoint = resource["Properties"]["Endpoint"]
            refers_to = endpoint.get("Ref") or endpoint.get("Fn::GetAtt", [None])[0]
            if refers_to in RESOURCES:
                read.add(resource["Properties"]["TopicArn"]["Ref"])
    return read


def _second_path_topics(alarm: dict[str, Any]) -> list[str]:
    topics = [a["Ref"] for a in alarm["AlarmActions"] if RESOURCES[a["Ref"]]["Type"] == "AWS::SNS::Topic"]
    return [t for t in topics if t not in _topics_the_project_reads()]


def _subscriptions(overrides: dict[str, str]) -> list[tuple[str, str, str]]:
    """(topic, protocol, endpoint) of the stack's SNS subscriptions deployed with these parameters."""
    resolver = Resolver(TEMPLATE, overrides)
    created = []
    for resource in RESOURCES.values():
        if resource["Type"] != "AWS::SNS::Subscription":
            continue
        if "Condition" in resource and not resolver.condition(resource["Condition"]):
            continue
        props = resource["Properties"]
        created.append(
            (
                props["TopicArn"]["Ref"],
                resolver.resolve(props["Protocol"]),
                resolver.resolve(props["Endpoint"]),
            )
        )
    return sorted(created)


def _allowed(parameter: str, value: str) -> bool:
    """What CloudFormation checks of a parameter value before it deploys anything."""
    spec = TEMPLATE["Parameters"][parameter]
    if "AllowedValues" in spec and value not in [str(v) for v in spec["AllowedValues"]]:
        return False
    return "AllowedPattern" not in spec or re.fullmatch(spec["AllowedPattern"], value) is not None


def test_the_probers_own_alarms_are_the_ones_the_issue_names() -> None:
    assert set(PROBERS_OWN_ALARMS) <= set(ALARMS)


@pytest.mark.parametrize("alarm_id", sorted(ALARMS))
def test_every_alarm_also_notifies_a_topic_no_function_of_the_project_reads(alarm_id: str) -> None:
    alarm = ALARMS[alarm_id]
    assert _second_path_topics(alarm) == ["WatchdogTopic"], alarm["AlarmActions"]
    assert {"Ref": "AlertsTopic"} in alarm["AlarmActions"]  # and through the usual path when it works
    assert alarm["OKActions"] == alarm["AlarmActions"]  # the page that opened is resolved on both


def test_no_function_may_publish_to_the_second_path_or_use_its_key() -> None:
    for logical_id, function in FUNCTIONS.items():
        for statement in _statements(function):
            resources = _as_list(statement["Resource"])
            assert {"Ref": "WatchdogTopic"} not in resources, logical_id
            assert {"Fn::GetAtt": ["WatchdogTopicKey", "Arn"]} not in resources, logical_id


def test_the_second_path_is_encrypted_with_a_key_only_cloudwatch_alarms_may_use() -> None:
    topic = RESOURCES["WatchdogTopic"]["Properties"]
    # Its own key: a change to the AlertsTopic's key cannot silence both paths.
    assert topic["KmsMasterKeyId"] == {"Ref": "WatchdogTopicKey"}
    key = RESOURCES["WatchdogTopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    services = [
        s["Principal"]["Service"] for s in key["KeyPolicy"]["Statement"] if "Service" in s["Principal"]
    ]
    assert services == ["cloudwatch.amazonaws.com"]
    (policy,) = [
        r["Properties"]
        for r in RESOURCES.values()
        if r["Type"] == "AWS::SNS::TopicPolicy" and r["Properties"]["Topics"] == [{"Ref": "WatchdogTopic"}]
    ]
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    publish = statements["CloudWatchAlarmsOfThisAccount"]
    assert (publish["Effect"], publish["Principal"], publish["Action"]) == (
        "Allow",
        {"Service": "cloudwatch.amazonaws.com"},
        "sns:Publish",
    )
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    assert [s["Sid"] for s in statements.values() if s["Effect"] == "Allow"] == [
        "CloudWatchAlarmsOfThisAccount"
    ]
    assert statements["TlsOnly"]["Effect"] == "Deny"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        (
            {"WatchdogPagerDutyUrl": PAGERDUTY_CLOUDWATCH_URL},
            [("WatchdogTopic", "https", PAGERDUTY_CLOUDWATCH_URL)],
        ),
        ({"WatchdogEmail": "oncall@example.com"}, [("WatchdogTopic", "email", "oncall@example.com")]),
        (
            {"WatchdogPagerDutyUrl": PAGERDUTY_CLOUDWATCH_URL, "WatchdogEmail": "oncall@example.com"},
            [
                ("WatchdogTopic", "email", "oncall@example.com"),
                ("WatchdogTopic", "https", PAGERDUTY_CLOUDWATCH_URL),
            ],
        ),
    ],
    ids=["none", "pagerduty", "email", "both"],
)
def test_the_second_path_is_subscribed_to_the_endpoints_the_parameters_name(
    overrides: dict[str, str], expected: list[tuple[str, str, str]]
) -> None:
    assert all(_allowed(name, value) for name, value in overrides.items())
    subscriptions = [
        s for s in _subscriptions(overrides) if s[0] in _second_path_topics(ALARMS["ProbeHeartbeatAlarm"])
    ]
    assert subscriptions == expected
    path = Resolver(TEMPLATE, overrides).resolve(TEMPLATE["Outputs"]["WatchdogPath"]["Value"])
    if expected:
        assert not path.startswith("NONE"), path
        assert ("PagerDuty" in path) is ("WatchdogPagerDutyUrl" in overrides)
        assert PAGERDUTY_CLOUDWATCH_URL not in path  # it holds the integration key
    else:
        # A stack without a second path deploys (a dev stack), and says so where `sam deploy` prints it.
        assert path.startswith("NONE: no second path"), path


def test_the_pagerduty_url_holds_a_key_and_is_not_echoed() -> None:
    assert TEMPLATE["Parameters"]["WatchdogPagerDutyUrl"]["NoEcho"] is True
    outputs = str(TEMPLATE["Outputs"])
    assert "${WatchdogPagerDutyUrl}" not in outputs
    assert "'Ref': 'WatchdogPagerDutyUrl'" not in outputs


@pytest.mark.parametrize(
    ("parameter", "value", "allowed"),
    [
        ("WatchdogPagerDutyUrl", "", True),
        ("WatchdogPagerDutyUrl", PAGERDUTY_CLOUDWATCH_URL, True),
        ("WatchdogPagerDutyUrl", "https://events.eu.pagerduty.com/integration/0123abcd/enqueue", True),
        ("WatchdogPagerDutyUrl", "http://events.pagerduty.com/integration/0123abcd/enqueue", False),
        ("WatchdogPagerDutyUrl", "events.pagerduty.com/integration/0123abcd/enqueue", False),
        ("WatchdogPagerDutyUrl", "REPLACE-ME-PagerDuty-CloudWatch-integration-URL", False),
        ("WatchdogEmail", "", True),
        ("WatchdogEmail", "oncall@example.com", True),
        ("WatchdogEmail", "REPLACE-ME-team-address", False),
        ("WatchdogEmail", "on call@example.com", False),
    ],
)
def test_the_watchdog_parameters_refuse_what_is_no_endpoint(
    parameter: str, value: str, allowed: bool
) -> None:
    assert _allowed(parameter, value) is allowed


def _overrides(environment: str) -> dict[str, str]:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    text = config[environment]["deploy"]["parameters"]["parameter_overrides"]
    return dict(item.split("=", 1) for item in shlex.split(text))


def test_the_dev_stack_deploys_without_a_second_path() -> None:
    overrides = _overrides("default")
    assert all(_allowed(name, value) for name, value in overrides.items()), overrides
    assert _subscriptions(overrides) == []


@pytest.mark.parametrize(
    ("environment", "parameter"), [("staging", "WatchdogEmail"), ("prod", "WatchdogPagerDutyUrl")]
)
def test_staging_and_prod_do_not_deploy_until_their_second_path_is_named(
    environment: str, parameter: str
) -> None:
    overrides = _overrides(environment)
    assert set(overrides) <= set(TEMPLATE["Parameters"])
    # The placeholder fails the parameter's pattern: CloudFormation refuses the deploy, naming it.
    assert not _allowed(parameter, overrides[parameter])
    assert all(_allowed(name, value) for name, value in overrides.items() if name != parameter)


@pytest.mark.parametrize("logical_id", sorted(FUNCTIONS))
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_each_function_has_an_errors_and_a_throttles_alarm_on_the_second_path(
    logical_id: str, metric: str
) -> None:
    (alarm,) = [
        a
        for a in ALARMS.values()
        if (a["Namespace"], a["MetricName"]) == ("AWS/Lambda", metric)
        and a["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": logical_id}}]
    ]
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )
    # No invocation is no data, not a failure; silence is what the heartbeat alarms are for.
    assert alarm["TreatMissingData"] == "notBreaching"
    # A single failed or throttled minute (Lambda retries it) does not page; a repeated one does.
    assert 2 <= alarm["DatapointsToAlarm"] <= alarm["EvaluationPeriods"]
    assert alarm["Period"] * alarm["EvaluationPeriods"] <= 600
    assert _second_path_topics(alarm) == ["WatchdogTopic"]


def test_page_failures_has_an_alarm_on_the_second_path() -> None:
    (alarm,) = [a for a in ALARMS.values() if a["MetricName"] == "PageFailures"]
    # Namespace and dimensions: checked against what the function emits (integration and e2e tests).
    assert alarm["TreatMissingData"] == "notBreaching"  # the metric exists only when a page failed
    assert (alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "Sum",
        "GreaterThanThreshold",
        0,
    )
    assert _second_path_topics(alarm) == ["WatchdogTopic"]
