"""Every shell command README.md shows is run here, or named with the reason it cannot run here, so that
a documented command cannot rot: a new command in the README that is in neither list fails
test_every_readme_command_is_run_or_said_why_not.

A command runs as written, from the checkout, through bash, with substitutions only where the README
means "yours" (my.yaml, my-env.json, the port of your moto server), where the session already has
its result (the `sam build` for this machine, `--template`) or to keep it short (`--ticks 1`). Each
substitution is asserted to apply. Nothing leaves the machine: every command sees a local moto
server as AWS (`AWS_ENDPOINT_URL`, test credentials, no instance metadata), PagerDuty, Statuspage and
Slack are the sandbox's stand-ins, targets are on loopback.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from localrun.api import host_architecture
from localrun.cfn_yaml import load_template
from runbook.config_file import load_config
from runbook.models.events import HeartbeatEvent, parse_probe_trigger
from runbook.models.secrets import SsmParameterRef, find_secret_refs
from tests.support.postgres_server import PostgresInfo
from tests.support.processes import free_port
from tests.support.readme import README, Command, readme_commands
from tests.support.redis_server import RedisInfo

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

ROOT = README.parent
VENV_BIN = Path(sys.executable).parent
REGION = "us-east-1"
COMMANDS = readme_commands()

# ---------------------------------------------------------------- what covers each command
# The test of this module that runs the command.
RUN_BY = {
    "make help": "test_make_help_lists_every_target_the_readme_names",
    "make dev": "test_make_dev",
    'make unit PYTEST_ARGS="-k routing"': "test_make_unit_with_pytest_args",
    "make run": "test_make_run",
    'make run SANDBOX_ARGS="--ticks 15 --json"': "test_make_run",
    "uv run runbook-sandbox --config my.yaml --env-file my-env.json": "test_the_sandbox_dry_run",
    "uv run runbook-sandbox --config config/runbook.yaml --env-file my-env.json": "test_the_sandbox_dry_run",
    "uv run runbook validate --config config/runbook.yaml": "test_validate_and_check_the_shipped_config",
    "uv run runbook validate": "test_validate_and_check_the_shipped_config",
    "uv run runbook check": "test_validate_and_check_the_shipped_config",
    "uv run runbook check --config config/examples/local.yaml": "test_check_the_local_example",
    "uv run runbook check --config my.yaml": "test_check_my_config",
    "uv run runbook check --config my.yaml --only redis-cache --json": "test_check_my_config",
    "uv run runbook check --config config/runbook.yaml --only api-gateway-initech": "test_adding_a_check",
    "runbook heartbeat --check web-app-synthetic --status pass --summary "
    '"e2e 42/42, Lighthouse 96"': "test_heartbeat_reports",
    "make build-local": "test_running_one_function",
    "uv run moto_server -p 5000 &": "test_running_one_function",
    "export AWS_ENDPOINT_URL=http://127.0.0.1:5000 AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=x "
    "AWS_REGION=eu-west-1": "test_running_one_function",
    "uv run runbook-local setup -n events/env.example.json -o env.local.json": "test_running_one_function",
    "uv run runbook-local invoke HealthProbeFunction -e events/health_probe/schedule.json "
    "-n env.local.json --env RUNBOOK_CONFIG=config/examples/local.yaml": "test_running_one_function",
}
# Commands with the AWS CLI: run against the local moto server when `aws` is installed (it is not a
# dependency of this project), skipped with that reason otherwise.
RUN_WITH_AWS_CLI = {
    "aws events put-events": "test_heartbeat_reports",
    "aws secretsmanager create-secret": "test_first_deploy_creates_every_secret_the_config_names",
    "aws ssm put-parameter": "test_first_deploy_creates_every_secret_the_config_names",
}
_ACCOUNT = "deploys or changes a stack in an AWS account"
_DOCKER = (
    "sam local invoke runs the function in a Docker container against an AWS account; "
    "tests/unit/test_readme_sam_local.py expands these lines with bash and parses them with sam's own parser"
)
_DLQ = "redrives the dead-letter queue of a deployed stack ($DLQ, $TOPIC, $FUNCTION are its outputs)"
_ALARMS = "looks at or sets off the alarms of a deployed stack: they and their deliveries exist only there"
_CI = "part of what CI runs (.ci/run: make test); test_ci_runs_what_the_readme_says checks that"
_SUITE = "one layer of this very suite: running it here would run the suite inside itself"
_REWRITES = "rewrites files of the checkout; a test fails when its output differs from what is committed"
_SYSTEM = "installs system packages (root, network): this machine's setup, not the project's"
NOT_RUNNABLE = {
    "make test": _CI,
    "make lint": _CI,
    "make test-future": _CI,
    "make bench-short": _CI,
    ".ci/run": _CI,
    "make unit": _SUITE,
    "make integration": _SUITE,
    "make e2e": _SUITE,
    "make bench": "the full benchmarks take minutes and print this machine's figures; CI runs the short ones",
    "make build": "sam build for arm64; the e2e tests build this machine's architecture and the other one",
    "make format": "rewrites the checkout's files; make lint (CI) checks the same formatting",
    "make schema": _REWRITES + " (tests/unit/test_schemas.py)",
    "make requirements": _REWRITES + " (tests/unit/test_template.py)",
    "make clean": "removes the build output and caches a running suite uses",
    "make deploy": _ACCOUNT,
    "sam build && sam deploy --guided": _ACCOUNT,
    "sam build && sam deploy --config-env prod": _ACCOUNT,
    "sam deploy --config-env staging": _ACCOUNT,
    "git checkout <good> && sam build && sam deploy": _ACCOUNT + " (and <good> is yours)",
    "ARCH=$(uname -m | sed 's/aarch64/arm64/')": _DOCKER,
    'OPTIONS="-n events/env.example.json --parameter-overrides Architecture=$ARCH"': _DOCKER,
    "uv run sam local invoke": _DOCKER,
    "aws sqs receive-message --queue-url $DLQ --attribute-names All --message-attribute-names All": _DLQ,
    "aws sns publish --topic-arn $TOPIC --message file://body.json": _DLQ,
    "jq .requestPayload record.json > event.json && aws lambda invoke --function-name $FUNCTION "
    "--invocation-type Event --payload fileb://event.json /dev/null": _DLQ,
    "base64 -d body.b64 > body.json": _DLQ,
    "aws sns list-subscriptions-by-topic --topic-arn <WatchdogTopicArn>": _ALARMS,
    'aws cloudwatch set-alarm-state --state-value ALARM --state-reason "trying the second path" '
    "--alarm-name <name>": _ALARMS,
    "aws cloudwatch describe-alarms --alarm-name-prefix <stack>-ProbeHeartbeatAlarm": _ALARMS,
    "apt install postgresql redis-server": _SYSTEM,
    "apt-get install faketime": _SYSTEM,
    "apt-get install prometheus-blackbox-exporter": _SYSTEM,
}
# Inline spans that name a program, an option or a subcommand in a sentence: not command lines.
NAMES = {
    "make",
    "python3",
    "python -I -S",
    "sam",
    "sam build",
    "sam deploy",
    "sam deploy --guided",
    "sam deploy --config-env prod",
    "sam validate --lint",
    "sam local invoke",
    "sam local invoke -e",
    "sam local invoke -n",
    "uv run",
    "runbook",
    "runbook check",
    "runbook check --json",
    "runbook validate",
    "runbook heartbeat",
    "runbook-local",
    "runbook-local invoke",
    "runbook-local setup",
    "runbook-sandbox",
    "pytest --shift-clock 400",
    "aws sqs delete-message",
}


def coverage_of(command: Command) -> str | None:
    key = command.key
    if key in RUN_BY:
        return f"run by {RUN_BY[key]}"
    for prefix, test in RUN_WITH_AWS_CLI.items():
        if key.startswith(prefix + " "):
            return f"run by {test}"
    if key in NOT_RUNNABLE:
        return NOT_RUNNABLE[key]
    for prefix, reason in NOT_RUNNABLE.items():
        if prefix.startswith("uv run sam local invoke") and key.startswith(prefix + " "):
            return reason
    return "a name in prose" if key in NAMES else None


def test_every_readme_command_is_run_or_said_why_not() -> None:
    assert COMMANDS, "no commands found in README.md"
    uncovered = [f"README.md:{c.line}: {c.key}" for c in COMMANDS if coverage_of(c) is None]
    assert uncovered == [], (
        "README commands neither run by tests/e2e/test_readme_commands.py nor listed there with the reason "
        "they cannot run here:\n" + "\n".join(uncovered)
    )
    keys = {c.key for c in COMMANDS}
    listed = [*RUN_BY, *NOT_RUNNABLE, *NAMES]
    assert sorted(k for k in listed if k not in keys and not k.startswith("uv run sam local invoke")) == []
    assert all(any(k.startswith(p + " ") for k in keys) for p in RUN_WITH_AWS_CLI)
    tests = {name for name, value in globals().items() if name.startswith("test_") and callable(value)}
    assert set(RUN_BY.values()) | set(RUN_WITH_AWS_CLI.values()) <= tests


def readme(key: str) -> Command:
    found = [c for c in COMMANDS if c.key == key]
    assert found, f"the README no longer shows {key!r}"
    return found[0]


def readme_starting(prefix: str) -> list[Command]:
    found = [c for c in COMMANDS if c.key.startswith(prefix)]
    assert found, f"the README no longer shows a command starting {prefix!r}"
    return found


def substitute(text: str, *pairs: tuple[str, str]) -> str:
    for old, new in pairs:
        assert old in text, f"{old!r} is no longer in {text!r}"
        text = text.replace(old, new)
    return text


# ---------------------------------------------------------------- running commands
@pytest.fixture(scope="module")
def moto() -> Iterator[str]:
    """A moto server in its own process, as the README starts one."""
    port = free_port()
    server = subprocess.Popen(
        [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, server)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server ended before it listened"
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"nothing listens on port {port} after {timeout_s:.0f} s")


def uv_dir() -> str:
    found = subprocess.run(
        [str(ROOT / "scripts" / "find-uv")], cwd=ROOT, capture_output=True, text=True, check=True, timeout=300
    ).stdout.strip()
    return str((ROOT / found).parent)


@pytest.fixture(scope="module")
def shell_env(moto: str) -> dict[str, str]:
    """What a reader's shell has after `make dev`, with AWS pointing at the local moto server."""
    # A reader's shell keeps how their machine reaches the package index: its trust store and proxy
    # (without SSL_CERT_FILE, uv behind a TLS-inspecting proxy fails with "UnknownIssuer").
    network = {"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "ALL_PROXY"}
    keep = {
        k: v
        for k, v in os.environ.items()
        if k.startswith(("UV_", "PIP_")) or k.upper() in network or k in ("HOME", "LANG", "TMPDIR")
    }
    return {
        **keep,
        "PATH": os.pathsep.join([str(VENV_BIN), uv_dir(), os.environ.get("PATH", "/usr/bin:/bin")]),
        "UV_FROZEN": "1",  # as the Makefile's `uv run --frozen`: never re-lock
        "AWS_ENDPOINT_URL": moto,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def sh(
    script: str, env: dict[str, str], *, timeout: float = 300, cwd: Path = ROOT
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str], expected: int = 0) -> str:
    assert result.returncode == expected, (
        f"exit {result.returncode}\n--- stdout\n{result.stdout[-4000:]}\n--- stderr\n{result.stderr[-4000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    return result.stdout


def aws(session_endpoint: str, service: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    return session.client(service, endpoint_url=session_endpoint)  # type: ignore[call-overload]


def needs_aws_cli() -> None:
    if shutil.which("aws") is None:
        pytest.skip("the AWS CLI is not installed (not a dependency of this project)")


# ---------------------------------------------------------------- make
def make_targets() -> list[str]:
    return sorted(
        {c.key.split()[1] for c in COMMANDS if c.key.startswith("make ") and len(c.key.split()) > 1}
    )


def test_make_help_lists_every_target_the_readme_names(shell_env: dict[str, str]) -> None:
    listed = {line.split()[0] for line in ok(sh(readme("make help").source, shell_env)).splitlines() if line}
    assert set(make_targets()) <= listed


def test_make_targets_the_readme_names_exist(shell_env: dict[str, str]) -> None:
    for target in make_targets():
        ok(sh(f"make -n {target}", shell_env))


def test_make_dev(shell_env: dict[str, str]) -> None:
    ok(sh(readme("make dev").source, shell_env))


def test_ci_runs_what_the_readme_says(shell_env: dict[str, str]) -> None:
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    plan = ok(sh("make -n test", shell_env))
    for step in ("ruff check", "ruff format --check", "mypy", "cfn-lint", "sam validate --lint", "pytest"):
        assert step in plan, step
    assert "--shift-clock" in plan  # make test-future
    assert "--short" in plan  # make bench-short


def test_make_unit_with_pytest_args(shell_env: dict[str, str]) -> None:
    out = ok(sh(readme('make unit PYTEST_ARGS="-k routing"').source, shell_env, timeout=600))
    assert " passed" in out


def test_make_run(built_template: Path, shell_env: dict[str, str]) -> None:
    assert readme("make run")
    command = substitute(
        readme('make run SANDBOX_ARGS="--ticks 15 --json"').source,
        ("--json", f"--json --template {built_template} --tick-seconds 0"),  # the session's sam build
    )
    out = ok(sh(command, shell_env, timeout=600))
    # make echoes the commands it runs; the timeline is the JSON lines.
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert lines[-1]["kind"] == "summary"
    assert max(entry["tick"] for entry in lines) == 16  # 15 ticks, then the summary
    assert [e for e in lines if e["kind"] == "violation"] == []


# ---------------------------------------------------------------- configs like the reader's own
def plain_yaml(text: str) -> Any:
    """YAML as plain dicts and lists: aws-sam-cli, once imported, makes PyYAML's SafeLoader build
    OrderedDicts, which safe_dump refuses."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def read_yaml(path: Path) -> Any:
    return plain_yaml(path.read_text(encoding="utf-8"))


@pytest.fixture
def my_config(tmp_path: Path, target_url: str, redis_plain_server: RedisInfo) -> Path:
    """my.yaml: the shipped config's paging and status page, with checks of this machine."""
    config = read_yaml(ROOT / "config" / "runbook.yaml")
    config["checks"] = [
        {
            "name": "api-gateway-local",
            "kind": "http",
            "url": f"{target_url}/ok",
            "expect": {"json": {"status": "ok"}},
        },
        {
            "name": "redis-cache",
            "kind": "redis",
            "host": redis_plain_server.host,
            "port": redis_plain_server.port,
        },
    ]
    config["integrations"] = []
    path = tmp_path / "my.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def test_validate_and_check_the_shipped_config(shell_env: dict[str, str]) -> None:
    shipped = load_config(ROOT / "config" / "runbook.yaml")
    for key in ("uv run runbook validate --config config/runbook.yaml", "uv run runbook validate"):
        listing = ok(sh(readme(key).source, shell_env))
        assert all(check.name in listing for check in shipped.checks), listing
    # Placeholders and no secrets in the local AWS: every check fails with its reason, none crashes.
    table = ok(sh(readme("uv run runbook check").source, shell_env), expected=1)
    assert all(check.name in table for check in shipped.checks), table


def test_check_the_local_example(
    tmp_path: Path,
    shell_env: dict[str, str],
    moto: str,
    postgres_server: PostgresInfo,
    redis_plain_server: RedisInfo,
) -> None:
    """config/examples/local.yaml, its hosts and ports adjusted to the throwaway servers as its header asks
    (the PostgreSQL server wants a password: a secret reference, stored in the local AWS)."""
    config = read_yaml(ROOT / "config" / "examples" / "local.yaml")
    secret = f"runbook/local-postgres-{tmp_path.name}"
    aws(moto, "secretsmanager").create_secret(
        Name=secret, SecretString=json.dumps({"password": postgres_server.password})
    )
    redis = {"host": redis_plain_server.host, "port": redis_plain_server.port}
    for check in config["checks"]:
        if check["kind"] == "postgres":
            check.update(
                host=postgres_server.host,
                port=postgres_server.port,
                user=postgres_server.user,
                dbname=postgres_server.dbname,
                password={"secret": secret, "key": "password"},
            )
        elif check["kind"] == "redis":
            check.update(redis)
        else:
            check["redis"].update(redis)
    adjusted = tmp_path / "local.yaml"
    adjusted.write_text(yaml.safe_dump(config))
    command = substitute(
        readme("uv run runbook check --config config/examples/local.yaml").source,
        ("config/examples/local.yaml", str(adjusted)),
    )
    table = ok(sh(command, shell_env))
    assert all(check["name"] in table for check in config["checks"]), table


def test_check_my_config(my_config: Path, shell_env: dict[str, str]) -> None:
    table = ok(
        sh(
            substitute(readme("uv run runbook check --config my.yaml").source, ("my.yaml", str(my_config))),
            shell_env,
        )
    )
    assert "api-gateway-local" in table
    assert "redis-cache" in table
    only = substitute(
        readme("uv run runbook check --config my.yaml --only redis-cache --json").source,
        ("my.yaml", str(my_config)),
    )
    results = json.loads(ok(sh(only, shell_env)))
    assert "redis-cache" in json.dumps(results)
    assert "api-gateway-local" not in json.dumps(results)


def adding_a_check_yaml() -> list[dict[str, Any]]:
    """The check that "Adding a check" step 1 adds to `checks:`."""
    text = README.read_text()
    section = text.split("## Adding a check", 1)[1]
    block = section.split("```yaml\n", 1)[1].split("```", 1)[0]
    added: list[dict[str, Any]] = plain_yaml(
        "\n".join(line.removeprefix("  ") for line in block.splitlines())
    )
    return added


def test_adding_a_check(tmp_path: Path, shell_env: dict[str, str]) -> None:
    config = read_yaml(ROOT / "config" / "runbook.yaml")
    (added,) = adding_a_check_yaml()
    config["checks"].append(added)
    copy = tmp_path / "runbook.yaml"
    copy.write_text(yaml.safe_dump(config, sort_keys=False))
    validate = substitute(
        readme("uv run runbook validate --config config/runbook.yaml").source,
        ("config/runbook.yaml", str(copy)),
    )
    listing = ok(sh(validate, shell_env))
    (line,) = [line for line in listing.splitlines() if "api-gateway-initech" in line]
    # "lists it with its severity and SEV"
    assert "critical" in line, line
    assert "SEV1" in line, line
    check = substitute(
        readme("uv run runbook check --config config/runbook.yaml --only api-gateway-initech").source,
        ("config/runbook.yaml", str(copy)),
    )
    # initech.api.example.com does not resolve from here: the check fails, with its reason.
    table = ok(sh(check, shell_env), expected=1)
    assert "api-gateway-initech" in table, table
    assert "api-gateway-acme" not in table, table


# ---------------------------------------------------------------- the sandbox
def test_the_sandbox_dry_run(built_template: Path, my_config: Path, shell_env: dict[str, str]) -> None:
    quick = f"--env-file my-env.json --template {built_template} --ticks 1 --tick-seconds 0"
    env_file = str(ROOT / "events" / "env.sandbox.example.json")  # "its format is documented in" it
    for key, config in (
        ("uv run runbook-sandbox --config my.yaml --env-file my-env.json", str(my_config)),
        ("uv run runbook-sandbox --config config/runbook.yaml --env-file my-env.json", "config/runbook.yaml"),
    ):
        command = readme(key).source
        command = substitute(command, ("--env-file my-env.json", quick), ("my-env.json", env_file))
        command = command.replace("--config my.yaml", f"--config {config}")
        out = ok(sh(command, shell_env, timeout=300))
        assert "dry run" in out, out[-3000:]
        assert " 0 failed" in out, out[-3000:]


# ---------------------------------------------------------------- heartbeats
def test_heartbeat_reports(moto: str, shell_env: dict[str, str], tmp_path: Path) -> None:
    """Both documented ways of reporting reach the template's rule (its own pattern) as an event the
    health probe accepts."""
    template = load_template(ROOT / "template.yaml")
    rule = template["Resources"]["HealthProbeFunction"]["Properties"]["Events"]["Heartbeat"]["Properties"]
    events, sqs = aws(moto, "events"), aws(moto, "sqs")
    queue = sqs.create_queue(QueueName=f"heartbeats-{tmp_path.name}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    name = f"heartbeat-{tmp_path.name}"[:64]
    events.put_rule(Name=name, EventPattern=json.dumps(rule["Pattern"]))
    events.put_targets(Rule=name, Targets=[{"Id": "probe", "Arn": arn}])
    try:
        ok(sh(readme_starting("runbook heartbeat ")[0].source, shell_env))
        expected = 1
        if shutil.which("aws"):
            ok(sh(readme_starting("aws events put-events ")[0].source, shell_env))
            expected = 2
        received = []
        for _ in range(20):
            messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            received += [json.loads(m["Body"]) for m in messages.get("Messages", [])]
            if len(received) >= expected:
                break
    finally:
        events.remove_targets(Rule=name, Ids=["probe"])
        events.delete_rule(Name=name)
    assert len(received) == expected, received
    for event in received:
        trigger = parse_probe_trigger(event)
        assert isinstance(trigger, HeartbeatEvent), trigger
        assert (trigger.detail.check, trigger.detail.status) == ("web-app-synthetic", "pass"), trigger


# ---------------------------------------------------------------- running one function
def test_running_one_function(built_template: Path, shell_env: dict[str, str], tmp_path: Path) -> None:
    """The README's runbook-local recipe, line by line, with its own moto server on a free port."""
    plan = ok(sh(readme("make build-local").source.replace("make ", "make -n ", 1), shell_env))
    # The session's build is that one: sam build for this machine's architecture.
    assert f"Architecture={host_architecture()}" in plan
    port = str(free_port())
    moto_line = substitute(readme("uv run moto_server -p 5000 &").source, ("5000", port), (" &", ""))
    server = subprocess.Popen(
        ["bash", "-c", f"exec {moto_line}"],
        cwd=ROOT,
        env=shell_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    env_file = tmp_path / "env.local.json"
    try:
        wait_for_port(int(port), server)
        lines = [
            substitute(readme_starting("export AWS_ENDPOINT_URL=")[0].source, ("5000", port)),
            substitute(
                readme_starting("uv run runbook-local setup ")[0].source, ("env.local.json", str(env_file))
            ),
            substitute(
                readme_starting("uv run runbook-local invoke HealthProbeFunction ")[0].source,
                ("invoke HealthProbeFunction", f"invoke HealthProbeFunction -t {built_template}"),
                ("-n env.local.json", f"-n {env_file}"),
            ),
        ]
        result = sh("\n".join(lines), shell_env, timeout=300)
        payload = json.loads(ok(result).splitlines()[-1])
        assert payload["checks"] == len(load_config(ROOT / "config" / "examples" / "local.yaml").checks)
        assert "no such file" not in result.stderr, result.stderr  # the relative RUNBOOK_CONFIG
        assert "run `sam build`" not in result.stderr, result.stderr
        # The recipe's own region (eu-west-1), the table `runbook-local setup` made from template.yaml.
        dynamodb = boto3.session.Session(
            aws_access_key_id="x", aws_secret_access_key="x", region_name="eu-west-1"
        ).client("dynamodb", endpoint_url=f"http://127.0.0.1:{port}")
        items = dynamodb.scan(TableName="local-StateTable")["Items"]
        assert {item["pk"]["S"] for item in items} >= {"check#local-postgres", "check#local-redis"}
    finally:
        server.terminate()
        server.wait(timeout=30)


# ---------------------------------------------------------------- first deploy
def test_first_deploy_creates_every_secret_the_config_names(moto: str, shell_env: dict[str, str]) -> None:
    """The commands of "First deploy" step 3, against the local AWS: together they create every secret
    and SSM parameter config/runbook.yaml references, with every key it reads."""
    needs_aws_cli()
    for command in [
        *readme_starting("aws secretsmanager create-secret "),
        *readme_starting("aws ssm put-parameter "),
    ]:
        ok(sh(command.source, shell_env))
    refs = find_secret_refs(load_config(ROOT / "config" / "runbook.yaml"))
    assert refs
    secrets, ssm = aws(moto, "secretsmanager"), aws(moto, "ssm")
    for ref in refs:
        if isinstance(ref, SsmParameterRef):
            assert ssm.get_parameter(Name=ref.ssm, WithDecryption=True)["Parameter"]["Type"] == "SecureString"
            continue
        value = json.loads(secrets.get_secret_value(SecretId=ref.secret)["SecretString"])
        assert ref.key is None or ref.key in value, (ref.secret, ref.key, sorted(value))
