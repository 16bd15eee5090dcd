"""`runbook` as a newcomer runs it, in a subprocess with a controlled environment: AWS_REGION without
AWS_DEFAULT_REGION, no credentials, no region, an unreachable endpoint, a missing config, Ctrl-C.
Each foreseeable condition ends with one line on stderr that says what and how to fix it, and the
exit code the README documents (0 all pass, 1 a check fails, 2 config invalid or not checkable from
here, 130 interrupted); never a traceback."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from standins.http_servers import LoopbackServer

REGION = "eu-west-1"
RUN_TIMEOUT_S = 120  # a bound for a hung child, not a measurement


@pytest.fixture
def no_aws_env(tmp_path: Path) -> dict[str, str]:
    """This machine's environment without any AWS setting: empty credentials and config files, no
    instance metadata (botocore would otherwise wait on IMDS)."""
    empty = tmp_path / "empty-aws-file"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_CONFIG_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("RUNBOOK_CONFIG", None)
    return env


@pytest.fixture
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def runbook(*args: str, env: dict[str, str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runbook.cli", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )


def rows(stdout: str) -> dict[str, str]:
    return {line.split()[0]: line for line in stdout.splitlines()[1:] if line.strip()}


def assert_one_line_error(stderr: str, *phrases: str) -> None:
    assert "Traceback" not in stderr
    errors = [line for line in stderr.splitlines() if line.startswith("runbook: ")]
    assert len(errors) == 1, stderr
    for phrase in phrases:
        assert phrase in errors[0], stderr


def secret_config(tmp_path: Path, http_server: LoopbackServer) -> str:
    """The README's config, small: a check that reads an SSM parameter, one that reads a Secrets
    Manager key, and one that needs no AWS at all."""
    path = tmp_path / "runbook.yaml"
    path.write_text(
        "checks:\n"
        f"  - name: api\n    kind: http\n    url: '{http_server.url('/ok')}'\n"
        "    headers: {X-Health-Token: {secret: runbook/api-gateway, key: health_token}}\n"
        f"  - name: cache\n    kind: http\n    url: '{http_server.url('/ok')}'\n"
        "    query: {token: {ssm: /runbook/cache/token}}\n"
        f"  - name: plain\n    kind: http\n    url: '{http_server.url('/ok')}'\n"
    )
    return str(path)


def test_aws_region_alone_is_honoured(tmp_path, http_server, no_aws_env, moto_endpoint):
    """AWS_REGION set, AWS_DEFAULT_REGION not (as a newcomer's shell often is): the secrets are read
    in that region, the checks pass, exit 0. On main: NoRegionError traceback, exit 1."""
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
    )
    session.client("ssm", endpoint_url=moto_endpoint).put_parameter(
        Name="/runbook/cache/token", Value="c4che-t0ken", Type="SecureString"
    )
    session.client("secretsmanager", endpoint_url=moto_endpoint).create_secret(
        Name="runbook/api-gateway", SecretString='{"health_token": "h3alth-t0ken"}'
    )
    env = no_aws_env | {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": moto_endpoint,
    }
    done = runbook("check", "--config", secret_config(tmp_path, http_server), env=env)
    assert done.returncode == 0, done.stderr
    assert all(" ok " in row for row in rows(done.stdout).values()), done.stdout
    assert "3 passed, 0 failing, 0 skipped" in done.stderr
    received = http_server.received("/ok")
    assert any(r.headers.get("x-health-token") == "h3alth-t0ken" for r in received)
    assert any(r.target.endswith("?token=c4che-t0ken") for r in received)


def test_without_credentials_each_check_that_needs_a_secret_says_so_and_exits_2(
    tmp_path, http_server, no_aws_env
):
    env = no_aws_env | {"AWS_REGION": REGION}
    done = runbook("check", "--config", secret_config(tmp_path, http_server), env=env)
    assert done.returncode == 2, done.stderr
    table = rows(done.stdout)
    assert "SECRET_UNAVAILABLE" in table["api"]
    assert "secret:runbook/api-gateway#health_token" in table["api"]
    assert "SECRET_UNAVAILABLE" in table["cache"]
    assert "ssm:/runbook/cache/token" in table["cache"]
    assert "no AWS credentials" in table["cache"]
    assert " ok " in table["plain"]  # what needs no AWS is still checked
    assert_one_line_error(done.stderr, "were not judged", "no AWS credentials", "AWS_PROFILE")


def test_without_a_region_each_check_that_needs_a_secret_says_so_and_exits_2(
    tmp_path, http_server, no_aws_env
):
    env = no_aws_env | {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    done = runbook("check", "--config", secret_config(tmp_path, http_server), "--json", env=env)
    assert done.returncode == 2, done.stderr
    assert done.stdout.count('"outcome": "secret_unavailable"') == 2
    assert done.stdout.count("cannot read ssm:/runbook/cache/token: no AWS region") == 1
    assert_one_line_error(done.stderr, "no AWS region", "AWS_REGION")


def test_an_unreachable_aws_endpoint_fails_those_checks_without_a_traceback(
    tmp_path, http_server, no_aws_env, closed_port
):
    env = no_aws_env | {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}",
    }
    done = runbook("check", "--config", secret_config(tmp_path, http_server), env=env)
    assert done.returncode == 1, done.stderr  # the region and credentials are there: the checks fail
    table = rows(done.stdout)
    assert "SECRET_UNAVAILABLE" in table["api"]
    assert "SECRET_UNAVAILABLE" in table["cache"]
    assert "Traceback" not in done.stderr
    assert "1 passed, 2 failing, 0 skipped" in done.stderr


def test_a_target_that_is_unreachable_is_a_failing_check(tmp_path, no_aws_env, closed_port):
    config = tmp_path / "runbook.yaml"
    config.write_text(f"checks:\n  - {{name: db, kind: redis, host: 127.0.0.1, port: {closed_port}}}\n")
    done = runbook("check", "--config", str(config), env=no_aws_env)
    assert done.returncode == 1
    assert "CONNECTION_REFUSED" in rows(done.stdout)["db"]
    assert "Traceback" not in done.stderr


def test_missing_or_unreadable_config_and_template_say_so_and_exit_2(tmp_path, no_aws_env):
    for args, phrase in [
        (["check", "--config", str(tmp_path / "nope.yaml")], "file not found"),
        (["validate", "--config", str(tmp_path / "nope.yaml")], "file not found"),
        (["validate", "--config", str(tmp_path)], "cannot read the file"),
    ]:
        done = runbook(*args, env=no_aws_env)
        assert done.returncode == 2, args
        assert phrase in done.stderr
        assert "Traceback" not in done.stderr
    config = tmp_path / "runbook.yaml"
    config.write_text("checks: []\n")
    done = runbook(
        "validate", "--config", str(config), "--template", str(tmp_path / "t.yaml"), env=no_aws_env
    )
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "--template", "t.yaml")


def test_heartbeat_without_region_or_credentials_or_endpoint(no_aws_env, closed_port):
    args = ["heartbeat", "--check", "web-app-synthetic", "--status", "pass"]
    done = runbook(*args, env=no_aws_env | {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"})
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "heartbeat not sent", "no AWS region")
    done = runbook(*args, env=no_aws_env | {"AWS_REGION": REGION})
    assert done.returncode == 2
    assert_one_line_error(done.stderr, "heartbeat not sent", "no AWS credentials")
    unreachable = no_aws_env | {
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "y",
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{closed_port}",
    }
    done = runbook(*args, env=unreachable)
    assert done.returncode == 1
    assert_one_line_error(done.stderr, "heartbeat not sent", "could not be reached")


def test_ctrl_c_during_a_check_ends_with_one_line_and_exit_130(tmp_path, http_server, no_aws_env):
    config = tmp_path / "runbook.yaml"
    config.write_text(
        f"checks:\n  - {{name: api, kind: http, url: '{http_server.url('/hang')}', timeout: 30s}}\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-m", "runbook.cli", "check", "--config", str(config)],
        env=no_aws_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for _ in range(600):  # the check is under way once the target has its request
            if http_server.received("/hang") or child.poll() is not None:
                break
            time.sleep(0.05)
        assert http_server.received("/hang"), "the check never reached its target"
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate(timeout=RUN_TIMEOUT_S)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 130
    assert_one_line_error(stderr, "interrupted")
