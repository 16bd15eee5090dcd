"""localrun against a tiny template in tmp_path: it must fail the way Lambda fails.

Each test writes a throwaway function (and layer), then invokes it through the real subprocess
machinery. No sockets: the handlers only look at their environment, imports and context.
"""

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest
from samcli.lib.providers.sam_function_provider import SamFunctionProvider  # type: ignore[import-untyped]
from samcli.lib.providers.sam_stack_provider import SamLocalStackProvider  # type: ignore[import-untyped]

from localrun import InvokeError, TemplateError, invoke, runner
from localrun.cfn_yaml import load_template
from localrun.cli import main
from localrun.function import merge_globals, read_function
from localrun.intrinsics import Resolver, Unresolved

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
  Subnets:
    Type: CommaDelimitedList
    Default: ""
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  HasSubnets: !Not [!Equals [!Join ["", !Ref Subnets], ""]]
Globals:
  Function:
    Runtime: python3.13
    Timeout: {timeout}
    MemorySize: 256
    Layers: [!Ref DepLayer]
    Environment:
      Variables:
        FROM_GLOBALS: globals
        STAGE: !Ref Stage
        TABLE: !Ref Table
        OVERRIDDEN: from-globals
Resources:
  DepLayer:
    Type: AWS::Serverless::LayerVersion
    Properties:
      ContentUri: layer/
  Table:
    Type: AWS::DynamoDB::Table
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: {handler}
      Environment:
        Variables:
          OVERRIDDEN: from-function
          MODE: !If [IsProd, strict, relaxed]
          SUBNETS: !If [HasSubnets, some, none]
          ARN: !Sub "arn:${{AWS::Partition}}:sns:${{AWS::Region}}:${{AWS::AccountId}}:${{Stage}}-alerts"
"""


def write_function(
    root: Path,
    body: str,
    *,
    handler: str = "app.handler",
    timeout: int = 5,
    layer_files: dict[str, str] | None = None,
) -> Path:
    (root / "fn").mkdir()
    (root / "fn" / "app.py").write_text(textwrap.dedent(body))
    (root / "layer" / "python").mkdir(parents=True)
    (root / "layer" / "python" / "dep.py").write_text("VALUE = 'from the layer'\n")
    for name, text in (layer_files or {}).items():
        (root / "layer" / name).write_text(text)
    template = root / "template.yaml"
    template.write_text(TEMPLATE.format(handler=handler, timeout=timeout))
    return template


ECHO_ENV = """
import os
def handler(event, context):
    return {k: os.environ.get(k) for k in event["names"]}
"""


def test_environment_from_globals_function_parameters_and_overrides(tmp_path: Path) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    names = ["FROM_GLOBALS", "STAGE", "TABLE", "OVERRIDDEN", "MODE", "SUBNETS", "ARN", "EXTRA"]
    result = invoke(
        template,
        "Fn",
        {"names": names},
        {"EXTRA": "extra"},
        parameter_overrides={"Stage": "prod"},
        host_env={},
    )
    assert result.raise_for_error() == {
        "FROM_GLOBALS": "globals",
        "STAGE": "prod",
        "TABLE": "<unresolved !Ref Table>",
        "OVERRIDDEN": "from-function",
        "MODE": "strict",
        "SUBNETS": "none",
        "ARN": "arn:aws:sns:us-east-1:123456789012:prod-alerts",
        "EXTRA": "extra",
    }
    assert any("TABLE=<unresolved !Ref Table>" in note for note in result.notes)


def test_env_vars_file_overrides_declared_variables_like_sam(tmp_path: Path) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    env_vars = {
        "Parameters": {"TABLE": "local-table", "STAGE": "from-parameters", "UNDECLARED": "x"},
        "Fn": {"STAGE": "from-function-section"},
    }
    result = invoke(
        template, "Fn", {"names": ["TABLE", "STAGE", "UNDECLARED"]}, env_vars=env_vars, host_env={}
    )
    assert result.raise_for_error() == {
        "TABLE": "local-table",
        "STAGE": "from-function-section",
        "UNDECLARED": None,
    }
    assert any("UNDECLARED" in note for note in result.notes)


def test_aws_settings_pass_through_and_the_runtime_variables_are_set(tmp_path: Path) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    host = {"AWS_ENDPOINT_URL": "http://127.0.0.1:1", "AWS_REGION": "eu-west-1", "SECRET_OF_THE_SHELL": "x"}
    names = [
        "AWS_ENDPOINT_URL",
        "AWS_REGION",
        "SECRET_OF_THE_SHELL",
        "AWS_LAMBDA_FUNCTION_NAME",
        "LAMBDA_TASK_ROOT",
    ]
    result = invoke(template, "Fn", {"names": names}, host_env=host)
    assert result.raise_for_error() == {
        "AWS_ENDPOINT_URL": "http://127.0.0.1:1",
        "AWS_REGION": "eu-west-1",
        "SECRET_OF_THE_SHELL": None,
        "AWS_LAMBDA_FUNCTION_NAME": "Fn",
        "LAMBDA_TASK_ROOT": str(tmp_path / "fn"),
    }


def test_context_counts_down_from_the_template_timeout(tmp_path: Path) -> None:
    body = """
    import time
    def handler(event, context):
        first = context.get_remaining_time_in_millis()
        time.sleep(0.2)
        return {
            "first": first,
            "second": context.get_remaining_time_in_millis(),
            "name": context.function_name,
            "memory": context.memory_limit_in_mb,
            "arn": context.invoked_function_arn,
            "request_id": context.aws_request_id,
            "log_group": context.log_group_name,
        }
    """
    result = invoke(write_function(tmp_path, body, timeout=7), "Fn", {}, host_env={})
    payload = result.raise_for_error()
    assert 6000 < payload["first"] <= 7000
    assert payload["second"] <= payload["first"] - 200
    assert payload["name"] == "Fn"
    assert payload["memory"] == "256"  # a string, as in the real runtime
    assert payload["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:Fn"
    assert payload["request_id"] == result.request_id
    assert payload["log_group"] == "/aws/lambda/Fn"


def test_layer_code_is_importable_but_the_project_venv_is_not(tmp_path: Path) -> None:
    body = """
    import sys
    import dep
    def handler(event, context):
        try:
            import pytest  # installed in the venv that runs this test, not in any layer
        except ImportError as error:
            missing = str(error)
        return {"dep": dep.VALUE, "missing": missing, "path": sys.path}
    """
    payload = invoke(write_function(tmp_path, body), "Fn", {}, host_env={}).raise_for_error()
    assert payload["dep"] == "from the layer"
    assert payload["missing"] == "No module named 'pytest'"
    assert not any("site-packages" in p for p in payload["path"]), payload["path"]


def test_the_runtime_sdk_is_there_as_in_lambda(tmp_path: Path) -> None:
    body = """
    import boto3
    def handler(event, context):
        return boto3.__name__
    """
    assert invoke(write_function(tmp_path, body), "Fn", {}, host_env={}).raise_for_error() == "boto3"


def test_a_dependency_missing_from_the_layers_fails_like_lambda(tmp_path: Path) -> None:
    body = """
    import pydantic  # in the venv, not in the layer
    def handler(event, context):
        return "unreachable"
    """
    result = invoke(write_function(tmp_path, body), "Fn", {}, host_env={})
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.ImportModuleError"
    assert result.error["errorMessage"] == "Unable to import module 'app': No module named 'pydantic'"
    with pytest.raises(InvokeError, match=r"Runtime\.ImportModuleError"):
        result.raise_for_error()


@pytest.mark.parametrize(
    ("handler", "error_type", "message"),
    [
        ("app.missing", "Runtime.HandlerNotFound", "Handler 'missing' missing on module 'app'"),
        (
            "nowhere.handler",
            "Runtime.ImportModuleError",
            "Unable to import module 'nowhere': No module named",
        ),
        ("handler", "Runtime.MalformedHandlerName", "Bad handler 'handler'"),
    ],
)
def test_a_wrong_handler_path_fails_like_lambda(
    tmp_path: Path, handler: str, error_type: str, message: str
) -> None:
    result = invoke(write_function(tmp_path, ECHO_ENV, handler=handler), "Fn", {"names": []}, host_env={})
    assert result.error is not None
    assert result.error["errorType"] == error_type
    assert result.error["errorMessage"].startswith(message)


def test_the_timeout_kills_the_handler(tmp_path: Path) -> None:
    body = """
    import time
    def handler(event, context):
        print("going to sleep", flush=True)
        time.sleep(60)
    """
    result = invoke(write_function(tmp_path, body, timeout=1), "Fn", {}, host_env={})
    assert result.timed_out
    assert result.error is not None
    assert result.error["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in result.error["errorMessage"]
    assert result.duration_ms < 5000
    assert "going to sleep" in result.logs


def test_a_handler_exception_becomes_lambdas_error_object(tmp_path: Path) -> None:
    body = """
    def handler(event, context):
        raise ValueError("the target answered 503")
    """
    result = invoke(write_function(tmp_path, body), "Fn", {}, host_env={})
    assert result.error is not None
    assert (result.error["errorType"], result.error["errorMessage"]) == (
        "ValueError",
        "the target answered 503",
    )
    assert any("app.py" in line for line in result.error["stackTrace"])
    assert "[ERROR] ValueError: the target answered 503" in result.logs


def test_a_result_that_is_not_json_is_a_marshal_error(tmp_path: Path) -> None:
    body = """
    def handler(event, context):
        return {"when": object()}
    """
    result = invoke(write_function(tmp_path, body), "Fn", {}, host_env={})
    assert result.error is not None
    assert result.error["errorType"] == "Runtime.MarshalError"


def test_exiting_the_interpreter_is_a_runtime_exit_error(tmp_path: Path) -> None:
    body = """
    import sys
    def handler(event, context):
        sys.exit(3)
    """
    result = invoke(write_function(tmp_path, body), "Fn", {}, host_env={})
    assert result.error == {
        "errorType": "Runtime.ExitError",
        "errorMessage": "Runtime exited with error: exit status 3",
    }


def test_opt_files_map_to_the_layer_that_ships_them(tmp_path: Path) -> None:
    template = write_function(tmp_path, ECHO_ENV, layer_files={"runbook.yaml": "version: 1\n"})
    result = invoke(template, "Fn", {"names": ["RUNBOOK_CONFIG"]}, host_env={})
    assert result.raise_for_error() == {"RUNBOOK_CONFIG": str(tmp_path / "layer" / "runbook.yaml")}

    from_shell = invoke(
        template, "Fn", {"names": ["RUNBOOK_CONFIG"]}, host_env={"RUNBOOK_CONFIG": "/tmp/mine.yaml"}
    )
    assert from_shell.raise_for_error() == {"RUNBOOK_CONFIG": "/tmp/mine.yaml"}


def test_template_errors_name_the_problem(tmp_path: Path) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    with pytest.raises(TemplateError, match="no resource 'Nope'; functions: Fn"):
        invoke(template, "Nope", {}, host_env={})
    with pytest.raises(TemplateError, match="not an AWS::Serverless::Function"):
        invoke(template, "Table", {}, host_env={})
    with pytest.raises(TemplateError, match="undeclared parameter"):
        invoke(template, "Fn", {}, parameter_overrides={"Nope": "x"}, host_env={})


def test_cli_prints_the_payload_on_stdout_and_logs_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """
    def handler(event, context):
        print("a log line")
        return {"got": event}
    """
    template = write_function(tmp_path, body)
    event = tmp_path / "event.json"
    event.write_text('{"a": 1}')
    assert main(["invoke", "Fn", "--event", str(event), "--template", str(template)]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out) == {"got": {"a": 1}}
    assert "a log line" in err


def test_cli_exits_non_zero_with_the_error_type_and_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    body = """
    def handler(event, context):
        raise RuntimeError("nope")
    """
    template = write_function(tmp_path, body)
    event = tmp_path / "event.json"
    event.write_text("{}")
    assert (
        main(["invoke", "Fn", "-e", str(event), "-t", str(template), "--parameter-overrides", "Stage=x"]) == 1
    )
    out, err = capsys.readouterr()
    assert json.loads(out)["errorType"] == "RuntimeError"
    assert "Fn failed: RuntimeError: nope" in err
    assert main(["invoke", "Missing", "-e", str(event), "-t", str(template)]) == 2


def test_short_tags_become_the_long_form(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(
        "AWSTemplateFormatVersion: 2010-09-09\n"
        "Resources:\n"
        "  R:\n"
        "    Properties:\n"
        "      A: !GetAtt Queue.Arn\n"
        "      B: !Sub ['${X}-y', {X: !Ref P}]\n"
        "      C: !If [Cond, !Ref AWS::NoValue, 1]\n"
    )
    template = load_template(path)
    assert template["AWSTemplateFormatVersion"] == "2010-09-09"
    assert template["Resources"]["R"]["Properties"] == {
        "A": {"Fn::GetAtt": ["Queue", "Arn"]},
        "B": {"Fn::Sub": ["${X}-y", {"X": {"Ref": "P"}}]},
        "C": {"Fn::If": ["Cond", {"Ref": "AWS::NoValue"}, 1]},
    }


def test_resolver_drops_no_value_and_keeps_resources_unresolved() -> None:
    template: dict[str, Any] = {
        "Parameters": {"P": {"Type": "String", "Default": "v"}},
        "Conditions": {"Yes": {"Fn::Equals": [{"Ref": "P"}, "v"]}},
        "Resources": {"Queue": {"Type": "AWS::SQS::Queue"}},
    }
    resolver = Resolver(template)
    assert resolver.resolve({"A": {"Fn::If": ["Yes", {"Ref": "AWS::NoValue"}, 1]}, "B": [{"Ref": "P"}]}) == {
        "B": ["v"]
    }
    assert resolver.resolve({"Fn::GetAtt": ["Queue", "Arn"]}) == Unresolved("!GetAtt Queue.Arn")
    assert resolver.resolve({"Fn::Sub": "${Queue.Arn}/x"}) == Unresolved("!Sub '${Queue.Arn}/x'")
    assert resolver.resolve({"Fn::Sub": "${!Literal}-${P}"}) == "${Literal}-v"


def test_globals_merge_like_sam() -> None:
    merged = merge_globals(
        {"Layers": ["A"], "Environment": {"Variables": {"X": "g", "Y": "g"}}, "Timeout": 3},
        {"Layers": ["B"], "Environment": {"Variables": {"Y": "f"}}, "Timeout": 9},
    )
    assert merged == {"Layers": ["A", "B"], "Environment": {"Variables": {"X": "g", "Y": "f"}}, "Timeout": 9}


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # samtranslator's own, inside sam's provider
@pytest.mark.parametrize("architecture", ["arm64", "x86_64"])
def test_reads_the_real_template_as_sam_local_does(architecture: str) -> None:
    root = Path(__file__).resolve().parents[2]
    template_path = root / "template.yaml"
    overrides = {"Architecture": architecture}
    stacks, _ = SamLocalStackProvider.get_stacks(str(template_path), parameter_overrides=overrides)
    provider = SamFunctionProvider(stacks)
    template = load_template(template_path)
    for sam in provider.get_all():
        ours = read_function(template, template_path, sam.name, Resolver(template, overrides))
        assert (ours.handler, ours.runtime, ours.timeout_s, ours.memory_mb) == (
            sam.handler,
            sam.runtime,
            sam.timeout,
            sam.memory,
        )
        assert ours.code_dir == (root / sam.codeuri).resolve()
        assert list(ours.architectures) == sam.architectures
        assert [(layer.logical_id, layer.content_dir) for layer in ours.layers] == [
            (layer.name, (root / layer.codeuri).resolve()) for layer in sam.layers
        ]
        sam_env = sam.environment["Variables"]
        assert set(ours.environment) == set(sam_env)
        # sam local turns a Ref to a resource into its logical ID; localrun into a visible placeholder.
        assert {k: v for k, v in ours.environment.items() if k not in ours.unresolved} == {
            k: v for k, v in sam_env.items() if k not in ours.unresolved
        }


def test_an_init_that_never_ends_is_killed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner, "INIT_TIMEOUT_S", 1.0)
    body = """
    import time
    time.sleep(60)  # module-level code: Lambda's init phase
    def handler(event, context):
        return "unreachable"
    """
    result = invoke(write_function(tmp_path, body), "Fn", {}, host_env={})
    assert result.timed_out
    assert result.error is not None
    assert "Init phase timed out" in result.error["errorMessage"]
    assert result.duration_ms < 5000


def test_an_init_busy_on_the_cpu_is_an_init_timeout_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What Lambda's limit is about, the function's own slowness, still counts: time spent computing
    is the function's, only time spent waiting for a CPU is not (tests/e2e/test_loaded_machine.py)."""
    monkeypatch.setattr(runner, "INIT_TIMEOUT_S", 1.0)
    body = """
    import time
    started = time.process_time()
    while time.process_time() - started < 120:  # module-level code that computes for a long time
        pass
    def handler(event, context):
        return "unreachable"
    """
    result = invoke(write_function(tmp_path, body, timeout=300), "Fn", {}, host_env={})
    assert result.timed_out
    assert result.error is not None
    assert "Init phase timed out after 1.00 seconds" in result.error["errorMessage"]
    assert result.init_ms >= 1000


def test_the_cpu_wait_of_a_process_is_read_from_the_kernel() -> None:
    import os

    assert runner.cpu_wait_seconds(os.getpid()) >= 0.0
    assert runner.cpu_wait_seconds(2**22 + 12345) == 0.0  # no such process: nothing to subtract


READ_FILE = """
import os
def handler(event, context):
    return {"cwd": os.getcwd(), "text": open(os.environ[event["name"]]).read()}
"""


@pytest.mark.parametrize("how", ["--env", "shell", "env-vars file"])
def test_a_relative_path_names_the_file_of_the_callers_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], how: str
) -> None:
    """`runbook-local invoke ... --env RUNBOOK_CONFIG=config/examples/local.yaml` from the checkout: the
    function runs in its code directory, as in Lambda, but the path is the caller's."""
    template = write_function(tmp_path, READ_FILE)
    caller = tmp_path / "checkout"
    (caller / "config").mkdir(parents=True)
    (caller / "config" / "mine.yaml").write_text("the caller's file")
    event = tmp_path / "event.json"
    args = ["invoke", "Fn", "-e", str(event), "-t", str(template)]
    monkeypatch.chdir(caller)
    if how == "--env":
        event.write_text('{"name": "DATA"}')
        args += ["--env", "DATA=config/mine.yaml"]
    elif how == "shell":  # a declared variable, from the calling shell as with sam local
        event.write_text('{"name": "STAGE"}')
        monkeypatch.setenv("STAGE", "config/mine.yaml")
    else:
        event.write_text('{"name": "STAGE"}')
        env_vars = tmp_path / "env.json"
        env_vars.write_text('{"Fn": {"STAGE": "config/mine.yaml"}}')
        args += ["-n", str(env_vars)]
    assert main(args) == 0, capsys.readouterr().err
    payload = json.loads(capsys.readouterr().out)
    assert payload == {"cwd": str(tmp_path / "fn"), "text": "the caller's file"}


def test_a_relative_path_that_names_nothing_is_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    monkeypatch.chdir(tmp_path)
    result = invoke(template, "Fn", {"names": ["DATA"]}, {"DATA": "config/missing.yaml"}, host_env={})
    assert result.raise_for_error() == {"DATA": "config/missing.yaml"}
    assert any("DATA=config/missing.yaml: no such file in" in note for note in result.notes), result.notes


def test_template_values_and_other_values_are_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = write_function(tmp_path, ECHO_ENV)
    (tmp_path / "globals").write_text("a file named like the template's value")
    monkeypatch.chdir(tmp_path)
    overrides = {"LEVEL": "INFO", "URL": "http://127.0.0.1:1/x", "ABS": "/etc/hostname"}
    result = invoke(template, "Fn", {"names": [*overrides, "FROM_GLOBALS"]}, overrides, host_env={})
    assert result.raise_for_error() == {**overrides, "FROM_GLOBALS": "globals"}
