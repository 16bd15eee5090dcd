"""Invoke a function of a SAM template locally, without Docker: `invoke(...) -> InvokeResult`."""

import json
import os
import platform
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from localrun.cfn_yaml import TemplateError, load_template
from localrun.environment import build_environment, region_of
from localrun.function import FunctionSpec, read_function
from localrun.intrinsics import PSEUDO_PARAMETERS, STACK_NAME, Resolver
from localrun.resources import Created, create_resources
from localrun.runner import BOOTSTRAP, run

EnvVarsFile = Mapping[str, Mapping[str, object]]


@dataclass(frozen=True)
class InvokeResult:
    function: str
    request_id: str
    payload: Any
    error: dict[str, Any] | None
    logs: str
    duration_ms: float
    timed_out: bool
    notes: tuple[str, ...] = field(default=())
    init_ms: float = 0.0  # the init phase's own time, which Lambda's 10 s limit applies to
    init_cpu_wait_ms: float = 0.0  # time the init only waited for a CPU (a loaded machine): not counted

    @property
    def ok(self) -> bool:
        return self.error is None

    def raise_for_error(self) -> Any:
        """The payload, or InvokeError carrying the Lambda error and the logs."""
        if self.error is not None:
            raise InvokeError(self)
        return self.payload


class InvokeError(Exception):
    def __init__(self, result: InvokeResult) -> None:
        error = result.error or {}
        super().__init__(
            f"{result.function} failed: {error.get('errorType')}: {error.get('errorMessage')}\n"
            f"--- logs ---\n{result.logs}"
        )
        self.result = result


def load_env_vars_file(path: Path) -> EnvVarsFile:
    """sam's --env-vars format: {"Parameters": {...all functions...}, "<LogicalId>": {...}}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read env-vars file {path}: {exc}") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise TemplateError(f'{path}: expected {{"Parameters": {{...}}, "<LogicalId>": {{...}}}}')
    return data


def host_architecture() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else machine


def _notes_about(spec: FunctionSpec) -> list[str]:
    notes = [
        f"layer {layer.logical_id} ({layer.content_dir}) has no python/ directory: run `sam build` "
        "and invoke the built template (.aws-sam/build/template.yaml)"
        for layer in spec.layers
        if layer.looks_unbuilt()
    ]
    host = host_architecture()
    notes += [
        f"layer {layer.logical_id} was built for {layer.build_architecture}, this machine is {host}: "
        "its native wheels will not load (sam build --parameter-overrides Architecture=...)"
        for layer in spec.layers
        if layer.build_architecture not in (None, host) and not layer.looks_unbuilt()
    ]
    return notes


def invoke(
    template_path: Path | str,
    logical_id: str,
    event: Any,
    env_overrides: Mapping[str, str] | None = None,
    *,
    env_vars: EnvVarsFile | Path | None = None,
    parameter_overrides: Mapping[str, str] | None = None,
    host_env: Mapping[str, str] | None = None,
    log_sink: IO[str] | None = None,
    runtime_sdk: bool = True,
) -> InvokeResult:
    """Run one invocation of `logical_id` with `event`, as Lambda would; never raises for handler errors.

    host_env (default os.environ) supplies AWS credentials/region/endpoints and shell values of
    declared variables; env_overrides set any variable and win over everything else. TemplateError
    is raised when the template cannot describe a runnable function.
    """
    template_file = Path(template_path)
    host = os.environ if host_env is None else host_env
    template = load_template(template_file)
    resolver = Resolver(template, parameter_overrides, region=region_of(host))
    spec = read_function(template, template_file, logical_id, resolver)
    env_file = load_env_vars_file(env_vars) if isinstance(env_vars, Path) else env_vars or {}

    env, env_notes = build_environment(
        spec,
        runtime_dir=BOOTSTRAP.parent,
        host_env=host,
        env_vars_file=env_file,
        overrides=env_overrides or {},
        cwd=Path.cwd(),
    )
    notes = [*_notes_about(spec), *env_notes]
    if log_sink is not None:
        for note in notes:
            log_sink.write(f"runbook-local: {note}\n")

    request_id = str(uuid.uuid4())
    account = PSEUDO_PARAMETERS["AWS::AccountId"]
    outcome = run(
        spec,
        event,
        env,
        invoked_function_arn=f"arn:aws:lambda:{env['AWS_REGION']}:{account}:function:{spec.function_name}",
        request_id=request_id,
        log_sink=log_sink,
        runtime_sdk=runtime_sdk,
    )
    return InvokeResult(
        function=logical_id,
        request_id=request_id,
        payload=None if outcome.payload_json is None else json.loads(outcome.payload_json),
        error=outcome.error,
        logs=outcome.logs,
        duration_ms=outcome.duration_ms,
        timed_out=outcome.timed_out,
        notes=tuple(notes),
        init_ms=outcome.init_ms,
        init_cpu_wait_ms=outcome.init_cpu_wait_ms,
    )


@dataclass(frozen=True)
class SetupResult:
    created: dict[str, Created]  # logical ID -> the resource made on the endpoint
    env_vars: dict[str, dict[str, Any]]  # sam's env-vars format, pointing each function at them


def setup(
    template_path: Path | str,
    endpoint_url: str,
    *,
    stack: str = STACK_NAME,
    parameter_overrides: Mapping[str, str] | None = None,
    base_env_vars: EnvVarsFile | None = None,
    host_env: Mapping[str, str] | None = None,
) -> SetupResult:
    """Create the template's tables, topics and queues on endpoint_url (a moto server) and return the
    env-vars file that gives every function their names: base_env_vars with, in each function's own
    section, the variables the template fills from those resources (STATE_TABLE_NAME, ...)."""
    template_file = Path(template_path)
    host = os.environ if host_env is None else host_env
    template = load_template(template_file)
    region = region_of(host)
    session = boto3.session.Session(
        aws_access_key_id=host.get("AWS_ACCESS_KEY_ID"),
        aws_secret_access_key=host.get("AWS_SECRET_ACCESS_KEY"),
        aws_session_token=host.get("AWS_SESSION_TOKEN"),
        region_name=region,
    )
    clients: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in clients:
            clients[service] = session.client(service, endpoint_url=endpoint_url)  # type: ignore[call-overload]
        return clients[service]

    plain = Resolver(template, parameter_overrides, region=region)
    created = create_resources(template, plain, client, stack)
    known = Resolver(template, parameter_overrides, region=region, resources=created)
    env_vars: dict[str, dict[str, Any]] = {k: dict(v) for k, v in (base_env_vars or {}).items()}
    functions = [k for k, v in template["Resources"].items() if v.get("Type") == "AWS::Serverless::Function"]
    for logical_id in functions:
        before = read_function(template, template_file, logical_id, plain)
        after = read_function(template, template_file, logical_id, known)
        filled = {n: after.environment[n] for n in before.unresolved - after.unresolved}
        if filled:
            env_vars.setdefault(logical_id, {}).update(filled)
    return SetupResult(created, env_vars)
